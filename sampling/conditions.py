"""Condition vectors: the models only ever see floats, so every kind of condition is one path."""

from __future__ import annotations

import numpy as np

MIX_MODES = ("mean", "sum")
MIX_FORMULAS = {"mean": "(e_i + e_j) / 2", "sum": "e_i + e_j"}


def one_hot(indices, num_classes: int) -> np.ndarray:
    """e_i rows; an index outside 0..K-1 is an error (numpy would silently wrap a negative one)."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        bad = indices[(indices < 0) | (indices >= num_classes)].flat[0]
        raise ValueError(f"class index {bad} is out of range for {num_classes} classes (0-{num_classes - 1})")
    return np.eye(num_classes, dtype=np.float32)[indices]


def mixed_condition(i: int, j: int, num_classes: int, mode: str = "mean") -> np.ndarray:
    """(e_i + e_j) / 2 (``mean``, the paper's mixing) or e_i + e_j (``sum``); e_i when i == j."""
    if mode not in MIX_MODES:
        raise ValueError(f"unknown mix mode {mode!r}; choose one of {', '.join(MIX_MODES)}")
    vector = one_hot(i, num_classes) + one_hot(j, num_classes)
    if mode == "mean" or i == j:
        vector = vector / vector.sum()
    return vector.astype(np.float32)


def interpolation_weights(steps: int) -> np.ndarray:
    """The weight t of e_j at each step, 0 to 1 inclusive, so the ends are the pure classes."""
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    return np.linspace(0.0, 1.0, steps, dtype=np.float32)


def interpolated_conditions(i: int, j: int, num_classes: int, steps: int) -> np.ndarray:
    """(1 - t) e_i + t e_j for each step: exactly e_i first and exactly e_j last."""
    t = interpolation_weights(steps)[:, None]
    return ((1.0 - t) * one_hot(i, num_classes) + t * one_hot(j, num_classes)).astype(np.float32)
