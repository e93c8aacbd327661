#!/usr/bin/env python
"""Draw samples from a generator checkpoint (.h5): a labelled grid, one PNG per image, or an animated walk.

Grids (--grid):
  class   one row per class, one column per noise vector (the per-epoch grid)
  mix     the mixing matrix: cell (i, j) from (e_i + e_j) / 2, or e_i + e_j with --mix sum
  styles  one column per class, one row per noise vector: each row is one z in every style
  interp  the condition moving linearly from e_i to e_j in --steps columns, one row per noise vector
  one     --n samples of one class, --columns to a row
  walk    an animation (.gif, or .mp4): --walk styles moves the condition through --classes and back, one
          column per noise vector; --walk z moves the noise through --seeds on the sphere and back, one row
          per class, --n columns each starting at another seed

Noise: --seeds 1,4-6 draws one vector per seed, the same vector for a seed in every grid and every run
(seed s is the first column of the grid of a run trained with --seed s); without it, the run's grid
noise. --truncation PSI redraws the components of z beyond the threshold that keeps the share PSI of the
normal (BigGAN's truncation trick): less variety, more typical images.

--separate writes one PNG per image into the folder --out names, at the generator's own size, named by
seed and condition (seed4_Baroque.png, seed4_Baroque+Cubism.png); every PNG records in its text chunks
the checkpoint, seed, condition and truncation.

--timelapse RUN animates a run's per-epoch grids (samples/epoch_NNN.png), the epoch under each frame.

Only the .h5 file is needed. When a generator_ema_<tag>.h5 (the run's average
of the generator's weights) sits beside the generator_<tag>.h5 given, that
average is drawn, as the run's own grids are; --raw-generator draws the file
given. When it sits in <run>/checkpoints/, the run's config.json (for a file
of its own, <name>.json beside it) supplies the class names (else classes are
named by index) and the noise seed, so `--grid class --n <sample columns>`
redraws the run's per-epoch grid. Classes are indices or names: integers are indices.

Examples:
  G=runs/train_dcgan-wikiart-20261122-101500/checkpoints/generator_epoch_025.h5
  python sample.py --checkpoint $G --grid mix --out mix.png
  python sample.py --checkpoint $G --grid mix --classes 0 3 5 --mix sum --out mix_sum.png
  python sample.py --checkpoint $G --grid styles --n 6 --out styles.png
  python sample.py --checkpoint $G --grid interp --classes Baroque Cubism --steps 10 --n 3 --out interp.png
  python sample.py --checkpoint $G --grid one --classes 7 --n 32 --out sevens.png
  python sample.py --checkpoint $G --grid class --seeds 1,4-6 --truncation 0.7 --separate --out chosen/
  python sample.py --checkpoint $G --grid walk --walk styles --classes Baroque Symbolism Impressionism --out walk.gif
  python sample.py --checkpoint $G --grid walk --walk z --seeds 0-5 --n 3 --classes Baroque --out z.mp4
  python sample.py --timelapse runs/train_dcgan-wikiart-20261122-101500 --out training.gif
"""

import argparse
from pathlib import Path

from base.terminal import start_tensorflow_quietly
from sampling.animation import ANIMATION_SUFFIXES
from sampling.conditions import MIX_MODES
from sampling.figures import CLASS_COUNT, DEFAULT_NOISE, GRID_KINDS
from sampling.noise import NoiseChoice, parse_seeds
from sampling.walks import FRAMES_PER_STOP, WALKS
from training.cli import OneLineErrorParser, number, positive_int, run_cli

