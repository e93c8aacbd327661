"""What every network builder shares: the generator's inputs, and the stride-2 stages an image size needs."""

from __future__ import annotations

from base.choices import check_image_size
from base.errors import UserError

MAX_BASE_SIZE = 7


def generator_inputs(latent_dim: int, num_classes: int):
    """The two named inputs every generator takes: noise z and the condition vector.

    Keras is imported here, not above: the stage plans stay free of TensorFlow (bench/torch_reference.py).
    """
    import keras

    return keras.Input((latent_dim,), name="z"), keras.Input((num_classes,), name="condition")


def resolution_plan(image_size: int) -> tuple[int, int]:
    """``(base_size, stages)``: image_size = base_size * 2**stages with base_size <= 7.

    28 -> (7, 2) as in DCGAN's MNIST model; 32 -> (4, 3); 64 -> (4, 4).
    """
    size, stages = image_size, 0
    while size > MAX_BASE_SIZE:
        if size % 2:
            raise UserError(
                f"image size {image_size} cannot be reached by doubling a base of at most "
                f"{MAX_BASE_SIZE} pixels; use e.g. 28, 32, 48 or 64"
            )
        size //= 2
        stages += 1
    check_image_size(image_size)  # a side under 8 needs no doubling: too small for the paper's networks
    return size, stages


def stage_filters(base_filters: int, stages: int, cap: int = 512) -> list[int]:
    """Filters per stage, from the finest resolution to the coarsest: 64, 128, 256, ..."""
    return [min(base_filters * 2**i, cap) for i in range(stages)]


PAPER_STAGES = 3  # the paper's WGAN-GP generator: three up-blocks (8 -> 64, 4 -> 32); two at 28 px (7 -> 28)
MIN_BASE_SIZE = 4


def paper_generator_plan(image_size: int) -> tuple[int, int]:
    """``(base_size, stages)`` of the paper's ResNet generator: up to three doublings from a base of 4 or more.

    28 -> (7, 2), 32 -> (4, 3), 64 -> (8, 3) as in the paper's code; larger
    images take more doublings until the base is at most 8 (128 -> (8, 4)).
    """
    size, stages = image_size, 0
    while size % 2 == 0 and size // 2 >= MIN_BASE_SIZE and (stages < PAPER_STAGES or size > 8):
        size //= 2
        stages += 1
    if stages == 0:
        raise UserError(f"image size {image_size} is too small or odd for the paper's generator; use e.g. 28, 32 or 64")
    return size, stages


def check_paper_critic_size(image_size: int) -> None:
    """The paper's critic halves the image twice before its identity blocks."""
    if image_size % 4 or image_size < 8:
        raise UserError(f"image size {image_size} must be a multiple of 4 (8 or more) for the paper's critic")
