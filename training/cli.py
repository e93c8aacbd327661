"""The flags every training script shares, validated into one config dict.

Flags left out take the paper's per-dataset defaults (each script supplies
its own table); flags given explicitly are remembered so that ``--resume``
can tell a deliberate change from a default.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from data import DATASETS, RESIZE_MODES, DataError

log = logging.getLogger(__name__)

# Settings that a resumed run may change; every other one comes from config.json.
RESUMABLE_CHANGES = ("epochs", "resume", "out")


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=prog,
        description=description,
        argument_default=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", choices=DATASETS, help="which dataset to train on (required)")
    data.add_argument(
        "--data-dir",
        help="local dataset files (mnist idx, cifar-10-batches-py, the "
        "WikiArt root, a <class>/<image> folder); mnist and cifar10 download when omitted",
    )
    data.add_argument(
        "--image-size",
        type=positive_int,
        help="side in pixels (default: 28 mnist, 32 cifar10 and digits, 64 wikiart and folder)",
    )
    data.add_argument(
        "--resize",
        choices=RESIZE_MODES,
        help="image files: 'squash' ignores the aspect ratio as the paper did (default), "
        "'crop' takes the central square",
    )
    data.add_argument(
        "--top-styles", type=positive_int, help="wikiart: keep the K most frequent styles (the paper's code kept 9)"
    )
    data.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        help="random horizontal flips (default: on for wikiart, off otherwise)",
    )
    data.add_argument("--cache-dir", help="where decoded images are cached (default: ~/.cache/artgan)")

    train = parser.add_argument_group("training")
    train.add_argument("--epochs", type=positive_int, help="epochs to train (default: the paper's, see below)")
    train.add_argument("--batch-size", type=positive_int, help="images per batch (default: 64; 32 for wikiart)")
    train.add_argument("--steps-per-epoch", type=positive_int, help="cap the batches per epoch (quick runs)")
    train.add_argument("--latent-dim", type=positive_int, help="length of the noise vector z (default: 100)")
    train.add_argument("--lr", type=positive_float, help="Adam learning rate for both networks")
    train.add_argument("--beta1", type=unit_float, help="Adam beta_1")
    train.add_argument("--beta2", type=unit_float, help="Adam beta_2")
    train.add_argument("--seed", type=int, help="random seed (default: drawn and recorded in config.json)")

    run = parser.add_argument_group("run directory")
    run.add_argument("--out", help="run directory (default: runs/<script>-<dataset>-<timestamp>)")
    run.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last complete checkpoint"
    )
    run.add_argument("--sample-columns", type=positive_int, help="samples per class in the per-epoch grid (default: 8)")
    run.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")
    run.add_argument(
        "--eval-every", type=positive_int, help="every N epochs, add evaluation figures (see evaluate.py) to log.csv"
    )
    return parser


def parse_config(parser: argparse.ArgumentParser, argv, defaults_for) -> tuple[dict, set]:
    """``(config, explicitly given keys)``; ``defaults_for(dataset)`` supplies the rest."""
    given = vars(parser.parse_args(argv))
    if "dataset" not in given and not given.get("resume"):
        parser.error("--dataset is required (one of " + ", ".join(DATASETS) + ")")
    config = dict(COMMON_DEFAULTS)
    if "dataset" in given:
        config.update(defaults_for(given["dataset"]))
    config.update(given)
    if given.get("data_dir") is not None and not os.path.isdir(given["data_dir"]):
        parser.error(f"--data-dir {given['data_dir']} is not a directory")
    if given.get("resume") and "out" not in given:
        parser.error("--resume needs --out, the run directory to continue")
    if config.get("top_styles") is not None and config.get("dataset") not in (None, "wikiart"):
        parser.error("--top-styles applies to --dataset wikiart only")
    return config, set(given)


COMMON_DEFAULTS = {
    "data_dir": None,
    "image_size": None,
    "resize": "squash",
    "top_styles": None,
    "flip": None,
    "cache_dir": None,
    "steps_per_epoch": None,
    "latent_dim": 100,
    "seed": None,
    "out": None,
    "resume": False,
    "sample_columns": 8,
    "quiet": False,
    "eval_every": None,
}


def merge_resumed(stored: dict, config: dict, given: set) -> dict:
    """A resumed run keeps its stored settings; only ``--epochs`` may change."""
    for key in sorted(given - set(RESUMABLE_CHANGES)):
        if key in stored and stored[key] != config[key]:
            raise DataError(
                f"--{key.replace('_', '-')} {config[key]} differs from the run's {stored[key]}; "
                "a resumed run keeps its settings (only --epochs may change)"
            )
    merged = dict(stored)
    merged.update({key: config[key] for key in RESUMABLE_CHANGES if key in given})
    merged["resume"] = True
    return merged


def run_cli(main, argv=None) -> int:
    """Run a script's main; user errors become one line on stderr and exit code 2."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        main(argv)
    except DataError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; resume with --resume --out <run directory>\n")
        return 130
    return 0
