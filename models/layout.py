"""How many stride-2 stages a network needs for an image size, shared by every builder."""

from __future__ import annotations

from data.errors import DataError

MAX_BASE_SIZE = 7


def resolution_plan(image_size: int) -> tuple[int, int]:
    """``(base_size, stages)``: image_size = base_size * 2**stages with base_size <= 7.

    28 -> (7, 2) as in DCGAN's MNIST model; 32 -> (4, 3); 64 -> (4, 4).
    """
    size, stages = image_size, 0
    while size > MAX_BASE_SIZE:
        if size % 2:
            raise DataError(
                f"image size {image_size} cannot be reached by doubling a base of at most "
                f"{MAX_BASE_SIZE} pixels; use e.g. 28, 32, 48 or 64"
            )
        size //= 2
        stages += 1
    if stages == 0:
        raise DataError(f"image size {image_size} is too small; use 8 or more")
    return size, stages


def stage_filters(base_filters: int, stages: int, cap: int = 512) -> list[int]:
    """Filters per stage, from the finest resolution to the coarsest: 64, 128, 256, ..."""
    return [min(base_filters * 2**i, cap) for i in range(stages)]
