"""The published FID network's loader, streamed figures and statistics files, on a synthetic reference graph."""

import gzip
import pickle

import numpy as np
import pytest

from base.errors import UserError
from data import to_model_range
from evaluation.inception import (
    REFERENCE_GRAPH,
    as_pixel_values,
    batches_of,
    identify,
    inception_figures,
    load_network,
    stream_through,
)
from evaluation.metrics import (
    RunningMoments,
    SplitInceptionScore,
    feature_statistics,
    frechet_distance,
    inception_score,
    kernel_distance,
)
from evaluation.statistics_file import read_statistics, write_statistics
from tests import synthetic_inception as synthetic

LEGACY_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)  # how a legacy torch.save stream starts


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory):
    return synthetic.write_graph(tmp_path_factory.mktemp("graph") / "classify_image_graph_def.pb")


@pytest.fixture(scope="module")
def network(graph_file):
    return load_network(graph_file)


def random_pixels(count, size, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, channels), dtype=np.uint8)


@pytest.mark.parametrize("size", [12, 8, 21])
def test_the_graph_runs_any_batch_and_size_and_matches_numpy(network, size):
    pixels = random_pixels(7, size)
    features, probabilities = network.run(to_model_range(pixels))
    expected_features, expected_probabilities = synthetic.expected_outputs(pixels.astype(np.float64))
    assert features.shape == (7, synthetic.FEATURES) and probabilities.shape == (7, synthetic.CLASSES)
    np.testing.assert_allclose(features, expected_features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probabilities, expected_probabilities, rtol=1e-4, atol=1e-6)


