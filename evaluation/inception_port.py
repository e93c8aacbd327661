"""pytorch-fid's port of the 2015 Inception graph (``pt_inception-2015-12-05-*.pth``) in standard Keras layers.

pytorch-fid, torch-fidelity and clean-fid load this file into torchvision's
InceptionV3 patched where the 2015 graph differs from it, and so does this
module, layer by layer under the file's own names:

- the average pools inside the blocks leave the padding out of their mean
  (TensorFlow's SAME pooling does so, which is Keras's ``padding="same"``);
- the last block (``Mixed_7c``) pools its branch by a 3x3 max, not an average;
- the classifier has 1008 classes; as with the graph, the Inception Score
  applies its weights without its bias;
- images are resized to 299x299 as TensorFlow 1 did (no half-pixel centres)
  and mapped by (x - 128) / 128, as the graph does.

Every tensor of the file is used once, and a file with other names or
shapes is refused with one line.
"""

from __future__ import annotations

from base.errors import UserError

INPUT_SIZE = 299
EPSILON = 1e-3  # torchvision's BasicConv2d BatchNorm
CLASSES = 1008
SKIPPED = ("num_batches_tracked",)  # bookkeeping of BatchNorm, no weight


class Builder:
    """Creates the layers under the file's names and fills them from its tensors, counting what it uses.

    Without a state it records the names and shapes it asks for (``expected_tensors``) and fills zeros.
    """

    def __init__(self, state: dict | None):
        self.state = state
        self.used = set()
        self.requested = {}

    def take(self, name: str, shape: tuple):
        self.requested[name] = tuple(shape)
        if self.state is None:
            import numpy as np

            return np.zeros(shape, np.float32)
        if name not in self.state:
            raise UserError(f"the file has no tensor {name}: not pytorch-fid's Inception port")
        value = self.state[name]
        if tuple(value.shape) != tuple(shape):
            raise UserError(f"{name} has shape {tuple(value.shape)}, pytorch-fid's port has {tuple(shape)}")
        self.used.add(name)
        return value

    def conv(self, x, name: str, filters: int, kernel, strides=1, padding="same"):
        """torchvision's BasicConv2d: convolution without bias, BatchNorm (eps 0.001), ReLU."""
        import keras

        kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
        channels = int(x.shape[-1])
        layer = keras.layers.Conv2D(filters, kernel, strides, padding, use_bias=False, name=f"{name}.conv")
        x = layer(x)
        layer.set_weights([self.take(f"{name}.conv.weight", (filters, channels, *kernel)).transpose(2, 3, 1, 0)])
        norm = keras.layers.BatchNormalization(epsilon=EPSILON, name=f"{name}.bn")
        x = norm(x)
        norm.set_weights(
            [self.take(f"{name}.bn.{part}", (filters,)) for part in ("weight", "bias", "running_mean", "running_var")]
        )
        return keras.layers.ReLU(name=f"{name}.relu")(x)

    def check_all_used(self) -> None:
        if self.state is None:
            return
        unused = sorted(n for n in self.state if n not in self.used and not n.endswith(SKIPPED) and n != "fc.bias")
        if unused:
            raise UserError(f"the file has tensors pytorch-fid's port has not: {', '.join(unused[:3])}")


def stem(b: Builder, x):
    import keras

    x = b.conv(x, "Conv2d_1a_3x3", 32, 3, 2, "valid")
    x = b.conv(x, "Conv2d_2a_3x3", 32, 3, 1, "valid")
    x = b.conv(x, "Conv2d_2b_3x3", 64, 3)
    x = keras.layers.MaxPooling2D(3, 2, name="maxpool1")(x)
    x = b.conv(x, "Conv2d_3b_1x1", 80, 1)
    x = b.conv(x, "Conv2d_4a_3x3", 192, 3, 1, "valid")
    return keras.layers.MaxPooling2D(3, 2, name="maxpool2")(x)


def block_a(b: Builder, x, name: str, pool_features: int):
    import keras

    one = b.conv(x, f"{name}.branch1x1", 64, 1)
    five = b.conv(b.conv(x, f"{name}.branch5x5_1", 48, 1), f"{name}.branch5x5_2", 64, 5)
    double = b.conv(x, f"{name}.branch3x3dbl_1", 64, 1)
    double = b.conv(b.conv(double, f"{name}.branch3x3dbl_2", 96, 3), f"{name}.branch3x3dbl_3", 96, 3)
    pool = keras.layers.AveragePooling2D(3, 1, "same", name=f"{name}.avg_pool")(x)  # padding left out of the mean
    pool = b.conv(pool, f"{name}.branch_pool", pool_features, 1)
    return keras.layers.Concatenate(name=f"{name}.concat")([one, five, double, pool])


