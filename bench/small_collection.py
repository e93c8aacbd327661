#!/usr/bin/env python
"""A small collection of unseen styles: from scratch, from a trained run (--init-from), with FreezeD, with ADA.

The collection is the five styles of ../shared/data/wikiart that
wikiart-8k lacks (Cubism, Fauvism, Minimalism, Naive_Art_Primitivism,
Pop_Art: 80 training paintings each, 20 val). The source is a DC-GAN
trained on wikiart-8k's eight styles at the same image size (trained here
first when --source holds no run). Every variant trains the same number of
epochs at the same seed; the starts are

- ``scratch``: a random draw;
- ``init``: ``--init-from`` the source (the class rows of the five new
  styles start fresh: none of them is in the source);
- ``freeze-N``: ``--init-from`` with ``--freeze-critic N``,

each with the augmentations ``none``, ``diffaug`` (color, translation,
cutout at p = 1) and ``ada`` (the same transforms at ADA's adaptive p).
Each run's last weight-averaged generator is judged by the panel of style
judges (evaluation.judges), trained on the five styles' training paintings
and measured on their val paintings: each judge's conditional accuracy
beside its val accuracy, the
Frechet distance in its features and KID beside their floors, precision
and recall beside the real images'. Writes ``transfer.json`` and
``transfer.jpg`` (two noise vectors in every style, per variant) in --out
and prints a markdown table. A finished run is measured, not retrained.

  python bench/small_collection.py --out runs/transfer
  python bench/small_collection.py --starts scratch init --augmentations none ada --epochs 20
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from base.errors import UserError
from base.terminal import start_tensorflow_quietly
from training.cli import OneLineErrorParser, non_negative_int, positive_int, run_cli

ROOT = Path(__file__).resolve().parents[1]

SHARED = ROOT.parent / "shared" / "data"
UNSEEN = ("Cubism", "Fauvism", "Minimalism", "Naive_Art_Primitivism", "Pop_Art")  # in wikiart, not in wikiart-8k
POLICY = ["color", "translation", "cutout"]
AUGMENTATIONS = {"none": {}, "diffaug": {"augment": POLICY}, "ada": {"augment": POLICY, "augment_p": "ada"}}
SAME_SETTINGS = ("epochs", "seed", "image_size", "upsampling", "augment", "augment_p", "init_from", "freeze_critic")
MEASURED = ("conditional_accuracy", "classifier_accuracy", "frechet_distance", "frechet_floor", "kid", "kid_floor",
            "precision", "precision_real", "recall", "recall_real")  # fmt: skip


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/small_collection.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--collection", default=str(SHARED / "wikiart"), help="the ArtGAN-layout folder of the styles")
    parser.add_argument("--styles", nargs="+", default=list(UNSEEN), help="the styles of the small collection")
    parser.add_argument("--source", default=str(ROOT / "runs" / "bench_transfer" / "source"),
                        help="a train_dcgan run on --source-data; trained here when the folder holds none")  # fmt: skip
    parser.add_argument("--source-data", default=str(SHARED / "wikiart-8k"))
    parser.add_argument("--source-epochs", type=positive_int, default=12, help="when training the source (default: 12)")
    starts = ("scratch", "init", "freeze")
    parser.add_argument("--starts", nargs="+", default=list(starts), choices=starts, help="default: all three")
    parser.add_argument("--freeze", type=non_negative_int, default=1, help="blocks --freeze-critic keeps (default: 1)")
    parser.add_argument(
        "--augmentations", nargs="+", default=list(AUGMENTATIONS), choices=list(AUGMENTATIONS), help="default: all"
    )
    parser.add_argument("--epochs", type=positive_int, default=40, help="every variant's budget (default: 40)")
    parser.add_argument("--image-size", type=positive_int, default=32, help="default: 32")
    parser.add_argument("--seed", type=int, default=1, help="training seed, the same for every variant (default: 1)")
    parser.add_argument("--n", type=positive_int, default=1000, help="generated samples judged (default: 1000)")
    parser.add_argument("--cache-dir", help="decoded images and judges (default: ~/.cache/artgan)")
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench_transfer"), help="one run directory per variant")
    return parser


def collection_folder(source: Path, styles, target: Path) -> Path:
    """An ArtGAN-layout folder holding ``styles`` alone: their folders linked, their split rows kept."""
    index = {line.split()[1]: line.split()[0] for line in (source / "style_class.txt").read_text().split("\n") if line}
    missing = [style for style in styles if not (source / style).is_dir()]
    if missing:
        raise UserError(f"{source} has no folder for {', '.join(missing)}")
    target.mkdir(parents=True, exist_ok=True)
    for style in styles:
        link = target / style
        if not link.exists():
            link.symlink_to((source / style).resolve(), target_is_directory=True)
    (target / "style_class.txt").write_text("".join(f"{index[s]} {s}\n" for s in styles if s in index))
    for split in ("train", "val"):
        rows = (source / f"subset_style_{split}.csv").read_text().splitlines()
        kept = [row for row in rows if row.split("/")[0] in styles]
        (target / f"style_{split}.csv").write_text("\n".join(kept) + "\n")
    return target


def dcgan_settings(args, out: Path, data_dir, **settings):
    from training.recipes.dcgan import RECIPE

    return RECIPE.settings(
        "wikiart", data_dir=str(data_dir), image_size=args.image_size, seed=args.seed, quiet=True,
        cache_dir=args.cache_dir, out=str(out), upsampling="nearest", **settings,
    )  # fmt: skip


def trained(settings) -> Path:
    """The run directory, trained now unless its last checkpoint is there from the same settings."""
    from bench.runs import trained_run
    from training.recipes.dcgan import RECIPE

    return trained_run(settings, RECIPE, SAME_SETTINGS)


def variant_settings(args, start: str, augmentation: str) -> dict:
    settings = {"epochs": args.epochs, **AUGMENTATIONS[augmentation]}
    if start != "scratch":
        settings["init_from"] = [args.source]
    if start == "freeze":
        settings["freeze_critic"] = args.freeze
    return settings


def last_row(run: Path) -> dict:
    with open(run / "log.csv", newline="") as handle:
        return list(csv.DictReader(handle))[-1]


def measure(run: Path, epochs: int, real, samples: int) -> tuple:
    """``(figures, weight-averaged generator)`` of the run's last checkpoint against ``real`` (``data.Splits``)."""
    from base.networks import load_generator
    from base.rundir import network_path
    from evaluation.generator_report import generator_report
    from evaluation.settings import EvaluationSettings

    generator = load_generator(network_path(run / "checkpoints", "generator_ema", epochs))
    report = generator_report(generator, real, EvaluationSettings(samples=samples))
    row = last_row(run)
    judged = {
        name: {figure: part[figure] for figure in MEASURED} | {"per_class_accuracy": part["per_class_accuracy"]}
        for name, part in report["judges"].items()
    }
    figures = {"judges": judged, "panel": report["panel"], "d_real_acc": float(row["d_real_acc"])}
    return figures | {"augment_p": float(row.get("augment_p") or "nan")}, generator


