"""The evaluation figures on synthetic inputs whose right answers are known."""

import numpy as np
import pytest
from scipy import ndimage

from evaluation.metrics import (
    class_diversity,
    conditional_accuracy,
    frame_strength,
    frechet_distance,
    frechet_distance_from_statistics,
    inception_score,
    kernel_distance,
    lattice_power,
    lattice_strength,
    mean_entropy,
    mean_pairwise_distance,
    mean_power_spectrum,
    mixing_scores,
    per_class_frechet,
    polynomial_kernel,
    precision_recall,
    trace_of_root_of_product,
    unbiased_mmd2,
)


@pytest.fixture
def gaussian(rng):
    return rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 8))


def test_frechet_distance_of_identical_feature_sets_is_zero(gaussian):
    assert frechet_distance(gaussian, gaussian) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("shift", [0.5, 2.0, 10.0])
def test_a_mean_shift_adds_its_squared_length(gaussian, shift):
    direction = np.arange(1.0, 9.0) / np.linalg.norm(np.arange(1.0, 9.0))
    moved = gaussian + shift * direction
    assert frechet_distance(gaussian, moved) == pytest.approx(shift**2, rel=1e-6)


def test_independent_draws_of_one_gaussian_are_close_and_a_shift_is_far(rng, gaussian):
    other = rng.normal(size=(2000, 8)) @ np.linalg.cholesky(np.cov(gaussian, rowvar=False)).T
    near = frechet_distance(gaussian, other)
    assert near < 0.5 < frechet_distance(gaussian, other + 1.0)


def test_diagonal_gaussians_match_the_closed_form():
    # For diagonal covariances the distance is |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    mu1, mu2 = np.zeros(3), np.array([1.0, 0.0, 2.0])
    expected = 5.0 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2
    assert frechet_distance_from_statistics(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)


def test_singular_covariances_still_give_a_finite_distance(rng):
    # Fewer samples than dimensions and dead (always-zero) features, as with ReLU features of few images.
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(20, 64)) + 0.3
    a[:, :10] = b[:, :10] = 0.0
    distance = frechet_distance(a, b)
    assert np.isfinite(distance) and distance > 0


def test_ill_conditioned_singular_covariances_give_the_exact_trace():
    # Features on scales e^(+-9) with dead units and fewer samples than dimensions: scipy's sqrtm of
    # S1 S2 leaves an imaginary part about 100x the traces here (the cause of a flaky evaluation).
    rng = np.random.default_rng(152)
    scales = [np.exp(3 * rng.normal(size=128)) for _ in range(2)]
    a, b = (rng.normal(size=(49, 128)) * scale for scale in scales)
    a[:, :30] = 0.0
    b[:, 20:60] = 0.0
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    exact = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0.0, None)).sum()
    assert trace_of_root_of_product(s1, s2) == pytest.approx(exact, rel=1e-7)
    assert frechet_distance_from_statistics(np.zeros(128), s1, np.zeros(128), s1) == pytest.approx(
        0.0, abs=1e-6 * np.trace(s1)
    )


def test_conditional_accuracy_overall_and_per_class():
    probabilities = np.eye(3)[[0, 0, 1, 2, 2, 2]]
    requested = np.array([0, 1, 1, 2, 2, 0])
    overall, per_class = conditional_accuracy(probabilities, requested, num_classes=4)
    assert overall == pytest.approx(4 / 6)
    assert per_class == [pytest.approx(0.5), pytest.approx(0.5), 1.0, None]  # class 3 never requested


def test_mixing_scores():
    assert mixing_scores(np.array([[0.5, 0.5, 0.0]]), 0, 1) == (1.0, 1.0)
    assert mixing_scores(np.array([[0.0, 0.9, 0.1]]), 0, 1) == pytest.approx((0.9, 0.0))
    mass, evenness = mixing_scores(np.array([[0.2, 0.2, 0.6], [0.3, 0.1, 0.6]]), 0, 1)
    assert mass == pytest.approx(0.4) and evenness == pytest.approx((1.0 + 0.5) / 2)


def test_alternating_between_the_two_classes_is_not_an_even_blend():
    alternating = np.array([[1.0, 0.0], [0.0, 1.0]] * 5)
    assert mixing_scores(alternating, 0, 1) == (1.0, 0.0)