KINDS = (*GRID_KINDS, "walk")
DEFAULTS = {
    "mix": "mean", "steps": 8, "columns": None, "seed": None, "n": None, "raw_generator": False, "seeds": None,
    "separate": False, "truncation": 1.0, "walk": "styles", "frames": None, "fps": None, "timelapse": None,
}  # fmt: skip
DEFAULT_CLASSES = {"interp": ["0", "1"], "one": ["0"]}  # other grids: every class
DEFAULT_COLUMNS = 8  # --grid one
DEFAULT_FPS = {"walk": 16.0, "timelapse": 4.0}
TIMELAPSE_HOLD = 2.0  # seconds on the last epoch before the loop starts again
DEFAULT_Z_WALK_SEEDS = (0, 1, 2, 3)
DEFAULT_WALK_NOISE = {"styles": 4, "z": 1}  # --n: noise vectors side by side
ONLY_FOR = {
    "n": (*DEFAULT_NOISE, "walk"),
    "mix": ("mix",),
    "steps": ("interp",),
    "columns": ("one",),
    "separate": GRID_KINDS,
    "walk": ("walk",),
    "frames": ("walk",),
    "fps": ("walk",),
}
TIMELAPSE_FLAGS = {"timelapse", "out", "fps"}

truncation_psi = number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
positive_fps = number(float, lambda v: 0 < v <= 100, "frames per second in (0, 100]")


