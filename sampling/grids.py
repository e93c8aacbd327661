"""Image arrays for the paper's figures, laid out as (rows, columns, H, W, C) in [-1, 1].

Every grid is a batch of (noise, condition) pairs run through :func:`generate`
and reshaped; only the pairing differs. The pairing is explicit, a
:class:`Cells` layout (which noise vector and which condition each cell
draws), so grids drawn from the same noise are comparable cell by cell (the
mixing diagonal is the class grid, the ends of an interpolation are the pure
classes), and each cell of a grid can be written as a file of its own that
says what it was drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling.conditions import interpolated_conditions, mixed_condition, one_hot
from sampling.noise import fixed_noise

__all__ = [
    "Cells",
    "class_cells",
    "class_grid",
    "draw_cells",
    "fixed_noise",
    "generate",
    "interpolation",
    "interpolation_cells",
    "mixing_cells",
    "mixing_matrix",
    "one_class",
    "one_class_cells",
    "same_noise_styles",
]  # fixed_noise is sampling.noise's, here for the callers that draw grids


@dataclass(frozen=True)
class Cells:
    """What each cell of a grid draws: ``noise_index`` (rows, cols) into a noise array and ``conditions``
    (rows, cols, K)."""

    noise_index: np.ndarray
    conditions: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.noise_index.shape

    def transposed(self) -> Cells:
        return Cells(self.noise_index.T, np.swapaxes(self.conditions, 0, 1))


CHUNK_PIXELS = 64 * 64 * 64  # 64 images at 64 px per call, 16 at 128, 4 at 256


def generate(generator, noise, conditions, batch_size: int | None = None) -> np.ndarray:
    """Run the generator in inference mode (BatchNorm moving statistics), in chunks.

    The activations of one call grow with its images times their pixels, so
    the chunk is sized by pixels: a grid of all 27 WikiArt styles at 256 px in
    one call would need more memory than training on the whole archive does
    (BENCHMARKS.md, "The whole WikiArt at 64, 128 and 256 px"). ``batch_size``
    None: ``CHUNK_PIXELS`` worth of images.
    """
    noise = np.asarray(noise, np.float32)
    conditions = np.asarray(conditions, np.float32)
    batch_size = batch_size or chunk_size(generator)
    chunks = [
        np.asarray(generator([noise[i : i + batch_size], conditions[i : i + batch_size]], training=False))
        for i in range(0, len(noise), batch_size)
    ]
    return np.concatenate(chunks).astype(np.float32)


def chunk_size(generator) -> int:
    shape = getattr(generator, "output_shape", None)
    if not shape or shape[1] is None or shape[2] is None:
        return CHUNK_PIXELS // (64 * 64)
    return max(1, CHUNK_PIXELS // (int(shape[1]) * int(shape[2])))


def draw_cells(generator, cells: Cells, noise) -> np.ndarray:
    """The images of a layout, (rows, cols, H, W, C): one batched pass over its (noise, condition) pairs."""
    rows, cols = cells.shape
    noise = np.asarray(noise, np.float32)
    images = generate(generator, noise[cells.noise_index.reshape(-1)], cells.conditions.reshape(rows * cols, -1))
    return images.reshape(rows, cols, *images.shape[1:])


def class_cells(class_indices, count: int, num_classes: int) -> Cells:
    """One row per class, one column per noise vector: columns share noise across classes."""
    rows = len(class_indices)
    conditions = one_hot(np.repeat(class_indices, count), num_classes).reshape(rows, count, num_classes)
    return Cells(np.tile(np.arange(count), (rows, 1)), conditions)


def mixing_cells(class_indices, count: int, num_classes: int, mode: str = "mean") -> Cells:
    """Cell (i, j) from mix(e_i, e_j) over the chosen classes; row i uses noise vector i in every column."""
    k = len(class_indices)
    if count < k:
        raise ValueError(f"a {k}x{k} mixing matrix needs {k} noise vectors, got {count}")
    conditions = np.stack([mixed_condition(i, j, num_classes, mode) for i in class_indices for j in class_indices])
    return Cells(np.repeat(np.arange(k)[:, None], k, axis=1), conditions.reshape(k, k, num_classes))


def interpolation_cells(i: int, j: int, count: int, steps: int, num_classes: int) -> Cells:
    """The condition moving linearly from e_i to e_j in ``steps`` columns; row r keeps noise vector r."""
    conditions = np.tile(interpolated_conditions(i, j, num_classes, steps)[None], (count, 1, 1))
    return Cells(np.repeat(np.arange(count)[:, None], steps, axis=1), conditions)


def one_class_cells(class_index: int, count: int, num_classes: int, columns: int) -> Cells:
    """One sample per noise vector, all of one class, filled row by row ``columns`` to a row."""
    if columns < 1 or count % columns:
        raise ValueError(f"{count} samples do not fill rows of {columns}; use a multiple of {columns}")
    conditions = one_hot(np.full(count, class_index), num_classes)
    return Cells(np.arange(count).reshape(-1, columns), conditions.reshape(count // columns, columns, num_classes))


def class_grid(generator, class_indices, noise, num_classes: int) -> np.ndarray:
    """One row per class, one column per noise vector: columns share noise across classes."""
    return draw_cells(generator, class_cells(class_indices, len(noise), num_classes), noise)


def same_noise_styles(generator, class_indices, noise, num_classes: int) -> np.ndarray:
    """One column per class, one row per noise vector (the paper's Figure 15): a row is one z in every style.

    The transpose of :func:`class_grid`, so the two never disagree about a cell.
    """
    return draw_cells(generator, class_cells(class_indices, len(noise), num_classes).transposed(), noise)


def mixing_matrix(generator, class_indices, noise, num_classes: int, mode: str = "mean") -> np.ndarray:
    """Cell (i, j) from condition mix(e_i, e_j) over the chosen classes; row i uses noise[i] in every column."""
    return draw_cells(generator, mixing_cells(class_indices, len(noise), num_classes, mode), noise)


def interpolation(generator, i: int, j: int, noise, steps: int, num_classes: int) -> np.ndarray:
    """The condition moving linearly from e_i to e_j in ``steps`` columns; one row per noise vector.

    ``noise`` is one vector (one row) or a (rows, latent) array; the noise is
    fixed along a row, so only the condition changes from cell to cell.
    """
    noise = np.atleast_2d(np.asarray(noise, np.float32))
    return draw_cells(generator, interpolation_cells(i, j, len(noise), steps, num_classes), noise)


def one_class(generator, class_index: int, noise, num_classes: int, columns: int) -> np.ndarray:
    """One sample per noise vector, all of one class, filled row by row ``columns`` to a row."""
    return draw_cells(generator, one_class_cells(class_index, len(noise), num_classes, columns), noise)
