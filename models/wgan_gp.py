"""The paper's conditional WGAN-GP networks: residual generator, layer-normalised residual critic.

The ArtGan code's networks. Critic at 64 px: Conv3x3-ReLU-AvgPool-Conv3x3
(+ AvgPool, 1x1 shortcut) to 32x32, norm-ReLU-Conv-norm-ReLU-AvgPool-Conv
(+ AvgPool shortcut) to 16x16, two identity-shortcut blocks at 16x16, ReLU,
global average pool. Generator: Dense to 8x8, three residual up-blocks to
64x64. (A deeper pair, four downsampling blocks to 4x4 and four up-blocks
from 4x4, cost twice the critic's FLOPs and learned far worse on the same
budget: BENCHMARKS.md.)

The critic has no batch statistics anywhere (layer normalisation where a
ResNet has BatchNorm): the gradient penalty is a per-sample quantity, and
BatchNorm would make each sample's score depend on the rest of the batch.
Every up-block doubles by nearest-neighbour UpSampling2D followed by a 3x3
convolution, on its main path and (without the convolution) on its shortcut,
as the paper's code does: every output pixel of a 2x2 cell gets the same
total weight for any kernel, so training cannot grow a fixed lattice. Blocks are small functions composed into
networks, as in the WGAN-GP authors' ``gan_cifar_resnet.py``; standard Keras
layers only.
"""

from __future__ import annotations

import keras
from keras import layers

from base.choices import CONDITIONINGS, check_choice
from models.layout import check_paper_critic_size, generator_inputs, paper_generator_plan

FILTERS = 128  # the paper's width, both networks
KERNEL = 3


# Layer names by resampling: the generator's up-blocks and the critic's blocks kept the names their
# checkpoints carry (--init-from maps weights by layer name, so renaming would orphan trained runs).
UP_NAMES = {"norm1": "bn1", "relu1": "relu1", "conv1": "upconv", "norm2": "bn2", "relu2": "relu2", "conv2": "conv"}
CRITIC_NAMES = {"norm1": "1_ln", "relu1": "1_relu", "conv1": "1_conv", "norm2": "2_ln", "relu2": "2_relu",
                "pool": "2_pool", "conv2": "2_conv"}  # fmt: skip


def batch_norm(name: str):
    """The generator's normalisation, synchronized so that a mirrored run computes what one device does."""
    return layers.BatchNormalization(synchronized=True, name=name)


def layer_norm(name: str):
    """Layer normalisation over each sample's whole feature map (H, W, C), per-channel scale and shift.

    That is the WGAN-GP code's layernorm, and GroupNormalization with a
    single group computes exactly it. Keras's LayerNormalization over
    axes (1, 2, 3) would learn a scale per position and does not reload
    from .h5 (its gamma comes back with the wrong shape).
    """
    return layers.GroupNormalization(groups=1, epsilon=1e-5, name=name)


def residual_block(x, filters: int, name: str, resample: str | None = None):
    """norm-ReLU-Conv3x3-norm-ReLU-Conv3x3 plus a shortcut, as the WGAN-GP authors' ``ResidualBlock``.

    ``resample="up"`` (the generator's up-block): BatchNorm, and the side
    doubles by nearest-neighbour UpSampling2D before the first convolution
    (see :func:`up_block_first_half`). ``"down"`` and ``None`` (the critic's
    blocks): layer normalisation, and ``"down"`` halves the side by average
    pooling before the second convolution, as the paper's code does.
    """
    if resample == "up":
        y = layers.ReLU(name=f"{name}_{UP_NAMES['relu2']}")(up_block_first_half(x, filters, name))
        y = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_{UP_NAMES['conv2']}")(y)
    else:
        y = norm_relu_conv(x, filters, name, 1)
        y = norm_relu_conv(y, filters, name, 2, pool=resample == "down")
    return layers.Add(name=f"{name}_add")([shortcut(x, filters, name, resample), y])


def norm_relu_conv(x, filters: int, name: str, index: int, pool: bool = False):
    """LN-ReLU(-AvgPool)-Conv3x3: one half of a critic block."""
    y = layer_norm(f"{name}_{CRITIC_NAMES[f'norm{index}']}")(x)
    y = layers.ReLU(name=f"{name}_{CRITIC_NAMES[f'relu{index}']}")(y)
    if pool:
        y = layers.AveragePooling2D(2, name=f"{name}_{CRITIC_NAMES['pool']}")(y)
    return layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_{CRITIC_NAMES[f'conv{index}']}")(y)


def up_block_first_half(x, filters: int, name: str):
    """BN-ReLU-UpSampling2D(nearest)-Conv3x3-BN: the first half of an up-block, as the paper's code has it.

    Doubling by repetition before the convolution gives the four pixels of
    every 2x2 output cell the same total weight whatever the kernel becomes
    in training, so no weights can stamp a fixed lattice on the image. A
    4x4 stride-2 Conv2DTranspose computes the same thing only at the start:
    its four phases have free sub-kernels, and on WikiArt at 64 px they
    drifted apart until every sample carried a lattice of periods 2, 4 and 8
    (BENCHMARKS.md).
    """
    y = batch_norm(f"{name}_{UP_NAMES['norm1']}")(x)
    y = layers.ReLU(name=f"{name}_{UP_NAMES['relu1']}")(y)
    y = layers.UpSampling2D(2, name=f"{name}_up")(y)
    y = layers.Conv2D(filters, KERNEL, padding="same", use_bias=False, name=f"{name}_{UP_NAMES['conv1']}")(y)
    return batch_norm(f"{name}_{UP_NAMES['norm2']}")(y)


