"""One generator against one dataset: every figure, from one set of samples, for one judge or a panel.

The real side (two disjoint real halves A and B) is computed once and reused:
the generator is asked for exactly the classes of half B, so "generated vs A"
and its floor "B vs A" compare sets of the same size and the same class mix,
and a generator that returned real images would score the floor.

With a validation split (WikiArt's ``style_val.csv``), A is drawn from the
validation paintings and B from the training paintings: the floor is then
"train vs val", and a generator that memorised its training images scores
the floor, not better.

Every figure comes from ``evaluation.metrics.REGISTRY``: a judge's figures
(``judged``: they depend on which classifier reads the images, so a panel
gives one set per judge) and the pixels' own (lattice and frame, one set for
all judges). The samples are drawn once and every judge reads the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from base.errors import UserError
from base.streams import numpy_stream
from data import to_model_range
from evaluation.classifier import RealClassifier
from evaluation.metrics import (
    Reading,
    mixing_pairs,
    per_class_frechet,
    real_figure,
    registered,
)
from evaluation.settings import DEFAULT_SAMPLES
from sampling import generate, mixed_condition, one_hot


@dataclass
class RealSets:
    """The real images every judge compares with, and the pixel figures of real images (no judge needed)."""

    images: np.ndarray  # half A in [-1, 1]: the reference set itself (Inception figures draw their own)
    labels: np.ndarray  # the labels of half A
    images_b: np.ndarray  # half B in [-1, 1]: the floors' stand-in for generated images
    requested: np.ndarray  # the labels of half B: the classes the generator is asked for
    num_classes: int
    pixels: Reading  # half A without a judge: what the samples' pixel figures compare with
    values: dict  # every pixel figure's real value, by its real name ("lattice_real", ...)


@dataclass
class RealReference:
    """The real side of one judge's figures, computed once per judge and dataset.

    A real figure reads as an attribute too: ``reference.frechet_floor``.
    """

    sets: RealSets
    half_a: Reading  # half A as this judge reads it: what the samples are compared with
    values: dict  # every judged figure's real value, by its real name (KID's floor: (mean, std))
    per_class_frechet_floor: list  # per class, half B to half A (None: too few images)

    def __getattr__(self, name):
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__} has no {name!r}")

    @property
    def features(self) -> np.ndarray:
        """The judge's features of half A."""
        return self.half_a.features

    # what the single-judge callers read
    @property
    def images(self) -> np.ndarray:
        return self.sets.images

    @property
    def labels(self) -> np.ndarray:
        return self.sets.labels

    @property
    def requested(self) -> np.ndarray:
        return self.sets.requested

    @property
    def num_classes(self) -> int:
        return self.sets.num_classes


@dataclass
class Samples:
    """What the generator drew once for every judge: one image per requested class, and the mixing pairs."""

    images: np.ndarray  # conditioned on one_hot(requested)
    mixing: np.ndarray  # per_pair images for each pair i < j, pairs in order
    per_pair: int


@dataclass
class Measurement:
    figures: dict  # every registered figure's name (the judged ones for a judge) -> float (NaN where it does not apply)
    per_class_accuracy: list  # conditional accuracy per requested class (None: not requested)
    per_class_frechet: list  # Frechet distance within each class (None: too few samples)
    mixing_pairs: list  # {"i", "j", "mass", "evenness"} per pair i < j
    mixing_samples_per_pair: int
    samples: np.ndarray  # the generated images, conditioned on reference.requested


