#!/usr/bin/env python
"""The style judges on WikiArt: how good each design gets, and what each one reads.

``accuracy`` (the default): every design of ``evaluation.judges`` trains on
the ``style_train.csv`` paintings and is measured after each epoch on the
``style_val.csv`` paintings (chance: 1 / styles); ``colour`` is the floor of
what palette alone tells (the mean and standard deviation of each colour
channel, and a logistic regression).

``cues``: the panel's judges (cached, or trained once) read the val
paintings with one kind of information taken away at a time
(``evaluation.cues``: blur, JPEG, noise, posterizing, grey, low resolution,
shuffled patches), and, with ``--checkpoint``, a generator's samples the
same way: a verdict the paintings keep and the samples lose under a
perturbation rests on the cue that perturbation removes.

  python bench/judge.py --data-dir ../shared/data/wikiart-8k
  python bench/judge.py --designs flatten coarse colour --epochs 5 --seed 1
  python bench/judge.py cues --checkpoint runs/X/checkpoints/generator_ema_epoch_045.h5 --out cues.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from base.terminal import start_tensorflow_quietly
from evaluation.judges import DESIGNS, PANEL
from training.cli import OneLineErrorParser, positive_int, run_cli

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = (*DESIGNS, "colour")


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/judge.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", nargs="?", choices=("accuracy", "cues"), default="accuracy", help="default: accuracy")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "wikiart-8k"))
    parser.add_argument("--image-size", type=positive_int, default=64, help="default: 64")
    parser.add_argument("--epochs", type=positive_int, help="accuracy: epochs per design (default: each design's own)")
    parser.add_argument("--designs", nargs="+", choices=CANDIDATES, help="default: every design, and colour "
                        "(accuracy); the panel (cues)")  # fmt: skip
    parser.add_argument("--checkpoint", nargs="*", default=[], help="cues: generator .h5 files whose samples to read")
    parser.add_argument("--n", type=positive_int, default=1000, help="cues: samples and val paintings (default: 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", help="decoded images and judges (default: ~/.cache/artgan)")
    parser.add_argument("--out", help="cues: write the tables as JSON here")
    return parser


def colour_statistics(images):
    import numpy as np

    pixels = np.asarray(images, np.float32).reshape(len(images), -1, images.shape[-1])
    return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)


def colour_accuracy(train, val) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(colour_statistics(train.images), train.labels)
    return float(model.score(colour_statistics(val.images), val.labels))


def accuracy_by_epoch(args, train, val) -> None:
    from evaluation.classifier import train_classifier

    for name in args.designs or CANDIDATES:
        if name == "colour":
            print(f"colour: val accuracy {colour_accuracy(train, val):.4f}")
            continue
        started = time.perf_counter()

        def report(epoch, _epochs, accuracy, name=name, started=started):
            seconds = time.perf_counter() - started
            print(f"{name} seed {args.seed} epoch {epoch}: val accuracy {accuracy:.4f} ({seconds:.0f} s)", flush=True)

        train_classifier(train.training_source(), train.labels, train.num_classes, args.epochs, args.seed, val,
                         DESIGNS[name], report)  # fmt: skip


def cue_tables(args, real) -> dict:
    """``{judge: {perturbation: {"keeps", "real", <checkpoint>: ...}}}``, printed as it goes (``real``: ``Splits``)."""
    from base.networks import load_generator
    from evaluation.cues import cue_table
    from evaluation.measure import draw_samples, generator_sampler
    from evaluation.panel import load_panel

    train = real.train
    names = [name for name in (args.designs or PANEL) if name != "colour"]
    panel = load_panel(train, "wikiart", real.settings.cache, real.validation, names, args.n, args.seed)
    sets = panel.sets
    drawn = {path: draw_samples(generator_sampler(load_generator(path), args.seed), sets).images
             for path in args.checkpoint}  # fmt: skip
    tables = {}
    for judge in panel.judges:
        table = cue_table(judge, sets.images, sets.labels)
        for path, samples in drawn.items():
            for name, row in cue_table(judge, sets.images, sets.labels, samples, sets.requested).items():
                table[name][path] = row["samples"]
        tables[judge.name] = table
        print(
            f"--- {judge.name} ({judge.held_out_accuracy:.4f} on the val paintings; chance {1 / train.num_classes:.3f})"
        )
        print("accuracy, and in brackets the share of the unperturbed accuracy it keeps")
        print(f"{'perturbation':14s}{'paintings':>16s}" + "".join(f"{checkpoint_label(p):>22s}" for p in drawn))
        for name, row in table.items():
            cells = "".join(kept(row[path], table["none"][path], 22) for path in drawn)
            print(f"{name:14s}{kept(row['real'], table['none']['real'], 16)}{cells}   keeps {row['keeps']}", flush=True)
    agreement = judges_agreement(panel, drawn)
    if agreement:
        print("agreement between judges on the same images (share of images given the same class):")
        for pair, values in agreement.items():
            print(f"  {pair}: " + ", ".join(f"{key} {value:.3f}" for key, value in values.items()))
    return {"judges": tables, "agreement": agreement, "n": int(len(sets.labels)), "seed": args.seed,
            "chance": float(1 / train.num_classes), "checkpoints": list(drawn)}  # fmt: skip


def checkpoint_label(path) -> str:
    """``run/generator_ema_epoch_010`` as ``run e10``: a column head that says which run and when."""
    path = Path(path)
    run = path.parent.parent.name if path.parent.name == "checkpoints" else path.parent.name
    epoch = path.stem.rsplit("_", 1)[-1]
    return f"{run} e{int(epoch)}" if epoch.isdigit() else f"{run} {path.stem}"


def kept(accuracy: float, unperturbed: float, width: int) -> str:
    share = f"({accuracy / unperturbed:.0%})" if unperturbed > 0 else ""
    return f"{accuracy:.3f} {share:>6s}".rjust(width)


def judges_agreement(panel, drawn: dict) -> dict:
    """Per pair of judges, how often they give the same class to the val paintings and to each set of samples."""
    import itertools

    import numpy as np

    images = {"paintings": panel.sets.images, **{checkpoint_label(path): samples for path, samples in drawn.items()}}
    predicted = {
        judge.name: {key: np.argmax(judge.predict(value)[1], axis=1) for key, value in images.items()}
        for judge in panel.judges
    }
    return {
        f"{a} / {b}": {key: float(np.mean(predicted[a][key] == predicted[b][key])) for key in images}
        for a, b in itertools.combinations(predicted, 2)
    }


def main(argv=None):
    args = build_parser().parse_args(argv)
    start_tensorflow_quietly()
    from data import DataSettings, Splits

    real = Splits(DataSettings("wikiart", args.data_dir, args.image_size, cache_dir=args.cache_dir))
    train, val = real.train, real.validation
    if val is None:
        raise SystemExit(f"bench/judge.py: {args.data_dir} has no style_train.csv and style_val.csv")
    print(f"{len(train.labels)} training and {len(val.labels)} val paintings, {train.num_classes} styles, "
          f"chance {1 / train.num_classes:.3f}")  # fmt: skip
    if args.what == "accuracy":
        accuracy_by_epoch(args, train, val)
        return
    tables = cue_tables(args, real)
    if args.out:
        Path(args.out).write_text(json.dumps(tables, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
