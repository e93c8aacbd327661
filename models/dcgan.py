"""The paper's conditional DC-GAN networks.

G: concat(z, condition) -> Dense -> reshape -> stride-2 Conv2DTranspose
blocks (BatchNorm, ReLU) -> tanh; or, with ``upsampling="nearest"``,
UpSampling2D + Conv3x3 blocks, which draw no pixel lattice. D: stride-2
Conv2D blocks, BatchNorm on all but the first, LeakyReLU 0.2 -> a validity
logit and K class logits.
Standard layers only, so ``keras.models.load_model`` needs no project code.
BatchNorm is ``synchronized``: under tf.distribute it normalises over the
global batch, so a mirrored run computes what a single device would.
"""

from __future__ import annotations

import keras
from keras import layers

from base.choices import UPSAMPLINGS, check_choice
from models.layout import generator_inputs, resolution_plan, stage_filters

KERNEL = 4  # DCGAN's 4x4 kernels (5x5 in some ports; 4 divides the stride evenly)


def build_dcgan_generator(
    image_shape, num_classes: int, latent_dim: int = 100, filters: int = 64, upsampling: str = "transposed"
):
    """``upsampling``: ``transposed`` doubles with 4x4 stride-2 Conv2DTranspose (the paper's);
    ``nearest`` with UpSampling2D and a 3x3 Conv2D, whose four output phases share one kernel, so
    no phase can drift from the others and stamp a pixel lattice (see :func:`doubling`)."""
    check_choice("upsampling", upsampling, UPSAMPLINGS)
    size, channels = image_shape[0], image_shape[-1]
    base, stages = resolution_plan(size)
    widths = stage_filters(filters, stages)[::-1]  # coarse to fine: ..., 256, 128, 64
    z, condition = generator_inputs(latent_dim, num_classes)
    x = layers.Concatenate(name="z_and_condition")([z, condition])
    x = layers.Dense(base * base * widths[0], use_bias=False, name="project")(x)
    x = layers.BatchNormalization(synchronized=True, name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((base, base, widths[0]), name="to_feature_map")(x)
    for stage, width in enumerate(widths[1:] + [None], start=1):
        last = width is None
        x = doubling(x, channels if last else width, upsampling, use_bias=last, name=f"up{stage}")
        if last:
            break
        x = layers.BatchNormalization(synchronized=True, name=f"up{stage}_bn")(x)
        x = layers.ReLU(name=f"up{stage}_relu")(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model([z, condition], image, name="generator")


def doubling(x, filters: int, upsampling: str, use_bias: bool, name: str):
    """Twice the side. A stride-2 transposed convolution computes each of the four output phases
    with its own quarter of the kernel; drawn at random, the quarters differ from step 0, plain
    training evens them out only slowly, and under DiffAugment's translation they drift further
    apart, so the image carries a lattice of periods 2 to 16 (BENCHMARKS.md)."""
    if upsampling == "transposed":
        return layers.Conv2DTranspose(filters, KERNEL, strides=2, padding="same", use_bias=use_bias,
                                      name=f"{name}_deconv")(x)  # fmt: skip
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample")(x)
    return layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, name=f"{name}_upconv")(x)


def build_dcgan_discriminator(image_shape, num_classes: int, filters: int = 64):
    _, stages = resolution_plan(image_shape[0])
    image = keras.Input(tuple(image_shape), name="image")
    x = image
    for stage, width in enumerate(stage_filters(filters, stages), start=1):
        x = layers.Conv2D(width, KERNEL, strides=2, padding="same", use_bias=stage == 1, name=f"down{stage}_conv")(x)
        if stage > 1:
            x = layers.BatchNormalization(synchronized=True, name=f"down{stage}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"down{stage}_lrelu")(x)
    features = layers.Flatten(name="features")(x)
    validity = layers.Dense(1, dtype="float32", name="validity")(features)
    class_logits = layers.Dense(num_classes, dtype="float32", name="class_logits")(features)
    return keras.Model(image, [validity, class_logits], name="discriminator")
