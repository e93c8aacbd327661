#!/usr/bin/env python
"""Sample quality of a conditional GAN trained on real MNIST, CIFAR-10 or WikiArt on this machine, and its wall time.

Trains with the training script's own recipe (its settings, policy and
trainer, through training.runner.run, so the run directory is the usual
one), then evaluates the last checkpoint's generators with
evaluation/ (the weight average and the raw generator, when the run kept an
average), read by the panel of judges (evaluation.judges): each judge's
conditional accuracy beside its own held-out accuracy, mixing fidelity, the
Frechet distance in its feature space beside its real-vs-real floor,
within-class diversity beside real. Every target is read from the panel's
lowest figure (the judge least convinced). Figures and timings go to the
run directory's metrics.json.

Targets on 2 CPU cores (the 10,000 real test images of each dataset), by the panel:
- DC-GAN, MNIST: conditional accuracy >= 0.98, mixing mass >= 0.8, under 15 minutes
  (``--mix-fraction 0.25`` meets the mixing target; the paper's training does not).
- WGAN-GP, MNIST: conditional accuracy >= 0.97 and Frechet distance <= 3x its floor, under 20 minutes;
  mixing mass >= 0.8 with ``--mix-fraction``.
- WikiArt (64 px, with its split files), both models: the panel's lowest conditional accuracy >=
  the judges' lowest accuracy on the val paintings, every style above chance by every judge, under
  45 minutes; the judges train on style_train.csv and are measured on style_val.csv, the real
  reference set is the val paintings.
- CIFAR-10: no target; the figures beside the judge's and the real images', under 30 minutes.

Small collections (differentiable augmentation): ``--subset 0.1`` trains on a
stratified tenth of the images (the judge still sees them all), and
``--augment color,translation,cutout`` turns DiffAugment on; WikiArt's
training split here is the 640-image subset of <data root>/wikiart.

Without flags beyond --dataset and --model, each run uses the budget of its
BENCHMARKS.md row (BUDGETS below); a flag overrides its part of it. The
training flags are the training scripts' own. The datasets are read from
--data-dir, else <data root>/<dataset>: --data-root, else $ARTGAN_DATA, else
../shared/data beside the project.

  python bench/quality.py                                   # DC-GAN on MNIST, 25 epochs
  python bench/quality.py --mix-fraction 0.25
  python bench/quality.py --model wgan-gp                   # 32 filters, bfloat16, batch 32, 45 epochs
  python bench/quality.py --dataset wikiart --data-dir ../shared/data/wikiart-8k --model wgan-gp  # 64 filters, 30 ep.
  python bench/quality.py --dataset wikiart --data-dir ../shared/data/wikiart-8k --model dcgan    # 45 epochs
  python bench/quality.py --dataset cifar10 --model wgan-gp --filters 64 --epochs 10
  python bench/quality.py --dataset cifar10 --subset 0.1 --epochs 100 --augment color,translation,cutout
  python bench/quality.py --dataset wikiart --image-size 32 --epochs 100 --augment color,translation,cutout
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

from base.terminal import start_tensorflow_quietly
from bench.data_root import VARIABLE as DATA_VARIABLE
from bench.data_root import data_root
from training.cli import (
    OneLineErrorParser,
    add_inception_flags,
    check_inception_flags,
    open_fraction,
    positive_int,
    run_cli,
)

ROOT = Path(__file__).resolve().parents[1]

MODELS = {"dcgan": "training.recipes.dcgan", "wgan-gp": "training.recipes.wgan_gp"}
DATA_DIRS = {"mnist": "mnist", "cifar10": "cifar10", "wikiart": "wikiart"}
# (dataset, model) -> minimum conditional accuracy, maximum Frechet distance / floor, minutes
TARGETS = {
    ("mnist", "dcgan"): {"conditional_accuracy": 0.98, "mixing_mass": 0.8, "total_minutes": 15.0},
    ("mnist", "wgan-gp"): {"conditional_accuracy": 0.97, "frechet_ratio": 3.0, "total_minutes": 20.0},
    ("cifar10", "dcgan"): {"total_minutes": 30.0},
    ("cifar10", "wgan-gp"): {"total_minutes": 30.0},
    ("wikiart", "dcgan"): {"judge_accuracy": True, "every_class_above_chance": True, "total_minutes": 45.0},
    ("wikiart", "wgan-gp"): {"judge_accuracy": True, "every_class_above_chance": True, "total_minutes": 45.0},
}
# (dataset, model) -> the budget of the BENCHMARKS.md rows, used where no flag says otherwise
BUDGETS = {
    ("mnist", "dcgan"): {"epochs": 25},
    ("mnist", "wgan-gp"): {"epochs": 45, "filters": 32, "mixed_precision": "bfloat16", "batch_size": 32},
    ("cifar10", "dcgan"): {"epochs": 25},
    ("cifar10", "wgan-gp"): {"epochs": 10, "filters": 64},
    ("wikiart", "dcgan"): {"epochs": 45, "mixed_precision": "bfloat16"},
    ("wikiart", "wgan-gp"): {"epochs": 30, "filters": 64, "mixed_precision": "bfloat16"},
}
# The training scripts' flags the bench takes as they are, defined once in the recipes' parsers, and passes on
# to the recipe when given. The bench's own: its dataset and model, where the data and the run go, --seed
# (default 1), --mixed-precision (the budget's default, or off), --subset, --n, and Inception for its figures.
TRAINING_FLAGS = ("epochs", "lr", "class_weight", "critic_class_weight", "batch_size", "filters", "upsampling",
                  "fake_class_loss", "projection", "mix_fraction", "ema_decay", "augment", "augment_p", "ada_target",
                  "ada_images", "image_size", "jit", "eval_every")  # fmt: skip


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/quality.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", choices=sorted(DATA_DIRS), default="mnist", help="default: mnist")
    parser.add_argument("--model", choices=sorted(MODELS), default="dcgan", help="which trainer (default: dcgan)")
    parser.add_argument(
        "--data-root",
        help=f"the folder of the datasets' folders (default: ${DATA_VARIABLE}, else ../shared/data beside the project)",
    )
    parser.add_argument("--data-dir", help="the dataset's files (default: <data root>/<dataset>)")
    parser.add_argument(
        "--subset", type=open_fraction, help="train on this stratified fraction of the images (judged on them all)"
    )
    parser.add_argument("--seed", type=int, default=1, help="training seed (default: 1)")
    parser.add_argument(
        "--mixed-precision",
        choices=("bfloat16", "float16", "off"),
        help="train in mixed precision; off = float32, for CPUs without bfloat16 instructions "
        "(default: the budget's, bfloat16 for WikiArt and the MNIST WGAN-GP, else float32)",
    )
    parser.add_argument("--n", type=positive_int, default=1000, help="generated samples evaluated (default: 1000)")
    add_inception_flags(parser, " (FID, KID and IS of each generator; with --eval-every, in log.csv too)")
    parser.add_argument("--cache-dir", help="decoded images and classifiers (default: ~/.cache/artgan)")
    parser.add_argument("--out", help="run directory (default: runs/bench_quality-<dataset>-<model>-<timestamp>)")
    add_training_flags(parser)
    return parser


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """``TRAINING_FLAGS`` as train_dcgan.py and train_wgan_gp.py define them, each under the models that have it."""
    groups = {
        ("dcgan", "wgan-gp"): parser.add_argument_group(
            "training, both models",
            "The training scripts' own flags. Left out, a flag takes the budget's value (BUDGETS), else the "
            "script's default; the defaults named are train_dcgan.py's (train_wgan_gp.py --help names its own).",
        ),
        ("wgan-gp",): parser.add_argument_group("training, --model wgan-gp only (train_wgan_gp.py's flags)"),
        ("dcgan",): parser.add_argument_group("training, --model dcgan only (train_dcgan.py's flags)"),
    }
    actions = {model: flag_actions(recipe_of(model)) for model in MODELS}
    for dest in TRAINING_FLAGS:
        models = tuple(model for model in MODELS if dest in actions[model])
        if not models:
            raise AssertionError(f"neither training script has a flag for {dest}")
        groups[models]._add_action(actions[models[0]][dest])  # argparse's own way of sharing an action (parents=)
    parser.set_defaults(**dict.fromkeys(TRAINING_FLAGS))  # left out: None, not absent as in the scripts


def flag_actions(recipe) -> dict[str, argparse.Action]:
    """The flags of the recipe's script, by setting name (a parser of their own, built afresh)."""
    return {action.dest: action for action in recipe.parser()._actions}


