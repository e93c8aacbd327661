"""One generator against one dataset: every classifier-based figure, from one set of samples.

The real side (two disjoint real halves A and B) is computed once and reused:
the generator is asked for exactly the classes of half B, so "generated vs A"
and its floor "B vs A" compare sets of the same size and the same class mix,
and a generator that returned real images would score the floor.

With a validation split (WikiArt's ``style_val.csv``), A is drawn from the
validation paintings and B from the training paintings: the floor is then
"train vs val", and a generator that memorised its training images scores
the floor, not better.
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

FIGURES = (
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
    "lattice",
    "lattice_real",
    "lattice_power",
    "lattice_power_real",
    "frame",
    "frame_real",
    "style_entropy",
    "style_entropy_real",
)
NEIGHBOURS = 3  # k of the precision and recall manifolds (Kynkaanniemi et al.)


@dataclass
class RealReference:
    """The real side of every comparison, computed once per classifier and dataset."""

    images: np.ndarray  # half A in [-1, 1]: the reference set itself (Inception figures draw their own)
    features: np.ndarray  # the classifier's features of half A
    labels: np.ndarray  # the labels of half A
    requested: np.ndarray  # the labels of half B: the classes the generator is asked for
    frechet_floor: float  # Frechet distance of half B to half A
    diversity_real: float  # within-class diversity of half B
    num_classes: int
    kid_floor: tuple  # (mean, std) of the kernel distance of half B to half A
    precision_real: float  # half B against half A's manifold
    recall_real: float
    per_class_frechet_floor: list  # per class, half B to half A (None: too few images)
    real_lattice: float  # lattice_strength of half A: about 1 for real images
    real_spectrum: np.ndarray  # mean_power_spectrum of half A: what lattice_power compares with
    real_lattice_power: float  # lattice_power of half B against half A: the floor
    real_frame: float  # frame_strength of half A: 1.0 to 1.2 for real paintings
    style_entropy_real: float  # the classifier's mean posterior entropy on half A


@dataclass
class Measurement:
    figures: dict  # every name in FIGURES -> float (NaN where it does not apply)
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


def real_reference(
    classifier: RealClassifier, data, samples: int = DEFAULT_SAMPLES, seed: int = 0, validation=None
) -> RealReference:
    """Two disjoint random real sets of up to ``samples`` images each (A from ``validation`` when given)."""
    images_a, labels_a, images_b, labels_b = real_halves(data, samples, seed, validation)
    if len(labels_a) < 2:
        raise UserError(f"the dataset has {len(data.labels)} images; measuring needs at least 4")
    images_a = to_model_range(np.asarray(images_a))
    features_a, probabilities_a = classifier.predict(images_a)
    images_b = to_model_range(np.asarray(images_b))
    features_b, _ = classifier.predict(images_b)
    real_spectrum = mean_power_spectrum(images_a)
    requested = np.asarray(labels_b, dtype=np.int64)
    labels_a = np.asarray(labels_a, dtype=np.int64)
    precision_real, recall_real = precision_recall(features_a, features_b, NEIGHBOURS)
    return RealReference(
        images=images_a,
        features=features_a,
        labels=labels_a,
        requested=requested,
        frechet_floor=frechet_distance(features_b, features_a),
        diversity_real=class_diversity(features_b, requested, data.num_classes),
        num_classes=data.num_classes,
        kid_floor=kernel_distance(features_b, features_a, seed=seed),
        precision_real=precision_real,
        recall_real=recall_real,
        per_class_frechet_floor=per_class_frechet(features_b, requested, features_a, labels_a, data.num_classes),
        real_lattice=lattice_strength(images_a),
        real_spectrum=real_spectrum,
        real_lattice_power=lattice_power(images_b, real_spectrum),
        real_frame=frame_strength(images_a, TRANSLATION_RATIO),
        style_entropy_real=mean_entropy(probabilities_a),
    )


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


def mixing_fidelity(draw, classifier: RealClassifier, num_classes: int, per_pair: int):
    """``(mean mass, mean evenness, per-pair list)`` over every pair i < j of (e_i + e_j) / 2."""
    pairs = list(itertools.combinations(range(num_classes), 2))
    if not pairs:
        return float("nan"), float("nan"), []
    conditions = np.repeat(np.stack([mixed_condition(i, j, num_classes) for i, j in pairs]), per_pair, axis=0)
    _, probabilities = classifier.predict(draw(conditions))
    rows = []
    for index, (i, j) in enumerate(pairs):
        mass, evenness = mixing_scores(probabilities[index * per_pair : (index + 1) * per_pair], i, j)
        rows.append({"i": i, "j": j, "mass": mass, "evenness": evenness})
    return float(np.mean([r["mass"] for r in rows])), float(np.mean([r["evenness"] for r in rows])), rows


def measure(draw, classifier: RealClassifier, reference: RealReference) -> Measurement:
    """Every classifier-based figure for a sampler ``draw(conditions) -> images``."""
    k = reference.num_classes
    samples = draw(one_hot(reference.requested, k))
    features, probabilities = classifier.predict(samples)
    accuracy, per_class = conditional_accuracy(probabilities, reference.requested, k)
    pairs = k * (k - 1) // 2
    per_pair = max(1, round(len(reference.requested) / pairs)) if pairs else 0
    mass, evenness, mixing_pairs = mixing_fidelity(draw, classifier, k, per_pair)
    kid, kid_std = kernel_distance(features, reference.features)
    precision, recall = precision_recall(reference.features, features, NEIGHBOURS)
    figures = {
        "classifier_accuracy": classifier.held_out_accuracy,
        "conditional_accuracy": accuracy,
        "mixing_mass": mass,
        "mixing_evenness": evenness,
        "frechet_distance": frechet_distance(features, reference.features),
        "frechet_floor": reference.frechet_floor,
        "diversity": class_diversity(features, reference.requested, k),
        "diversity_real": reference.diversity_real,
        "kid": kid,
        "kid_std": kid_std,
        "kid_floor": reference.kid_floor[0],
        "precision": precision,
        "precision_real": reference.precision_real,
        "recall": recall,
        "recall_real": reference.recall_real,
        "lattice": lattice_strength(samples),
        "lattice_real": reference.real_lattice,
        "lattice_power": lattice_power(samples, reference.real_spectrum),
        "lattice_power_real": reference.real_lattice_power,
        "frame": frame_strength(samples, TRANSLATION_RATIO),
        "frame_real": reference.real_frame,
        "style_entropy": mean_entropy(probabilities),
        "style_entropy_real": reference.style_entropy_real,
    }
    by_class = per_class_frechet(features, reference.requested, reference.features, reference.labels, k)
    return Measurement(figures, per_class, by_class, mixing_pairs, per_pair, samples)