def block_b(b: Builder, x, name: str):
    import keras

    three = b.conv(x, f"{name}.branch3x3", 384, 3, 2, "valid")
    double = b.conv(x, f"{name}.branch3x3dbl_1", 64, 1)
    double = b.conv(double, f"{name}.branch3x3dbl_2", 96, 3)
    double = b.conv(double, f"{name}.branch3x3dbl_3", 96, 3, 2, "valid")
    pool = keras.layers.MaxPooling2D(3, 2, name=f"{name}.max_pool")(x)
    return keras.layers.Concatenate(name=f"{name}.concat")([three, double, pool])


def block_c(b: Builder, x, name: str, c7: int):
    import keras

    one = b.conv(x, f"{name}.branch1x1", 192, 1)
    seven = b.conv(x, f"{name}.branch7x7_1", c7, 1)
    seven = b.conv(b.conv(seven, f"{name}.branch7x7_2", c7, (1, 7)), f"{name}.branch7x7_3", 192, (7, 1))
    double = b.conv(x, f"{name}.branch7x7dbl_1", c7, 1)
    for index, (filters, kernel) in enumerate(((c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7))), start=2):
        double = b.conv(double, f"{name}.branch7x7dbl_{index}", filters, kernel)
    pool = keras.layers.AveragePooling2D(3, 1, "same", name=f"{name}.avg_pool")(x)
    pool = b.conv(pool, f"{name}.branch_pool", 192, 1)
    return keras.layers.Concatenate(name=f"{name}.concat")([one, seven, double, pool])


def block_d(b: Builder, x, name: str):
    import keras

    three = b.conv(b.conv(x, f"{name}.branch3x3_1", 192, 1), f"{name}.branch3x3_2", 320, 3, 2, "valid")
    seven = b.conv(x, f"{name}.branch7x7x3_1", 192, 1)
    seven = b.conv(b.conv(seven, f"{name}.branch7x7x3_2", 192, (1, 7)), f"{name}.branch7x7x3_3", 192, (7, 1))
    seven = b.conv(seven, f"{name}.branch7x7x3_4", 192, 3, 2, "valid")
    pool = keras.layers.MaxPooling2D(3, 2, name=f"{name}.max_pool")(x)
    return keras.layers.Concatenate(name=f"{name}.concat")([three, seven, pool])


def block_e(b: Builder, x, name: str, max_pool: bool):
    import keras

    def split(y, prefix):
        return keras.layers.Concatenate(name=f"{prefix}.concat")(
            [b.conv(y, f"{prefix}a", 384, (1, 3)), b.conv(y, f"{prefix}b", 384, (3, 1))]
        )

    one = b.conv(x, f"{name}.branch1x1", 320, 1)
    three = split(b.conv(x, f"{name}.branch3x3_1", 384, 1), f"{name}.branch3x3_2")
    double = b.conv(b.conv(x, f"{name}.branch3x3dbl_1", 448, 1), f"{name}.branch3x3dbl_2", 384, 3)
    double = split(double, f"{name}.branch3x3dbl_3")
    pooling = keras.layers.MaxPooling2D if max_pool else keras.layers.AveragePooling2D
    pool = pooling(3, 1, "same", name=f"{name}.pool")(x)  # the 2015 graph's last block: a max pool
    pool = b.conv(pool, f"{name}.branch_pool", 192, 1)
    return keras.layers.Concatenate(name=f"{name}.concat")([one, three, double, pool])


def expected_tensors() -> dict:
    """``{name: shape}`` of every tensor a port file must hold, in the order the network uses them."""
    builder = Builder(None)
    build_port(None, builder)
    return builder.requested


def build_port(state: dict | None, builder: Builder | None = None):
    """``keras.Model``: (299, 299, 3) images, already mapped to [-1, 1] -> (2048 features, 1008 logits without bias)."""
    import keras

    b = builder or Builder(state)
    images = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="images")
    x = stem(b, images)
    for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        x = block_a(b, x, name, pool_features)
    x = block_b(b, x, "Mixed_6a")
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        x = block_c(b, x, name, c7)
    x = block_d(b, x, "Mixed_7a")
    x = block_e(b, x, "Mixed_7b", max_pool=False)
    x = block_e(b, x, "Mixed_7c", max_pool=True)
    features = keras.layers.GlobalAveragePooling2D(name="pool_3")(x)
    classifier = keras.layers.Dense(CLASSES, use_bias=False, name="fc")
    logits = classifier(features)
    classifier.set_weights([b.take("fc.weight", (CLASSES, 2048)).T])
    b.check_all_used()
    return keras.Model(images, [features, logits], name="pytorch_fid_inception")


def preprocess(pixels):
    """0-255 pixels -> 299x299 in [-1, 1], with TensorFlow 1's bilinear resize, as the graph does."""
    import tensorflow as tf

    resized = tf.raw_ops.ResizeBilinear(
        images=pixels, size=[INPUT_SIZE, INPUT_SIZE], align_corners=False, half_pixel_centers=False
    )
    return (resized - 128.0) / 128.0
