"""The evaluation library with a real (tiny-budget) classifier on scikit-learn's digits."""

import numpy as np
import pytest

from base.errors import UserError
from base.rundir import metrics_path
from data import DataSettings, Splits, held_out_split, load_images, to_model_range
from evaluation import classifier as classifier_module
from evaluation.classifier import HELD_OUT_FRACTION, load_or_train_classifier
from evaluation.generator_report import check_fits, generator_report
from evaluation.inception import find_weights
from evaluation.measure import measure, real_reference
from evaluation.metrics import figure_names
from evaluation.settings import EvaluationSettings
from models.dcgan import build_dcgan_generator

SIZE = 16
SAMPLES = 200


@pytest.fixture(scope="module")
def digits():
    return load_images("digits", image_size=SIZE, progress=False)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def judge(digits, cache):
    return load_or_train_classifier(digits, "digits", cache, epochs=4)


@pytest.fixture(scope="module")
def reference(judge, digits):
    return real_reference(judge, digits, SAMPLES, seed=0)


def real_images_of(digits, pool, seed=0):
    """A "generator" that returns real images of the requested class, drawn from ``pool`` indices."""
    rng = np.random.default_rng(seed)

    def draw(conditions):
        picks = []
        for k in np.argmax(conditions, axis=1):
            members = pool[digits.labels[pool] == k]
            picks.append(rng.choice(members))
        return to_model_range(digits.images[np.array(picks)])

    return draw


def test_classifier_is_cached_under_the_dataset_size_and_data_hash(judge, cache):
    assert not judge.from_cache and judge.path.parent == cache / "classifiers"
    assert judge.path.name.startswith(f"digits-{SIZE}-") and judge.path.with_suffix(".json").is_file()
    assert 0.5 < judge.held_out_accuracy <= 1.0  # well above chance (0.1) even on this budget


def test_second_call_reuses_the_cache_without_training(judge, digits, cache, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the classifier was trained again")

    monkeypatch.setattr(classifier_module, "train_classifier", refuse)
    again = load_or_train_classifier(digits, "digits", cache, epochs=4)
    assert again.from_cache and again.path == judge.path
    assert again.held_out_accuracy == judge.held_out_accuracy
    x = to_model_range(digits.images[:32])
    np.testing.assert_allclose(again.predict(x)[1], judge.predict(x)[1], atol=1e-6)


def test_changed_data_gets_its_own_classifier(judge, digits, cache):
    fewer = type(digits)(digits.images[:-1], digits.labels[:-1], digits.class_names)
    assert classifier_module.cache_path(cache, "digits", fewer) != judge.path
    assert classifier_module.cache_path(cache, "digits", digits, seed=1) != judge.path  # a second judge


def test_with_a_validation_split_the_judge_and_the_reference_come_from_it(digits, cache):
    train, val = digits.split(0.3, seed=0)
    judge = load_or_train_classifier(train, "digits", cache, epochs=4, validation=val)
    assert judge.held_out_images == len(val.labels) and judge.measured_on == "validation split"
    reference = real_reference(judge, train, SAMPLES, seed=0, validation=val)
    val_rows = {image.tobytes() for image in to_model_range(val.images)}
    assert all(image.tobytes() in val_rows for image in reference.images)  # A: paintings nobody trained on
    # a generator that hands back its training images scores the train-vs-val floor, not 0
    memoriser = real_images_of(train, np.arange(len(train.labels)))
    figures = measure(memoriser, judge, reference).figures
    assert figures["frechet_distance"] == pytest.approx(reference.frechet_floor, rel=0.5)
    assert figures["frechet_distance"] > 0.3 * reference.frechet_floor > 0


def test_a_generator_returning_real_images_scores_like_the_real_data(judge, digits, reference):
    _, held_out = held_out_split(digits.labels, HELD_OUT_FRACTION)
    result = measure(real_images_of(digits, held_out), judge, reference)
    figures = result.figures
    assert set(figures) == set(figure_names(judged=True) + figure_names(judged=False))
    assert abs(figures["conditional_accuracy"] - judge.held_out_accuracy) < 0.08
    assert figures["frechet_distance"] < 3 * reference.frechet_floor + 1.0
    assert figures["diversity"] == pytest.approx(reference.diversity_real, rel=0.2)
    assert figures["style_entropy"] == pytest.approx(figures["style_entropy_real"], rel=0.3)
    assert 0.0 < figures["style_entropy_real"] < np.log(10)
    # A real image is one class, not a blend: the mixed pair gets the belief, not an even split.
    assert figures["mixing_mass"] > 0.6 and figures["mixing_evenness"] < 0.5


def test_noise_and_collapse_are_caught(judge, digits, reference):
    rng = np.random.default_rng(1)
    noise = measure(lambda c: rng.uniform(-1, 1, (len(c), SIZE, SIZE, 1)).astype("float32"), judge, reference)
    real = measure(real_images_of(digits, np.arange(len(digits.labels))), judge, reference)
    assert noise.figures["frechet_distance"] > 10 * real.figures["frechet_distance"]
    one_per_class = np.stack([np.flatnonzero(digits.labels == k)[0] for k in range(10)])
    collapsed = measure(real_images_of(digits, one_per_class), judge, reference)
    # The same ten images over and over: no spread but the judge's round-off between batch positions.
    assert collapsed.figures["diversity"] < 1e-5 * reference.diversity_real
    assert noise.figures["style_entropy"] > real.figures["style_entropy"]  # the judge sees no digit in noise


def test_checkpoint_must_fit_the_dataset(digits):
    with pytest.raises(UserError, match="takes conditions for 3 classes but digits has 10"):
        check_fits(build_dcgan_generator((SIZE, SIZE, 1), 3, latent_dim=4), digits, "digits", "g.h5")
    with pytest.raises(UserError, match="makes 16x16x3 images but digits images are 16x16x1"):
        check_fits(build_dcgan_generator((SIZE, SIZE, 3), 10, latent_dim=4), digits, "digits", "g.h5")


def test_without_inception_weights_the_report_says_so(judge, digits, cache, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    assert find_weights() is None
    generator = build_dcgan_generator((SIZE, SIZE, 1), 10, latent_dim=4)
    real = Splits.holding(DataSettings("digits", cache_dir=str(cache)), digits, None)
    report = generator_report(generator, real, EvaluationSettings(samples=50, judges=("flatten",)))
    assert report["inception"]["available"] is False
    assert "not computed" in report["inception"]["reason"] and "--inception-weights" in report["inception"]["reason"]
    assert report["judges"]["flatten"]["classifier"]["from_cache"] and report["samples"] == 50
    with pytest.raises(UserError, match="is not a file"):
        find_weights(str(tmp_path / "missing.h5"))


def test_metrics_go_to_the_run_directory(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    assert (
        metrics_path(run / "checkpoints" / "generator_epoch_001.h5")
        == tmp_path / "run" / "checkpoints" / "metrics.json"
    )
    (run / "config.json").write_text("{}")
    assert metrics_path(run / "checkpoints" / "generator_epoch_001.h5") == run / "metrics.json"
    assert metrics_path(tmp_path / "g.h5") == tmp_path / "metrics.json"


def test_cached_networks_are_found_the_published_one_first(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    keras_file = tmp_path / "keras" / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
    port = tmp_path / "torch" / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    for path in (keras_file, port):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    assert find_weights() == port  # pytorch-fid's cached port before Keras's ImageNet network
    (tmp_path / "keras" / "models" / "inception-2015-12-05.tgz").write_bytes(b"x")
    assert find_weights().name == "inception-2015-12-05.tgz"