def markdown_table(results: dict) -> str:
    lines = [
        "| start | augmentation | judge | conditional accuracy (judge's val) | Frechet (floor) | KID (floor) "
        "| precision (real) | recall (real) | D real acc | p at the end |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        start, augmentation = name.split("/")
        for judge, f in result["judges"].items():
            lines.append(
                f"| {start} | {augmentation} | {judge} "
                f"| {f['conditional_accuracy']:.3f} ({f['classifier_accuracy']:.3f}) "
                f"| {f['frechet_distance']:.2f} ({f['frechet_floor']:.2f}) | {f['kid']:.3f} ({f['kid_floor']:.3f}) "
                f"| {f['precision']:.3f} ({f['precision_real']:.3f}) | {f['recall']:.3f} ({f['recall_real']:.3f}) "
                f"| {result['d_real_acc']:.3f} | {result['augment_p']:.2f} |"
            )
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    start_tensorflow_quietly()
    out = Path(args.out)
    collection = collection_folder(Path(args.collection), args.styles, out / "collection")
    if any(start != "scratch" for start in args.starts):
        source = dcgan_settings(args, Path(args.source), args.source_data, epochs=args.source_epochs)
        trained(source)

    from bench.creative import modes_figure
    from data import DataSettings, Splits

    real = Splits(DataSettings("wikiart", str(collection), args.image_size, cache_dir=args.cache_dir))
    data = real.train
    results, generators = {}, {}
    for start in args.starts:
        for augmentation in args.augmentations:
            name = f"{start}/{augmentation}"
            settings = dcgan_settings(args, out / f"{start}-{augmentation}", collection,
                                  **variant_settings(args, start, augmentation))  # fmt: skip
            run = trained(settings)
            results[name], generators[name] = measure(run, args.epochs, real, args.n)
            (out / "transfer.json").write_text(json.dumps({"settings": vars(args), "results": results}, indent=2))
    figure = modes_figure(generators, data.class_names, args.seed, out / "transfer.jpg")
    print(markdown_table(results))
    print(f"wrote {out / 'transfer.json'} and {figure}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
