"""``--eval-every N``: the judge panel's figures in log.csv while a run trains.

Columns: ``eval_panel_*`` (the panel's verdict: its lowest conditional
accuracy, lowest class, largest Frechet ratio, ...), ``eval_<judge>_<figure>``
for each judge's figures and ``eval_<figure>`` for the pixels' own.
The callback writes its figures into the epoch's ``logs`` dict, which every
later callback receives, so it must come before ``EpochLog`` in the list.
It sets the same keys at every epoch (NaN when it skips one), because
``EpochLog`` fixes its columns at the first row it writes.
"""

from __future__ import annotations

import logging

import keras

from evaluation.inception import add_real_side, inception_part, prepare_inception
from evaluation.measure import generator_sampler
from evaluation.metrics import figure_names, registered
from evaluation.panel import headline, load_panel, measure_panel
from evaluation.settings import DEFAULTS, EvaluationSettings

log = logging.getLogger(__name__)

PREFIX = "eval_"
INCEPTION_COLUMNS = {"inception_fid": "fid", "inception_kid": "kid", "inception_score": "inception_score"}


def panel_column_names() -> tuple[str, ...]:
    """The verdict's keys that get a column: its accuracies, then the registry's figures whose line is logged."""
    logged = tuple(figure.panel.key for figure in registered(judged=True) if figure.panel and figure.panel.logged)
    return ("conditional_accuracy", "judge_accuracy", "lowest_class_accuracy", *logged)


def log_keys(judges, with_inception: bool = False) -> list[str]:
    """The log.csv columns this callback fills, for the judges named."""
    keys = [f"{PREFIX}panel_{name}" for name in panel_column_names()]
    keys += [f"{PREFIX}{judge}_{name}" for judge in judges for name in figure_names(judged=True)]
    pixels = figure_names(judged=False)
    return keys + [PREFIX + name for name in (*pixels, *(INCEPTION_COLUMNS if with_inception else ()))]


def panel_columns(result, class_names) -> dict:
    """``{column: value}`` for one measurement of the panel."""
    by_judge = {
        judge: {**m.figures, "per_class_accuracy": dict(zip(class_names, m.per_class_accuracy, strict=True))}
        for judge, m in result.by_judge.items()
    }
    verdict = headline(by_judge, class_names)
    columns = {f"{PREFIX}panel_{name}": verdict[name] for name in panel_column_names()}
    for judge, m in result.by_judge.items():
        columns.update({f"{PREFIX}{judge}_{name}": m.figures[name] for name in figure_names(judged=True)})
    columns.update({PREFIX + name: value for name, value in result.pixels.items()})
    return {column: float(value) for column, value in columns.items()}


class EvaluationCallback(keras.callbacks.Callback):
    """``inception(generator) -> figures`` (or None) adds the Inception columns."""

    def __init__(self, every: int, panel, class_names, seed: int = 0, inception=None):
        super().__init__()
        self.every = every
        self.panel = panel
        self.class_names = list(class_names)
        self.seed = seed
        self.inception = inception

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if (epoch + 1) % self.every:
            logs.update(dict.fromkeys(log_keys(self.panel.names, self.inception is not None), float("nan")))
            return
        generator = self.model.sample_generator()
        logs.update(panel_columns(measure_panel(generator_sampler(generator, self.seed), self.panel), self.class_names))
        if self.inception is not None:
            figures = self.inception(generator)
            logs.update({PREFIX + column: as_float(figures[key]) for column, key in INCEPTION_COLUMNS.items()})


def as_float(value) -> float:
    return float("nan") if value is None else float(value)


def evaluation_callbacks(every: int, real, options: EvaluationSettings = DEFAULTS) -> list:
    """``[EvaluationCallback]`` every ``every`` epochs, against ``real`` (``data.Splits``: the training images).

    The judges are trained (or read from the cache folder of ``real``'s
    settings) here, before ``fit`` starts, and the real figures are computed
    once for the whole run; where the dataset has a validation split, both
    are measured on it.
    """
    data, validation, settings = real.train, real.validation, real.settings
    inception = inception_tracker(options, data, validation)
    panel = load_panel(
        data, settings.dataset, settings.cache, validation, options.judges, options.samples, options.seed
    )
    log.info("--eval-every %d: the panel's figures (judges %s) in log.csv columns eval_panel_*, eval_<judge>_*",
             every, ", ".join(panel.names))  # fmt: skip
    return [EvaluationCallback(every, panel, data.class_names, options.seed, inception)]


def inception_tracker(options: EvaluationSettings, data, validation):
    """``figures(generator)`` in the network of ``--inception-weights`` (None without the flag).

    The network, the statistics file and the real images' pass are read once,
    before training starts, so each evaluation costs only the samples' pass.
    """
    if not options.inception_weights:
        return None
    setup = prepare_inception(options.inception_weights, options.fid_stats)
    add_real_side(setup, data, validation, options.samples, options.seed)
    log.info("--eval-every: Inception figures in %s, against %s", setup.network.description, setup.real_source)

    def figures(generator) -> dict:
        return inception_part(setup, generator, data, validation, options.samples, options.seed)

    return figures
