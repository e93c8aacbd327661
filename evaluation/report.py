"""The evaluation report: one dict, printed as a table and written as metrics.json."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from evaluation.metrics import registered

LABEL = 30
CELL = 8


def rows(judged: bool) -> list[tuple[str, str, str | None, str]]:
    """``(label, figure, real figure beside it, what the real figure is)`` for each row, from the registry."""
    return [(figure.label, figure.name, figure.real, figure.meaning) for figure in registered(judged)]


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}"


def _short(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


def format_table(report: dict) -> str:
    """The panel's verdict, each judge's figures beside its real floors, per-class accuracy, pixels, FID/IS."""
    judges = report["judges"]
    lines = panel_lines(report)
    lines += judge_table(judges, len(report["class_names"]))
    lines += per_class_table(report)
    lines.append(f"{'':{LABEL}s}{'generated':>11s}{'real':>11s}  real means")
    for label, generated, real, meaning in rows(judged=False):
        cells = f"{_number(report.get(generated)):>11s}{_number(report.get(real)):>11s}"
        lines.append(f"{label:{LABEL}s}{cells}  {meaning}")
    lines += inception_lines(report.get("inception", {}))
    return "\n".join(lines)


def panel_lines(report: dict) -> list[str]:
    """The headline: the panel's lowest figures, and which judge gave each."""
    panel, judges = report["panel"], report["judges"]
    names = ", ".join(f"{name} ({_number(judges[name]['classifier_accuracy'])})" for name in panel["judges"])
    measured_on = next(iter(judges.values()))["classifier"].get("measured_on", "held-out real images")
    beats = [name for name, met in panel["beats_own_accuracy"].items() if met]
    lines = [
        f"judges (accuracy on real {measured_on}): {names}",
        f"panel: conditional accuracy {_number(panel['conditional_accuracy'])} (lowest, by "
        f"{panel['conditional_accuracy_by']}) against the judges' lowest accuracy on real images "
        f"{_number(panel['judge_accuracy'])} ({panel['judge_accuracy_by']})",
        f"panel: lowest class {panel['lowest_class']} {_number(panel['lowest_class_accuracy'])} "
        f"(chance {_number(panel['chance'])}); Frechet distance up to {_short(panel['frechet_ratio'])}x its floor "
        f"({panel['frechet_ratio_by']}); recall down to {_number(panel['recall'])}",
    ]
    if 0 < len(beats) < len(panel["judges"]):
        lines.append(f"  disputed: judged their class at least as often as real images by {', '.join(beats)} only")
    if panel["disputed"]:
        lines.append(f"  disputed: above chance by some judges, not by others: {', '.join(panel['disputed'])}")
    return lines


def judge_table(judges: dict, num_classes: int) -> list[str]:
    """Rows of figures, two columns per judge: the samples' figure and the judge's real-image figure."""
    ln_k = _number(math.log(num_classes)) if num_classes else "-"
    header = f"{'':{LABEL}s}" + "".join(f"{name[: 2 * CELL - 1]:>{2 * CELL}s}" for name in judges)
    lines = [header, f"{'(generated, real)':{LABEL}s}" + "".join(f"{'gen':>{CELL}s}{'real':>{CELL}s}" for _ in judges)]
    for label, generated, real, _ in rows(judged=True):
        cells = "".join(f"{_short(f.get(generated)):>{CELL}s}{_short(f.get(real)) if real else '':>{CELL}s}"
                        for f in judges.values())  # fmt: skip
        lines.append(f"{label:{LABEL}s}{cells}")
    lines.append(f"  (class entropy of no class: ln K = {ln_k})")
    return lines


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
    """Conditional accuracy per class by every judge and the panel's lowest; ``*`` at or below chance."""
    judges, panel = report["judges"], report["panel"]
    classes = report["class_names"]
    if not classes:
        return []
    chance = panel["chance"]
    title = "per class accuracy"
    width = max(len(title) + 2, *(len(name) + 2 for name in classes))
    lines = [f"{title:{width}s}" + "".join(f"{name[:10]:>11s}" for name in judges) + f"{'lowest':>11s}"]
    for cls in classes:
        cells = []
        for figures in judges.values():
            value = figures["per_class_accuracy"].get(cls)
            mark = "*" if value is not None and value <= chance else " "
            cells.append(f"{_number(value):>10s}{mark}")
        disputed = "  disputed" if cls in panel["disputed"] else ""
        lines.append(f"{cls:{width}s}" + "".join(cells) + f"{_number(panel['per_class_accuracy'].get(cls)):>11s}"
                     + disputed)  # fmt: skip
    lines.append(f"  * at or below chance ({_number(chance)})")
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
