"""Sampling from a generator and drawing the paper's grids (one implementation for all callers)."""

from sampling.animation import save_animation
from sampling.conditions import (
    MIX_MODES,
    condition_label,
    interpolated_conditions,
    mixed_condition,
    one_hot,
    weighted_condition,
)
from sampling.figures import GRID_KINDS, LabelledGrid, draw, noise_count, save_cells
from sampling.generator_files import checkpoint_config, class_names, generator_sizes, select_classes
from sampling.grids import (
    Cells,
    class_grid,
    draw_cells,
    generate,
    interpolation,
    mixing_matrix,
    one_class,
    same_noise_styles,
)
from sampling.noise import NoiseChoice, fixed_noise, parse_seeds, seed_noise, truncation_threshold
from sampling.render import grid_pixel_size, render_grid, save_grid, save_png, show_picture, to_pixels
from sampling.timelapse import timelapse_frames
from sampling.walks import Walk, style_walk, z_walk

__all__ = [
    "GRID_KINDS",
    "MIX_MODES",
    "Cells",
    "LabelledGrid",
    "NoiseChoice",
    "Walk",
    "checkpoint_config",
    "class_grid",
    "class_names",
    "condition_label",
    "draw",
    "draw_cells",
    "fixed_noise",
    "generate",
    "generator_sizes",
    "grid_pixel_size",
    "interpolated_conditions",
    "interpolation",
    "mixed_condition",
    "mixing_matrix",
    "noise_count",
    "one_class",
    "one_hot",
    "parse_seeds",
    "render_grid",
    "same_noise_styles",
    "save_animation",
    "save_cells",
    "save_grid",
    "save_png",
    "seed_noise",
    "select_classes",
    "show_picture",
    "style_walk",
    "timelapse_frames",
    "to_pixels",
    "truncation_threshold",
    "weighted_condition",
    "z_walk",
]
