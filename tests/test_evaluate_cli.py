"""evaluate.py and --eval-every end to end, in fresh processes as a user runs them."""

import csv
import json
import math

import numpy as np
import pytest

from data import load_images
from evaluation.callback import log_keys, panel_column_names
from evaluation.classifier import load_or_train_classifier
from evaluation.judges import DESIGNS, PANEL
from evaluation.metrics import figure_names
from tests import synthetic_inception
from tests.conftest import run_script, write_image

TINY = "--dataset digits --image-size 16 --batch-size 16 --steps-per-epoch 2 --latent-dim 8 --quiet --seed 5".split()
EVAL_COLUMNS = log_keys(PANEL)
INCEPTION_COLUMNS = ["eval_inception_fid", "eval_inception_kid", "eval_inception_score"]
UNIT_RANGE = ["classifier_accuracy", "conditional_accuracy", "mixing_mass", "mixing_evenness"]
UNIT_RANGE += ["precision", "precision_real", "recall", "recall_real"]
# Where a test checks something other than the judges' figures (test_evaluate_writes_metrics_json_in_the_run_directory
# checks the whole panel's): one judge, a quarter of the panel's kernel distances and per-class Frechet distances.
ONE_JUDGE = ["--judges", PANEL[0]]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache that already holds the panel's one-epoch judges for 16 px digits: the runs below reuse them."""
    path = tmp_path_factory.mktemp("cache")
    digits = load_images("digits", image_size=16, progress=False)
    for name in PANEL:
        load_or_train_classifier(digits, "digits", path, epochs=1, design=DESIGNS[name])
    return path


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    """A stand-in for the 2015 Inception graph, with its tensor names (tests/synthetic_inception.py)."""
    return synthetic_inception.write_graph(tmp_path_factory.mktemp("inception") / "classify_image_graph_def.pb")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, cache, graph):
    """Two epochs, evaluated every second one (Inception figures too): row 1 skips the figures, row 2 has them."""
    out = tmp_path_factory.mktemp("runs") / "dcgan"
    result = run_script(
        "train_dcgan.py", *TINY, "--epochs", "2", "--eval-every", "2", "--out", out, "--cache-dir", cache,
        "--inception-weights", graph,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def read_log(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_eval_columns_are_in_every_log_row_and_filled_when_due(tiny_run):
    rows = read_log(tiny_run / "log.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(column in rows[0] for column in EVAL_COLUMNS + INCEPTION_COLUMNS)
    assert all(math.isnan(float(rows[0][column])) for column in EVAL_COLUMNS + INCEPTION_COLUMNS)  # not due
    inception = {column: float(rows[1][column]) for column in INCEPTION_COLUMNS}
    assert inception["eval_inception_fid"] > 0
    assert 1.0 <= inception["eval_inception_score"] <= synthetic_inception.CLASSES
    assert math.isfinite(inception["eval_inception_kid"])
    values = {column: float(rows[1][column]) for column in EVAL_COLUMNS}
    assert all(math.isfinite(value) for value in values.values()), values
    for judge in PANEL:
        assert all(0.0 <= values[f"eval_{judge}_{name}"] <= 1.0 for name in UNIT_RANGE)
        # two steps of training: far off
        assert values[f"eval_{judge}_frechet_distance"] > values[f"eval_{judge}_frechet_floor"] >= 0.0
        assert values[f"eval_{judge}_diversity_real"] > 0.0
    lowest = min(values[f"eval_{judge}_conditional_accuracy"] for judge in PANEL)
    assert values["eval_panel_conditional_accuracy"] == pytest.approx(lowest)


def test_evaluate_writes_metrics_json_in_the_run_directory(tiny_run, cache):
    checkpoint = tiny_run / "checkpoints" / "generator_epoch_002.h5"
    result = run_script("evaluate.py", "--checkpoint", checkpoint, "--dataset", "digits", "--cache-dir", cache)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "conditional accuracy" in result.stdout and "FID and Inception Score: not computed" in result.stdout
    assert "weight-averaged generator generator_ema_epoch_002.h5" in result.stderr  # says which it measures
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    averaged = checkpoint.with_name("generator_ema_epoch_002.h5")
    assert metrics["checkpoint"] == str(averaged) and metrics["samples"] == 1797 // 2  # capped at half the data
    assert list(metrics["judges"]) == list(PANEL) and metrics["panel"]["judges"] == list(PANEL)
    for judge in PANEL:
        figures = metrics["judges"][judge]
        assert figures["classifier"]["from_cache"] and figures["classifier"]["epochs"] == 1  # the cached judge
        assert figures["classifier"]["design"] == judge
        assert all(0.0 <= figures[name] <= 1.0 for name in UNIT_RANGE)
        assert figures["frechet_distance"] >= 0.0 and figures["frechet_floor"] >= 0.0
        assert figures["diversity"] >= 0.0 and figures["diversity_real"] > 0.0
        assert list(figures["per_class_accuracy"]) == [str(d) for d in range(10)]
        assert len(figures["mixing_pairs"]) == 45
        # Two epochs of a tiny run: far from the real images by every measure, per class too.
        assert figures["kid"] > figures["kid_floor"] + 3 * figures["kid_std"] and figures["kid_floor_std"] > 0
        assert figures["precision"] < figures["precision_real"] and figures["recall"] < figures["recall_real"]
        frechet, floor = figures["per_class_frechet"], figures["per_class_frechet_floor"]
        assert list(frechet) == list(floor) == [str(d) for d in range(10)]
        assert all(frechet[name] > floor[name] > 0 for name in frechet)
    assert metrics["inception"]["available"] is False
    panel = metrics["panel"]
    assert panel["conditional_accuracy"] == min(metrics["judges"][j]["conditional_accuracy"] for j in PANEL)
    assert metrics["judges"][panel["conditional_accuracy_by"]]["conditional_accuracy"] == panel["conditional_accuracy"]
    # The per-class table: one column per judge, then the panel's lowest.
    per_class_rows = [line.split() for line in result.stdout.splitlines() if line.split()[:1] == ["7"]]
    cells = [float(cell.rstrip("*")) for cell in per_class_rows[-1][1 : len(PANEL) + 2]]
    accuracy = [metrics["judges"][judge]["per_class_accuracy"]["7"] for judge in PANEL]
    assert cells == pytest.approx([*accuracy, min(accuracy)], abs=1e-4)
    # Same judges, real halves and noise as --eval-every at the last epoch: the same figures.
    last_row = read_log(tiny_run / "log.csv")[-1]
    for judge in PANEL:
        for name in figure_names(judged=True):
            expected = float(last_row[f"eval_{judge}_{name}"])
            assert metrics["judges"][judge][name] == pytest.approx(expected, rel=1e-5), (judge, name)
    for name in figure_names(judged=False):
        assert metrics[name] == pytest.approx(float(last_row[f"eval_{name}"]), rel=1e-5), name
    for name in panel_column_names():
        assert panel[name] == pytest.approx(float(last_row[f"eval_panel_{name}"]), rel=1e-5), name


def test_evaluate_with_the_reference_graph_names_it_and_matches_the_training_log(tiny_run, cache, graph, tmp_path):
    checkpoint = tiny_run / "checkpoints" / "generator_epoch_002.h5"
    out = tmp_path / "metrics.json"
    result = run_script(
        "evaluate.py", "--checkpoint", checkpoint, "--dataset", "digits", "--cache-dir", cache,
        "--inception-weights", graph, "--out", out, *ONE_JUDGE,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    inception = json.loads(out.read_text())["inception"]
    assert inception["network_kind"] == "reference-graph" and inception["comparable_with_papers"] is True
    assert inception["generated_count"] == inception["real_count"] == 1000  # --n, not capped by the judge's halves
    assert inception["real_description"] == "1000 images of the training set"
    assert "2015 TensorFlow Inception graph" in result.stdout and "1000 samples against 1000 images" in result.stdout
    # The same network, noise, classes and real images as --eval-every at the last epoch: the same figures.
    last_row = read_log(tiny_run / "log.csv")[-1]
    assert inception["fid"] == pytest.approx(float(last_row["eval_inception_fid"]), rel=1e-5)
    assert inception["kid"] == pytest.approx(float(last_row["eval_inception_kid"]), rel=1e-5)
    assert inception["inception_score"] == pytest.approx(float(last_row["eval_inception_score"]), rel=1e-5)


def test_fid_stats_writes_the_real_side_and_evaluate_uses_it(tiny_run, cache, graph, tmp_path):
    stats = tmp_path / "digits_train.npz"
    written = run_script(
        "fid_stats.py", "--dataset", "digits", "--image-size", "16", "--inception-weights", graph,
        "--out", stats, "--n", "400", "--cache-dir", cache,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr[-3000:]
    assert "wrote" in written.stdout and "400 images of digits train at 16x16, 6-d features" in written.stdout
    from evaluation.inception import real_order
    from evaluation.metrics import feature_statistics

    digits = load_images("digits", image_size=16, progress=False)
    pixels = np.repeat(digits.images[real_order(len(digits.labels), 400, 0)], 3, axis=-1).astype(np.float64)
    mu, sigma = feature_statistics(synthetic_inception.expected_outputs(pixels)[0])
    with np.load(stats) as stored:
        np.testing.assert_allclose(stored["mu"], mu, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(stored["sigma"], sigma, rtol=1e-3, atol=1e-6)
        assert str(stored["network"]) == "inception-2015" and int(stored["count"]) == 400
    out = tmp_path / "metrics.json"
    result = run_script(
        "evaluate.py", "--checkpoint", tiny_run / "checkpoints" / "generator_epoch_002.h5", "--dataset", "digits",
        "--cache-dir", cache, "--inception-weights", graph, "--fid-stats", stats, "--n", "300", "--out", out,
        *ONE_JUDGE,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    inception = json.loads(out.read_text())["inception"]
    assert inception["fid"] > 0 and inception["kid"] is None and inception["generated_count"] == 300
    assert inception["real_description"] == f"statistics file {stats} (digits train), from 400 images"
    assert "KID: not computed" in result.stdout


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: np.savez(d / "s.npz", mu=np.zeros(5), sigma=np.eye(5)), "5-d statistics but the network gives 6-d"),
        (lambda d: (d / "s.npz").write_text("not a zip"), "is not a readable .npz statistics file"),
    ],
)
def test_a_wrong_statistics_file_stops_evaluate_at_once(tiny_run, cache, graph, tmp_path, make, message):
    make(tmp_path)
    result = run_script(
        "evaluate.py", "--checkpoint", tiny_run / "checkpoints" / "generator_epoch_002.h5", "--dataset", "digits",
        "--cache-dir", tmp_path / "empty-cache", "--inception-weights", graph, "--fid-stats", tmp_path / "s.npz",
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "empty-cache" / "classifiers").exists()  # refused before any judge was trained


def test_evaluate_raw_generator_measures_the_file_given(tiny_run, cache, tmp_path):
    checkpoint = tiny_run / "checkpoints" / "generator_epoch_002.h5"
    out = tmp_path / "raw.json"
    result = run_script(
        "evaluate.py", "--checkpoint", checkpoint, "--dataset", "digits", "--cache-dir", cache, "--n", "100",
        "--raw-generator", "--out", out, *ONE_JUDGE,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(out.read_text())["checkpoint"] == str(checkpoint)


def test_a_checkpoint_of_another_dataset_is_a_one_line_error(tiny_run, cache, tmp_path):
    for name in ("red", "blue"):
        for index in range(3):
            write_image(tmp_path / "colours" / name / f"{index}.png", size=(16, 16))
    result = run_script(
        "evaluate.py",
        "--checkpoint",
        tiny_run / "checkpoints" / "generator_epoch_002.h5",
        "--dataset",
        "folder",
        "--data-dir",
        tmp_path / "colours",
        "--cache-dir",
        cache,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "makes 16x16x1 images but folder images are 16x16x3" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--checkpoint", "/no/such/g.h5", "--dataset", "digits"], "--checkpoint /no/such/g.h5 is not a file"),
        (["--checkpoint", __file__, "--dataset", "digits", "--n", "0"], "--n: expected a positive integer, got 0"),
        (["--checkpoint", __file__, "--dataset", "imagenet"], "invalid choice: 'imagenet'"),
        (["--checkpoint", __file__, "--dataset", "digits", "--inception-weights", "/no/w.h5"], "is not a file"),
        (["--checkpoint", __file__, "--dataset", "digits", "--fid-stats", "/no/s.npz"], "--fid-stats /no/s.npz is not"),
    ],
)
def test_bad_flags_are_one_line_errors(args, message):
    result = run_script("evaluate.py", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]