def shortcut(x, filters: int, name: str, resample: str | None):
    """The identity, resampled like the main path: nearest-neighbour doubling (every output pixel gets its
    input's value) or average pooling; a 1x1 convolution where the width changes."""
    if resample == "up":
        x = layers.UpSampling2D(2, name=f"{name}_shortcut_up")(x)
    elif resample == "down":
        x = layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(x)
    if x.shape[-1] != filters:
        x = layers.Conv2D(filters, 1, name=f"{name}_shortcut")(x)
    return x


def condition_map(condition, like, filters: int, name: str):
    """The condition projected (Dense) to one value per channel, spread over the block's H x W.

    The condition vector carries no spatial information, so the map is the
    same at every position; UpSampling2D broadcasts it with a standard layer.
    """
    height, width = like.shape[1], like.shape[2]
    projected = layers.Dense(filters, name=f"{name}_dense")(condition)
    projected = layers.Reshape((1, 1, filters), name=f"{name}_reshape")(projected)
    return layers.UpSampling2D((height, width), name=f"{name}_spread")(projected)


def gated_up_block(x, condition, filters: int, name: str):
    """GANGogh's global conditioning: the block's activation is a gate steered by the condition.

    out = sigmoid(a + c1) * tanh(b + c2), with a, b the two halves of the
    block's features (two convolutions) and c1, c2 projections of the
    condition; plus the same shortcut as the plain block.
    """
    y = up_block_first_half(x, filters, name)
    a = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv_a")(y)
    b = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv_b")(y)
    c1 = condition_map(condition, a, filters, f"{name}_cond1")
    c2 = condition_map(condition, b, filters, f"{name}_cond2")
    gate = layers.Activation("sigmoid", name=f"{name}_gate")(layers.Add(name=f"{name}_a_c1")([a, c1]))
    signal = layers.Activation("tanh", name=f"{name}_signal")(layers.Add(name=f"{name}_b_c2")([b, c2]))
    y = layers.Multiply(name=f"{name}_gated")([gate, signal])
    return layers.Add(name=f"{name}_add")([shortcut(x, filters, name, "up"), y])


def first_down_block(x, filters: int, name: str):
    """Conv-ReLU-AvgPool-Conv plus AvgPool-1x1: pooling before the second convolution, as the paper's code does."""
    shortcut = layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(x)
    shortcut = layers.Conv2D(filters, 1, name=f"{name}_shortcut")(shortcut)
    y = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv1")(x)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.AveragePooling2D(2, name=f"{name}_pool")(y)
    y = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv2")(y)
    return layers.Add(name=f"{name}_add")([shortcut, y])


def build_wgan_generator(
    image_shape,
    num_classes: int,
    latent_dim: int = 100,
    filters: int = FILTERS,
    conditioning: str = "concat",
):
    """``concat``: the condition enters once, with z (the paper); ``global``: also in every up-block."""
    check_choice("conditioning", conditioning, CONDITIONINGS)
    base, stages = paper_generator_plan(image_shape[0])
    z, condition = generator_inputs(latent_dim, num_classes)
    x = layers.Concatenate(name="z_and_condition")([z, condition])
    x = layers.Dense(base * base * filters, name="project")(x)
    x = layers.Reshape((base, base, filters), name="to_feature_map")(x)
    for stage in range(1, stages + 1):
        if conditioning == "global":
            x = gated_up_block(x, condition, filters, f"up{stage}")
        else:
            x = residual_block(x, filters, f"up{stage}", resample="up")
    x = layers.BatchNormalization(synchronized=True, name="out_bn")(x)
    x = layers.ReLU(name="out_relu")(x)
    x = layers.Conv2D(image_shape[-1], KERNEL, padding="same", name="to_image")(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model([z, condition], image, name="generator")


def critic_trunk(image, filters: int):
    check_paper_critic_size(image.shape[1])
    x = first_down_block(image, filters, "down1")
    x = residual_block(x, filters, "down2", resample="down")
    x = residual_block(x, filters, "res3")
    return residual_block(x, filters, "res4")


def build_wgan_critic(image_shape, num_classes: int, filters: int = FILTERS):
    image = keras.Input(tuple(image_shape), name="image")
    x = layers.ReLU(name="out_relu")(critic_trunk(image, filters))
    features = layers.GlobalAveragePooling2D(name="features")(x)
    score = layers.Dense(1, dtype="float32", name="score")(features)
    class_logits = layers.Dense(num_classes, dtype="float32", name="class_logits")(features)
    return keras.Model(image, [score, class_logits], name="critic")
