#!/usr/bin/env python
"""Draw a grid of samples from a generator checkpoint (.h5) into a labelled PNG.

Grids (--grid):
  class   one row per class, one column per noise vector (the per-epoch grid)
  mix     the mixing matrix: cell (i, j) from (e_i + e_j) / 2, or e_i + e_j with --mix sum
  styles  one column per class, one row per noise vector: each row is one z in every style
  interp  the condition moving linearly from e_i to e_j in --steps columns, one row per noise vector
  one     --n samples of one class, --columns to a row

Only the .h5 file is needed. When a generator_ema_<tag>.h5 (the run's average
of the generator's weights) sits beside the generator_<tag>.h5 given, that
average is drawn, as the run's own grids are; --raw-generator draws the file
given. When it sits in <run>/checkpoints/, the run's
config.json supplies the class names (else classes are named by index) and
the noise seed, so `--grid class --n <sample columns>` redraws the run's
per-epoch grid. Classes are given as indices or names: integers are indices.

Examples:
  G=runs/train_dcgan-wikiart-20261122-101500/checkpoints/generator_epoch_025.h5
  python sample.py --checkpoint $G --grid mix --out mix.png
  python sample.py --checkpoint $G --grid mix --classes 0 3 5 --mix sum --out mix_sum.png
  python sample.py --checkpoint $G --grid styles --n 6 --out styles.png
  python sample.py --checkpoint $G --grid interp --classes Baroque Cubism --steps 10 --n 3 --out interp.png
  python sample.py --checkpoint $G --grid one --classes 7 --n 32 --out sevens.png
"""

import argparse

from base.terminal import start_tensorflow_quietly
from sampling.conditions import MIX_MODES
from sampling.figures import CLASS_COUNT, DEFAULT_NOISE, GRID_KINDS
from training.cli import OneLineErrorParser, positive_int, run_cli

DEFAULTS = {"mix": "mean", "steps": 8, "columns": 8, "seed": None, "n": None, "raw_generator": False}
DEFAULT_CLASSES = {"interp": ["0", "1"], "one": ["0"]}  # other grids: every class
ONLY_FOR = {"n": tuple(DEFAULT_NOISE), "mix": ("mix",), "steps": ("interp",), "columns": ("one",)}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="sample.py",
        description=__doc__,
        argument_default=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", required=True, metavar="H5", help="a generator_epoch_NNN.h5 file")
    parser.add_argument("--grid", required=True, choices=GRID_KINDS, help="which grid to draw (see above)")
    parser.add_argument("--out", required=True, metavar="PNG", help="the PNG file to write (folders are created)")
    parser.add_argument(
        "--classes",
        nargs="+",
        metavar="C",
        help="class indices or names, in the order to draw them (default: every class; "
        "interp: exactly two, default 0 1; one: exactly one, default 0)",
    )
    parser.add_argument(
        "--n",
        type=positive_int,
        help="noise vectors: columns of class (default 8), rows of styles (4) and interp (1), "
        "samples of one (64); mix uses one per class",
    )
    parser.add_argument("--seed", type=int, help="seed of the noise (default: the run's seed, else 0)")
    parser.add_argument("--mix", choices=MIX_MODES, help="mix: mean = (e_i + e_j) / 2, the paper's (default); sum")
    parser.add_argument("--steps", type=positive_int, help="interp: columns from e_i to e_j, ends included (default 8)")
    parser.add_argument("--columns", type=positive_int, help="one: samples per row (default 8)")
    parser.add_argument(
        "--raw-generator",
        action="store_true",
        help="draw the generator file given even when its weight average (generator_ema_*.h5) is beside it",
    )
    return parser


def parse_args(argv) -> dict:
    """Flags checked before TensorFlow loads, so a mistake is reported at once."""
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    kind = given["grid"]
    for key, kinds in ONLY_FOR.items():
        if key in given and kind not in kinds:
            parser.error(f"--{key} does not apply to --grid {kind} (only to {', '.join(kinds)})")
    args = {**DEFAULTS, **given}
    args["classes"] = args.get("classes") or DEFAULT_CLASSES.get(kind)
    if kind in CLASS_COUNT and len(args["classes"]) != CLASS_COUNT[kind]:
        parser.error(f"--grid {kind} takes exactly {CLASS_COUNT[kind]} class(es) in --classes")
    if kind == "interp" and args["steps"] < 2:
        parser.error("--steps must be at least 2: the two ends are the pure classes")
    if kind == "one" and (args["n"] or DEFAULT_NOISE["one"]) % args["columns"]:
        parser.error(f"--n must be a multiple of --columns {args['columns']} to fill the rows")
    if not args["out"].lower().endswith(".png"):
        parser.error(f"--out {args['out']} must name a .png file")
    return args


def main(argv=None):
    args = parse_args(argv)
    start_tensorflow_quietly(say_where=True)  # TensorFlow loads here, after the flags are checked
    import sampling
    from base.errors import UserError

    checkpoint = sampling.choose_generator(args["checkpoint"], args["raw_generator"])
    generator = sampling.load_generator(checkpoint)
    latent_dim, num_classes = sampling.generator_sizes(generator)
    config = sampling.run_config(checkpoint) or {}
    names = sampling.class_names(config, num_classes)
    classes = sampling.select_classes(args["classes"], names)
    seed = args["seed"] if args["seed"] is not None else config.get("seed") or 0
    noise = sampling.fixed_noise(seed, sampling.noise_count(args["grid"], len(classes), args["n"]), latent_dim)
    grid = sampling.draw(
        args["grid"], generator, classes, names, noise, mix=args["mix"], steps=args["steps"], columns=args["columns"]
    )
    try:
        path = grid.save(args["out"])
    except OSError as error:
        raise UserError(f"cannot write {args['out']}: {error.strerror or error}") from None
    rows, cols = grid.images.shape[:2]
    print(f"wrote {path}: {args['grid']} grid of {rows} x {cols} images from {checkpoint.name} (seed {seed})")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
