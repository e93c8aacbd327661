"""A figure is one entry of the registry: measuring, the real reference, the report, the verdict and the log read it."""

import json

import numpy as np
import pytest

from data import LabelledImages
from evaluation import metrics
from evaluation.callback import log_keys, panel_columns
from evaluation.generator_report import judge_report
from evaluation.measure import judge_reference, measure, real_sets
from evaluation.metrics import LOWER, NEAR_REAL, REGISTRY, Figure, Verdict, figure_names
from evaluation.panel import Panel, headline, measure_panel
from evaluation.report import format_table, rows, write_report

SIZE, CLASSES = 16, 4


def mean_gap(features, real_features) -> float:
    return float(np.linalg.norm(features.mean(axis=0) - real_features.mean(axis=0)))


# a distance between the generated and the real features, with its floor, in the verdict and its own log column
GAP = Figure("mean_gap", "feature mean gap", lambda r: mean_gap(r.features, r.real.features), LOWER,
             real="mean_gap_floor", meaning="real vs real",
             panel=Verdict("mean_gap", name_judge=True, logged=True))  # fmt: skip
# a figure of the pixels alone, whose real figure is half A's own
BRIGHTNESS = Figure("brightness", "mean brightness", lambda r: float(np.mean(r.images)), NEAR_REAL,
                    real="brightness_real", of_real=lambda r: float(np.mean(r.real.images)), meaning="real images'",
                    judged=False)  # fmt: skip


class Judge:
    """A judge without a network: 4x4 average pools of the pixels (times ``scale``) and a fixed linear read-out."""

    from_cache = False

    def __init__(self, name: str, scale: float, accuracy: float):
        self.name, self.scale, self.held_out_accuracy = name, scale, accuracy
        self.readout = np.random.default_rng(0).normal(size=((SIZE // 4) ** 2, CLASSES))

    def predict(self, images):
        pooled = np.asarray(images, np.float64).reshape(len(images), SIZE // 4, 4, SIZE // 4, 4).mean(axis=(2, 4))
        features = self.scale * pooled.reshape(len(images), -1)
        logits = features @ self.readout
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        return features, probabilities / probabilities.sum(axis=1, keepdims=True)

    def note(self) -> dict:
        return {"design": self.name, "measured_on": "held-out training images"}


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(CLASSES), 60)
    images = rng.integers(0, 128, (len(labels), SIZE, SIZE, 1)) + 30 * labels[:, None, None, None]
    return LabelledImages(images.astype(np.uint8), labels, [f"c{k}" for k in range(CLASSES)])


def draw(conditions):
    """Samples brighter than the real images, so that the figures of the two differ."""
    rng = np.random.default_rng(len(conditions))
    return rng.uniform(-0.5, 1.0, (len(conditions), SIZE, SIZE, 1)).astype("float32")


def test_a_figure_added_to_the_registry_is_measured_referenced_reported_judged_and_logged(data, monkeypatch, tmp_path):
    monkeypatch.setattr(metrics, "REGISTRY", (*REGISTRY, GAP, BRIGHTNESS))
    judges = [Judge("one", 1.0, 0.9), Judge("two", 3.0, 0.8)]
    sets = real_sets(data, 100, seed=0)
    panel = Panel(judges, [judge_reference(judge, sets) for judge in judges], sets)

    # the real reference: the floor is the same distance between real half B and half A
    for judge, reference in zip(judges, panel.references, strict=True):
        floor = mean_gap(judge.predict(sets.images_b)[0], judge.predict(sets.images)[0])
        assert reference.values["mean_gap_floor"] == reference.mean_gap_floor == pytest.approx(floor)
    assert sets.values["brightness_real"] == pytest.approx(np.mean(sets.images))

    # measuring: the figure beside its real figure, for every judge; the pixel figure once
    result = measure_panel(draw, panel)
    for judge, reference in zip(judges, panel.references, strict=True):
        figures = result.by_judge[judge.name].figures
        assert list(figures) == list(figure_names(judged=True)) and list(figures)[-2:] == ["mean_gap", "mean_gap_floor"]
        assert figures["mean_gap"] == pytest.approx(mean_gap(judge.predict(result.samples)[0], reference.features))
        assert figures["mean_gap_floor"] == reference.mean_gap_floor
    assert result.pixels["brightness"] == pytest.approx(np.mean(result.samples))
    assert result.pixels["brightness_real"] == sets.values["brightness_real"]
    one = measure(draw, judges[0], panel.references[0]).figures
    assert set(one) == {*figure_names(judged=True), *figure_names(judged=False)} >= {"mean_gap", "brightness_real"}

    # the verdict: lower is better, so the worst is the largest, and the judge that gave it
    by_judge = {
        judge.name: judge_report(judge, result.by_judge[judge.name], data.class_names, reference)
        for judge, reference in zip(judges, panel.references, strict=True)
    }
    verdict = headline(by_judge, data.class_names)
    assert verdict["mean_gap"] == max(f["mean_gap"] for f in by_judge.values()) and verdict["mean_gap_by"] == "two"

    # the report: a row per figure, metrics.json keys as measured
    report = {"class_names": data.class_names, "judges": by_judge, "panel": verdict, **result.pixels}
    assert ("feature mean gap", "mean_gap", "mean_gap_floor", "real vs real") in rows(judged=True)
    table = format_table(report).splitlines()
    [gap_row] = [line for line in table if line.startswith("feature mean gap")]
    assert gap_row.split()[3:] == [f"{by_judge[name][key]:.3f}" for name in ("one", "two")
                                   for key in ("mean_gap", "mean_gap_floor")]  # fmt: skip
    [brightness_row] = [line for line in table if line.startswith("mean brightness")]
    assert brightness_row.split()[2:5] == [f"{result.pixels['brightness']:.4f}", f"{np.mean(sets.images):.4f}", "real"]
    written = json.loads(write_report(report, tmp_path / "metrics.json").read_text())
    assert written["judges"]["two"]["mean_gap"] == pytest.approx(by_judge["two"]["mean_gap"])
    assert written["panel"]["mean_gap_by"] == "two" and "brightness_real" in written

    # --eval-every: a column per judge, one for the pixel figure, one for its line in the verdict
    columns = panel_columns(result, data.class_names)
    assert list(columns) == log_keys(panel.names)
    assert {"eval_one_mean_gap", "eval_two_mean_gap_floor", "eval_brightness", "eval_panel_mean_gap"} <= set(columns)
    assert columns["eval_panel_mean_gap"] == pytest.approx(verdict["mean_gap"])


def test_every_figure_has_keys_of_its_own():
    names = [name for judged in (True, False) for name in figure_names(judged)]
    assert names and len(names) == len(set(names))
    assert all(figure.better in (metrics.HIGHER, LOWER, NEAR_REAL) for figure in REGISTRY)
    verdicts = [figure for figure in REGISTRY if figure.panel]
    assert all(figure.judged and figure.better in (metrics.HIGHER, LOWER) for figure in verdicts)  # a worst judge
