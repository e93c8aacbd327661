#!/usr/bin/env python
"""Is the input pipeline the bottleneck? Loader images/s against the DC-GAN's training images/s.

For each real dataset in the data root (mnist, cifar10, wikiart): the first
epoch from a cold cache (reading and decoding the files, then one pass of the
tf.data stream), the later epochs (decoded arrays in memory), a warm start
(a second run that finds the decoded-image cache), and the images per second
that the conditional DC-GAN's training step consumes at the same image size
and batch size on the same machine.

  python bench/data_pipeline.py [--data-root ../shared/data] [--epochs 3] [--train-steps 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from base.terminal import start_tensorflow_quietly
from bench.data_root import data_root
from training.cli import OneLineErrorParser, positive_int, run_cli

DATASETS = {"mnist": "mnist", "cifar10": "cifar10", "wikiart": "wikiart"}


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/data_pipeline.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-root",
        default=str(data_root()),
        help="holds mnist/, cifar10/, ... (default: $ARTGAN_DATA, else ../shared/data)",
    )
    parser.add_argument("--epochs", type=positive_int, default=3, help="epochs streamed per dataset (default: 3)")
    parser.add_argument("--train-steps", type=positive_int, default=40, help="timed DC-GAN steps (default: 40)")
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    return parser


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def drain(stream, steps: int) -> None:
    """Pull ``steps`` batches through the stream, as ``fit`` would, touching every element."""
    for images, conditions in stream.take(steps):
        images.numpy(), conditions.numpy()


def loader_rates(dataset: str, data_dir: str, batch_size: int, epochs: int) -> dict:
    """Images per second: cold first epoch (load + decode + stream), in-memory epochs, warm-cache load."""
    from data import load_images, steps_per_epoch, training_dataset

    with tempfile.TemporaryDirectory() as cache:

        def load():
            return load_images(dataset, data_dir, None, cache_dir=cache, progress=False)

        data, load_seconds = timed(load)
        steps = steps_per_epoch(len(data.labels), batch_size)
        stream = training_dataset(
            data.images, data.labels, data.num_classes, batch_size, 0, dataset == "wikiart", 0, epochs, steps
        )
        _, first_seconds = timed(lambda: drain(stream, steps))
        _, later_seconds = timed(lambda: drain(stream.skip(steps), steps * (epochs - 1)))
        _, warm_load_seconds = timed(load)
    per_epoch = steps * batch_size
    return {
        "images": int(len(data.labels)),
        "num_classes": data.num_classes,
        "image_shape": data.image_shape,
        "batch_size": batch_size,
        "first_epoch_seconds": load_seconds + first_seconds,
        "first_epoch_images_per_s": per_epoch / (load_seconds + first_seconds),
        "cached_epoch_images_per_s": per_epoch * (epochs - 1) / later_seconds if epochs > 1 else float("nan"),
        "warm_start_load_seconds": warm_load_seconds,
    }


def training_rate(image_shape, num_classes: int, batch_size: int, steps: int) -> float:
    """Images per second of ``ConditionalDCGAN.train_step`` on a constant batch (no input cost at all)."""
    import numpy as np
    import tensorflow as tf

    from training.recipes.dcgan import RECIPE

    trainer = RECIPE.build_trainer(RECIPE.settings("mnist", seed=0), tuple(image_shape), num_classes)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch_size, *image_shape)).astype("float32")
    conditions = np.eye(num_classes, dtype="float32")[rng.integers(0, num_classes, batch_size)]
    batches = tf.data.Dataset.from_tensors((images, conditions)).repeat()
    trainer.fit(batches, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)  # trace and warm up
    _, seconds = timed(lambda: trainer.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False))
    return steps * batch_size / seconds


def main(argv=None):
    args = build_parser().parse_args(argv)
    start_tensorflow_quietly()
    from base.errors import UserError
    from training.recipes.dcgan import RECIPE

    rows = []
    for dataset in args.datasets:
        folder = Path(args.data_root) / DATASETS[dataset]
        if not folder.is_dir():
            raise UserError(f"{folder} is absent; pass --data-root (the folder that holds {DATASETS[dataset]}/)")
        batch_size = RECIPE.settings(dataset).optimisation.batch_size
        rates = loader_rates(dataset, str(folder), batch_size, args.epochs)
        shape = rates["image_shape"]
        rates["train_images_per_s"] = training_rate(shape, rates["num_classes"], batch_size, args.train_steps)
        rows.append((dataset, rates))
    print(table(rows))


def bottleneck(r: dict) -> str:
    """Whichever is slower; the first epoch is judged apart, as decoding happens once per cache."""
    steady = "pipeline" if r["cached_epoch_images_per_s"] < r["train_images_per_s"] else "training step"
    if r["first_epoch_images_per_s"] < r["train_images_per_s"]:
        return f"{steady}; first epoch: pipeline ({r['first_epoch_seconds']:.1f} s cold)"
    return steady


def table(rows) -> str:
    lines = [
        "| dataset | images | size | batch | first epoch (cold) img/s | later epochs img/s | warm-start load s "
        "| DC-GAN step img/s | bottleneck |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for dataset, r in rows:
        verdict = bottleneck(r)
        size = "x".join(map(str, r["image_shape"]))
        lines.append(
            f"| {dataset} | {r['images']} | {size} | {r['batch_size']} | {r['first_epoch_images_per_s']:,.0f} "
            f"| {r['cached_epoch_images_per_s']:,.0f} | {r['warm_start_load_seconds']:.2f} "
            f"| {r['train_images_per_s']:,.0f} | {verdict} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
