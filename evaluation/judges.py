"""The style judges: classifiers built in different ways, trained on the real images, read as a panel.

One judge's verdict on generated images is a property of that judge: two
judges right on the same share of real paintings can disagree on samples by
a factor of two, because a generator's images can carry the cues one
network reads and not the cues another reads: a flattening head reads where
things sit, a pooling head only which local patterns occur (BENCHMARKS.md,
"a panel of differently built judges"). So every figure that rests on a classifier is read by a panel of
judges that differ in architecture and in training recipe, and the headline
is the panel's lowest figure.

A design says how a judge is built and trained; ``evaluation.classifier``
trains, measures and caches it. Each design's network maps an image in
[-1, 1] to ``(features, class probabilities)``; its ``features`` layer is
the space of the Frechet distance, KID, precision and recall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from base.errors import UserError

FEATURES = 128  # width of every judge's feature layer
FLIP_FROM_SIZE = 48  # from this side on the images are paintings or photographs: a mirror image keeps its class


@dataclass(frozen=True)
class JudgeDesign:
    name: str
    reads: str  # one line: how it is built, and so what it can and cannot read
    network: Callable  # (image_shape, num_classes) -> keras.Model: image -> [features, probabilities]
    augmentation: Callable  # image_shape -> list of Keras preprocessing layers used in training only
    epochs: int = 10  # when no cached judge exists; the cache key ignores it (see classifier.load_or_train)
    batch_size: int = 128
    learning_rate: float = 1e-3
    decay: bool = False  # the learning rate falls linearly to 0 over the epochs
    version: int = 1  # part of the cache key: bump it when the network or recipe changes


def _keras():
    import keras  # here, not at import: CLIs list the designs in --help before TensorFlow loads
    from keras import layers

    return keras, layers


def _head(keras, layers, image, x, num_classes: int):
    features = layers.Dense(FEATURES, activation="relu", name="features")(x)
    hidden = layers.Dropout(0.3, name="dropout")(features)
    probabilities = layers.Dense(num_classes, activation="softmax", name="probabilities")(hidden)
    return keras.Model(image, [features, probabilities])


def flatten_network(image_shape, num_classes: int):
    """Three conv-ReLU-maxpool stages (32, 64, 128 filters), flatten, 128 features.

    Flatten rather than global pooling keeps where things are: a digit's
    class depends on it, and on WikiArt at 64 px so does part of a style
    (BENCHMARKS.md, "WikiArt at 64 px: the style judge" and "What the judges
    read").
    """
    keras, layers = _keras()
    image = keras.Input(tuple(image_shape), name="image")
    x = image
    for stage, width in enumerate((32, 64, 128), start=1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{stage}")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"pool{stage}")(x)
    return _head(keras, layers, image, layers.Flatten(name="flatten")(x), num_classes)


def coarse_network(image_shape, num_classes: int):
    """The image averaged down to half its side first, then pairs of 3x3 convolutions per stage, flatten.

    It cannot see the finest pixel patterns at all: its verdict rests on
    what survives a 2x2 box filter (palette, masses, layout, coarse strokes).
    """
    keras, layers = _keras()
    image = keras.Input(tuple(image_shape), name="image")
    x = layers.AveragePooling2D(2, padding="same", name="half_side")(image)
    for stage, width in enumerate((32, 64, 128), start=1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{stage}a")(x)
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{stage}b")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"pool{stage}")(x)
    return _head(keras, layers, image, layers.Flatten(name="flatten")(x), num_classes)


def pooled_network(image_shape, num_classes: int):
    """Four residual stages with batch normalisation (32 to 256 filters), global average pooling.

    Built unlike the flatten judges on both counts the flatten docstring
    names: normalised activations, and a head that averages over positions,
    so where a thing sits in the picture cannot matter; it reads which local
    patterns (strokes, edges, colour transitions) occur and how often.
    """
    keras, layers = _keras()
    image = keras.Input(tuple(image_shape), name="image")
    x = _normalised_conv(layers, image, 32, "stem")
    for stage, width in enumerate((32, 64, 128, 256), start=1):
        shortcut = x
        x = _normalised_conv(layers, x, width, f"block{stage}a")
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{stage}b_conv")(x)
        x = layers.BatchNormalization(name=f"block{stage}b_norm")(x)
        if shortcut.shape[-1] != width:
            shortcut = layers.Conv2D(width, 1, use_bias=False, name=f"block{stage}_shortcut")(shortcut)
        x = layers.ReLU(name=f"block{stage}_relu")(layers.Add(name=f"block{stage}_add")([x, shortcut]))
        x = layers.MaxPooling2D(2, padding="same", name=f"pool{stage}")(x)
    return _head(keras, layers, image, layers.GlobalAveragePooling2D(name="average")(x), num_classes)


def _normalised_conv(layers, x, width: int, name: str):
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    return layers.ReLU(name=f"{name}_relu")(layers.BatchNormalization(name=f"{name}_norm")(x))


def flips(image_shape) -> list:
    """Horizontal flips from 48 px on: a mirrored painting keeps its style, a mirrored digit does not."""
    _, layers = _keras()
    return [layers.RandomFlip("horizontal")] if image_shape[0] >= FLIP_FROM_SIZE else []


def strong_augmentation(image_shape) -> list:
    """Flips, shifts of up to 1/10 of the side, blur and contrast: a judge that must not rest on
    exact positions or on the finest pixel patterns."""
    _, layers = _keras()
    found = [*flips(image_shape), layers.RandomTranslation(0.1, 0.1, fill_mode="reflect")]
    found.append(layers.RandomGaussianBlur(factor=0.5, kernel_size=3, sigma=1.0, value_range=(-1, 1)))
    return [*found, layers.RandomContrast(0.15, value_range=(-1, 1))]


FLATTEN = JudgeDesign(
    "flatten",
    "3 conv-maxpool stages, flatten; flips: reads palette, layout and texture",
    flatten_network,
    flips,
    version=3,
)
AUGMENTED = JudgeDesign(
    "augmented",
    "the flatten network trained on shifted, blurred, contrast-jittered images: robust cues only",
    flatten_network,
    strong_augmentation,
    epochs=20,
    decay=True,
)
COARSE = JudgeDesign(
    "coarse",
    "sees the image at half its side (2x2 averages), paired 3x3 convolutions, flatten; flips",
    coarse_network,
    flips,
    epochs=20,
    decay=True,
)

POOLED = JudgeDesign(
    "pooled",
    "residual stages with batch normalisation, global average pooling; trained like augmented: "
    "reads which local patterns occur, not where",
    pooled_network,
    strong_augmentation,
    epochs=16,
    batch_size=64,
    decay=True,
)

DESIGNS = {design.name: design for design in (FLATTEN, AUGMENTED, COARSE, POOLED)}
PANEL = ("flatten", "augmented", "coarse", "pooled")  # every figure's judges, unless --judges says otherwise


def designs(names) -> tuple[JudgeDesign, ...]:
    """The designs of ``names``, in that order; a one-line error for an unknown one."""
    unknown = [name for name in names if name not in DESIGNS]
    if unknown:
        raise UserError(f"unknown judge {', '.join(unknown)}; choose from {', '.join(DESIGNS)}")
    return tuple(DESIGNS[name] for name in names)