def test_an_image_gets_the_same_features_alone_or_in_a_batch(network):
    pixels = to_model_range(random_pixels(5, 10, seed=1))
    together, _ = network.run(pixels)
    alone = np.concatenate([network.run(pixels[i : i + 1])[0] for i in range(5)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_the_inception_score_leaves_the_softmax_bias_out(network):
    pixels = random_pixels(6, 8, seed=2)
    _, probabilities = network.run(to_model_range(pixels))
    features, _ = synthetic.expected_outputs(pixels.astype(np.float64))
    with_bias = features @ synthetic.weights()["softmax"] + synthetic.weights()["bias"]
    with_bias = np.exp(with_bias - with_bias.max(axis=1, keepdims=True))
    with_bias /= with_bias.sum(axis=1, keepdims=True)
    assert np.abs(probabilities - with_bias).max() > 0.05  # the bias (5 sigma) would move them this much


def test_grey_images_are_fed_as_three_equal_channels_of_whole_values(network):
    grey = random_pixels(4, 9, channels=1, seed=3)
    features, _ = network.run(to_model_range(grey))
    expected, _ = synthetic.expected_outputs(np.repeat(grey, 3, axis=-1).astype(np.float64))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
    values = as_pixel_values(np.array([[[[-1.0], [1.0], [0.0012], [5.0]]]], np.float32))
    assert values.shape[-1] == 3 and values[0, 0, :, 0].tolist() == [0.0, 255.0, 128.0, 255.0]


def test_the_archive_is_read_in_memory_and_gives_the_same_network(tmp_path, network):
    archive = synthetic.write_archive(tmp_path / "inception-2015-12-05.tgz")
    assert identify(archive) == "archive"
    from_archive = load_network(archive)
    assert from_archive.kind == network.kind == "reference-graph" and from_archive.comparable_with_papers
    assert from_archive.description == REFERENCE_GRAPH and from_archive.feature_dim == synthetic.FEATURES
    pixels = to_model_range(random_pixels(3, 8, seed=4))
    np.testing.assert_array_equal(from_archive.run(pixels)[0], network.run(pixels)[0])
    assert not list(tmp_path.glob("*.pb"))  # nothing unpacked to disk


def test_a_graph_without_a_softmax_gives_features_only(tmp_path):
    network = load_network(synthetic.write_graph(tmp_path / "g.pb", with_softmax=False))
    features, probabilities = network.run(to_model_range(random_pixels(3, 8)))
    assert features.shape == (3, synthetic.FEATURES) and probabilities is None and not network.has_classifier


def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    "write,message",
    [
        (lambda p: synthetic.write_graph(p, with_pool=False), "is a graph without pool_3: not the 2015 Inception"),
        (lambda p: p.write_bytes(b"\x0a\xff\xff\xff\xff\xff\xff"), "is not a TensorFlow graph"),
        (lambda p: p.write_text("mu,sigma\n1,2\n"), "is not a TensorFlow graph"),
        (lambda p: p.write_bytes(b""), "is a graph without ExpandDims and pool_3"),
        (lambda p: p.write_bytes(gzip.compress(b"x" * 600)[:40]), "is a damaged archive"),
        (lambda p: synthetic.write_archive(p, member="other.pb"), "is an archive without classify_image_graph_def.pb"),
        (lambda p: p.write_bytes(b"PK\x03\x04" + bytes(60)), "is not a readable PyTorch state dict"),
        (lambda p: p.write_bytes(LEGACY_MAGIC + bytes(40)), "is not a readable PyTorch state dict"),
    ],
)
def test_a_wrong_or_damaged_file_is_refused_in_one_line(tmp_path, write, message):
    path = tmp_path / "weights"
    write(path)
    with pytest.raises(UserError) as error:
        load_network(path)
    assert message in one_line(error)


def test_files_are_told_apart_by_content_not_name(tmp_path):
    cases = {"a.pb": b"\x89HDF\r\n\x1a\n" + bytes(8), "b.h5": gzip.compress(b"tar"), "c.tgz": b"\x0a\x03abc"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    assert [identify(tmp_path / name) for name in cases] == ["hdf5", "archive", "graph"]


def test_running_moments_equal_numpy_over_uneven_batches_with_a_large_mean():
    features = np.random.default_rng(5).normal(size=(1003, 7)) * [1, 2, 3, 4, 5, 6, 7] + 1e4
    moments = RunningMoments()
    for start, stop in ((0, 1), (1, 400), (400, 1003)):
        moments.update(features[start:stop])
    mu, sigma = moments.statistics()
    expected_mu, expected_sigma = feature_statistics(features)
    np.testing.assert_allclose(mu, expected_mu, rtol=1e-12)
    np.testing.assert_allclose(sigma, expected_sigma, rtol=1e-9, atol=1e-9)
    assert np.array_equal(sigma, sigma.T) and moments.count == 1003


def test_the_streamed_inception_score_equals_the_in_memory_one():
    logits = np.random.default_rng(6).normal(size=(103, 9)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    streamed = SplitInceptionScore(103, splits=10)
    for start in range(0, 103, 17):
        streamed.update(probabilities[start : start + 17])
    assert streamed.score() == pytest.approx(inception_score(probabilities, splits=10), rel=1e-10)
    short = SplitInceptionScore(103)
    short.update(probabilities[:50])
    with pytest.raises(ValueError, match="50 of the 103"):
        short.score()


def test_streamed_figures_equal_the_figures_of_all_features_at_once(network):
    pixels = random_pixels(230, 8, seed=7)
    order = np.random.default_rng(0).permutation(230)
    passed = stream_through(network, batches_of(pixels, order, batch_size=64), 230)
    features, probabilities = network.run(to_model_range(pixels[order]))
    mu, sigma = feature_statistics(features)
    np.testing.assert_allclose(passed.mu, mu, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(passed.sigma, sigma, rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(passed.kept_features, features.astype(np.float32))
    assert passed.inception_score == pytest.approx(inception_score(probabilities, 10), rel=1e-6)
    other = stream_through(network, batches_of(random_pixels(120, 8, seed=8)), 120)
    figures = inception_figures(network, passed, real=other, real_source="validation split")
    assert figures["fid"] == pytest.approx(frechet_distance(features, other.kept_features), rel=1e-4)
    assert figures["kid"] == pytest.approx(kernel_distance(features, other.kept_features)[0], rel=1e-4)
    assert figures["real_description"] == "120 images of the validation split"
    assert figures["generated_count"] == 230 and figures["comparable_with_papers"] is True


def test_fid_against_a_statistics_file_equals_fid_against_the_images(network, tmp_path):
    real = stream_through(network, batches_of(random_pixels(150, 8, seed=9)), 150)
    generated = stream_through(network, batches_of(random_pixels(90, 8, seed=10)), 90)
    path = write_statistics(tmp_path / "s.npz", real.mu, real.sigma, network=network.family, source="x", count=150)
    statistics = read_statistics(path, network.feature_dim, network.family)
    from_file = inception_figures(network, generated, statistics=statistics, real_source="statistics file s.npz")
    from_images = inception_figures(network, generated, real=real)
    assert from_file["fid"] == pytest.approx(from_images["fid"], rel=1e-9)
    assert from_file["kid"] is None and from_file["real_description"] == "statistics file s.npz, from 150 images"


def test_a_statistics_file_reads_back_with_its_metadata(tmp_path):
    rng = np.random.default_rng(11)
    mu, root = rng.normal(size=4), rng.normal(size=(4, 4))
    sigma = root @ root.T
    metadata = {"network": "inception-2015", "source": "cifar10 train", "image_size": 32, "count": 50000}
    path = write_statistics(tmp_path / "sub" / "stats.npz", mu, sigma, **metadata)
    stored = read_statistics(path, 4, "inception-2015")
    np.testing.assert_array_equal(stored["mu"], mu)
    np.testing.assert_array_equal(stored["sigma"], sigma)
    assert (stored["network"], stored["source"], stored["image_size"], stored["count"]) == (
        "inception-2015", "cifar10 train", 32, 50000,
    )  # fmt: skip
    assert not list(path.parent.glob(".*tmp*"))  # written through a temporary file, then renamed
    ttur = tmp_path / "fid_stats_cifar10_train.npz"
    np.savez(ttur, mu=mu.astype(np.float32), sigma=sigma.astype(np.float32))  # TTUR's files: mu and sigma only
    plain = read_statistics(ttur, 4, "inception-2015")
    assert plain["network"] is None and plain["count"] is None and plain["sigma"].dtype == np.float64


@pytest.mark.parametrize(
    "contents,message",
    [
        ({"mu": np.zeros(3)}, "has no sigma"),
        ({"mean": np.zeros(3), "cov": np.eye(3)}, "has no mu or sigma (it holds: mean, cov)"),
        ({"mu": np.zeros(3), "sigma": np.eye(4)}, "mu (3,) and sigma (4, 4) must be (d,) and (d, d)"),
        ({"mu": np.zeros(3), "sigma": np.triu(np.ones((3, 3)))}, "sigma is not symmetric"),
        ({"mu": np.array([0.0, np.nan, 0.0]), "sigma": np.eye(3)}, "NaN or infinity"),
        ({"mu": np.zeros(5), "sigma": np.eye(5)}, "holds 5-d statistics but the network gives 3-d features"),
        ({"mu": np.zeros(3), "sigma": np.eye(3), "network": np.array("keras-imagenet")}, "computed with keras"),
    ],
)
def test_a_wrong_statistics_file_is_refused_in_one_line(tmp_path, contents, message):
    path = tmp_path / "stats.npz"
    np.savez(path, **contents)
    with pytest.raises(UserError) as error:
        read_statistics(path, 3, "inception-2015")
    assert message in one_line(error)


def test_a_file_that_is_not_an_npz_is_refused_in_one_line(tmp_path):
    path = tmp_path / "stats.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UserError) as error:
        read_statistics(path)
    assert "is not a readable .npz statistics file" in one_line(error)


def test_keras_weights_are_read_by_content_and_run_in_float32_under_mixed_precision(tmp_path):
    import keras

    path = tmp_path / "inception_v3.weights.h5"
    keras.applications.InceptionV3(weights=None, include_top=True).save_weights(path)
    assert identify(path) == "hdf5"
    keras.mixed_precision.set_global_policy("mixed_bfloat16")  # as a training run with --mixed-precision leaves it
    try:
        network = load_network(path)
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # the run's policy is given back
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert network.kind == "keras-imagenet" and not network.comparable_with_papers
    assert "not comparable with published FIDs" in network.description
    features, probabilities = network.run(to_model_range(random_pixels(2, 16, channels=1)))
    assert features.shape == (2, 2048) and features.dtype == np.float32 and np.all(features >= 0)
    assert probabilities.shape == (2, 1000) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
