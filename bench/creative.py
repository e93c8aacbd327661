#!/usr/bin/env python
"""The creative modes side by side on WikiArt: the paper's class term, CAN's style ambiguity, damped targets.

Trains the conditional WGAN-GP once per mode, same seed and budget, with the
critic's class head learning styles from real paintings only in every mode
(``--no-fake-class-loss``, the creative modes' default), so the generator's
style term is the only difference:

- ``off``: CE(c, p), the paper's;
- ``can``: CE(uniform, p) (Creative Adversarial Networks);
- ``damped-A``: ||p - ((1 - A) c + A uniform)||^2.

Then measures each run's last weight-averaged generator with the panel of
style judges (evaluation.judges; trained on style_train.csv, measured on
style_val.csv): each judge's class entropy of the samples beside ln K and beside the val
paintings' own, conditional accuracy, KID, precision and recall; and the
critic's own style entropy on generated images in the last epoch (log.csv).
Writes ``creative.json`` and ``creative_modes.jpg`` (two noise vectors in
every style, per mode) in --out and prints a markdown table.

A mode whose run directory already holds its last checkpoint is measured,
not trained again, so an interrupted bench picks up where it stopped.

  python bench/creative.py --data-dir ../shared/data/wikiart-8k --out runs/creative
  python bench/creative.py --modes off can damped-0.5 --epochs 20 --filters 64
  python bench/creative.py --modes off --epochs 27 --out runs/creative_trunk
  python bench/creative.py --init-from runs/creative_trunk/off --epochs 6 --out runs/creative_branches
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

from base.errors import UserError
from base.terminal import start_tensorflow_quietly
from evaluation.judges import DESIGNS, PANEL
from training.cli import OneLineErrorParser, positive_int, run_cli

ROOT = Path(__file__).resolve().parents[1]

MODES = ("off", "can", "damped-0.25", "damped-0.5", "damped-0.75")
SAME_SETTINGS = ("creative", "damping", "epochs", "filters", "seed", "fake_class_loss", "image_size", "critic_weights",
                 "init_from")  # fmt: skip
FIGURE_NOISE = 2  # noise vectors per mode in creative_modes.jpg
MEASURED = ("conditional_accuracy", "style_entropy", "style_entropy_real", "kid", "kid_floor", "precision",
            "precision_real", "recall", "recall_real", "frechet_distance", "frechet_floor")  # fmt: skip


def mode_settings(mode: str) -> dict:
    """``off``, ``can`` or ``damped-ALPHA`` as the training script's settings."""
    if mode in ("off", "can"):
        return {"creative": mode}
    name, _, alpha = mode.partition("-")
    try:
        damping = float(alpha)
    except ValueError:
        damping = -1.0
    if name != "damped" or not 0.0 <= damping <= 1.0:
        raise UserError(f"unknown mode {mode!r}: use off, can or damped-ALPHA with ALPHA in [0, 1]")
    return {"creative": "damped", "damping": damping}


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/creative.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "wikiart-8k"))
    parser.add_argument("--modes", nargs="+", default=list(MODES), help=f"default: {' '.join(MODES)}")
    parser.add_argument("--epochs", type=positive_int, default=10, help="default: 10")
    parser.add_argument("--filters", type=positive_int, default=32, help="network width (default: 32)")
    parser.add_argument("--image-size", type=positive_int, default=64, help="default: 64")
    parser.add_argument("--seed", type=int, default=1, help="training seed, the same for every mode (default: 1)")
    parser.add_argument(
        "--critic-weights", help="start every mode from this critic .h5 (pretrain_critic.py's), as GANGogh did"
    )
    parser.add_argument(
        "--init-from",
        help="start every mode from this trained run (generator and critic): the modes then differ only in "
        "what they do to a generator that already paints its styles",
    )
    parser.add_argument("--judges", nargs="+", choices=list(DESIGNS), default=list(PANEL), metavar="JUDGE",
                        help=f"the style judges (evaluation.judges; default: {' '.join(PANEL)})")  # fmt: skip
    parser.add_argument("--n", type=positive_int, default=1000, help="generated samples judged (default: 1000)")
    parser.add_argument(
        "--mixed-precision", choices=("bfloat16", "float16", "off"), default="bfloat16", help="default: bfloat16"
    )
    parser.add_argument("--cache-dir", help="decoded images and judges (default: ~/.cache/artgan)")
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench_creative"), help="one run directory per mode")
    return parser


