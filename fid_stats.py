#!/usr/bin/env python
"""Write FID's real side once: the mean and covariance of a dataset's Inception features, as an .npz.

Published FIDs compare samples with statistics of a fixed real set in the
2015 TensorFlow Inception graph's features; for CIFAR-10, its 50,000 training
images at 32x32. With the file, ``evaluate.py --fid-stats FILE`` needs only
the samples. The file has TTUR's keys (``mu``, ``sigma``) and adds the
network, the real set, the image size and the count, which evaluate.py
checks so that statistics of one network are never set against another's
features.

Examples:
  python fid_stats.py --dataset cifar10 --data-dir ~/data/cifar10 \\
      --inception-weights inception-2015-12-05.tgz --out cifar10_train.npz
  python fid_stats.py --dataset wikiart --data-dir ~/data/wikiart --split val \\
      --inception-weights inception-2015-12-05.tgz --out wikiart_val_64.npz
"""

import argparse
import os

from base.choices import RESIZE_MODES
from base.terminal import start_tensorflow_quietly
from data.sources import DATASETS, DEFAULT_IMAGE_SIZE
from training.cli import OneLineErrorParser, check_inception_flags, positive_int, run_cli

SPLITS = ("train", "val")


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="fid_stats.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", required=True, choices=DATASETS, help="the real images")
    parser.add_argument("--data-dir", help="local dataset files, as for training")
    parser.add_argument(
        "--inception-weights",
        required=True,
        metavar="PATH",
        help="inception-2015-12-05.tgz (or its classify_image_graph_def.pb, or pytorch-fid's .pth port) for "
        "statistics comparable with papers; "
        "Keras's InceptionV3 .h5 also works, for figures that compare with each other only",
    )
    parser.add_argument("--out", required=True, metavar="FILE.npz", help="the statistics file to write")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="train",
        help="val: WikiArt's style_val.csv rows of the training split's styles, the real side evaluate.py measures "
        "against (default: train)",
    )
    parser.add_argument(
        "--image-size",
        type=positive_int,
        help="the side the images are read at, as the generator draws them "
        "(default: " + ", ".join(f"{name} {size}" for name, size in DEFAULT_IMAGE_SIZE.items()) + ")",
    )
    parser.add_argument("--top-styles", type=positive_int, help="wikiart: keep the N styles with most paintings")
    parser.add_argument("--resize", choices=RESIZE_MODES, default="squash", help="image files: how to fit the side")
    parser.add_argument("--n", type=positive_int, help="at most N images, drawn at random (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="which N images, with --n (default: 0)")
    parser.add_argument("--cache-dir", help="decoded images (default: ~/.cache/artgan)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        parser.error(f"--data-dir {args.data_dir} is not a directory")
    check_inception_flags(parser, args.inception_weights, None)
    if args.split == "val" and args.dataset != "wikiart":
        parser.error("--split val applies to --dataset wikiart (the ArtGAN style_val.csv) only")

    start_tensorflow_quietly(say_where=True)  # TensorFlow loads here, after the flags are checked
    from pathlib import Path

    from data import DataSettings, Splits
    from evaluation.inception import batches_of, load_network, real_order, stream_through
    from evaluation.statistics_file import write_statistics

    network = load_network(Path(args.inception_weights))
    size = args.image_size or DEFAULT_IMAGE_SIZE[args.dataset]
    where = DataSettings(args.dataset, args.data_dir, size, args.resize, args.top_styles, cache_dir=args.cache_dir)
    real = Splits(where, progress=True)
    data = real.validation if args.split == "val" else real.train
    if data is None:
        parser.error(f"--split val: {args.data_dir} has no style_val.csv beside its style_train.csv")
    order = real_order(len(data.labels), args.n or len(data.labels), args.seed)
    passed = stream_through(network, batches_of(data.source, order), len(order), "image")
    source = f"{args.dataset} {args.split}" + (f", top {args.top_styles} styles" if args.top_styles else "")
    path = write_statistics(
        args.out, passed.mu, passed.sigma, network=network.family, source=source, image_size=size, count=passed.count
    )
    print(f"wrote {path}: {passed.count} images of {source} at {size}x{size}, {network.feature_dim}-d features")
    print(f"network: {network.description}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
