"""The judge panel: differently built judges, the same samples for all, the lowest figure as the headline."""

import numpy as np
import pytest

from base.errors import UserError
from base.networks import load_network, save_network
from data import load_images, to_model_range
from evaluation.classifier import build_classifier, load_or_train_classifier
from evaluation.judges import DESIGNS, FEATURES, PANEL, designs
from evaluation.panel import headline, load_panel, measure_panel
from evaluation.report import format_table

SIZE = 16
CLASSES = ["a", "b", "c", "d"]


def figures(accuracy, own, per_class, frechet=1.0, floor=0.5, recall=0.5):
    return {
        "conditional_accuracy": accuracy,
        "classifier_accuracy": own,
        "per_class_accuracy": dict(zip(CLASSES, per_class, strict=True)),
        "frechet_distance": frechet,
        "frechet_floor": floor,
        "kid": 0.1,
        "mixing_mass": 0.7,
        "precision": 0.9,
        "recall": recall,
    }


def test_the_headline_is_each_figure_at_its_worst_and_names_the_judge():
    by_judge = {
        "one": figures(0.62, 0.44, [0.9, 0.7, 0.5, 0.4], frechet=4.0, floor=1.0, recall=0.6),
        "two": figures(0.31, 0.43, [0.8, 0.1, 0.3, 0.3], frechet=6.0, floor=0.5, recall=0.3),
        "three": figures(0.50, 0.41, [0.6, 0.3, None, 0.12], frechet=1.0, floor=1.0, recall=0.4),
    }
    verdict = headline(by_judge, CLASSES)
    assert verdict["conditional_accuracy"] == 0.31 and verdict["conditional_accuracy_by"] == "two"
    assert verdict["judge_accuracy"] == 0.41 and verdict["judge_accuracy_by"] == "three"
    assert verdict["beats_own_accuracy"] == {"one": True, "two": False, "three": True}
    assert verdict["per_class_accuracy"] == {"a": 0.6, "b": 0.1, "c": 0.3, "d": 0.12}
    assert verdict["per_class_accuracy_by"] == {"a": "three", "b": "two", "c": "two", "d": "three"}
    assert verdict["lowest_class"] == "b" and verdict["lowest_class_accuracy"] == 0.1
    assert verdict["below_chance"] == {"one": [], "two": ["b"], "three": ["d"]}  # chance 0.25
    assert verdict["disputed"] == ["b", "d"]  # "c" is below chance by nobody; None is not a verdict
    assert verdict["frechet_ratio"] == 12.0 and verdict["frechet_ratio_by"] == "two"
    assert verdict["recall"] == 0.3


def test_unknown_judges_are_a_one_line_error():
    assert [d.name for d in designs(PANEL)] == list(PANEL)
    with pytest.raises(UserError, match="unknown judge vgg; choose from flatten"):
        designs(["flatten", "vgg"])


@pytest.mark.parametrize("name", list(DESIGNS))
@pytest.mark.parametrize("shape", [(16, 16, 1), (28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_every_design_builds_at_every_dataset_size_and_reloads_from_h5(name, shape, tmp_path):
    model = build_classifier(shape, 5, DESIGNS[name])
    x = np.random.default_rng(0).uniform(-1, 1, (3, *shape)).astype("float32")
    features, probabilities = model(x, training=False)
    assert features.shape == (3, FEATURES) and probabilities.shape == (3, 5)
    np.testing.assert_allclose(np.sum(probabilities, axis=1), 1.0, atol=1e-5)
    save_network(model, tmp_path / "judge.h5")
    again = load_network(tmp_path / "judge.h5")  # standard layers only: no project code needed
    np.testing.assert_allclose(again(x, training=False)[1], probabilities, atol=1e-6)


@pytest.fixture(scope="module")
def digits():
    return load_images("digits", image_size=SIZE, progress=False)


@pytest.fixture(scope="module")
def panel(digits, tmp_path_factory):
    return load_panel(digits, "digits", tmp_path_factory.mktemp("cache"), names=("flatten", "coarse"), samples=200,
                      epochs=3)  # fmt: skip


def test_designs_are_cached_apart_and_the_panel_shares_one_real_reference(panel, digits):
    flatten, coarse = panel.judges
    assert panel.names == ["flatten", "coarse"] and flatten.path != coarse.path
    assert "-flatten-" in flatten.path.name and "-coarse-" in coarse.path.name
    assert all(reference.sets is panel.sets for reference in panel.references)
    # the features differ: each judge's floor is its own
    assert panel.references[0].frechet_floor != panel.references[1].frechet_floor
    again = load_or_train_classifier(digits, "digits", flatten.path.parents[1], design=DESIGNS["coarse"], epochs=3)
    assert again.from_cache and again.path == coarse.path


def test_every_judge_reads_the_same_samples_drawn_once(panel, digits):
    calls = []

    def real_images(conditions):
        calls.append(len(conditions))
        rng = np.random.default_rng(len(calls))
        picks = [rng.choice(np.flatnonzero(digits.labels == k)) for k in np.argmax(conditions, axis=1)]
        return to_model_range(digits.images[np.array(picks)])

    result = measure_panel(real_images, panel)
    assert calls == [200, 45 * round(200 / 45)]  # the requested classes, then the mixing pairs: once each
    assert set(result.by_judge) == {"flatten", "coarse"}
    for judge in panel.judges:
        figures = result.by_judge[judge.name].figures
        # real images drawn for the requested classes: each judge finds them about as often as real ones
        assert abs(figures["conditional_accuracy"] - judge.held_out_accuracy) < 0.15
        assert "lattice" not in figures  # the pixels' figures are the panel's, once
    assert result.pixels["lattice"] == pytest.approx(result.pixels["lattice_real"], rel=0.5)


def test_the_report_names_every_judge_and_marks_disputed_classes(panel, digits):
    from evaluation.generator_report import judge_report

    def noise(conditions):
        return np.random.default_rng(0).uniform(-1, 1, (len(conditions), SIZE, SIZE, 1)).astype("float32")

    result = measure_panel(noise, panel)
    by_judge = {
        judge.name: judge_report(judge, result.by_judge[judge.name], digits.class_names, reference)
        for judge, reference in zip(panel.judges, panel.references, strict=True)
    }
    report = {"class_names": digits.class_names, "judges": by_judge, "panel": headline(by_judge, digits.class_names)}
    report.update(result.pixels)
    table = format_table(report)
    assert "flatten (" in table and "coarse (" in table
    assert f"panel: conditional accuracy {report['panel']['conditional_accuracy']:.4f}" in table
    # noise is given some classes by one judge and not the other; those rows say so
    for cls in report["panel"]["disputed"]:
        assert any(line.startswith(cls) and line.endswith("disputed") for line in table.splitlines())
    assert "*" in table  # noise: classes at or below chance
