"""Default budgets and the options of one evaluation, in a module free of TensorFlow so that CLIs can show them in
--help cheaply."""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.judges import PANEL

DEFAULT_SAMPLES = 1000  # generated images per evaluation (capped at half the real images)

JUDGE_MAX_SAMPLES = 10_000  # the judge's figures: precision/recall hold an n x n distance matrix (800 MB at 10,000)


@dataclass(frozen=True)
class EvaluationSettings:
    """How a generator is measured: ``evaluate.py``'s flags, ``--eval-every``'s, a bench's."""

    samples: int = DEFAULT_SAMPLES  # generated images (the judges read at most JUDGE_MAX_SAMPLES of them)
    seed: int = 0  # the samples' noise and the draw of the real halves
    judges: tuple[str, ...] = PANEL  # the panel's designs (evaluation.judges)
    classifier_seed: int = 0  # another seed trains (and caches) another panel of the same designs
    classifier_epochs: int | None = None  # None: each design's own budget
    inception_weights: str | None = None  # no Inception figures without a network on disk
    fid_stats: str | None = None  # the real side of FID from a statistics file instead of the real images
    progress: bool = False  # progress bars for the Inception passes


DEFAULTS = EvaluationSettings()  # --eval-every's, and any caller's that sets none
