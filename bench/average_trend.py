"""The weight average against the raw generator, epoch by epoch, in one finished run.

Reads a run directory's per-epoch checkpoints and measures, at each chosen
epoch, three generators with one judge, one real reference and the same
noise (several evaluation seeds, averaged):

- ``raw``: generator_epoch_NNN.h5, with the BatchNorm statistics it trained with;
- ``raw+standing``: the same weights with the averaged network's standing
  statistics (the control that separates the weights from the statistics);
- ``average``: generator_ema_epoch_NNN.h5.

So a lag of the average can be told apart: a constant gap between ``raw``
and ``raw+standing`` is the statistics, a gap that shrinks as the raw
generator stops improving is the average's horizon. ``--snapshot-ages``
adds averages of the per-epoch checkpoints whose mean age is the given
fraction of the steps so far (weights d^age, d = 1 - 1 / (fraction x steps)),
so other horizons can be tried on the run already trained: the one at the
trainer's own horizon checks how well the snapshots stand in for the steps.

  python bench/average_trend.py --run /tmp/bench/mnist_wgan_s1 --epochs 15 30 45 --seeds 0 1
  python bench/average_trend.py --run /tmp/bench/mnist_wgan_s1 --epochs 45 --snapshot-ages 0.11 0.05 0.025
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from base.terminal import start_tensorflow_quietly
from training.cli import OneLineErrorParser, non_negative_int, open_fraction, positive_int, run_cli

ROOT = Path(__file__).resolve().parents[1]

SHOWN = ("conditional_accuracy", "frechet_distance", "kid", "precision", "recall")


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/average_trend.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", required=True, help="a run directory with per-epoch checkpoints")
    parser.add_argument(
        "--epochs", type=positive_int, nargs="+", required=True, help="epochs to measure, e.g. 15 30 45"
    )
    parser.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0], help="evaluation seeds (default: 0)")
    parser.add_argument(
        "--snapshot-ages",
        type=open_fraction,
        nargs="+",
        default=[],
        help="also measure averages of the epoch checkpoints with these mean ages, as fractions of the run so far",
    )
    parser.add_argument("--data-dir", help="the dataset's files (default: the run's config.json)")
    parser.add_argument("--cache-dir", help="decoded images and judges (default: ~/.cache/artgan)")
    parser.add_argument("--out", help="write the figures as JSON here")
    return parser


def checkpoint_paths(run: Path, epoch: int) -> dict[str, Path]:
    from base.rundir import network_path

    return {
        "raw": network_path(run / "checkpoints", "generator", epoch),
        "average": network_path(run / "checkpoints", "generator_ema", epoch),
    }


def with_recomputed_batchnorm_statistics(generator):
    """A copy of ``generator`` whose BatchNorm statistics are measured as the averaged network's are."""
    import keras

    from models.trainers import recompute_batchnorm_statistics

    copy = keras.models.clone_model(generator)
    copy.set_weights(generator.get_weights())
    recompute_batchnorm_statistics(copy)
    return copy


def snapshot_weights(epoch: int, steps_per_epoch: int, age_fraction: float) -> list[float]:
    """Normalised weights of checkpoints 1..epoch for an average whose mean age is ``age_fraction`` of the steps."""
    age = max(age_fraction * epoch * steps_per_epoch, 1.0)
    decay = 1.0 - 1.0 / age
    raw = [decay ** (steps_per_epoch * (epoch - e)) for e in range(1, epoch + 1)]
    return [value / sum(raw) for value in raw]


def snapshot_average(run: Path, epoch: int, steps_per_epoch: int, age_fraction: float):
    """The weighted mean of the epoch checkpoints' weights, with standing statistics."""
    from base.networks import load_generator

    weights = snapshot_weights(epoch, steps_per_epoch, age_fraction)
    total, generator = None, None
    for e, weight in enumerate(weights, start=1):
        if weight < 1e-4:
            continue
        generator = load_generator(checkpoint_paths(run, e)["raw"])
        values = [weight * value for value in generator.get_weights()]
        total = values if total is None else [a + b for a, b in zip(total, values, strict=True)]
    kept = sum(weight for weight in weights if weight >= 1e-4)
    generator.set_weights([value / kept for value in total])
    return with_recomputed_batchnorm_statistics(generator)


def measure_epoch(run, epoch, steps_per_epoch, ages, classifier, references) -> dict[str, dict[str, float]]:
    """``{generator kind: {figure: mean over the seeds' references}}``."""
    import numpy as np

    from base.networks import load_generator
    from evaluation.measure import generator_sampler, measure

    paths = checkpoint_paths(run, epoch)
    raw = load_generator(paths["raw"])
    generators = {
        "raw": raw,
        "raw+standing": with_recomputed_batchnorm_statistics(raw),
        "average": load_generator(paths["average"]),
    }
    for age in ages:
        generators[f"snapshots, age {age:g}"] = snapshot_average(run, epoch, steps_per_epoch, age)
    figures = {}
    for kind, generator in generators.items():
        runs = [
            measure(generator_sampler(generator, seed), classifier, reference).figures for seed, reference in references
        ]
        figures[kind] = {name: float(np.mean([run[name] for run in runs])) for name in (*SHOWN, "frechet_floor")}
    return figures


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    run = Path(args.run)
    if not (run / "config.json").is_file():
        parser.error(f"--run {run} has no config.json: give a run directory")
    needed = range(1, max(args.epochs) + 1) if args.snapshot_ages else args.epochs
    missing = [str(path) for epoch in needed for path in checkpoint_paths(run, epoch).values() if not path.is_file()]
    if missing:
        parser.error(
            f"--run {run} lacks {missing[0]} (and {len(missing) - 1} more): "
            "not trained that far, or trained without --ema-decay"
        )
    start_tensorflow_quietly()
    config = json.loads((run / "config.json").read_text())

    from data import DataSettings, Splits
    from evaluation.classifier import load_or_train_classifier
    from evaluation.measure import real_reference
    from evaluation.settings import DEFAULT_SAMPLES

    where = DataSettings(
        config["dataset"],
        args.data_dir or config.get("data_dir"),
        config["image_shape"][0],
        config.get("resize", "squash"),
        config.get("top_styles"),
        cache_dir=args.cache_dir,
    )
    real = Splits(where)
    data, validation = real.train, real.validation
    classifier = load_or_train_classifier(data, where.dataset, where.cache, validation=validation)
    references = [(seed, real_reference(classifier, data, DEFAULT_SAMPLES, seed, validation)) for seed in args.seeds]
    print(f"judge accuracy {classifier.held_out_accuracy:.4f}; {len(args.seeds)} evaluation seed(s)")
    print("| epoch | generator | " + " | ".join(SHOWN) + " | Frechet x floor |")
    print("| ---: | --- |" + " ---: |" * (len(SHOWN) + 1))
    table, steps = {}, config["steps_per_epoch_actual"]
    for epoch in args.epochs:
        table[epoch] = measure_epoch(run, epoch, steps, args.snapshot_ages, classifier, references)
        for kind, figures in table[epoch].items():
            cells = " | ".join(f"{figures[name]:.4f}" for name in SHOWN)
            print(
                f"| {epoch} | {kind} | {cells} | {figures['frechet_distance'] / figures['frechet_floor']:.2f} |",
                flush=True,
            )
    if args.out:
        Path(args.out).write_text(json.dumps({"run": str(run), "seeds": args.seeds, "epochs": table}, indent=1))


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