def recipe_of(model: str):
    """The recipe the training script trains, whose settings, policy and trainer the benchmark uses."""
    return importlib.import_module(MODELS[model]).RECIPE


def bench_settings(args, recipe):
    """The recipe's own settings, with the bench's data, budget and flags given as a user would give them."""
    data_dir = data_folder(args)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out or str(ROOT / "runs" / f"bench_quality-{args.dataset}-{args.model}-{stamp}")
    settings = dict(data_dir=data_dir, seed=args.seed, quiet=True, out=out, cache_dir=args.cache_dir)
    if args.eval_every:
        settings.update(inception_weights=args.inception_weights, fid_stats=args.fid_stats)
    settings.update(BUDGETS[(args.dataset, args.model)])
    given = {key: getattr(args, key) for key in (*TRAINING_FLAGS, "mixed_precision") if getattr(args, key) is not None}
    settings.update(given)
    if settings.get("mixed_precision") == "off":
        settings["mixed_precision"] = None
    return recipe.settings(args.dataset, **settings)


def data_folder(args) -> str:
    """--data-dir, else the dataset's folder in --data-root, else in $ARTGAN_DATA, else in ../shared/data."""
    return args.data_dir or str(Path(args.data_root or data_root()) / DATA_DIRS[args.dataset])


