#!/usr/bin/env python
"""Ship a run's generator in pretrained/: the weight average of its last epoch, its class names and a model card.

Writes <out>/<name>.h5 (the generator_ema_epoch_NNN.h5 of the run's last complete epoch, unchanged),
<out>/<name>.json (the class names in condition order and the run's seed: what sample.py, the explorer and
export.py read beside a file of its own) and <out>/README.md, the model card, from the run's config.json,
log.csv and the metrics.json that evaluate.py wrote for that file. Run it again after evaluate.py to
regenerate the card; nothing in the card is typed by hand but --judge-note.

  python evaluate.py --checkpoint runs/RUN/checkpoints/generator_epoch_010.h5 --dataset wikiart \\
      --data-dir ../shared/data/wikiart-8k
  python pretrained/ship.py --run runs/RUN --name wikiart-dcgan-64px \\
      --command "python train_dcgan.py --dataset wikiart --data-dir ../shared/data/wikiart-8k --epochs 10 ..."
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere, as a maintainer's tool

from base.rundir import RunDirectory, complete_checkpoints, network_path  # noqa: E402
from evaluation.report import format_table  # noqa: E402

DEFAULT_JUDGE_NOTE = (
    "Read by evaluate.py's panel of {count} differently built style judges ({names}), each trained on the "
    "train paintings and scored on the val paintings: the headline is the lowest figure of the panel. Until "
    "the panel, one judge design read every figure, and a judge built otherwise disagreed with it by a factor "
    "of two; figures of this project older than the panel are one judge's."
)
LICENCE = (
    "The paintings come from WikiArt.org through the ArtGAN project's release (github.com/cs-chan/ArtGAN, "
    '"WikiArt Dataset"): for non-commercial research only, under WikiArt.org\'s terms. Cite Tan, Chan, '
    'Aguirre, Tanaka, "Improved ArtGAN for Conditional Synthesis of Natural Image and Artwork", IEEE TIP 28(1), '
    "2019. Samples of a generator trained on them inherit those terms."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="the run directory to ship from")
    parser.add_argument("--name", required=True, help="the shipped file's name, without .h5")
    parser.add_argument("--command", required=True, help="the training command, as the card shows it")
    parser.add_argument("--epoch", type=int, help="the epoch whose weight average to ship (default: the last "
                        "complete checkpoint; a copy of a run that kept only its generators needs it)")  # fmt: skip
    parser.add_argument("--machine", default="", help="where it trained (the card's budget line)")
    parser.add_argument("--out", default=str(ROOT / "pretrained"), help="the folder to write (default: pretrained/)")
    parser.add_argument(
        "--judge-note", default=DEFAULT_JUDGE_NOTE, help="the card's note on the judges ({count}, {names}: the panel's)"
    )
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    run = RunDirectory(args.run)
    config = run.read_config()
    complete = complete_checkpoints(run.checkpoints)
    if args.epoch is None and not complete:
        raise SystemExit(f"ship.py: {run.checkpoints} holds no complete checkpoint; name one with --epoch N")
    last = args.epoch if args.epoch is not None else complete[-1]
    source = network_path(run.checkpoints, "generator_ema", last)
    out = Path(args.out)
    shutil.copyfile(source, out / f"{args.name}.h5")
    facts = {key: config[key] for key in ("class_names", "seed", "image_shape", "dataset", "latent_dim")}
    (out / f"{args.name}.json").write_text(json.dumps(facts, indent=2) + "\n")
    metrics = json.loads(run.metrics.read_text()) if run.metrics.is_file() else None
    card = model_card(args, config, read_log(run.log_csv), source, out / f"{args.name}.h5", metrics)
    (out / "README.md").write_text(card)
    print(f"wrote {out / args.name}.h5 ({source.name}), {args.name}.json and README.md")


def read_log(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def model_card(args, config: dict, log: list[dict], source: Path, shipped: Path, metrics: dict | None) -> str:
    epochs = int(log[-1]["epoch"])
    steps = epochs * int(config["steps_per_epoch_actual"])
    minutes = sum(float(row["seconds"]) for row in log) / 60
    size = shipped.stat().st_size
    names = config["class_names"]
    lines = [
        f"# {args.name}: the conditional DC-GAN on WikiArt at 64 px",
        "",
        f"`{shipped.name}` ({size / 2**20:.1f} MiB) is the weight average (decay {config['ema_decay']}) of a "
        f"conditional DC-GAN generator after {epochs} epochs, a Keras `.h5` that `keras.models.load_model` "
        "reads without this project. It takes z (100 normal numbers) and a condition over the styles below "
        "and draws a 64x64 painting in [-1, 1]. Try it:",
        "",
        "```bash",
        f"python sample.py --checkpoint pretrained/{shipped.name} --grid styles --out styles.png",
        f"python sample.py --checkpoint pretrained/{shipped.name} --grid walk --classes Baroque Symbolism "
        "Impressionism --out walk.gif",
        "```",
        "",
        f"`{shipped.stem}.json` beside it names the styles in condition order: "
        + ", ".join(f"{i} {name}" for i, name in enumerate(names))
        + ".",
        "",
        "## Data",
        "",
        f"{config['num_images']:,} paintings of {len(names)} styles: the `style_train.csv` rows of "
        f"`{Path(config['data_dir']).name}`, a subset of the ArtGAN release of WikiArt (the styles with paintings "
        f"in it), resized to 64x64 without keeping the aspect ratio ({config['resize']}) as the paper did, "
        f"horizontal flips {'on' if config['flip'] else 'off'}.",
        "",
        "## Licence of the data",
        "",
        LICENCE,
        "",
        "## Command and budget",
        "",
        "```bash",
        args.command,
        "```",
        "",
        f"{epochs} epochs, {steps:,} generator steps of batch {config['batch_size']}, seed {config['seed']}, "
        f"{config['mixed_precision'] or 'float32'} precision, {config['upsampling']} up-sampling: "
        f"{minutes:.0f} minutes of training{(' on ' + args.machine) if args.machine else ''}. "
        f"Shipped file: `{source.name}` of that run.",
        "",
        "## Figures and their judge",
        "",
    ]
    lines += figures(metrics, args.judge_note)
    lines += [
        "",
        "## Regenerating this card",
        "",
        "```bash",
        f"python evaluate.py --checkpoint {config['out']}/checkpoints/generator_epoch_{epochs:03d}.h5 "
        f"--dataset {config['dataset']} --data-dir {config['data_dir']}",
        f'python pretrained/ship.py --run {config["out"]} --name {args.name} --command "..."',
        "```",
        "",
    ]
    return "\n".join(lines)


def figures(metrics: dict | None, judge_note: str) -> list[str]:
    """The panel's headline (its lowest figures, and which judge gave each), then evaluate.py's whole table."""
    if metrics is None:
        return ["Not measured yet: run evaluate.py on the shipped checkpoint, then this script again."]
    panel, judges = metrics["panel"], metrics["judges"]
    own = ", ".join(f"{name} {judges[name]['classifier_accuracy']:.2f}" for name in panel["judges"])
    each = ", ".join(f"{name} {judges[name]['conditional_accuracy']:.2f}" for name in panel["judges"])
    disputed = f"; disputed styles: {', '.join(panel['disputed'])}" if panel["disputed"] else ""
    note = judge_note.format(count=len(panel["judges"]), names=", ".join(panel["judges"]))
    return [
        f"**{note}**",
        "",
        f"- Conditional accuracy (the samples judged their own style): {panel['conditional_accuracy']:.2f} by "
        f"the strictest judge, {panel['conditional_accuracy_by']} (each: {each}; chance {panel['chance']:.3f}). "
        f"The judges' own accuracy on real val paintings: {own}.",
        f"- Weakest style: {panel['lowest_class']} at {panel['lowest_class_accuracy']:.2f}{disputed}.",
        f"- Frechet distance in a judge's features up to {panel['frechet_ratio']:.1f} times the train-vs-val floor "
        f"({panel['frechet_ratio_by']}); precision down to {panel['precision']:.2f}, recall down to "
        f"{panel['recall']:.2f}.",
        f"- Lattice power against real paintings {metrics['lattice_power']:.2f} (about 1: no stamped lattice).",
        "",
        "evaluate.py's table, as it printed it:",
        "",
        "```",
        format_table(metrics),
        "```",
    ]


if __name__ == "__main__":
    main()
