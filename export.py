#!/usr/bin/env python
"""Export a generator checkpoint (.h5) for other runtimes: TensorFlow SavedModel, TensorFlow Lite or ONNX.

Each export computes (z, condition) -> image in float32: inputs z (batch, latent) and condition
(batch, classes), output image (batch, H, W, C) in [-1, 1]; SavedModel and TensorFlow Lite under the
signature serving_default. <out>.json beside it names the classes in condition order. As everywhere,
the weight average (generator_ema_<tag>.h5) beside the file given is exported; --raw-generator
exports the file itself.

Examples:
  G=runs/train_dcgan-wikiart-20261122-101500/checkpoints/generator_epoch_025.h5
  python export.py --checkpoint $G --format savedmodel --out exports/generator_savedmodel
  python export.py --checkpoint $G --format tflite --out exports/generator.tflite
  python export.py --checkpoint $G --format tflite --quantize float16 --out exports/generator_fp16.tflite
  python export.py --checkpoint $G --format onnx --out exports/generator.onnx
"""

import argparse

from base.errors import UserError
from base.terminal import start_tensorflow_quietly
from sampling.export import EXPORT_FORMATS, QUANTIZATIONS, check_export_flags
from training.cli import OneLineErrorParser, run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="export.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True, metavar="H5", help="a generator .h5 file")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="savedmodel (a folder), tflite, onnx")
    parser.add_argument("--out", required=True, metavar="PATH", help="the folder (savedmodel) or file to write")
    parser.add_argument(
        "--quantize", choices=QUANTIZATIONS, help="tflite: store the weights as float16 (half the size)"
    )
    parser.add_argument(
        "--raw-generator",
        action="store_true",
        help="export the file given even when its weight average (generator_ema_*.h5) is beside it",
    )
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    check_export_flags(args.format, args.out, args.quantize)
    start_tensorflow_quietly(say_where=True)  # TensorFlow loads here, after the flags are checked
    import sampling
    from base.networks import load_generator
    from base.rundir import choose_generator
    from sampling.export import export_generator

    checkpoint = choose_generator(args.checkpoint, args.raw_generator)
    generator = load_generator(checkpoint)
    names = sampling.class_names(sampling.checkpoint_config(checkpoint), sampling.generator_sizes(generator)[1])
    about = {"class_names": names, "checkpoint": str(checkpoint)}
    try:
        out = export_generator(generator, args.format, args.out, args.quantize, about)
    except OSError as error:
        raise UserError(f"cannot write {args.out}: {error.strerror or error}") from None
    print(f"wrote {out} ({args.format}{', float16 weights' if args.quantize else ''}) from {checkpoint.name}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