def run_settings(args, mode: str):
    """The mode's settings, resolved by the WGAN-GP recipe as train_wgan_gp.py would resolve its flags."""
    from training.recipes.wgan_gp import RECIPE

    settings = dict(data_dir=args.data_dir, epochs=args.epochs, filters=args.filters, image_size=args.image_size,
                    seed=args.seed, quiet=True, cache_dir=args.cache_dir, out=str(Path(args.out) / mode),
                    fake_class_loss=False, critic_weights=args.critic_weights, **mode_settings(mode))  # fmt: skip
    if args.init_from:
        settings["init_from"] = [args.init_from]
    if args.mixed_precision != "off":
        settings["mixed_precision"] = args.mixed_precision
    return RECIPE.settings("wikiart", **settings)


def trained_run(settings) -> Path:
    """The mode's run directory, trained now unless its last checkpoint is there from the same settings."""
    from bench.runs import trained_run as train_or_reuse
    from training.recipes.wgan_gp import RECIPE

    return train_or_reuse(settings, RECIPE, SAME_SETTINGS)


def critic_entropy(run: Path) -> float:
    """The critic's mean style entropy on generated images in the run's last epoch."""
    with open(run / "log.csv", newline="") as handle:
        return float(list(csv.DictReader(handle))[-1]["style_entropy"])


def measure_run(run: Path, epochs: int, real, options) -> tuple:
    """``(figures, weight-averaged generator)``: every judge's figures of the run's last checkpoint.

    ``real``: the runs' ``data.Splits``; ``options``: ``evaluation.settings.EvaluationSettings``.
    """
    from base.networks import load_generator
    from base.rundir import network_path
    from evaluation.generator_report import generator_report

    generator = load_generator(network_path(run / "checkpoints", "generator_ema", epochs))
    report = generator_report(generator, real, options)
    judged = {
        name: {figure: part[figure] for figure in MEASURED}
        | {"judge_accuracy": part["classifier_accuracy"], "per_class_accuracy": part["per_class_accuracy"]}
        for name, part in report["judges"].items()
    }
    return {"critic_style_entropy": critic_entropy(run), "judges": judged, "panel": report["panel"]}, generator


def markdown_table(results: dict, num_classes: int) -> str:
    lines = [
        f"ln K = {math.log(num_classes):.3f}",
        "| mode | judge | class entropy (val paintings) | critic's entropy | conditional accuracy (judge's) "
        "| KID (floor) | precision (real) | recall (real) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mode, result in results.items():
        for judge, f in result["judges"].items():
            lines.append(
                f"| {mode} | {judge} | {f['style_entropy']:.3f} ({f['style_entropy_real']:.3f}) "
                f"| {result['critic_style_entropy']:.3f} "
                f"| {f['conditional_accuracy']:.3f} ({f['judge_accuracy']:.3f}) "
                f"| {f['kid']:.3f} ({f['kid_floor']:.3f}) "
                f"| {f['precision']:.3f} ({f['precision_real']:.3f}) | {f['recall']:.3f} ({f['recall_real']:.3f}) |"
            )
    return "\n".join(lines)


def modes_figure(generators: dict, class_names, seed: int, path: Path) -> Path:
    """Two noise vectors in every style, one pair of rows per mode: the same z in every cell of a column's row."""
    import numpy as np
    from PIL import Image

    from sampling.grids import fixed_noise, same_noise_styles
    from sampling.render import render_grid

    rows, labels = [], []
    for mode, generator in generators.items():
        noise = fixed_noise(seed, FIGURE_NOISE, int(generator.inputs[0].shape[1]))
        rows.append(same_noise_styles(generator, list(range(len(class_names))), noise, len(class_names)))
        labels += [f"{mode}, z{i + 1}" for i in range(FIGURE_NOISE)]
    styles = [name.replace("_", " ") for name in class_names]
    picture = render_grid(np.concatenate(rows), row_labels=labels, col_labels=styles)
    Image.fromarray(picture).save(path, quality=85)
    return path


def main(argv=None):
    args = build_parser().parse_args(argv)
    every = {mode: run_settings(args, mode) for mode in args.modes}  # every mode checked before any trains
    start_tensorflow_quietly()

    from data import Splits
    from evaluation.settings import EvaluationSettings

    real = Splits(next(iter(every.values())).data)  # what every mode trains on
    if real.validation is None:
        raise UserError(f"{args.data_dir} has no style_train.csv and style_val.csv: the judges need the val split")
    data, options = real.train, EvaluationSettings(samples=args.n, judges=tuple(args.judges))
    results, generators = {}, {}
    for mode, settings in every.items():
        run = trained_run(settings)
        results[mode], generators[mode] = measure_run(run, args.epochs, real, options)
    out = Path(args.out)
    (out / "creative.json").write_text(json.dumps({"settings": vars(args), "results": results}, indent=2) + "\n")
    figure = modes_figure(generators, data.class_names, args.seed, out / "creative_modes.jpg")
    print(markdown_table(results, data.num_classes))
    print(f"wrote {out / 'creative.json'} and {figure}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
