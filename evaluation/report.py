"""The evaluation report: one dict, printed as a table and written as metrics.json."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

# (label, generated figure, real figure beside it, what the real figure is)
ROWS = (
    ("conditional accuracy", "conditional_accuracy", "classifier_accuracy", "classifier on held-out real images"),
    ("mixing: mass on {i, j}", "mixing_mass", None, "1 = all belief on the two mixed classes"),
    ("mixing: evenness", "mixing_evenness", None, "1 = every image an even blend"),
    ("Frechet distance (classifier)", "frechet_distance", "frechet_floor", "real vs real: the floor"),
    ("within-class diversity", "diversity", "diversity_real", "real images of the same classes"),
)


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}"


def format_table(report: dict) -> str:
    """The figures as aligned text: generated beside real, then per-class accuracy, then FID/IS."""
    lines = [f"{'':32s}{'generated':>11s}{'real':>11s}  real means"]
    for label, generated, real, meaning in ROWS:
        lines.append(f"{label:32s}{_number(report.get(generated)):>11s}{_number(report.get(real)):>11s}  {meaning}")
    per_class = report.get("per_class_accuracy", {})
    if per_class:
        cells = ", ".join(f"{name} {_number(value)}" for name, value in per_class.items())
        lines.append(f"per-class conditional accuracy: {cells}")
    inception = report.get("inception", {})
    if inception.get("available"):
        score = _number(inception.get("inception_score"))
        lines.append(f"FID (InceptionV3) {_number(inception['fid'])}; Inception Score {score}")
    else:
        lines.append(inception.get("reason", "FID and Inception Score: not computed"))
    return "\n".join(lines)


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
