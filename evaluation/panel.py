"""A panel of differently built judges reading the same samples; the headline is the panel's worst figure.

Each judge gives its own figures beside its own floors (its val accuracy,
its Frechet floor, ...). The headline takes, per figure, the judge least
convinced: the lowest conditional accuracy, the lowest accuracy of every
class, the largest Frechet distance over its floor, the lowest recall. A
class that one judge sees above chance and another at or below it is
marked as disputed: that verdict belongs to a judge, not to the samples.
Which other figures the verdict holds, and which way is worst, is the
registry's (``evaluation.metrics.REGISTRY``: a figure's ``panel`` and ``better``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from evaluation.classifier import RealClassifier, load_or_train_classifier
from evaluation.judges import PANEL, designs
from evaluation.measure import (
    RealReference,
    RealSets,
    draw_samples,
    judge_figures,
    judge_reference,
    pixel_figures,
    real_sets,
)
from evaluation.metrics import HIGHER, LOWER, Figure, registered
from evaluation.settings import DEFAULT_SAMPLES

log = logging.getLogger(__name__)


@dataclass
class Panel:
    judges: list[RealClassifier]
    references: list[RealReference]  # one per judge, in the same order, all on the same real sets
    sets: RealSets

    @property
    def names(self) -> list[str]:
        return [judge.name for judge in self.judges]


@dataclass
class PanelMeasurement:
    by_judge: dict  # judge name -> Measurement (the judged figures only)
    pixels: dict  # the pixel figures: the same for every judge
    samples: np.ndarray


def load_panel(
    data,
    dataset: str,
    cache_dir,
    validation=None,
    names=PANEL,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    judge_seed: int = 0,
    epochs: int | None = None,
) -> Panel:
    """Every judge of ``names`` (cached or trained now) and its reference on one draw of the real sets."""
    judges = [
        load_or_train_classifier(data, dataset, cache_dir, epochs, validation, judge_seed, design)
        for design in designs(names)
    ]
    sets = real_sets(data, samples, seed, validation)
    return Panel(judges, [judge_reference(judge, sets, seed) for judge in judges], sets)


def measure_panel(draw, panel: Panel) -> PanelMeasurement:
    """Draw the samples once; every judge reads the same images."""
    samples = draw_samples(draw, panel.sets)
    by_judge = {
        judge.name: judge_figures(samples, judge, reference)
        for judge, reference in zip(panel.judges, panel.references, strict=True)
    }
    return PanelMeasurement(by_judge, pixel_figures(samples.images, panel.sets), samples.images)


def _lowest(values: dict):
    """``(name, value)`` of the smallest value, None values left out; (None, NaN) when there are none."""
    present = {name: value for name, value in values.items() if value is not None and not np.isnan(value)}
    if not present:
        return None, float("nan")
    name = min(present, key=present.get)
    return name, float(present[name])


def worst(figure: Figure, by_judge: dict) -> dict:
    """``figure``'s line in the verdict: its worst value over the judges (and which judge gave it)."""
    verdict, values = figure.panel, {}
    for name, figures in by_judge.items():
        value, real = figures.get(figure.name), figures.get(figure.real)
        if value is None:
            continue
        if verdict.over_real:
            if real is None or not real > 0:
                continue
            value = value / real
        values[name] = value
    if figure.better == LOWER:  # the worst is the largest: the lowest of the negated values
        by, value = _lowest({name: -value for name, value in values.items()})
        value = -value
    elif figure.better == HIGHER:
        by, value = _lowest(values)
    else:
        raise ValueError(f"{figure.name} is better {figure.better}: its worst over the judges is not defined")
    return {verdict.key: value, **({f"{verdict.key}_by": by} if verdict.name_judge else {})}


def headline(by_judge: dict, class_names: list[str]) -> dict:
    """The panel's verdict from each judge's figures (``{name: {figures, "per_class_accuracy": {...}}}``).

    - ``conditional_accuracy``: the lowest over the judges, and which judge gave it;
    - ``judge_accuracy``: the lowest val (held-out) accuracy of the judges;
    - ``beats_own_accuracy``: per judge, whether the samples are judged their class at least as often
      as that judge recognises real images;
    - ``per_class_accuracy``: per class, the lowest over the judges;
    - ``below_chance``: per judge, the classes it sees at or below chance;
    - ``disputed``: classes above chance by some judges and not by others;
    - then, for each figure of the registry with a ``panel`` line, its worst over the judges
      (``frechet_ratio``, ``kid``, ``mixing_mass``, ``precision``, ``recall``, ...).
    """
    chance = 1 / len(class_names)
    accuracy_by, accuracy = _lowest({name: f["conditional_accuracy"] for name, f in by_judge.items()})
    own_by, own = _lowest({name: f["classifier_accuracy"] for name, f in by_judge.items()})
    per_class, per_class_by, below = {}, {}, {name: [] for name in by_judge}
    disputed = []
    for cls in class_names:
        values = {name: f["per_class_accuracy"].get(cls) for name, f in by_judge.items()}
        per_class_by[cls], per_class[cls] = _lowest(values)
        if per_class_by[cls] is None:
            continue
        low = [name for name, value in values.items() if value is not None and value <= chance]
        for name in low:
            below[name].append(cls)
        if low and len(low) < sum(value is not None for value in values.values()):
            disputed.append(cls)
    lowest_class, lowest_class_accuracy = _lowest(per_class)
    verdict = {
        "judges": list(by_judge),
        "chance": chance,
        "conditional_accuracy": accuracy,
        "conditional_accuracy_by": accuracy_by,
        "judge_accuracy": own,
        "judge_accuracy_by": own_by,
        "beats_own_accuracy": {
            name: bool(f["conditional_accuracy"] >= f["classifier_accuracy"]) for name, f in by_judge.items()
        },
        "per_class_accuracy": per_class,
        "per_class_accuracy_by": per_class_by,
        "lowest_class": lowest_class,
        "lowest_class_accuracy": lowest_class_accuracy,
        "below_chance": below,
        "disputed": disputed,
    }
    for figure in registered(judged=True):
        if figure.panel:
            verdict.update(worst(figure, by_judge))
    return verdict
