"""Image arrays for the paper's figures, laid out as (rows, columns, H, W, C) in [-1, 1]."""

from __future__ import annotations

import numpy as np

from sampling.conditions import mixed_condition, one_hot

NOISE_STREAM = 104729  # offsets the sample-noise RNG from the training seed


def fixed_noise(seed: int, count: int, latent_dim: int) -> np.ndarray:
    """The same noise for a run's every epoch (and after resuming): a function of the seed alone."""
    rng = np.random.default_rng([int(seed), NOISE_STREAM])
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


def class_grid(generator, class_indices, noise, num_classes: int) -> np.ndarray:
    """One row per class, one column per noise vector: columns share noise across classes."""
    rows, cols = len(class_indices), len(noise)
    conditions = one_hot(np.repeat(class_indices, cols), num_classes)
    images = generate(generator, np.tile(noise, (rows, 1)), conditions)
    return images.reshape(rows, cols, *images.shape[1:])


def mixing_matrix(generator, class_indices, noise, num_classes: int, mode: str = "mean") -> np.ndarray:
    """Cell (i, j) from condition mix(e_i, e_j); row i uses noise[i] in every column."""
    k = len(class_indices)
    if len(noise) < k:
        raise ValueError(f"a {k}x{k} mixing matrix needs {k} noise vectors, got {len(noise)}")
    conditions = np.stack([mixed_condition(i, j, num_classes, mode) for i in class_indices for j in class_indices])
    images = generate(generator, np.repeat(noise[:k], k, axis=0), conditions)
    return images.reshape(k, k, *images.shape[1:])
