"""One generator against one dataset: every figure, from one set of samples, for one judge or a panel.

The real side (two disjoint real halves A and B) is computed once and reused:
the generator is asked for exactly the classes of half B, so "generated vs A"
and its floor "B vs A" compare sets of the same size and the same class mix,
and a generator that returned real images would score the floor.

With a validation split (WikiArt's ``style_val.csv``), A is drawn from the
validation paintings and B from the training paintings: the floor is then
"train vs val", and a generator that memorised its training images scores
the floor, not better.

Two kinds of figure: a judge's (``JUDGE_FIGURES``: they depend on which
classifier reads the images, so a panel gives one set per judge) and the
pixels' own (``PIXEL_FIGURES``: lattice and frame, one set for all judges).
The samples are drawn once and every judge reads the same images.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from base.errors import UserError
from base.streams import numpy_stream
from data import to_model_range
from evaluation.classifier import RealClassifier
from evaluation.metrics import (
    class_diversity,
    conditional_accuracy,
    frame_strength,
    frechet_distance,
    kernel_distance,
    lattice_power,
    lattice_strength,
    mean_entropy,
    mean_power_spectrum,
    mixing_scores,
    per_class_frechet,
    precision_recall,
)
from evaluation.settings import DEFAULT_SAMPLES
from models.augment import TRANSLATION_RATIO
from sampling import generate, mixed_condition, one_hot

JUDGE_FIGURES = (
    "classifier_accuracy",
    "conditional_accuracy",
    "mixing_mass",
    "mixing_evenness",
    "frechet_distance",
    "frechet_floor",
    "diversity",
    "diversity_real",
    "kid",
    "kid_std",
    "kid_floor",
    "precision",
    "precision_real",
    "recall",
    "recall_real",
    "style_entropy",
    "style_entropy_real",
)
PIXEL_FIGURES = ("lattice", "lattice_real", "lattice_power", "lattice_power_real", "frame", "frame_real")
FIGURES = JUDGE_FIGURES + PIXEL_FIGURES
NEIGHBOURS = 3  # k of the precision and recall manifolds (Kynkaanniemi et al.)


@dataclass
class RealSets:
    """The real images every judge compares with, and the pixel figures of real images (no judge needed)."""

    images: np.ndarray  # half A in [-1, 1]: the reference set itself (Inception figures draw their own)
    labels: np.ndarray  # the labels of half A
    images_b: np.ndarray  # half B in [-1, 1]: the floors' stand-in for generated images
    requested: np.ndarray  # the labels of half B: the classes the generator is asked for
    num_classes: int
    real_lattice: float  # lattice_strength of half A: about 1 for real images
    real_spectrum: np.ndarray  # mean_power_spectrum of half A: what lattice_power compares with
    real_lattice_power: float  # lattice_power of half B against half A: the floor
    real_frame: float  # frame_strength of half A: 1.0 to 1.2 for real paintings


@dataclass
class RealReference:
    """The real side of one judge's figures, computed once per judge and dataset."""

    sets: RealSets
    features: np.ndarray  # the judge's features of half A
    frechet_floor: float  # Frechet distance of half B to half A
    diversity_real: float  # within-class diversity of half B
    kid_floor: tuple  # (mean, std) of the kernel distance of half B to half A
    precision_real: float  # half B against half A's manifold
    recall_real: float
    per_class_frechet_floor: list  # per class, half B to half A (None: too few images)
    style_entropy_real: float  # the judge's mean posterior entropy on half A

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
    figures: dict  # every name in FIGURES (or JUDGE_FIGURES) -> float (NaN where it does not apply)
    per_class_accuracy: list  # conditional accuracy per requested class (None: not requested)
    per_class_frechet: list  # Frechet distance within each class (None: too few samples)
    mixing_pairs: list  # {"i", "j", "mass", "evenness"} per pair i < j
    mixing_samples_per_pair: int
    samples: np.ndarray  # the generated images, conditioned on reference.requested


