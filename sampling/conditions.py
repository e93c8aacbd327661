"""Condition vectors: the models only ever see floats, so every kind of condition is one path."""

from __future__ import annotations

import numpy as np

MIX_MODES = ("mean", "sum")


def one_hot(indices, num_classes: int) -> np.ndarray:
    indices = np.asarray(indices, dtype=np.int64)
    return np.eye(num_classes, dtype=np.float32)[indices]


def mixed_condition(i: int, j: int, num_classes: int, mode: str = "mean") -> np.ndarray:
    """(e_i + e_j) / 2 (``mean``, the paper's mixing) or e_i + e_j (``sum``); e_i when i == j."""
    if mode not in MIX_MODES:
        raise ValueError(f"unknown mix mode {mode!r}; choose one of {', '.join(MIX_MODES)}")
    vector = one_hot(i, num_classes) + one_hot(j, num_classes)
    if mode == "mean" or i == j:
        vector = vector / vector.sum()
    return vector.astype(np.float32)
