"""The noise z: one implementation for a run's grids, chosen seeds and truncation.

Every vector comes from the NumPy stream ``grid_noise`` (``base.streams``):
``fixed_noise(seed, count)`` is a run's sample-grid noise, and the vector of
seed ``s`` is ``fixed_noise(s, 1)[0]``, the first column of the grid of a run
trained with ``--seed s``. A seed therefore names one vector in every grid,
every script and every run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from base.streams import numpy_stream

SEED_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
MAX_SEEDS = 100_000  # a typo such as 1-10000000 would otherwise fill the disk with PNGs


def fixed_noise(seed: int, count: int, latent_dim: int, truncation: float = 1.0) -> np.ndarray:
    """The same noise for a run's every epoch (and after resuming): a function of the seed alone.

    ``truncation`` below 1 replaces the components beyond its threshold (see
    :func:`truncate`); the components inside it keep their values.
    """
    rng = numpy_stream(seed, "grid_noise")
    noise = rng.standard_normal((count, latent_dim))
    return truncate(noise, truncation, rng).astype(np.float32)


def seed_noise(seeds, latent_dim: int, truncation: float = 1.0) -> np.ndarray:
    """One vector per seed, ``(len(seeds), latent_dim)``: seed s is always the same z, whatever is drawn beside it."""
    return np.stack([fixed_noise(seed, 1, latent_dim, truncation)[0] for seed in seeds]).astype(np.float32)


@dataclass(frozen=True)
class NoiseChoice:
    """The noise of one drawing, and how to name each vector: one per chosen seed (``seeds``), else the first
    ``count`` vectors of the grid noise of ``seed`` (a run's own grid columns)."""

    seed: int = 0
    count: int = 1
    seeds: tuple[int, ...] | None = None
    truncation: float = 1.0

    def __len__(self) -> int:
        return len(self.seeds) if self.seeds is not None else self.count

    def vectors(self, latent_dim: int) -> np.ndarray:
        if self.seeds is not None:
            return seed_noise(self.seeds, latent_dim, self.truncation)
        return fixed_noise(self.seed, self.count, latent_dim, self.truncation)

    def label(self, index: int) -> str:
        """``seed 7``, or ``seed 7, z 3`` for vector 3 of seed 7's grid noise."""
        return f"seed {self.seeds[index]}" if self.seeds is not None else f"seed {self.seed}, z {index}"

    def file_part(self, index: int) -> str:
        """The label as part of a file name: ``seed7``, or ``seed7_z003``."""
        return f"seed{self.seeds[index]}" if self.seeds is not None else f"seed{self.seed}_z{index:03d}"

    def metadata(self, index: int) -> dict:
        """What a PNG records of its noise: the seed, and for grid noise which of the seed's vectors."""
        if self.seeds is not None:
            return {"seed": str(self.seeds[index]), "truncation": f"{self.truncation:g}"}
        return {"seed": str(self.seed), "noise_index": str(index), "truncation": f"{self.truncation:g}"}

    def describe(self) -> str:
        """For the line a script prints: ``seeds 1, 4-6`` or ``seed 7``, with the truncation when there is one."""
        text = f"seeds {format_seeds(self.seeds)}" if self.seeds is not None else f"seed {self.seed}"
        return text + (f", truncation {self.truncation:g}" if self.truncation < 1 else "")


def format_seeds(seeds) -> str:
    """The inverse of :func:`parse_seeds`: ``[1, 4, 5, 6]`` -> ``1, 4-6``."""
    runs: list[list[int]] = []
    for seed in seeds:
        if runs and seed == runs[-1][-1] + 1:
            runs[-1].append(seed)
        else:
            runs.append([seed])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def truncation_threshold(truncation: float) -> float:
    """|z_i| above which a component is redrawn: the normal keeps the share ``truncation`` of its mass.

    psi = 1 is no truncation (an infinite threshold); 0.5 keeps |z_i| <= 0.67,
    0.9 keeps |z_i| <= 1.64. BigGAN's truncation trick states the threshold
    itself; a share of the mass gives every psi in (0, 1] a meaning and makes
    1 the untruncated normal.
    """
    check_truncation(truncation)
    if truncation == 1.0:
        return math.inf
    from scipy.special import ndtri  # the normal's inverse CDF; scipy loads only when truncating

    return float(ndtri((1.0 + truncation) / 2.0))


def truncate(noise: np.ndarray, truncation: float, rng: np.random.Generator) -> np.ndarray:
    """BigGAN's truncation trick: components beyond the threshold are drawn again, from the normal inside it.

    The redraw inverts the normal's CDF on [-t, t] (one uniform draw per
    component), which is what rejection sampling converges to, without its
    loop that never ends for a small psi.
    """
    threshold = truncation_threshold(truncation)
    outside = np.abs(noise) > threshold
    if not outside.any():
        return noise
    from scipy.special import ndtri

    noise = noise.copy()
    uniform = rng.random(int(outside.sum()))
    noise[outside] = ndtri((1.0 - truncation) / 2.0 + uniform * truncation)
    return noise


def check_truncation(truncation: float) -> None:
    if not 0.0 < truncation <= 1.0:
        raise ValueError(f"truncation must be in (0, 1] (1 = none), got {truncation}")


def parse_seeds(text: str) -> list[int]:
    """``"1,4-6"`` -> ``[1, 4, 5, 6]``: non-negative seeds and inclusive ranges, in the order given, no repeats."""
    seeds: list[int] = []
    for part in str(text).split(","):
        match = SEED_RANGE.match(part.strip())
        if not match:
            raise ValueError(f"{part.strip()!r} is not a seed or a range of seeds (such as 4 or 4-6)")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"the range {first}-{last} runs backwards; write {last}-{first}")
        seeds.extend(range(first, last + 1))
        if len(seeds) > MAX_SEEDS:
            raise ValueError(f"{text!r} names more than {MAX_SEEDS:,} seeds")
    if len(set(seeds)) < len(seeds):
        first_repeat = next(seed for index, seed in enumerate(seeds) if seed in seeds[:index])
        raise ValueError(f"seed {first_repeat} is given twice")
    return seeds
