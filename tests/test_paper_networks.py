"""The paper's WGAN-GP networks: their shapes and cost, and up-sampling without a fixed pixel grid."""

import keras
import numpy as np
import pytest
from keras import layers

from bench.flops import forward_flops
from evaluation.metrics import lattice_strength
from models import wgan_gp
from models.dcgan import build_dcgan_generator
from models.layout import paper_generator_plan
from models.wgan_gp import build_wgan_critic, build_wgan_generator, residual_block


@pytest.mark.parametrize("size, plan", [(28, (7, 2)), (32, (4, 3)), (64, (8, 3)), (128, (8, 4))])
def test_paper_generator_starts_from_the_papers_base_map(size, plan):
    assert paper_generator_plan(size) == plan
    generator = build_wgan_generator((size, size, 3), 4, latent_dim=6, filters=8)
    assert generator.get_layer("to_feature_map").output.shape[1:3] == plan[:1] * 2
    assert generator.output.shape[1:] == (size, size, 3)


@pytest.mark.parametrize("size", [28, 32, 64, 128])
def test_paper_critic_downsamples_twice_then_keeps_two_identity_blocks(size):
    critic = build_wgan_critic((size, size, 3), 5, filters=8)
    pools = [layer for layer in critic.layers if isinstance(layer, layers.AveragePooling2D)]
    assert {layer.output.shape[1] for layer in pools} == {size // 2, size // 4}
    assert critic.get_layer("features").input.shape[1:3] == (size // 4, size // 4)
    for block in ("res3", "res4"):  # identity shortcuts: the block's input is added unchanged
        add = critic.get_layer(f"{block}_add")
        assert add.input[0].shape == add.output.shape
    score, logits = critic(np.zeros((2, size, size, 3), "f"))
    assert score.shape == (2, 1) and logits.shape == (2, 5)


def test_the_critic_costs_what_the_papers_code_does_at_64_px():
    critic = forward_flops(build_wgan_critic((64, 64, 3), 9, filters=128))
    assert critic == pytest.approx(1.0e9, rel=0.03)  # the ArtGan code's critic: about 1.0 GFLOP per image


def wgan_generators(size=32):
    for conditioning in ("concat", "global"):
        yield build_wgan_generator((size, size, 3), 3, 6, 8, conditioning)


def test_the_dcgans_transposed_convolutions_have_kernels_divisible_by_their_stride():
    for generator in [build_dcgan_generator((32, 32, 3), 3, latent_dim=6, filters=8)]:
        deconvs = [layer for layer in generator.layers if isinstance(layer, layers.Conv2DTranspose)]
        assert deconvs
        for layer in deconvs:
            assert all(k % s == 0 for k, s in zip(layer.kernel_size, layer.strides, strict=True)), layer.name


def phase_contrast(images) -> float:
    """Largest over smallest variance among the four (row, column) parities of the pixels.

    A network whose up-sampling treats the four positions of each 2x2 output
    cell alike gives about 1; one that writes some of them and not others
    (a sparse shortcut, a 3x3 kernel at stride 2) gives a fixed 2-pixel grid.
    """
    images = np.asarray(images, np.float64)
    variances = [images[:, i::2, j::2].var(axis=(0, 1, 2)).mean() for i in (0, 1) for j in (0, 1)]
    return max(variances) / min(variances)


def transposed_main_path(x, filters, name, kernel):
    """BN-ReLU-Conv2DTranspose(kernel, stride 2)-BN-ReLU-Conv3x3: the main path of the project's earlier up-blocks."""
    y = layers.BatchNormalization(name=f"{name}_bn1")(x)
    y = layers.ReLU()(y)
    y = layers.Conv2DTranspose(filters, kernel, strides=2, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    y = layers.ReLU()(y)
    return layers.Conv2D(filters, 3, padding="same")(y)


def up_blocks_replaced_by(block):
    """``residual_block`` with its up-blocks built by ``block`` (the critic's blocks unchanged)."""
    original = wgan_gp.residual_block

    def replaced(x, filters, name, resample=None):
        return block(x, filters, name) if resample == "up" else original(x, filters, name, resample)

    return replaced


def sparse_up_block(x, filters, name):
    """The first up-block the project had: a 1x1 stride-2 transposed shortcut and a 3x3 stride-2 kernel."""
    shortcut = layers.Conv2DTranspose(filters, 1, strides=2, padding="same", name=f"{name}_shortcut")(x)
    return layers.Add()([shortcut, transposed_main_path(x, filters, name, 3)])


def block_output(block, seed=0):
    keras.utils.set_random_seed(seed)
    features = keras.Input((8, 8, 32))
    model = keras.Model(features, block(features, 32, "up"))
    inputs = np.random.default_rng(seed).normal(size=(64, 8, 8, 32)).astype("f")
    return model(inputs, training=False)


@pytest.mark.parametrize("seed", [0, 1])
def test_up_block_leaves_no_fixed_pixel_grid(seed):
    assert phase_contrast(block_output(lambda x, f, name: residual_block(x, f, name, "up"), seed)) < 1.15


@pytest.mark.parametrize("seed", [0, 1])
def test_the_grid_detector_catches_a_sparse_shortcut(seed):
    assert phase_contrast(block_output(sparse_up_block, seed)) > 1.5


def random_images(generator, count=256):
    """Enough samples that the parity variances are steady (64 let one init reach a contrast of 1.35)."""
    z = np.random.default_rng(0).normal(size=(count, 6)).astype("f")
    return generator([z, np.eye(3, dtype="f")[np.arange(count) % 3]], training=False)


def mean_contrast(build, inits=4) -> float:
    """The phase contrast averaged over random initialisations: one init alone ranges from 1.0 to 1.35
    for the paper's blocks (an upsample-then-convolve kernel weighs the four phases a little
    differently) and from 1.5 to 3.4 for the sparse one."""
    contrasts = []
    for seed in range(inits):
        keras.utils.set_random_seed(seed)
        contrasts.append(phase_contrast(random_images(build())))
    return float(np.mean(contrasts))


@pytest.mark.parametrize("conditioning", ["concat", "global"])
def test_generators_with_random_weights_draw_no_pixel_grid(conditioning):
    assert mean_contrast(lambda: build_wgan_generator((32, 32, 3), 3, 6, 8, conditioning)) < 1.25


def test_a_generator_built_on_the_sparse_block_draws_a_pixel_grid(monkeypatch):
    monkeypatch.setattr(wgan_gp, "residual_block", up_blocks_replaced_by(sparse_up_block))
    assert mean_contrast(lambda: wgan_gp.build_wgan_generator((32, 32, 3), 3, 6, 8)) > 1.8


def transposed_up_block(x, filters, name):
    """The up-block the project had until 2026-12-01: a 4x4 stride-2 Conv2DTranspose on the main path."""
    return layers.Add()([wgan_gp.shortcut(x, filters, name, "up"), transposed_main_path(x, filters, name, 4)])


def drift(generator, seed: int):
    """Every kernel redrawn at random (He scale): weights training could reach, tied to no initialisation."""
    rng = np.random.default_rng(seed)
    for layer in generator.layers:
        if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose, layers.Dense)):
            kernel = np.asarray(layer.kernel)
            fan_in = kernel.size / kernel.shape[-2 if isinstance(layer, layers.Conv2DTranspose) else -1]
            layer.kernel.assign(rng.normal(0, np.sqrt(2 / fan_in), kernel.shape).astype("f"))
    return generator


def drifted_lattice(build, seeds=(0, 1)) -> float:
    """The lattice strength of 64 px samples, averaged over two sets of drifted weights."""
    strengths = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        generator = drift(build(), seed)
        strengths.append(lattice_strength(np.asarray(random_images(generator, count=64))))
    return float(np.mean(strengths))


@pytest.mark.parametrize("conditioning", ["concat", "global"])
def test_whatever_weights_training_reaches_the_generator_stamps_no_lattice(conditioning):
    assert drifted_lattice(lambda: build_wgan_generator((64, 64, 3), 3, 6, 8, conditioning)) < 3.0


def test_the_lattice_test_catches_the_transposed_up_block(monkeypatch):
    """The old networks fail the test above: their transposed kernels' phases drift apart."""
    monkeypatch.setattr(wgan_gp, "residual_block", up_blocks_replaced_by(transposed_up_block))
    assert drifted_lattice(lambda: wgan_gp.build_wgan_generator((64, 64, 3), 3, 6, 8)) > 6.0


@pytest.mark.parametrize("upsampling, lattice", [("nearest", False), ("transposed", True)])
def test_the_dcgan_generator_stamps_a_lattice_only_with_transposed_convolutions(upsampling, lattice):
    strength = drifted_lattice(lambda: build_dcgan_generator((64, 64, 3), 3, 6, 8, upsampling=upsampling))
    assert strength > 6.0 if lattice else strength < 3.0


def test_the_generator_costs_what_the_papers_code_does_at_64_px():
    generator = forward_flops(build_wgan_generator((64, 64, 3), 9, filters=128))
    assert generator == pytest.approx(3.2e9, rel=0.05)  # the ArtGan code's generator: about 3.2 GFLOP per image
