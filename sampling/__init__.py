"""Sampling from a generator and drawing the paper's grids (one implementation for all callers)."""

from sampling.conditions import mixed_condition, one_hot
from sampling.grids import class_grid, fixed_noise, generate, mixing_matrix
from sampling.render import grid_pixel_size, save_grid

__all__ = [
    "class_grid",
    "fixed_noise",
    "generate",
    "grid_pixel_size",
    "mixed_condition",
    "mixing_matrix",
    "one_hot",
    "save_grid",
]