def verdicts(panel: dict, minutes: float, targets: dict) -> list[tuple[str, bool]]:
    """``(text, met)`` for each target of this dataset and model, read from the judge panel's verdict
    (``report["panel"]``: the lowest figure over the judges)."""
    checks = []
    accuracy = panel["conditional_accuracy"]
    by = f"by {panel['conditional_accuracy_by']}, the panel's lowest"
    if "conditional_accuracy" in targets:
        goal = targets["conditional_accuracy"]
        checks.append((f"conditional accuracy {accuracy:.4f} ({by}; target >= {goal})", accuracy >= goal))
    if "mixing_mass" in targets:
        value, goal = panel["mixing_mass"], targets["mixing_mass"]
        checks.append((f"mixing mass {value:.4f} (the panel's lowest; target >= {goal})", value >= goal))
    if targets.get("judge_accuracy"):
        goal = panel["judge_accuracy"]
        text = f"conditional accuracy {accuracy:.4f} ({by}; target >= the judges' lowest val accuracy {goal:.4f})"
        checks.append((text, accuracy >= goal))
    if targets.get("every_class_above_chance"):
        name, lowest, chance = panel["lowest_class"], panel["lowest_class_accuracy"], panel["chance"]
        judge = panel["per_class_accuracy_by"][name]
        text = f"lowest style {name} {lowest:.4f} by {judge} (target > chance {chance:.4f} by every judge)"
        checks.append((text, lowest > chance))
    if "frechet_ratio" in targets:
        value, goal = panel["frechet_ratio"], targets["frechet_ratio"]
        text = f"Frechet distance {value:.2f}x its floor (by {panel['frechet_ratio_by']}, the panel's largest; " \
            f"target <= {goal}x)"  # fmt: skip
        checks.append((text, value <= goal))
    goal = targets["total_minutes"]
    checks.append((f"wall time {minutes:.1f} min (target < {goal:.0f})", minutes < goal))
    return checks


def checkpoint_generators(run, epochs: int) -> dict:
    """The last checkpoint's generator files by name: the weight average (when kept) first, then the raw one."""
    from base.rundir import network_path

    files = {"ema": network_path(run.checkpoints, "generator_ema", epochs)}
    files = {name: path for name, path in files.items() if path.is_file()}
    files["raw"] = network_path(run.checkpoints, "generator", epochs)
    return files