def seed_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(parse_seeds(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="sample.py",
        description=__doc__,
        argument_default=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", metavar="H5", help="a generator_epoch_NNN.h5 (required but for --timelapse)")
    parser.add_argument("--grid", choices=KINDS, help="what to draw (see above; required but for --timelapse)")
    parser.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="the .png to write; with --separate, a folder; for walk and --timelapse, a .gif or .mp4 "
        "(folders are created)",
    )
    parser.add_argument(
        "--classes",
        nargs="+",
        metavar="C",
        help="class indices or names, in the order to draw them (default: every class; "
        "interp: exactly two, default 0 1; one: exactly one, default 0; walk: the stops of a style walk, "
        "the rows of a z walk)",
    )
    noise = parser.add_argument_group("noise")
    noise.add_argument(
        "--n",
        type=positive_int,
        help="noise vectors: columns of class (default 8), rows of styles (4) and interp (1), "
        "samples of one (64), columns of walk (styles 4, z 1); mix uses one per class",
    )
    noise.add_argument(
        "--seeds",
        type=seed_list,
        metavar="LIST",
        help="one noise vector per seed, e.g. 1,4-6 (instead of --n); walk z: the stops (default 0-3)",
    )
    noise.add_argument("--seed", type=int, help="seed of the grid noise without --seeds (default: the run's, else 0)")
    noise.add_argument(
        "--truncation",
        type=truncation_psi,
        metavar="PSI",
        help="redraw the components of z beyond the threshold that keeps the share PSI of the normal "
        "(1 = none, the default; 0.7 keeps |z_i| <= 1.04)",
    )
    grids = parser.add_argument_group("grids")
    grids.add_argument("--mix", choices=MIX_MODES, help="mix: mean = (e_i + e_j) / 2, the paper's (default); sum")
    grids.add_argument("--steps", type=positive_int, help="interp: columns from e_i to e_j, ends included (default 8)")
    grids.add_argument("--columns", type=positive_int, help="one: samples per row (default 8)")
    grids.add_argument(
        "--separate", action="store_true", help="one PNG per image into the folder --out, named by seed and condition"
    )
    grids.add_argument(
        "--raw-generator",
        action="store_true",
        help="draw the generator file given even when its weight average (generator_ema_*.h5) is beside it",
    )
    animations = parser.add_argument_group("animations")
    animations.add_argument("--walk", choices=WALKS, help="walk: through styles (default) or through z (seeds)")
    animations.add_argument(
        "--frames", type=positive_int, help=f"walk: frames of one loop (default {FRAMES_PER_STOP} per stop)"
    )
    animations.add_argument(
        "--fps", type=positive_fps, help="frames per second (default: 16 for walk, 4 for --timelapse)"
    )
    animations.add_argument("--timelapse", metavar="RUN", help="animate the per-epoch grids of this run directory")
    return parser


def parse_args(argv) -> dict:
    """Flags checked before TensorFlow loads, so a mistake is reported at once."""
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    args = {**DEFAULTS, **given}
    if "timelapse" in given:
        check_timelapse_flags(parser, given)
        return args
    for required in ("checkpoint", "grid"):
        if required not in given:
            parser.error(f"--{required} is required (or --timelapse RUN)")
    kind = given["grid"]
    for key, kinds in ONLY_FOR.items():
        if key in given and kind not in kinds:
            parser.error(f"--{key} does not apply to --grid {kind} (only to {', '.join(kinds)})")
    if "n" in given and "seeds" in given and given.get("walk") != "z":  # a z walk's --n counts columns
        parser.error("--n and --seeds both set the noise vectors; give one of them")
    args["classes"] = args.get("classes") or DEFAULT_CLASSES.get(kind)
    if kind in CLASS_COUNT and len(args["classes"]) != CLASS_COUNT[kind]:
        parser.error(f"--grid {kind} takes exactly {CLASS_COUNT[kind]} class(es) in --classes")
    if kind == "interp" and args["steps"] < 2:
        parser.error("--steps must be at least 2: the two ends are the pure classes")
    if kind == "one":
        check_rows_of_one(parser, args)
    if kind == "walk":
        check_walk(parser, args)
    check_out(parser, args)
    return args


def check_timelapse_flags(parser, given: dict) -> None:
    other = sorted(set(given) - TIMELAPSE_FLAGS)
    if other:
        parser.error(f"--{other[0].replace('_', '-')} does not apply to --timelapse (only --out and --fps do)")
    if Path(given["out"]).suffix.lower() not in ANIMATION_SUFFIXES:
        parser.error(f"--out {given['out']} must name a .gif or .mp4 file for --timelapse")


def check_rows_of_one(parser, args: dict) -> None:
    count = len(args["seeds"]) if args["seeds"] else args["n"] or DEFAULT_NOISE["one"]
    if args["columns"] is None:
        args["columns"] = min(DEFAULT_COLUMNS, count)
    if count % args["columns"]:
        what = f"the {count} seeds" if args["seeds"] else "--n"
        parser.error(f"{what} must be a multiple of --columns {args['columns']} to fill the rows")


def check_walk(parser, args: dict) -> None:
    if args["walk"] == "z":
        args["seeds"] = args["seeds"] or DEFAULT_Z_WALK_SEEDS
        if len(args["seeds"]) < 2:
            parser.error("--walk z moves through --seeds: give two seeds at least")
        if (args["n"] or 1) > len(args["seeds"]):
            parser.error(f"--walk z: each of the --n {args['n']} columns starts at another seed; give as many seeds")
    elif args["classes"] is not None and len(args["classes"]) < 2:
        parser.error("--walk styles moves through --classes: give two classes at least")


def check_out(parser, args: dict) -> None:
    out, kind = args["out"], args["grid"]
    suffix = Path(out).suffix.lower()
    if kind == "walk" and suffix not in ANIMATION_SUFFIXES:
        parser.error(f"--out {out} must name a .gif or .mp4 file for --grid walk")
    if kind != "walk" and args["separate"] and suffix in (".png", *ANIMATION_SUFFIXES):
        parser.error(f"--out {out}: with --separate, --out names the folder that receives one PNG per image")
    if kind != "walk" and not args["separate"] and suffix != ".png":
        parser.error(f"--out {out} must name a .png file (or give --separate for one PNG per image)")


def main(argv=None):
    args = parse_args(argv)
    if args["timelapse"]:
        write_timelapse(args)  # the run's PNGs only: no TensorFlow
        return
    start_tensorflow_quietly(say_where=True)  # TensorFlow loads here, after the flags are checked
    import sampling
    from base.networks import load_generator
    from base.rundir import choose_generator

    checkpoint = choose_generator(args["checkpoint"], args["raw_generator"])
    generator = load_generator(checkpoint)
    latent_dim, num_classes = sampling.generator_sizes(generator)
    config = sampling.checkpoint_config(checkpoint)
    names = sampling.class_names(config, num_classes)
    classes = sampling.select_classes(args["classes"], names)
    noise = choose_noise(args, config, len(classes))
    metadata = {"checkpoint": str(checkpoint), "grid": args["grid"], "software": "artgan-keras sample.py"}
    source = f"from {checkpoint.name} ({noise.describe()})"
    if args["grid"] == "walk":
        write_walk(args, generator, classes, names, noise, source)
        return
    grid = sampling.draw(
        args["grid"], generator, classes, names, noise.vectors(latent_dim), args["mix"], args["steps"], args["columns"]
    )
    rows, cols = grid.images.shape[:2]
    try:
        if args["separate"]:
            paths = sampling.save_cells(grid, args["out"], noise, names, metadata)
            print(f"wrote {len(paths)} PNGs into {args['out']}: {args['grid']} grid of {rows} x {cols} images {source}")
            return
        path = grid.save(args["out"], {**metadata, **grid_metadata(noise, classes, names)})
    except OSError as error:
        raise write_error(args["out"], error) from None
    print(f"wrote {path}: {args['grid']} grid of {rows} x {cols} images {source}")


def choose_noise(args: dict, config: dict, num_chosen: int) -> NoiseChoice:
    """The chosen seeds, else the first vectors of the run's grid noise (its seed, else --seed, else 0)."""
    from base.errors import UserError
    from sampling.figures import noise_count

    kind, seeds = args["grid"], args["seeds"]
    if seeds is not None:
        if kind == "mix" and len(seeds) != num_chosen:
            raise UserError(
                f"--grid mix draws one row per class: give {num_chosen} seeds (one per class), got {len(seeds)}"
            )
        return NoiseChoice(seeds=tuple(seeds), truncation=args["truncation"])
    seed = args["seed"] if args["seed"] is not None else config.get("seed") or 0
    count = (args["n"] or DEFAULT_WALK_NOISE["styles"]) if kind == "walk" else noise_count(kind, num_chosen, args["n"])
    return NoiseChoice(seed=seed, count=count, truncation=args["truncation"])


def grid_metadata(noise: NoiseChoice, classes, names) -> dict:
    about = {"classes": [names[c] for c in classes], "truncation": f"{noise.truncation:g}"}
    if noise.seeds is not None:
        return {**about, "seeds": list(noise.seeds)}
    return {**about, "seed": str(noise.seed), "noise_vectors": str(noise.count)}


def write_walk(args: dict, generator, classes, names, noise: NoiseChoice, source: str) -> None:
    import sampling
    from base.errors import UserError

    latent_dim = sampling.generator_sizes(generator)[0]
    stops = len(noise) if args["walk"] == "z" else len(classes)
    frames = args["frames"] or FRAMES_PER_STOP * stops
    labels = [noise.label(i) for i in range(len(noise))]
    try:
        if args["walk"] == "z":
            walk = sampling.z_walk(
                generator, noise.vectors(latent_dim), classes, names, frames, args["n"] or 1, stop_labels=labels
            )
        else:
            walk = sampling.style_walk(generator, noise.vectors(latent_dim), classes, names, frames, labels)
    except ValueError as error:
        raise UserError(str(error)) from None
    try:
        path = sampling.save_animation(walk.pictures(), args["out"], args["fps"] or DEFAULT_FPS["walk"])
    except OSError as error:
        raise write_error(args["out"], error) from None
    rows, cols = walk.frames[0].images.shape[:2]
    print(f"wrote {path}: a {args['walk']} walk of {frames} frames of {rows} x {cols} images {source}")


def write_timelapse(args: dict) -> None:
    from sampling.animation import save_animation
    from sampling.timelapse import epoch_grids, timelapse_frames

    epochs = epoch_grids(args["timelapse"])
    try:
        path = save_animation(
            timelapse_frames(args["timelapse"]), args["out"], args["fps"] or DEFAULT_FPS["timelapse"], TIMELAPSE_HOLD
        )
    except OSError as error:
        raise write_error(args["out"], error) from None
    print(f"wrote {path}: {len(epochs)} epoch grids of {args['timelapse']} (epochs {epochs[0][0]}-{epochs[-1][0]})")


def write_error(out, error: OSError):
    from base.errors import UserError

    return UserError(f"cannot write {out}: {error.strerror or error}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
