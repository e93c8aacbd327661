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


def weighted_condition(weights, mode: str = "mean") -> np.ndarray:
    """A condition from one weight per class: ``mean`` divides by their sum (the paper's mixing is the case of
    two equal weights), ``sum`` keeps them as they are. All weights 0 is the zero vector: no style at all."""
    if mode not in MIX_MODES:
        raise ValueError(f"unknown mix mode {mode!r}; choose one of {', '.join(MIX_MODES)}")
    weights = np.asarray(weights, np.float32)
    if np.any(weights < 0):
        raise ValueError("class weights must not be negative")
    total = float(weights.sum())
    return (weights / total if mode == "mean" and total > 0 else weights).astype(np.float32)


def condition_label(condition, class_names) -> str:
    """What a condition is, in the words of the paper's figures: ``Baroque``, ``Baroque + Cubism`` (the mean
    mixing), ``Baroque + Cubism (sum)``, else each class with its weight: ``Baroque 0.75 + Cubism 0.25``."""
    names, weights, kind = _condition_parts(condition, class_names)
    if kind == "none":
        return "no style"
    if kind == "weights":
        return " + ".join(f"{name} {weight:.2f}" for name, weight in zip(names, weights, strict=True))
    return " + ".join(names) + (" (sum)" if kind == "sum" else "")


def condition_slug(condition, class_names) -> str:
    """:func:`condition_label` as part of a file name: ``Baroque+Cubism``, ``Baroque+Cubism_sum``,
    ``Baroque0.75+Cubism0.25``; characters other than letters, digits and ``+-._`` become ``_``."""
    names, weights, kind = _condition_parts(condition, class_names)
    names = ["".join(c if c.isalnum() or c in "-._" else "_" for c in name) for name in names]
    if kind == "none":
        return "no_style"
    if kind == "weights":
        return "+".join(f"{name}{weight:.2f}" for name, weight in zip(names, weights, strict=True))
    return "+".join(names) + ("_sum" if kind == "sum" else "")


def _condition_parts(condition, class_names) -> tuple[list[str], np.ndarray, str]:
    """The classes a condition weighs, their weights, and its kind: none, mean (equal weights summing to 1,
    one class included), sum (weights all 1) or weights."""
    condition = np.asarray(condition, np.float64)
    present = np.flatnonzero(np.abs(condition) > 1e-6)
    names, weights = [str(class_names[i]) for i in present], condition[present]
    if not len(present):
        return names, weights, "none"
    if np.allclose(weights, weights[0], atol=1e-6):
        if np.isclose(weights.sum(), 1.0, atol=1e-5):
            return names, weights, "mean"
        if np.isclose(weights[0], 1.0, atol=1e-6):
            return names, weights, "sum"
    return names, weights, "weights"
