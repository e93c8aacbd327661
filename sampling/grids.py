"""Image arrays for the paper's figures, laid out as (rows, columns, H, W, C) in [-1, 1].

Every grid is a batch of (noise, condition) pairs run through :func:`generate`
and reshaped; only the pairing differs, so grids drawn from the same noise are
comparable cell by cell (the mixing diagonal is the class grid, the ends of an
interpolation are the pure classes).
"""

from __future__ import annotations

import numpy as np

from base.streams import numpy_stream
from sampling.conditions import interpolated_conditions, mixed_condition, one_hot


def fixed_noise(seed: int, count: int, latent_dim: int) -> np.ndarray:
    """The same noise for a run's every epoch (and after resuming): a function of the seed alone."""
    rng = numpy_stream(seed, "grid_noise")
    return rng.standard_normal((count, latent_dim)).astype(np.float32)


def generate(generator, noise, conditions, batch_size: int = 256) -> np.ndarray:
    """Run the generator in inference mode (BatchNorm moving statistics), in chunks."""
    noise = np.asarray(noise, np.float32)
    conditions = np.asarray(conditions, np.float32)
    chunks = [
        np.asarray(generator([noise[i : i + batch_size], conditions[i : i + batch_size]], training=False))
        for i in range(0, len(noise), batch_size)
    ]
    return np.concatenate(chunks).astype(np.float32)


def _as_grid(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return images.reshape(rows, cols, *images.shape[1:])


def class_grid(generator, class_indices, noise, num_classes: int) -> np.ndarray:
    """One row per class, one column per noise vector: columns share noise across classes."""
    rows, cols = len(class_indices), len(noise)
    conditions = one_hot(np.repeat(class_indices, cols), num_classes)
    images = generate(generator, np.tile(noise, (rows, 1)), conditions)
    return _as_grid(images, rows, cols)


def same_noise_styles(generator, class_indices, noise, num_classes: int) -> np.ndarray:
    """One column per class, one row per noise vector (the paper's Figure 15): a row is one z in every style.

    The transpose of :func:`class_grid`, so the two never disagree about a cell.
    """
    return np.swapaxes(class_grid(generator, class_indices, noise, num_classes), 0, 1)


def mixing_matrix(generator, class_indices, noise, num_classes: int, mode: str = "mean") -> np.ndarray:
    """Cell (i, j) from condition mix(e_i, e_j) over the chosen classes; row i uses noise[i] in every column."""
    k = len(class_indices)
    if len(noise) < k:
        raise ValueError(f"a {k}x{k} mixing matrix needs {k} noise vectors, got {len(noise)}")
    conditions = np.stack([mixed_condition(i, j, num_classes, mode) for i in class_indices for j in class_indices])
    images = generate(generator, np.repeat(noise[:k], k, axis=0), conditions)
    return _as_grid(images, k, k)


def interpolation(generator, i: int, j: int, noise, steps: int, num_classes: int) -> np.ndarray:
    """The condition moving linearly from e_i to e_j in ``steps`` columns; one row per noise vector.

    ``noise`` is one vector (one row) or a (rows, latent) array; the noise is
    fixed along a row, so only the condition changes from cell to cell.
    """
    noise = np.atleast_2d(np.asarray(noise, np.float32))
    rows = len(noise)
    conditions = np.tile(interpolated_conditions(i, j, num_classes, steps), (rows, 1))
    images = generate(generator, np.repeat(noise, steps, axis=0), conditions)
    return _as_grid(images, rows, steps)


def one_class(generator, class_index: int, noise, num_classes: int, columns: int) -> np.ndarray:
    """One sample per noise vector, all of one class, filled row by row ``columns`` to a row."""
    if columns < 1 or len(noise) % columns:
        raise ValueError(f"{len(noise)} samples do not fill rows of {columns}; use a multiple of {columns}")
    conditions = one_hot(np.full(len(noise), class_index), num_classes)
    images = generate(generator, noise, conditions)
    return _as_grid(images, len(noise) // columns, columns)