def real_halves(data, samples: int, seed: int, validation=None):
    """``(images A, labels A, images B, labels B)``: disjoint halves of ``data``, or A from ``validation``.

    Only the rows drawn are read: the halves hold up to ``samples`` images, the set may hold gigabytes.
    """
    rng = numpy_stream(seed, "evaluation_real")
    if validation is None:
        size = min(samples, len(data.labels) // 2)
        order = rng.permutation(len(data.labels))
        half_a, half_b = order[:size], order[size : 2 * size]
        return data.take(half_a), data.labels[half_a], data.take(half_b), data.labels[half_b]
    size = min(samples, len(validation.labels), len(data.labels))
    half_a = rng.permutation(len(validation.labels))[:size]
    half_b = rng.permutation(len(data.labels))[:size]
    return validation.take(half_a), validation.labels[half_a], data.take(half_b), data.labels[half_b]


def real_sets(data, samples: int = DEFAULT_SAMPLES, seed: int = 0, validation=None) -> RealSets:
    """Two disjoint random real sets of up to ``samples`` images each (A from ``validation`` when given)."""
    images_a, labels_a, images_b, labels_b = real_halves(data, samples, seed, validation)
    if len(labels_a) < 2:
        raise UserError(f"the dataset has {len(data.labels)} images; measuring needs at least 4")
    images_a, images_b = to_model_range(np.asarray(images_a)), to_model_range(np.asarray(images_b))
    labels_a, requested = np.asarray(labels_a, dtype=np.int64), np.asarray(labels_b, dtype=np.int64)
    half_a = Reading(images_a, labels_a, data.num_classes)
    half_b = Reading(images_b, requested, data.num_classes, real=half_a, seed=seed)
    values = {figure.real: figure.measure_real(half_b) for figure in registered(judged=False) if figure.real}
    return RealSets(images_a, labels_a, images_b, requested, data.num_classes, half_a, values)


def judge_reference(classifier: RealClassifier, sets: RealSets, seed: int = 0) -> RealReference:
    """One judge's view of the real sets: its floors, and the features the samples are compared with."""
    k = sets.num_classes
    half_a = Reading(sets.images, sets.labels, k, classifier)
    half_b = Reading(sets.images_b, sets.requested, k, classifier, real=half_a, seed=seed)
    values = {figure.real: figure.measure_real(half_b) for figure in registered(judged=True) if figure.real}
    floors = per_class_frechet(half_b.features, sets.requested, half_a.features, sets.labels, k)
    return RealReference(sets, half_a, values, floors)


def real_reference(
    classifier: RealClassifier, data, samples: int = DEFAULT_SAMPLES, seed: int = 0, validation=None
) -> RealReference:
    """One judge's reference on freshly drawn real sets (a panel draws the sets once: ``judge_reference``)."""
    return judge_reference(classifier, real_sets(data, samples, seed, validation), seed)


def generator_sampler(generator, seed: int = 0):
    """``draw(conditions) -> images in [-1, 1]`` with noise from a fixed seed.

    The same seed gives the same noise on every call, so figures taken at
    successive epochs differ by the generator, not by the draw.
    """
    latent_dim = int(generator.inputs[0].shape[1])

    def draw(conditions):
        rng = numpy_stream(seed, "evaluation_noise", len(conditions))
        return generate(generator, rng.standard_normal((len(conditions), latent_dim)), conditions)

    return draw


def draw_samples(draw, sets: RealSets) -> Samples:
    """The images every judge reads: one per requested class, and about as many spread over the mixed pairs."""
    k = sets.num_classes
    images = draw(one_hot(sets.requested, k))
    pairs = mixing_pairs(k)
    per_pair = max(1, round(len(sets.requested) / len(pairs))) if pairs else 0
    mixing = np.zeros((0, *images.shape[1:]), images.dtype)
    if pairs:
        mixing = draw(np.repeat(np.stack([mixed_condition(i, j, k) for i, j in pairs]), per_pair, axis=0))
    return Samples(images, mixing, per_pair)


def judge_figures(samples: Samples, classifier: RealClassifier, reference: RealReference) -> Measurement:
    """Every judged figure of the samples, as ``classifier`` reads them, beside its real figure."""
    k, requested = reference.num_classes, reference.requested
    reading = Reading(samples.images, requested, k, classifier, reference.half_a, mixing=samples.mixing,
                      per_pair=samples.per_pair)  # fmt: skip
    figures = {}
    for figure in registered(judged=True):
        figures.update(figure.measure(reading))
        if figure.real:
            figures[figure.real] = real_figure(reference.values[figure.real])
    by_class = per_class_frechet(reading.features, requested, reference.features, reference.labels, k)
    return Measurement(figures, reading.accuracy[1], by_class, reading.mixed[2], samples.per_pair, samples.images)


def pixel_figures(images, sets: RealSets) -> dict:
    """Every pixel figure: what the images' own pixels show, beside real images'."""
    reading = Reading(images, sets.requested, sets.num_classes, real=sets.pixels)
    figures = {}
    for figure in registered(judged=False):
        figures.update(figure.measure(reading))
        if figure.real:
            figures[figure.real] = real_figure(sets.values[figure.real])
    return figures


def measure(draw, classifier: RealClassifier, reference: RealReference) -> Measurement:
    """Every registered figure for a sampler ``draw(conditions) -> images``, read by one judge."""
    samples = draw_samples(draw, reference.sets)
    result = judge_figures(samples, classifier, reference)
    result.figures.update(pixel_figures(samples.images, reference.sets))
    return result
