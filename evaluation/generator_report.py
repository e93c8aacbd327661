"""Evaluating a saved generator: checks that it fits the dataset, then every figure in one report."""

from __future__ import annotations

import logging
import time

from base.errors import UserError
from evaluation.inception import inception_part, prepare_inception
from evaluation.measure import generator_sampler
from evaluation.panel import headline, load_panel, measure_panel
from evaluation.settings import DEFAULTS, JUDGE_MAX_SAMPLES, EvaluationSettings

log = logging.getLogger(__name__)


def generator_image_shape(generator) -> tuple[int, int, int]:
    return tuple(int(d) for d in generator.outputs[0].shape[1:])


def check_fits(generator, data, dataset: str, path) -> None:
    """The generator must draw images of the data's shape for the data's number of classes."""
    made = generator_image_shape(generator)
    if made != data.image_shape:
        raise UserError(
            f"{path} makes {'x'.join(map(str, made))} images but {dataset} images are "
            f"{'x'.join(map(str, data.image_shape))}: is it a checkpoint of another dataset?"
        )
    classes = int(generator.inputs[1].shape[1])
    if classes != data.num_classes:
        hint = " (for wikiart, pass the run's --top-styles)" if dataset == "wikiart" else ""
        raise UserError(
            f"{path} takes conditions for {classes} classes but {dataset} has {data.num_classes}{hint}: "
            "is it a checkpoint of another dataset?"
        )


def judge_report(judge, measurement, class_names, reference) -> dict:
    """One judge's part of the report: its note, its figures, and its per-class figures by name."""
    return {
        "classifier": {**judge.note(), "from_cache": judge.from_cache},
        **measurement.figures,
        "per_class_accuracy": dict(zip(class_names, measurement.per_class_accuracy, strict=True)),
        "per_class_frechet": dict(zip(class_names, measurement.per_class_frechet, strict=True)),
        "per_class_frechet_floor": dict(zip(class_names, reference.per_class_frechet_floor, strict=True)),
        "kid_floor_std": reference.kid_floor[1],
        "mixing_pairs": measurement.mixing_pairs,
    }


def generator_report(generator, real, options: EvaluationSettings = DEFAULTS) -> dict:
    """Every figure for ``generator`` against ``real`` (``data.Splits``) as one report dict.

    ``real.validation`` (the dataset's validation split, or None) is where
    the judges are measured and where the real reference set comes from;
    the judges are cached in the folder of ``real.settings.cache``. The
    Inception figures use all ``options.samples``; the judges' at most
    ``JUDGE_MAX_SAMPLES`` (and half the real images). The report holds each
    judge's figures under ``judges`` and the panel's verdict under ``panel``.
    """
    started = time.perf_counter()
    data, validation, dataset, seed = real.train, real.validation, real.settings.dataset, options.seed
    inception = prepare_inception(options.inception_weights, options.fid_stats)
    panel = load_panel(data, dataset, real.settings.cache, validation, options.judges,
                       min(options.samples, JUDGE_MAX_SAMPLES), seed, options.classifier_seed,
                       options.classifier_epochs)  # fmt: skip
    result = measure_panel(generator_sampler(generator, seed), panel)
    by_judge = {
        judge.name: judge_report(judge, result.by_judge[judge.name], data.class_names, reference)
        for judge, reference in zip(panel.judges, panel.references, strict=True)
    }
    report = {
        "dataset": dataset,
        "image_shape": list(data.image_shape),
        "class_names": data.class_names,
        "samples": int(len(panel.sets.requested)),
        "reference": "validation split" if validation is not None else "held-out half of the training images",
        "mixing_samples_per_pair": next(iter(result.by_judge.values())).mixing_samples_per_pair,
        "seed": seed,
        "panel": headline(by_judge, data.class_names),
        "judges": by_judge,
        **result.pixels,
        "inception": inception_part(inception, generator, data, validation, options.samples, seed, options.progress),
    }
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report
