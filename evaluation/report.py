"""The evaluation report: one dict, printed as a table and written as metrics.json."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

# (label, generated figure, real figure beside it, what the real figure is)
ROWS = (
    ("conditional accuracy", "conditional_accuracy", "classifier_accuracy", "classifier on {measured_on}"),
    ("mixing: mass on {i, j}", "mixing_mass", None, "1 = all belief on the two mixed classes"),
    ("mixing: evenness", "mixing_evenness", None, "1 = every image an even blend"),
    ("Frechet distance (classifier)", "frechet_distance", "frechet_floor", "real vs real: the floor"),
    ("within-class diversity", "diversity", "diversity_real", "real images of the same classes"),
    ("kernel distance (classifier)", "kid", "kid_floor", "real vs real; generated's spread over subsets: {kid_std}"),
    ("precision", "precision", "precision_real", "samples inside the real images' k-NN manifold"),
    ("recall", "recall", "recall_real", "real images inside the samples' k-NN manifold"),
    ("pixel lattice (spectral peak)", "lattice", "lattice_real", "about 1 without a lattice; real images"),
    ("lattice power against real", "lattice_power", "lattice_power_real", "about 1: no more than paintings have"),
    ("frame inside the border", "frame", "frame_real", "about 1 without a frame; real images"),
    ("class entropy (classifier)", "style_entropy", "style_entropy_real", "real images'; ln K = {ln_k} is no class"),
)


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}"


def format_table(report: dict) -> str:
    """The figures as aligned text: generated beside real, then per-class accuracy, then FID/IS."""
    lines = [f"{'':32s}{'generated':>11s}{'real':>11s}  real means"]
    measured_on = report.get("classifier", {}).get("measured_on", "held-out real images")
    ln_k = _number(math.log(len(report["per_class_accuracy"]))) if report.get("per_class_accuracy") else "-"
    for label, generated, real, meaning in ROWS:
        meaning = meaning.format(kid_std=_number(report.get("kid_std")), measured_on=measured_on, ln_k=ln_k)
        lines.append(f"{label:32s}{_number(report.get(generated)):>11s}{_number(report.get(real)):>11s}  {meaning}")
    lines += per_class_table(report)
    lines += inception_lines(report.get("inception", {}))
    return "\n".join(lines)


def inception_lines(inception: dict) -> list[str]:
    """FID, KID and IS with the network they come from and the sample counts, or why they are missing."""
    if not inception.get("available"):
        return [inception.get("reason", "FID and Inception Score: not computed")]
    kid = "-" if inception.get("kid") is None else f"{_number(inception['kid'])} +- {_number(inception.get('kid_std'))}"
    score = _number(inception.get("inception_score"))
    lines = [
        f"Inception: FID {_number(inception['fid'])}, KID {kid}, Inception Score {score}",
        f"  network: {inception.get('network', 'InceptionV3')}",
        f"  {inception.get('generated_count', '?')} samples against {inception.get('real_description', '?')}",
    ]
    if inception.get("kid") is None:
        lines.append("  KID: not computed: it needs the real features, which a statistics file does not hold")
    return lines


def per_class_table(report: dict) -> list[str]:
    """Conditional accuracy and the within-class Frechet distance (beside its real floor) per class."""
    accuracy = report.get("per_class_accuracy", {})
    if not accuracy:
        return []
    frechet, floor = report.get("per_class_frechet", {}), report.get("per_class_frechet_floor", {})
    width = max(12, *(len(name) + 2 for name in accuracy))
    lines = [f"{'per class':{width}s}{'accuracy':>11s}{'Frechet':>11s}{'real':>11s}"]
    for name, value in accuracy.items():
        cells = (_number(value), _number(frechet.get(name)), _number(floor.get(name)))
        lines.append(f"{name:{width}s}" + "".join(f"{cell:>11s}" for cell in cells))
    return lines


def _plain(value):
    """NaN -> None, so metrics.json stays strict JSON that every reader accepts."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def write_report(report: dict, path) -> Path:
    """Write metrics.json atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(_plain(report), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path