def on_a_subset(settings, data, fraction: float, cache_dir: Path):
    """Train on a stratified ``fraction`` of ``data``, written once as a class-folder tree in the cache.

    ``classes.txt`` keeps the dataset's class order, so the generator's class
    k is the judge's class k; flips stay as the dataset would have them.
    """
    from PIL import Image

    from data import held_out_split

    dataset, seed = settings.data.dataset, settings.run.seed
    _, kept = held_out_split(data.labels, fraction, seed)
    folder = cache_dir / "subsets" / f"{dataset}-{data.image_shape[0]}-{fraction}-{seed}"
    if not (folder / "classes.txt").is_file():
        for index in kept:
            path = folder / data.class_names[data.labels[index]] / f"{index:06d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(data.images[index].squeeze()).save(path)
        (folder / "classes.txt").write_text("".join(name + "\n" for name in data.class_names))
    print(f"training on {len(kept)} of {len(data.labels)} {dataset} images ({folder})")
    return settings.replace(dataset="folder", data_dir=str(folder))  # the size and flips stay the dataset's


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.subset and args.dataset == "mnist":
        parser.error("--subset writes colour image folders: use it with cifar10 or wikiart")
    check_inception_flags(parser, args.inception_weights, args.fid_stats)
    recipe = recipe_of(args.model)
    foreign = [dest for dest in TRAINING_FLAGS if getattr(args, dest) is not None and dest not in recipe.field_names()]
    if foreign:
        flags = ", ".join("--" + dest.replace("_", "-") for dest in foreign)
        parser.error(f"{flags}: not a flag of --model {args.model}")
    settings = bench_settings(args, recipe)
    start_tensorflow_quietly()

    from base.networks import load_generator
    from data import Splits
    from evaluation.generator_report import generator_report
    from evaluation.report import format_table, write_report
    from evaluation.settings import EvaluationSettings
    from training.runner import run as train

    started = time.perf_counter()
    epochs = settings.optimisation.epochs
    real = Splits(settings.data)  # the whole dataset: a --subset run is measured against all of it
    if args.subset:
        settings = on_a_subset(settings, real.train, args.subset, settings.data.cache)
    run = train(recipe, settings)
    trained = time.perf_counter()
    report = {"model": args.model, "run": str(run.root), "epochs": epochs, "training_config": settings.flat()}
    report["subset"] = args.subset
    evaluated = {}
    for which, path in checkpoint_generators(run, epochs).items():
        generator = load_generator(path)
        options = EvaluationSettings(args.n, seed=0, inception_weights=args.inception_weights, fid_stats=args.fid_stats)
        evaluated[which] = generator_report(generator, real, options)
        evaluated[which]["checkpoint"] = str(path)
    finished = time.perf_counter()
    first = next(iter(evaluated))  # the weight average when there is one: what the viewers draw
    report.update(evaluated[first], generator=first, generators=evaluated)
    report.update(
        training_minutes=(trained - started) / 60,
        evaluation_minutes=(finished - trained) / 60,
        total_minutes=(finished - started) / 60,
    )
    targets = TARGETS[(args.dataset, args.model)]
    checks = {
        which: verdicts(figures["panel"], report["total_minutes"], targets) for which, figures in evaluated.items()
    }
    report["targets_met"] = {which: all(met for _, met in found) for which, found in checks.items()}
    write_report(report, run.metrics)
    for which, figures in evaluated.items():
        print(f"--- {which} generator ({Path(figures['checkpoint']).name})")
        print(format_table(figures))
        met = "all targets met" if report["targets_met"][which] else "targets NOT met"
        print("; ".join(text for text, _ in checks[which]) + f"; {met}")
    trained_now = [name for name, part in report["judges"].items() if not part["classifier"]["from_cache"]]
    judges = f"judges trained now: {', '.join(trained_now)}" if trained_now else "every judge cached"
    minutes = (report["training_minutes"], report["evaluation_minutes"])
    print(f"training {minutes[0]:.1f} min, evaluation {minutes[1]:.1f} min ({judges})")
    print(f"wrote {run.metrics}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