def real_halves(data, samples: int, seed: int, validation=None):
    """``(images A, labels A, images B, labels B)``: disjoint halves of ``data``, or A from ``validation``."""
    rng = numpy_stream(seed, "evaluation_real")
    if validation is None:
        size = min(samples, len(data.labels) // 2)
        order = rng.permutation(len(data.labels))
        half_a, half_b = order[:size], order[size : 2 * size]
        return data.images[half_a], data.labels[half_a], data.images[half_b], data.labels[half_b]
    size = min(samples, len(validation.labels), len(data.labels))
    half_a = rng.permutation(len(validation.labels))[:size]
    half_b = rng.permutation(len(data.labels))[:size]
    return validation.images[half_a], validation.labels[half_a], data.images[half_b], data.labels[half_b]


def real_sets(data, samples: int = DEFAULT_SAMPLES, seed: int = 0, validation=None) -> RealSets:
    """Two disjoint random real sets of up to ``samples`` images each (A from ``validation`` when given)."""
    images_a, labels_a, images_b, labels_b = real_halves(data, samples, seed, validation)
    if len(labels_a) < 2:
        raise UserError(f"the dataset has {len(data.labels)} images; measuring needs at least 4")
    images_a, images_b = to_model_range(np.asarray(images_a)), to_model_range(np.asarray(images_b))
    spectrum = mean_power_spectrum(images_a)
    return RealSets(
        images=images_a,
        labels=np.asarray(labels_a, dtype=np.int64),
        images_b=images_b,
        requested=np.asarray(labels_b, dtype=np.int64),
        num_classes=data.num_classes,
        real_lattice=lattice_strength(images_a),
        real_spectrum=spectrum,
        real_lattice_power=lattice_power(images_b, spectrum),
        real_frame=frame_strength(images_a, TRANSLATION_RATIO),
    )


def judge_reference(classifier: RealClassifier, sets: RealSets, seed: int = 0) -> RealReference:
    """One judge's view of the real sets: its floors, and the features the samples are compared with."""
    features_a, probabilities_a = classifier.predict(sets.images)
    features_b, _ = classifier.predict(sets.images_b)
    precision_real, recall_real = precision_recall(features_a, features_b, NEIGHBOURS)
    k = sets.num_classes
    return RealReference(
        sets=sets,
        features=features_a,
        frechet_floor=frechet_distance(features_b, features_a),
        diversity_real=class_diversity(features_b, sets.requested, k),
        kid_floor=kernel_distance(features_b, features_a, seed=seed),
        precision_real=precision_real,
        recall_real=recall_real,
        per_class_frechet_floor=per_class_frechet(features_b, sets.requested, features_a, sets.labels, k),
        style_entropy_real=mean_entropy(probabilities_a),
    )


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


def mixing_pairs(num_classes: int) -> list[tuple[int, int]]:
    return list(itertools.combinations(range(num_classes), 2))


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


def mixing_fidelity(samples: Samples, classifier: RealClassifier, num_classes: int):
    """``(mean mass, mean evenness, per-pair list)`` over every pair i < j of (e_i + e_j) / 2."""
    pairs = mixing_pairs(num_classes)
    if not pairs:
        return float("nan"), float("nan"), []
    _, probabilities = classifier.predict(samples.mixing)
    rows, per_pair = [], samples.per_pair
    for index, (i, j) in enumerate(pairs):
        mass, evenness = mixing_scores(probabilities[index * per_pair : (index + 1) * per_pair], i, j)
        rows.append({"i": i, "j": j, "mass": mass, "evenness": evenness})
    return float(np.mean([r["mass"] for r in rows])), float(np.mean([r["evenness"] for r in rows])), rows


def judge_figures(samples: Samples, classifier: RealClassifier, reference: RealReference) -> Measurement:
    """Every ``JUDGE_FIGURES`` figure of the samples, as ``classifier`` reads them."""
    k, requested = reference.num_classes, reference.requested
    features, probabilities = classifier.predict(samples.images)
    accuracy, per_class = conditional_accuracy(probabilities, requested, k)
    mass, evenness, pairs = mixing_fidelity(samples, classifier, k)
    kid, kid_std = kernel_distance(features, reference.features)
    precision, recall = precision_recall(reference.features, features, NEIGHBOURS)
    figures = {
        "classifier_accuracy": classifier.held_out_accuracy,
        "conditional_accuracy": accuracy,
        "mixing_mass": mass,
        "mixing_evenness": evenness,
        "frechet_distance": frechet_distance(features, reference.features),
        "frechet_floor": reference.frechet_floor,
        "diversity": class_diversity(features, requested, k),
        "diversity_real": reference.diversity_real,
        "kid": kid,
        "kid_std": kid_std,
        "kid_floor": reference.kid_floor[0],
        "precision": precision,
        "precision_real": reference.precision_real,
        "recall": recall,
        "recall_real": reference.recall_real,
        "style_entropy": mean_entropy(probabilities),
        "style_entropy_real": reference.style_entropy_real,
    }
    by_class = per_class_frechet(features, requested, reference.features, reference.labels, k)
    return Measurement(figures, per_class, by_class, pairs, samples.per_pair, samples.images)


def pixel_figures(images, sets: RealSets) -> dict:
    """Every ``PIXEL_FIGURES`` figure: what the images' own pixels show, beside real images'."""
    return {
        "lattice": lattice_strength(images),
        "lattice_real": sets.real_lattice,
        "lattice_power": lattice_power(images, sets.real_spectrum),
        "lattice_power_real": sets.real_lattice_power,
        "frame": frame_strength(images, TRANSLATION_RATIO),
        "frame_real": sets.real_frame,
    }


def measure(draw, classifier: RealClassifier, reference: RealReference) -> Measurement:
    """Every figure (``FIGURES``) for a sampler ``draw(conditions) -> images``, read by one judge."""
    samples = draw_samples(draw, reference.sets)
    result = judge_figures(samples, classifier, reference)
    result.figures.update(pixel_figures(samples.images, reference.sets))
    return result
