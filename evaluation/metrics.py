"""The figures themselves, as pure numpy functions of features and class probabilities, and their registry.

Nothing here loads a model or reads a file, so each figure can be checked on
synthetic inputs whose right answer is known (tests/test_evaluation_metrics.py).

``REGISTRY`` (at the end) lists every figure the evaluation reports, one
``Figure`` each: how it is computed from a ``Reading`` of the samples, what
it is on real images, its row in the report and its line in the panel's
verdict. Measuring, the real reference, the report, metrics.json and the
``--eval-every`` columns all read it, so a new figure is one entry there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.spatial.distance import cdist, pdist

from base.streams import numpy_stream


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a (samples, dims) feature array, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need a (samples >= 2, dims) feature array, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)): the Frechet distance of two Gaussians."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_of_root_of_product(sigma1, sigma2)
    return float(max(distance, 0.0))  # round-off can take a true 0 slightly below it


def trace_of_root_of_product(sigma1, sigma2) -> float:
    """Tr((S1 S2)^(1/2)), through the symmetric S1^(1/2) S2 S1^(1/2), whose eigenvalues are the same.

    Both covariances are positive semi-definite, so those eigenvalues are real
    and non-negative up to round-off. A general sqrtm of S1 S2 (FID's usual
    formula) is not symmetric, and with singular covariances (fewer samples
    than features, dead ReLU units: the rule for small evaluations) it leaves
    imaginary parts large enough to stop an evaluation, or to be dropped blindly.
    """
    values, vectors = np.linalg.eigh(sigma1)
    root1 = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(features_a, features_b) -> float:
    """Frechet distance between the Gaussians fitted to two feature sets (FID's formula)."""
    return frechet_distance_from_statistics(*feature_statistics(features_a), *feature_statistics(features_b))


def conditional_accuracy(probabilities, requested, num_classes: int) -> tuple[float, list[float | None]]:
    """Fraction of samples whose arg-max class is the requested one: overall and per class.

    A class with no samples gets None rather than a made-up number.
    """
    predicted = np.argmax(np.asarray(probabilities), axis=-1)
    requested = np.asarray(requested, dtype=np.int64)
    hits = predicted == requested
    per_class = [float(hits[requested == k].mean()) if np.any(requested == k) else None for k in range(num_classes)]
    return float(hits.mean()), per_class


def mean_entropy(probabilities) -> float:
    """Mean entropy (nats) of a judge's class posteriors: 0 when every image is plainly one class, ln K
    when the judge cannot tell which. Creative Adversarial Networks push generated art towards ln K."""
    probabilities = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    return float(-(probabilities * np.log(probabilities)).sum(axis=-1).mean())


def mixing_scores(probabilities, i: int, j: int) -> tuple[float, float]:
    """``(mass, evenness)`` for samples drawn from the condition (e_i + e_j) / 2.

    mass = mean of p_i + p_j: how much of the classifier's belief stays on the
    two requested classes. evenness = mean of 1 - |p_i - p_j| / (p_i + p_j),
    per sample: 1 when each image is an even blend of both, 0 when each image
    is plainly one of them (a generator that alternates between i and j
    scores 0, not 1).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    p_i, p_j = probabilities[:, i], probabilities[:, j]
    mass = p_i + p_j
    evenness = 1.0 - np.abs(p_i - p_j) / np.maximum(mass, 1e-12)
    return float(mass.mean()), float(evenness.mean())


def mean_pairwise_distance(features) -> float:
    """Mean Euclidean distance over all pairs of samples: 0 when every sample is the same."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 2:
        raise ValueError("the mean pairwise distance needs at least two samples")
    return float(pdist(features.reshape(len(features), -1)).mean())


def class_diversity(features, labels, num_classes: int) -> float:
    """Mean pairwise feature distance within each class, averaged over classes with two or more samples.

    Within a class, so that the spread between classes (which any conditional
    generator has) cannot hide a generator that draws one image per class.
    """
    labels = np.asarray(labels)
    per_class = [mean_pairwise_distance(features[labels == k]) for k in range(num_classes) if np.sum(labels == k) > 1]
    if not per_class:
        raise ValueError("no class has two samples; raise the number of samples")
    return float(np.mean(per_class))


def inception_score(probabilities, splits: int = 1) -> float:
    """exp(E_x KL(p(y|x) || p(y))), averaged over ``splits`` chunks (Salimans et al., 2016).

    1 when every sample gets the same class distribution; the number of
    classes when each sample is certain and the classes are used evenly.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    scores = []
    for chunk in np.array_split(probabilities, splits):
        marginal = chunk.mean(axis=0, keepdims=True)
        kl = np.sum(chunk * (np.log(np.maximum(chunk, 1e-12)) - np.log(np.maximum(marginal, 1e-12))), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores))


def polynomial_kernel(x, y) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3, KID's kernel: it compares means, variances and skews of the features."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def unbiased_mmd2(x, y) -> float:
    """The unbiased estimate of MMD^2 between the samples' distributions (0 in expectation when equal).

    Unbiased means the diagonal k(x_i, x_i) is left out of the within-set
    means, so an estimate can fall slightly below 0 when the sets match.
    """
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kernel_distance(features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0):
    """``(mean, standard deviation)`` of the unbiased MMD^2 over random subsets: KID (Binkowski et al. 2018).

    Unlike the Frechet distance it has no bias that depends on the number of
    samples, so figures taken with different ``--n`` compare; the spread over
    subsets says how much of a difference is noise. Subsets hold
    ``subset_size`` samples, or half of the smaller set when that is less
    (a subset of every sample would make all subsets alike).
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if min(len(a), len(b)) < 2:
        raise ValueError("the kernel distance needs at least two samples on each side")
    size = min(subset_size, max(2, min(len(a), len(b)) // 2))
    rng = numpy_stream(seed, "kid_subsets")
    values = [
        unbiased_mmd2(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def nearest_neighbour_radii(features, k: int) -> np.ndarray:
    """The distance from each sample to its k-th nearest other sample: the radius of its ball."""
    distances = cdist(features, features)
    return np.partition(distances, k, axis=1)[:, k]  # column 0 is the sample itself


def covered(samples, support, radii) -> np.ndarray:
    """Whether each sample lies inside at least one ball around the support's samples."""
    return np.any(cdist(samples, support) <= radii[None, :], axis=1)


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-nearest-neighbour manifolds.

    Precision: the share of generated samples inside the real manifold (the
    union of balls reaching each real sample's k-th neighbour): how many look
    real. Recall: the share of real samples inside the generated manifold: how
    much of the real variety the generator draws. A collapsed generator keeps
    a high precision and loses its recall.
    """
    real, fake = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision and recall with k = {k} need more than {k} samples on each side")
    precision = covered(fake, real, nearest_neighbour_radii(real, k)).mean()
    recall = covered(real, fake, nearest_neighbour_radii(fake, k)).mean()
    return float(precision), float(recall)


def per_class_frechet(features, labels, reference_features, reference_labels, num_classes: int) -> list:
    """The Frechet distance within each class (None for a class with fewer than two samples on a side).

    A conditional model can be good on average and bad on its rare styles;
    this says which.
    """
    labels, reference_labels = np.asarray(labels), np.asarray(reference_labels)
    distances = []
    for k in range(num_classes):
        mine, theirs = features[labels == k], reference_features[reference_labels == k]
        distances.append(frechet_distance(mine, theirs) if min(len(mine), len(theirs)) > 1 else None)
    return distances


LATTICE_PERIODS = (2, 4, 8)  # the periods an 8x8 map doubled three times can stamp on a 64 px image


def _grey(images) -> np.ndarray:
    """(N, H, W) float64: the channels' mean of (N, H, W, C) images, or (N, H, W) images as they are."""
    images = np.asarray(images, dtype=np.float64)
    return images.mean(axis=-1) if images.ndim == 4 else images


def mean_power_spectrum(images) -> np.ndarray:
    """The mean |FFT|^2 of the images in grey, each with its own mean removed (so the DC bin says nothing)."""
    grey = _grey(images)
    grey = grey - grey.mean(axis=(1, 2), keepdims=True)
    return (np.abs(np.fft.fft2(grey)) ** 2).mean(axis=0)


def _peak_over_neighbours(power, points, direction) -> float:
    """Power at ``points`` over that of the bins one and two steps away along ``direction``.

    The neighbours lie on the same line through the origin as the peak: natural
    images (and the seams of a periodic FFT) put more energy on the axes than
    off them, so off-line neighbours would make every axis look like a peak.
    """
    height, width = power.shape
    peaks = {(u % height, v % width) for u, v in points}
    (du, dv), steps = direction, (-2, -1, 1, 2)
    neighbours = {((u + s * du) % height, (v + s * dv) % width) for u, v in points for s in steps} - peaks
    peak = np.mean([power[p] for p in peaks])
    around = np.mean([power[p] for p in neighbours])
    return float(peak / max(around, 1e-30))


def _mean(*values) -> float:
    return float(np.mean(values))


def lattice_peaks(images, periods=LATTICE_PERIODS) -> dict:
    """How far a fixed pixel lattice stands out of the images' spectrum: ``{"axis_2": ratio, "diagonal_2": ...}``.

    A generator whose up-sampling treats the pixels of a cell unequally stamps
    a pattern of period 2 (and, through the earlier doublings, 4 and 8) on
    every sample: sharp peaks at the frequencies size / period, along the
    axes and the diagonals, far above the neighbouring frequencies. Natural
    images have a smooth spectrum there, so the ratio is near 1 for real
    paintings and grows with the lattice. Periods that do not divide the
    image size are left out.
    """
    power = mean_power_spectrum(images)
    size = power.shape[0]
    ratios = {}
    for period in periods:
        if size % period or power.shape[1] != size:
            continue
        f = size // period
        ratios[f"axis_{period}"] = _mean(
            _peak_over_neighbours(power, [(f, 0)], (1, 0)), _peak_over_neighbours(power, [(0, f)], (0, 1))
        )
        ratios[f"diagonal_{period}"] = _mean(
            _peak_over_neighbours(power, [(f, f)], (1, 1)), _peak_over_neighbours(power, [(f, -f)], (1, -1))
        )
    return ratios


def lattice_power(images, reference_spectrum, periods=LATTICE_PERIODS) -> float:
    """The most power the images put at a lattice frequency, over what the reference images put there.

    ``lattice_strength`` compares a frequency with its neighbours in the same
    spectrum, so a generator that lacks the neighbours' energy reads as a
    lattice even where its power at the frequency is the paintings' own (the
    nearest-neighbour doublings keep the bins next to the pixel checkerboard
    well below the paintings' power: BENCHMARKS.md, "WikiArt at 64 px: the
    lattice"). Against the real images' mean power spectrum
    (``mean_power_spectrum``), about 1 means no more lattice than the
    paintings have; a stamped lattice far more.
    """
    power = mean_power_spectrum(images)
    reference = np.asarray(reference_spectrum, dtype=np.float64)
    if power.shape != reference.shape:
        raise ValueError(f"spectra of {power.shape} and {reference.shape} pixels do not compare")
    size, ratios = power.shape[0], []
    for period in periods:
        if size % period or power.shape[1] != size:
            continue
        f = size // period
        for points in (((f, 0), (0, f)), ((f, f), (f, -f % size))):
            ratios.append(np.mean([power[p] for p in points]) / max(np.mean([reference[p] for p in points]), 1e-30))
    return float(max(ratios)) if ratios else float("nan")


def lattice_strength(images) -> float:
    """The largest of ``lattice_peaks``: about 1 without a lattice, 20 to 150 for the lattice the old up-blocks drew."""
    peaks = lattice_peaks(images)
    return max(peaks.values()) if peaks else float("nan")


def edge_profile(images) -> np.ndarray:
    """Mean |step| between neighbouring rows (columns) of the grey images, by distance from the border.

    Entry d (1 to side / 2 - 1) averages the steps between the d-th and
    (d + 1)-th row or column from each of the four sides, over every image:
    a line parallel to the border at distance d in many images (a frame)
    stands out as a peak at d.
    """
    grey = _grey(images)
    rows = np.abs(np.diff(grey, axis=1)).mean(axis=(0, 2))  # rows[i]: between rows i and i + 1
    columns = np.abs(np.diff(grey, axis=2)).mean(axis=(0, 1))
    half = min(grey.shape[1], grey.shape[2]) // 2
    return np.array([np.nan] + [_mean(rows[d - 1], rows[-d], columns[d - 1], columns[-d]) for d in range(1, half)])


def frame_strength(images, band: float = 0.125) -> float:
    """How far the strongest line parallel to the border, 2 to ``band`` x side + 2 pixels in, stands out over
    the steps further in at the same phase: 1.0 to 1.2 for real paintings, higher where samples carry a frame.

    Translation augmentation that shifts a constant band in (DiffAugment's zeros) puts an edge 1 to
    ``band`` x side pixels inside the border of nearly every view the critic gets of a real image; a
    generator that copies it draws a frame. Each distance is compared with the inside's steps at the same
    distance modulo 8 (4 or 2 in images under 32 px), because a generator that doubles its side three
    times steps more between its 2x2 (4x4, 8x8) cells than inside them everywhere, which is no frame. The
    outermost step is left out: scanned paintings' own border makes it 1.5 times the others. NaN for
    images too small to have an inside (12 px or less).
    """
    profile = edge_profile(images)
    reach = int(round(band * min(np.shape(images)[1:3]))) + 2
    inside = np.arange(reach + 1, len(profile))
    if len(inside) < 2:
        return float("nan")
    period = max(LATTICE_PERIODS)
    while period > len(inside):  # small images (16 to 28 px): fewer cells' phases, each still found inside
        period //= 2
    ratios = [profile[d] / max(float(np.median(profile[inside[(inside - d) % period == 0]])), 1e-12)
              for d in range(2, reach + 1)]  # fmt: skip
    return float(max(ratios))


class RunningMoments:
    """Mean and covariance of features that arrive in batches, in bounded memory.

    FID over 50,000 samples needs only the sum and the sum of outer products
    (2048 x 2048 in float64: 32 MB), not the 400 MB of features. Each batch
    is centred on the first batch's mean before it is summed, so the
    covariance keeps its precision when the features' mean is large beside
    their spread.
    """

    def __init__(self):
        self.count = 0
        self.shift = None
        self.total = None
        self.outer = None

    def update(self, features) -> None:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2:
            raise ValueError(f"need (samples, dims) features, got shape {features.shape}")
        if self.shift is None:
            self.shift = features.mean(axis=0)
            self.total = np.zeros_like(self.shift)
            self.outer = np.zeros((len(self.shift), len(self.shift)))
        centred = features - self.shift
        self.count += len(features)
        self.total += centred.sum(axis=0)
        self.outer += centred.T @ centred

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, covariance)``, the covariance with n - 1 in the denominator as ``np.cov``."""
        if self.count < 2:
            raise ValueError(f"need at least two samples for a covariance, got {self.count}")
        centred_mean = self.total / self.count
        sigma = (self.outer - self.count * np.outer(centred_mean, centred_mean)) / (self.count - 1)
        return self.shift + centred_mean, (sigma + sigma.T) / 2.0


class SplitInceptionScore:
    """``inception_score(probabilities, splits)`` over probabilities that arrive in batches.

    Within a split, E_x KL(p(y|x) || p(y)) = E_x sum p log p - sum p(y) log p(y),
    so each split needs only the sum of p log p and the sum of p. Samples fall
    into splits as ``np.array_split`` puts them, so the score is the same as
    the in-memory one for the same ``total``.
    """

    def __init__(self, total: int, splits: int = 10):
        if total < 1:
            raise ValueError("the Inception Score needs at least one sample")
        splits = max(1, min(splits, total))
        sizes = [len(chunk) for chunk in np.array_split(np.arange(total), splits)]
        self.ends = np.cumsum(sizes)
        self.total = total
        self.seen = 0
        self.p_log_p = np.zeros(splits)
        self.p_sums = [None] * splits
        self.counts = np.zeros(splits, dtype=np.int64)

    def update(self, probabilities) -> None:
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if self.seen + len(probabilities) > self.total:
            raise ValueError(f"more than the {self.total} samples announced")
        indices = np.searchsorted(self.ends, self.seen + np.arange(len(probabilities)), side="right")
        terms = (probabilities * np.log(np.maximum(probabilities, 1e-12))).sum(axis=1)
        for split in np.unique(indices):
            mine = indices == split
            chunk_sum = probabilities[mine].sum(axis=0)
            self.p_sums[split] = chunk_sum if self.p_sums[split] is None else self.p_sums[split] + chunk_sum
            self.p_log_p[split] += terms[mine].sum()
            self.counts[split] += int(mine.sum())
        self.seen += len(probabilities)

    def score(self) -> float:
        if self.seen != self.total:
            raise ValueError(f"{self.seen} of the {self.total} samples announced have arrived")
        scores = []
        for p_log_p, p_sum, count in zip(self.p_log_p, self.p_sums, self.counts, strict=True):
            marginal = p_sum / count
            kl = p_log_p / count - (marginal * np.log(np.maximum(marginal, 1e-12))).sum()
            scores.append(np.exp(kl))
        return float(np.mean(scores))


# The registry: every figure the evaluation reports.

HIGHER, LOWER, NEAR_REAL = "higher", "lower", "near the real figure"  # when a figure is better
NEIGHBOURS = 3  # k of the precision and recall manifolds (Kynkaanniemi et al.)


def mixing_pairs(num_classes: int) -> list[tuple[int, int]]:
    """Every pair i < j of classes, in the order the mixing samples are drawn."""
    return list(itertools.combinations(range(num_classes), 2))


class Reading:
    """A set of images beside the real set it is compared with, as one judge reads both: what figures read.

    ``images`` (in [-1, 1]) are the samples, or a real set; ``labels`` their
    classes (for samples, the classes they were asked for). ``real`` is the
    reading of the real reference set (half A), or None for that set itself.
    ``judge`` has ``predict(images) -> (features, probabilities)`` and
    ``held_out_accuracy``; without one (None) only the pixels can be read.
    ``mixing`` holds ``per_pair`` images for each pair of ``mixing_pairs``,
    drawn from (e_i + e_j) / 2. Whatever is computed is kept, so figures that
    share a computation (KID and its spread, precision and recall) pay for it
    once, and a reading of the real set is made once per judge.
    """

    def __init__(self, images, labels, num_classes: int, judge=None, real=None, seed: int = 0, mixing=None,
                 per_pair: int = 0):  # fmt: skip
        self.images = images
        self.labels = labels
        self.num_classes = num_classes
        self.judge = judge
        self.real = real
        self.seed = seed  # of KID's random subsets
        self.mixing = mixing
        self.per_pair = per_pair

    @cached_property
    def predicted(self) -> tuple[np.ndarray, np.ndarray]:
        return self.judge.predict(self.images)

    @property
    def features(self) -> np.ndarray:
        return self.predicted[0]

    @property
    def probabilities(self) -> np.ndarray:
        return self.predicted[1]

    @cached_property
    def accuracy(self) -> tuple[float, list]:
        """``(conditional accuracy, per class)``: how often the judge finds the class asked for."""
        return conditional_accuracy(self.probabilities, self.labels, self.num_classes)

    @cached_property
    def mixed(self) -> tuple[float, float, list]:
        """``(mean mass, mean evenness, per pair {"i", "j", "mass", "evenness"})`` over every mixed pair i < j."""
        pairs = mixing_pairs(self.num_classes)
        if not pairs:
            return float("nan"), float("nan"), []
        _, probabilities = self.judge.predict(self.mixing)
        rows, per_pair = [], self.per_pair
        for index, (i, j) in enumerate(pairs):
            mass, evenness = mixing_scores(probabilities[index * per_pair : (index + 1) * per_pair], i, j)
            rows.append({"i": i, "j": j, "mass": mass, "evenness": evenness})
        return float(np.mean([r["mass"] for r in rows])), float(np.mean([r["evenness"] for r in rows])), rows

    @cached_property
    def kid(self) -> tuple[float, float]:
        """``(mean, standard deviation)`` of the kernel distance to the real set."""
        return kernel_distance(self.features, self.real.features, seed=self.seed)

    @cached_property
    def precision_recall(self) -> tuple[float, float]:
        """``(precision, recall)`` against the real set's k-NN manifold."""
        return precision_recall(self.real.features, self.features, NEIGHBOURS)

    @cached_property
    def spectrum(self) -> np.ndarray:
        return mean_power_spectrum(self.images)


@dataclass(frozen=True)
class Verdict:
    """A figure's line in the panel's verdict: its worst value over the judges (``better`` says which is worst)."""

    key: str  # the verdict's key in metrics.json (``panel``)
    name_judge: bool = False  # also ``<key>_by``: the judge that gave it
    over_real: bool = False  # the figure over its real figure (a distance over its floor), judges with a floor > 0
    logged: bool = False  # also a log.csv column under --eval-every: ``eval_panel_<key>``


@dataclass(frozen=True)
class Figure:
    """One figure: how it is computed, what it is on real images, its row in the report, its line in the verdict.

    ``of_samples(reading)`` gives the figure of the samples; a tuple gives
    the figure and then the figures named in ``also``. ``of_real(reading)``
    gives ``real``, the real figure printed beside it, from a reading of real
    half B against half A; by default the same computation as the samples',
    so that the real figure is the floor: what real images score against
    other real images of the same classes. A tuple's first item is the real
    figure (the reference keeps the whole value). A judged figure is
    computed for every judge of the panel (``eval_<judge>_<name>`` in
    log.csv); a pixel figure (``judged=False``) once, from the pixels alone
    (``eval_<name>``).
    """

    name: str  # the key in measure's figures, metrics.json and log.csv
    label: str  # the report's row
    of_samples: Callable
    better: str  # HIGHER, LOWER or NEAR_REAL
    real: str | None = None  # the key of the real figure beside it (None: it has none)
    of_real: Callable | None = None  # None: ``of_samples`` on real half B
    meaning: str = ""  # what the real figure is (the pixel table prints it)
    also: tuple[str, ...] = ()  # further figures ``of_samples`` gives in its tuple (KID's spread)
    judged: bool = True  # False: a figure of the pixels alone, the same whichever judge reads the samples
    panel: Verdict | None = None  # its line in the panel's verdict (``better`` HIGHER or LOWER)

    @property
    def names(self) -> tuple[str, ...]:
        """Every key the figure puts in a measurement's figures, in order: its own, ``also``, its real one."""
        return (self.name, *self.also, *((self.real,) if self.real else ()))

    def measure(self, reading: Reading) -> dict:
        """``{name: value}`` for the figure and its ``also`` from a reading of the samples."""
        value = self.of_samples(reading)
        values = value if isinstance(value, tuple) else (value,)
        return dict(zip((self.name, *self.also), values, strict=True))

    def measure_real(self, reading: Reading):
        """The real figure's whole value (a tuple where ``of_real`` gives one) from a reading of real half B."""
        return (self.of_real or self.of_samples)(reading)


def real_figure(value) -> float:
    """The real figure of a value ``Figure.measure_real`` gave: the first item of a tuple."""
    return value[0] if isinstance(value, tuple) else value


def _frame(images) -> float:
    """``frame_strength`` over the band that the training's translation augmentation shifts in."""
    from models.augment import TRANSLATION_RATIO  # the augmentation's own constant; TensorFlow loads here

    return frame_strength(images, TRANSLATION_RATIO)


REGISTRY = (
    Figure("conditional_accuracy", "conditional accuracy", lambda r: r.accuracy[0], HIGHER,
           real="classifier_accuracy", of_real=lambda r: r.judge.held_out_accuracy,
           meaning="the judge on real {measured_on}"),
    Figure("mixing_mass", "mixing: mass on {i, j}", lambda r: r.mixed[0], HIGHER,
           meaning="1 = all belief on the two mixed classes", panel=Verdict("mixing_mass")),
    Figure("mixing_evenness", "mixing: evenness", lambda r: r.mixed[1], HIGHER,
           meaning="1 = every image an even blend"),
    Figure("frechet_distance", "Frechet distance", lambda r: frechet_distance(r.features, r.real.features), LOWER,
           real="frechet_floor", meaning="real vs real: the floor",
           panel=Verdict("frechet_ratio", name_judge=True, over_real=True, logged=True)),
    Figure("diversity", "within-class diversity", lambda r: class_diversity(r.features, r.labels, r.num_classes),
           NEAR_REAL, real="diversity_real", meaning="real images of the same classes"),
    Figure("kid", "kernel distance (KID)", lambda r: r.kid, LOWER, also=("kid_std",), real="kid_floor",
           meaning="real vs real", panel=Verdict("kid", name_judge=True)),
    Figure("precision", "precision", lambda r: r.precision_recall[0], HIGHER, real="precision_real",
           meaning="samples inside the real images' k-NN manifold", panel=Verdict("precision")),
    Figure("recall", "recall", lambda r: r.precision_recall[1], HIGHER, real="recall_real",
           meaning="real images inside the samples' k-NN manifold", panel=Verdict("recall", logged=True)),
    Figure("style_entropy", "class entropy", lambda r: mean_entropy(r.probabilities), NEAR_REAL,
           real="style_entropy_real", of_real=lambda r: mean_entropy(r.real.probabilities),
           meaning="real images'; ln K = {ln_k} is no class"),
    # the pixels' own figures, the same whichever judge reads the samples
    Figure("lattice", "pixel lattice (spectral peak)", lambda r: lattice_strength(r.images), LOWER,
           real="lattice_real", of_real=lambda r: lattice_strength(r.real.images),
           meaning="about 1 without a lattice; real images", judged=False),
    Figure("lattice_power", "lattice power against real", lambda r: lattice_power(r.images, r.real.spectrum),
           LOWER, real="lattice_power_real", meaning="about 1: no more than paintings have", judged=False),
    Figure("frame", "frame inside the border", lambda r: _frame(r.images), LOWER, real="frame_real",
           of_real=lambda r: _frame(r.real.images), meaning="about 1 without a frame; real images", judged=False),
)  # fmt: skip


def registered(judged: bool) -> tuple[Figure, ...]:
    """The figures a judge reads (``judged=True``) or the pixels' own, in the registry's order."""
    return tuple(figure for figure in REGISTRY if figure.judged == judged)


def figure_names(judged: bool) -> tuple[str, ...]:
    """Every key of a measurement's figures, judged or the pixels' own, in order."""
    return tuple(name for figure in registered(judged) for name in figure.names)
