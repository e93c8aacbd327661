#!/usr/bin/env python
"""Measure a generator checkpoint against the real images of its dataset.

A panel of small classifiers, built in different ways and trained on the
real images (once, then cached), judges the samples: conditional accuracy,
mixing fidelity, Frechet distance, KID, precision and recall in each
judge's feature space and within-class diversity, each beside its
real-image counterpart; the headline is the panel's lowest figure, and a
verdict that one judge gives and another does not is marked as disputed.
FID, KID and Inception Score are added when an Inception network is on
disk: the 2015 TensorFlow Inception graph (inception-2015-12-05.tgz, the
network of published FIDs) or Keras's ImageNet InceptionV3 weights (figures
that compare with each other only). Prints a table and writes metrics.json
(default: in the checkpoint's run directory).

Examples:
  python evaluate.py --checkpoint runs/train_dcgan-mnist-X/checkpoints/generator_epoch_025.h5 \\
      --dataset mnist --data-dir ~/data/mnist
  python evaluate.py --checkpoint G.h5 --dataset wikiart --data-dir ~/data/wikiart --top-styles 9 --n 2000
  python evaluate.py --checkpoint G.h5 --dataset cifar10 --data-dir ~/data/cifar10 --n 50000 \\
      --inception-weights inception-2015-12-05.tgz --fid-stats cifar10_train.npz   # as papers report FID
"""

import argparse
import os

from base.choices import RESIZE_MODES
from base.terminal import start_tensorflow_quietly
from data.sources import DATASETS
from evaluation.judges import DESIGNS, PANEL
from evaluation.settings import DEFAULT_SAMPLES
from training.cli import OneLineErrorParser, add_inception_flags, check_inception_flags, positive_int, run_cli


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="evaluate.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True, help="a generator .h5 (e.g. checkpoints/generator_epoch_025.h5)")
    parser.add_argument("--dataset", required=True, choices=DATASETS, help="the dataset the generator was trained on")
    parser.add_argument("--data-dir", help="local dataset files, as for training")
    parser.add_argument("--top-styles", type=positive_int, help="wikiart: the run's --top-styles")
    parser.add_argument("--resize", choices=RESIZE_MODES, default="squash", help="image files: the run's --resize")
    parser.add_argument("--cache-dir", help="decoded images and classifiers/ (default: ~/.cache/artgan)")
    parser.add_argument(
        "--n",
        type=positive_int,
        default=DEFAULT_SAMPLES,
        help="generated samples (default: %(default)s; published FIDs use 10000 or 50000)",
    )
    parser.add_argument("--out", help="where to write metrics.json (default: in the checkpoint's run directory)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise and the real halves (default: 0)")
    parser.add_argument(
        "--raw-generator",
        action="store_true",
        help="measure the file given even when its weight average (generator_ema_*.h5) is beside it",
    )
    add_inception_flags(parser)
    parser.add_argument(
        "--judges",
        nargs="+",
        choices=list(DESIGNS),
        default=list(PANEL),
        metavar="JUDGE",
        help="the panel of judges: "
        + "; ".join(f"{d.name}: {d.reads}" for d in DESIGNS.values())
        + f" (default: {' '.join(PANEL)})",
    )
    parser.add_argument(
        "--classifier-seed",
        type=int,
        default=0,
        help="seed of the judges: another seed trains (and caches) another panel of the same designs (default: 0)",
    )
    parser.add_argument(
        "--classifier-epochs",
        type=positive_int,
        help="training epochs of each judge when none is cached (default: each design's own budget)",
    )
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not os.path.isfile(args.checkpoint):
        parser.error(f"--checkpoint {args.checkpoint} is not a file")
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        parser.error(f"--data-dir {args.data_dir} is not a directory")
    check_inception_flags(parser, args.inception_weights, args.fid_stats)

    start_tensorflow_quietly(say_where=True)  # TensorFlow loads here, after the flags are checked
    import keras

    from base.networks import load_generator
    from base.rundir import choose_generator, metrics_path
    from data import DataSettings, Splits
    from evaluation.generator_report import check_fits, generator_image_shape, generator_report
    from evaluation.report import format_table, write_report
    from evaluation.settings import EvaluationSettings

    keras.utils.set_random_seed(args.seed)
    checkpoint = choose_generator(args.checkpoint, args.raw_generator)
    generator = load_generator(checkpoint)
    size = generator_image_shape(generator)[0]
    where = DataSettings(args.dataset, args.data_dir, size, args.resize, args.top_styles, cache_dir=args.cache_dir)
    real = Splits(where)
    check_fits(generator, real.train, args.dataset, checkpoint)
    options = EvaluationSettings(
        samples=args.n,
        seed=args.seed,
        judges=tuple(args.judges),
        classifier_seed=args.classifier_seed,
        classifier_epochs=args.classifier_epochs,
        inception_weights=args.inception_weights,
        fid_stats=args.fid_stats,
        progress=True,
    )
    report = {"checkpoint": os.path.abspath(checkpoint), **generator_report(generator, real, options)}
    path = write_report(report, args.out or metrics_path(checkpoint))
    print(format_table(report))
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
