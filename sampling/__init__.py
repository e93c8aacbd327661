"""Sampling from a generator and drawing the paper's grids (one implementation for all callers)."""

from sampling.conditions import MIX_MODES, interpolated_conditions, mixed_condition, one_hot
from sampling.figures import GRID_KINDS, LabelledGrid, draw, noise_count
from sampling.generator_files import (
    choose_generator,
    class_names,
    generator_sizes,
    latest_generator,
    load_generator,
    newest_run,
    run_config,
    select_classes,
)
from sampling.grids import (
    class_grid,
    fixed_noise,
    generate,
    interpolation,
    mixing_matrix,
    one_class,
    same_noise_styles,
)
from sampling.render import grid_pixel_size, render_grid, save_grid, show_picture

__all__ = [
    "GRID_KINDS",
    "LabelledGrid",
    "MIX_MODES",
    "choose_generator",
    "class_grid",
    "class_names",
    "draw",
    "fixed_noise",
    "generate",
    "generator_sizes",
    "grid_pixel_size",
    "interpolated_conditions",
    "interpolation",
    "latest_generator",
    "load_generator",
    "mixed_condition",
    "mixing_matrix",
    "newest_run",
    "noise_count",
    "one_class",
    "one_hot",
    "render_grid",
    "run_config",
    "same_noise_styles",
    "save_grid",
    "select_classes",
    "show_picture",
]
