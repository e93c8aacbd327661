"""Evaluating a saved generator: checks that it fits the dataset, then every figure in one report."""

from __future__ import annotations

import logging
import time

from base.errors import UserError
from evaluation.classifier import load_or_train_classifier
from evaluation.inception import inception_part, prepare_inception
from evaluation.measure import generator_sampler, measure, real_reference
from evaluation.settings import DEFAULT_CLASSIFIER_EPOCHS, DEFAULT_SAMPLES, JUDGE_MAX_SAMPLES

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


def evaluate_generator(
    generator,
    data,
    dataset: str,
    cache_dir,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    classifier_epochs: int = DEFAULT_CLASSIFIER_EPOCHS,
    inception_weights: str | None = None,
    validation=None,
    classifier_seed: int = 0,
    fid_stats: str | None = None,
    progress: bool = False,
) -> dict:
    """Every figure for ``generator`` against ``data`` (a ``data.LabelledImages``) as one report dict.

    ``validation`` (the dataset's validation split, or None) is where the
    judge is measured and where the real reference set comes from. The
    Inception figures use all ``samples``; the judge's at most
    ``JUDGE_MAX_SAMPLES`` (and half the real images).
    """
    started = time.perf_counter()
    inception = prepare_inception(inception_weights, fid_stats)
    classifier = load_or_train_classifier(data, dataset, cache_dir, classifier_epochs, validation, classifier_seed)
    reference = real_reference(classifier, data, min(samples, JUDGE_MAX_SAMPLES), seed, validation)
    result = measure(generator_sampler(generator, seed), classifier, reference)
    report = {
        "dataset": dataset,
        "image_shape": list(data.image_shape),
        "class_names": data.class_names,
        "samples": int(len(reference.requested)),
        "reference": "validation split" if validation is not None else "held-out half of the training images",
        "mixing_samples_per_pair": result.mixing_samples_per_pair,
        "seed": seed,
        "classifier": {**classifier.note(), "from_cache": classifier.from_cache},
        **result.figures,
        "per_class_accuracy": dict(zip(data.class_names, result.per_class_accuracy, strict=True)),
        "per_class_frechet": dict(zip(data.class_names, result.per_class_frechet, strict=True)),
        "per_class_frechet_floor": dict(zip(data.class_names, reference.per_class_frechet_floor, strict=True)),
        "kid_floor_std": reference.kid_floor[1],
        "mixing_pairs": result.mixing_pairs,
        "inception": inception_part(inception, generator, data, validation, samples, seed, progress),
    }
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report
