#!/usr/bin/env python
"""How good a style judge can a CPU train on WikiArt? Val accuracy per epoch of candidate networks.

Every candidate trains on the ``style_train.csv`` paintings and is measured
after each epoch on the ``style_val.csv`` paintings (chance: 1 / styles):

- ``project``: the judge ``evaluate.py`` trains (``evaluation.classifier``:
  three conv-pool stages, flatten, 128 features; flips from 48 px on);
- ``pooled-bn``: four Conv-BN-ReLU-pool stages and global average pooling,
  the usual shape of an image classifier, with flips;
- ``colour``: the mean and standard deviation of each colour channel and a
  logistic regression, the floor of what palette alone tells.

  python bench/judge.py --data-dir ../shared/data/wikiart-8k
  python bench/judge.py --data-dir ../shared/data/wikiart-8k --networks project --seed 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from training.cli import OneLineErrorParser, positive_int, run_cli

ROOT = Path(__file__).resolve().parents[1]

NETWORKS = ("project", "pooled-bn", "colour")
POOLED_FILTERS = (16, 32, 64, 128)


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/judge.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "wikiart-8k"))
    parser.add_argument("--image-size", type=positive_int, default=64, help="default: 64")
    parser.add_argument("--epochs", type=positive_int, default=10, help="default: 10 (the judge's)")
    parser.add_argument("--networks", nargs="+", choices=NETWORKS, default=list(NETWORKS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", help="decoded images (default: ~/.cache/artgan)")
    return parser


def pooled_bn_network(image_shape, num_classes: int):
    import keras
    from keras import layers

    image = keras.Input(tuple(image_shape))
    x = image
    for width in POOLED_FILTERS:
        x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.3)(layers.Dense(128, activation="relu")(layers.GlobalAveragePooling2D()(x)))
    return keras.Model(image, layers.Dense(num_classes, activation="softmax")(x))


def colour_statistics(images):
    import numpy as np

    pixels = np.asarray(images, np.float32).reshape(len(images), -1, images.shape[-1])
    return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)


def colour_accuracy(train, val) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(colour_statistics(train.images), train.labels)
    return float(model.score(colour_statistics(val.images), val.labels))


def per_epoch_accuracy(network: str, train, val, epochs: int, seed: int):
    """Yield ``(epoch, val accuracy, seconds)`` while the network trains."""
    import keras

    from data import to_model_range
    from evaluation import classifier

    keras.utils.set_random_seed(seed)
    x, x_val = to_model_range(train.images), to_model_range(val.images)
    if network == "project":
        judge = classifier.build_classifier(x.shape[1:], train.num_classes)
        head = keras.Model(judge.input, judge.outputs[1])
    else:
        head = pooled_bn_network(x.shape[1:], train.num_classes)
    model = keras.Sequential([keras.Input(x.shape[1:]), *classifier.training_augmentation(x.shape[1:]), head])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.fit(x, train.labels, batch_size=classifier.BATCH_SIZE, epochs=1, shuffle=True, verbose=0)
        _, accuracy = model.evaluate(x_val, val.labels, batch_size=256, verbose=0)
        yield epoch, float(accuracy), time.perf_counter() - started


def main(argv=None):
    args = build_parser().parse_args(argv)
    from data import load_images, validation_images

    train = load_images("wikiart", args.data_dir, args.image_size, cache_dir=args.cache_dir, progress=False)
    val = validation_images("wikiart", args.data_dir, args.image_size, train.class_names, cache_dir=args.cache_dir)
    if val is None:
        raise SystemExit(f"bench/judge.py: {args.data_dir} has no style_train.csv and style_val.csv")
    print(f"{len(train.labels)} training and {len(val.labels)} val paintings, {train.num_classes} styles, "
          f"chance {1 / train.num_classes:.3f}")  # fmt: skip
    for network in args.networks:
        if network == "colour":
            print(f"colour: val accuracy {colour_accuracy(train, val):.4f}")
            continue
        for epoch, accuracy, seconds in per_epoch_accuracy(network, train, val, args.epochs, args.seed):
            print(
                f"{network} seed {args.seed} epoch {epoch}: val accuracy {accuracy:.4f} ({seconds:.0f} s)", flush=True
            )


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
