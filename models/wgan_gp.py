"""The paper's conditional WGAN-GP networks: residual generator, layer-normalised residual critic.

The critic has no batch statistics anywhere (layer normalisation where a
ResNet has BatchNorm): the gradient penalty is a per-sample quantity, and
BatchNorm would make each sample's score depend on the rest of the batch.
Blocks are small functions composed into networks, as in the WGAN-GP
authors' ``gan_cifar_resnet.py``; standard Keras layers only.
"""

from __future__ import annotations

import keras
from keras import layers

from models.dcgan import generator_inputs
from models.layout import resolution_plan

FILTERS = 128  # the paper's critic width
KERNEL = 3


def residual_up_block(x, filters: int, name: str):
    """BN-ReLU-Conv2DTranspose(stride 2)-BN-ReLU-Conv, plus a learned 1x1 stride-2 shortcut."""
    shortcut = layers.Conv2DTranspose(filters, 1, strides=2, padding="same", name=f"{name}_shortcut")(x)
    y = layers.BatchNormalization(synchronized=True, name=f"{name}_bn1")(x)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2DTranspose(filters, KERNEL, strides=2, padding="same", use_bias=False, name=f"{name}_deconv")(y)
    y = layers.BatchNormalization(synchronized=True, name=f"{name}_bn2")(y)
    y = layers.ReLU(name=f"{name}_relu2")(y)
    y = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv")(y)
    return layers.Add(name=f"{name}_add")([shortcut, y])


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
    condition; plus the same 1x1 stride-2 shortcut as the plain block.
    """
    shortcut = layers.Conv2DTranspose(filters, 1, strides=2, padding="same", name=f"{name}_shortcut")(x)
    y = layers.BatchNormalization(synchronized=True, name=f"{name}_bn1")(x)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2DTranspose(filters, KERNEL, strides=2, padding="same", use_bias=False, name=f"{name}_deconv")(y)
    y = layers.BatchNormalization(synchronized=True, name=f"{name}_bn2")(y)
    a = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv_a")(y)
    b = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv_b")(y)
    c1 = condition_map(condition, a, filters, f"{name}_cond1")
    c2 = condition_map(condition, b, filters, f"{name}_cond2")
    gate = layers.Activation("sigmoid", name=f"{name}_gate")(layers.Add(name=f"{name}_a_c1")([a, c1]))
    signal = layers.Activation("tanh", name=f"{name}_signal")(layers.Add(name=f"{name}_b_c2")([b, c2]))
    y = layers.Multiply(name=f"{name}_gated")([gate, signal])
    return layers.Add(name=f"{name}_add")([shortcut, y])


def layer_norm(name: str):
    """Layer normalisation over each sample's whole feature map (H, W, C), per-channel scale and shift.

    That is the WGAN-GP code's layernorm, and GroupNormalization with a
    single group computes exactly it. Keras's LayerNormalization over
    axes (1, 2, 3) would learn a scale per position and does not reload
    from .h5 (its gamma comes back with the wrong shape).
    """
    return layers.GroupNormalization(groups=1, epsilon=1e-5, name=name)


def residual_down_block(x, filters: int, name: str, first: bool = False):
    """(LN-ReLU-)Conv-LN-ReLU-Conv-AvgPool, plus an AvgPool-1x1 shortcut.

    The first block sees raw pixels, so it starts with a convolution rather
    than a normalisation (the WGAN-GP code's "optimized" first block).
    """
    shortcut = layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(x)
    shortcut = layers.Conv2D(filters, 1, name=f"{name}_shortcut")(shortcut)
    y = x
    if not first:
        y = layer_norm(f"{name}_ln1")(y)
        y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv1")(y)
    y = layer_norm(f"{name}_ln2")(y)
    y = layers.ReLU(name=f"{name}_relu2")(y)
    y = layers.Conv2D(filters, KERNEL, padding="same", name=f"{name}_conv2")(y)
    y = layers.AveragePooling2D(2, name=f"{name}_pool")(y)
    return layers.Add(name=f"{name}_add")([shortcut, y])


CONDITIONINGS = ("concat", "global")


def build_wgan_generator(
    image_shape, num_classes: int, latent_dim: int = 100, filters: int = FILTERS, conditioning: str = "concat"
):
    """``concat``: the condition enters once, with z (the paper); ``global``: also in every up-block."""
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"unknown conditioning {conditioning!r}; choose one of {', '.join(CONDITIONINGS)}")
    base, stages = resolution_plan(image_shape[0])
    z, condition = generator_inputs(latent_dim, num_classes)
    x = layers.Concatenate(name="z_and_condition")([z, condition])
    x = layers.Dense(base * base * filters, name="project")(x)
    x = layers.Reshape((base, base, filters), name="to_feature_map")(x)
    for stage in range(1, stages + 1):
        if conditioning == "global":
            x = gated_up_block(x, condition, filters, f"up{stage}")
        else:
            x = residual_up_block(x, filters, f"up{stage}")
    x = layers.BatchNormalization(synchronized=True, name="out_bn")(x)
    x = layers.ReLU(name="out_relu")(x)
    x = layers.Conv2D(image_shape[-1], KERNEL, padding="same", name="to_image")(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model([z, condition], image, name="generator")


def build_wgan_critic(image_shape, num_classes: int, filters: int = FILTERS):
    _, stages = resolution_plan(image_shape[0])
    image = keras.Input(tuple(image_shape), name="image")
    x = image
    for stage in range(1, stages + 1):
        x = residual_down_block(x, filters, f"down{stage}", first=stage == 1)
    x = layers.ReLU(name="out_relu")(x)
    features = layers.GlobalAveragePooling2D(name="features")(x)
    score = layers.Dense(1, dtype="float32", name="score")(features)
    class_logits = layers.Dense(num_classes, dtype="float32", name="class_logits")(features)
    return keras.Model(image, [score, class_logits], name="critic")