def test_class_entropy_runs_from_zero_for_plain_classes_to_ln_k_for_none(rng):
    assert mean_entropy(np.eye(8)) == pytest.approx(0.0, abs=1e-9)
    assert mean_entropy(np.full((3, 8), 1 / 8)) == pytest.approx(np.log(8))
    two_way = np.array([[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    assert mean_entropy(two_way) == pytest.approx(np.log(2) / 2)  # the mean over images, not the pooled entropy
    random = rng.dirichlet(np.ones(8), size=500)
    assert 0.0 < mean_entropy(random) < np.log(8)


def test_pairwise_distance():
    assert mean_pairwise_distance(np.zeros((5, 3)) + 7.0) == 0.0
    assert mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)


def test_diversity_is_zero_for_one_image_per_class_even_when_classes_differ(rng):
    features = np.repeat(rng.normal(size=(3, 16)), 10, axis=0)  # every class collapsed to one point
    labels = np.repeat(np.arange(3), 10)
    assert class_diversity(features, labels, 3) == 0.0
    assert class_diversity(features + rng.normal(size=features.shape), labels, 3) > 1.0


def test_inception_score_bounds():
    certain_and_balanced = np.tile(np.eye(4), (25, 1))
    assert inception_score(certain_and_balanced) == pytest.approx(4.0)
    assert inception_score(np.full((100, 4), 0.25)) == pytest.approx(1.0)
    assert inception_score(np.tile(np.eye(4)[[0]], (100, 1))) == pytest.approx(1.0)  # mode collapse


def test_kernel_distance_is_near_zero_for_one_distribution_and_grows_with_a_shift(rng):
    a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    same, spread = kernel_distance(a, b, subsets=20, seed=1)
    assert abs(same) < 3 * spread + 1e-3  # unbiased: 0 in expectation, either sign
    shifted = [kernel_distance(a, b + shift, subsets=20, seed=1)[0] for shift in (0.25, 0.5, 1.0)]
    assert shifted[0] > 3 * spread and shifted[0] < shifted[1] < shifted[2]


def test_kernel_distance_needs_two_samples_a_side(rng):
    with pytest.raises(ValueError, match="at least two samples"):
        kernel_distance(rng.normal(size=(1, 4)), rng.normal(size=(10, 4)))


def test_kernel_distance_of_identical_sets_is_the_diagonal_correction_alone(rng):
    a = rng.normal(size=(50, 4))
    k = polynomial_kernel(a, a)
    m = len(a)
    # Within-set means leave the diagonal out, the cross mean keeps it: the estimate is
    # 2 (sum(K) - tr(K)) / (m (m - 1)) - 2 sum(K) / m^2 exactly.
    expected = 2 * (k.sum() - np.trace(k)) / (m * (m - 1)) - 2 * k.mean()
    assert unbiased_mmd2(a, a) == pytest.approx(expected)


def test_precision_and_recall_on_identical_disjoint_and_collapsed_sets(rng):
    real = rng.normal(size=(400, 8))
    assert precision_recall(real, real) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    two_kinds = np.concatenate([real[:200], real[200:] + 50.0])
    one_kind = two_kinds[:200]  # a generator that draws only one of the two kinds of real images
    assert precision_recall(two_kinds, one_kind) == (1.0, 0.5)
    near = precision_recall(real, rng.normal(size=(400, 8)))  # another draw of the same distribution
    assert min(near) > 0.8


def test_per_class_frechet_names_the_bad_class(rng):
    real = rng.normal(size=(300, 4))
    labels = np.repeat([0, 1, 2], 100)
    fake = real + rng.normal(scale=0.01, size=real.shape)
    fake[labels == 2] += 5.0
    distances = per_class_frechet(fake, labels, real, labels, num_classes=4)
    assert distances[0] < 0.01 and distances[1] < 0.01 and distances[2] > 50 and distances[3] is None


def random_walk_images(rng, count, size):
    """Grey images whose neighbouring pixels differ alike everywhere: no line at any distance from the border."""
    walk = np.cumsum(rng.normal(size=(count, size, size)), axis=1) + np.cumsum(
        rng.normal(size=(count, size, size)), axis=2
    )
    return (walk / np.abs(walk).max(axis=(1, 2), keepdims=True))[..., None]


def test_frame_strength_is_one_without_a_frame_and_finds_one_drawn_inside_the_border(rng):
    plain = random_walk_images(rng, 200, 64)
    assert 0.9 < frame_strength(plain) < 1.15
    framed = plain.copy()
    for d in (4, -5):  # a light line 4 pixels inside each of the four sides
        framed[:, d, 4:-4] += 0.5
        framed[:, 4:-4, d] += 0.5
    assert frame_strength(framed) > 2.0
    outermost = plain.copy()
    outermost[:, 0, :] += 0.5  # a scan's own border: not a frame inside the picture
    assert frame_strength(outermost) < 1.15
    for size in (16, 28, 32):  # smaller images compare fewer phases, and still find no frame
        assert 0.85 < frame_strength(random_walk_images(rng, 100, size)) < 1.25
    assert np.isnan(frame_strength(random_walk_images(rng, 4, 8)))


def test_lattice_power_tells_a_stamped_lattice_from_a_spectrum_that_only_lacks_the_neighbours(rng):
    """What the WikiArt WGAN-GP drew: the paintings' own power at the checkerboard, a fifth of it beside."""
    real = random_walk_images(rng, 200, 64)[..., 0]
    spectrum = mean_power_spectrum(real)
    assert 0.8 < lattice_power(random_walk_images(rng, 200, 64), spectrum) < 1.25
    checker = np.indices((64, 64)).sum(axis=0) % 2 * 2.0 - 1.0
    assert lattice_power(real + 0.1 * checker, spectrum) > 100  # a stamped lattice
    component = (real * checker).mean(axis=(1, 2), keepdims=True) * checker  # each image's own checkerboard
    smooth = ndimage.uniform_filter(real, size=(1, 3, 3), mode="wrap")  # near-Nyquist power mostly gone
    lacking = smooth - (smooth * checker).mean(axis=(1, 2), keepdims=True) * checker + component
    assert lattice_strength(lacking) > 10  # compared with its own neighbours it reads as a lattice
    assert lattice_power(lacking, spectrum) < 1.25  # against the real images it is not one
    with pytest.raises(ValueError, match="do not compare"):
        lattice_power(real[:, :32, :32], spectrum)
