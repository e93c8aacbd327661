"""The flags the training scripts share, their number types, and the one-line error handling of every CLI.

Flags left out stay absent (argparse.SUPPRESS), so that a recipe can tell a
flag given from a default: it resolves the settings (training/recipes), and
``--resume`` refuses a changed setting.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from base.choices import ADAPTIVE, AUGMENT_POLICIES, LR_DECAYS, MIXED_PRECISIONS, RESIZE_MODES, STRATEGIES
from base.errors import TrainingDiverged, UserError
from data.sources import DATASETS

log = logging.getLogger(__name__)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def number(cast, accept, expected: str):
    """An argparse type: ``cast`` the text, then check it, with one message for both failures."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    parse.__name__ = expected
    return parse


positive_int = number(int, lambda v: v >= 1, "a positive integer")
positive_float = number(float, lambda v: v > 0, "a positive number")
unit_float = number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
unit_interval = number(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")
open_fraction = number(float, lambda v: 0 < v < 1, "a fraction between 0 and 1")
non_negative_int = number(int, lambda v: v >= 0, "a non-negative integer")


def gan_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The parser of a GAN training script: data, training and run-directory flags."""
    parser = bare_parser(prog, description)
    add_data_flags(parser)
    add_training_flags(parser)
    add_mixing_flag(parser)
    add_ema_flag(parser)
    add_augment_flags(parser)
    add_transfer_flags(parser)
    add_run_flags(parser)
    return parser


def bare_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """Omitted flags stay absent (SUPPRESS), so defaults can depend on the dataset and resume can spot changes."""
    return OneLineErrorParser(
        prog=prog,
        description=description,
        argument_default=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_data_flags(parser: argparse.ArgumentParser) -> None:
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
    data.add_argument(
        "--cache-dir",
        help="where decoded images are cached, once per image size, shared by every run (default: ~/.cache/artgan); "
        "beyond $ARTGAN_CACHE_GB (default 50) the least recently used sizes are removed",
    )


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    train = parser.add_argument_group("training")
    train.add_argument("--epochs", type=positive_int, help="epochs to train (default: 25; 100 for wikiart)")
    train.add_argument("--batch-size", type=positive_int, help="images per batch (default: 64; 32 for wikiart)")
    train.add_argument("--steps-per-epoch", type=positive_int, help="cap the batches per epoch (quick runs)")
    train.add_argument("--latent-dim", type=positive_int, help="length of the noise vector z (default: 100)")
    train.add_argument("--lr", type=positive_float, help="Adam learning rate for both networks (default: 2e-4)")
    train.add_argument("--beta1", type=unit_float, help="Adam beta_1 (default: 0.5 DC-GAN, 0 WGAN-GP)")
    train.add_argument("--beta2", type=unit_float, help="Adam beta_2 (default: 0.999 DC-GAN, 0.9 WGAN-GP)")
    train.add_argument(
        "--lr-decay",
        choices=LR_DECAYS,
        help="'linear' decays the learning rate to 0 at the last epoch (the paper's WikiArt setting)",
    )
    train.add_argument("--seed", type=int, help="random seed (default: drawn and recorded in config.json)")
    add_device_flags(parser)


def augment_policy(text: str) -> list[str]:
    """``color,translation`` -> ["color", "translation"]; ``none`` -> []."""
    names = [name.strip() for name in text.split(",") if name.strip() and name.strip().lower() != "none"]
    unknown = [name for name in names if name not in AUGMENT_POLICIES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown augmentation {', '.join(unknown)}; choose from {', '.join(AUGMENT_POLICIES)}"
        )
    return list(dict.fromkeys(names))


def add_augment_flags(parser: argparse.ArgumentParser) -> None:
    augment = parser.add_argument_group("differentiable augmentation (small datasets)")
    augment.add_argument(
        "--augment",
        type=augment_policy,
        metavar="POLICY[,POLICY]",
        help="augment every image the discriminator or critic sees, real and generated alike, differentiably "
        "(DiffAugment): any of color, translation, cutout; 'color,translation,cutout' for a few hundred images "
        "(default: none, the paper's training)",
    )
    augment.add_argument(
        "--augment-p",
        type=augment_probability,
        metavar="P|ada",
        help="probability of each transform per image (default: 1, DiffAugment's); 'ada' (DC-GAN): p starts at 0 "
        "and follows ADA's overfitting heuristic r = E[sign(D(real))] towards --ada-target, logged per epoch",
    )
    augment.add_argument(
        "--ada-target", type=open_fraction, help="with --augment-p ada: the r that p steers to (default: 0.6, ADA's)"
    )
    augment.add_argument(
        "--ada-images",
        type=positive_int,
        help="with --augment-p ada: real images over which p can rise from 0 to 1 (default: 20000; ADA's 500,000 "
        "suits runs of tens of millions of images, not a few hundred thousand)",
    )


def augment_probability(text: str):
    """A probability in [0, 1], or ``ada`` for the adaptive one."""
    return ADAPTIVE if text.strip().lower() == ADAPTIVE else unit_interval(text)


def add_transfer_flags(parser: argparse.ArgumentParser) -> None:
    transfer = parser.add_argument_group("starting from a trained run (small collections)")
    transfer.add_argument(
        "--init-from",
        nargs="+",
        metavar="PATH",
        help="start from a trained run's newest checkpoint (its directory) or from a generator .h5 and a "
        "discriminator/critic .h5, taking that run's image size, width, z size, conditioning and up-sampling "
        "unless given; classes are matched by name, new ones start fresh; the optimizers, epochs and schedule "
        "are this run's own (not --resume)",
    )
    transfer.add_argument(
        "--freeze-critic",
        type=non_negative_int,
        metavar="N",
        help="keep the first N blocks of the discriminator or critic fixed, BatchNorm statistics too (FreezeD); "
        "a block is one stride-2 convolution of the DC-GAN's discriminator (3 at 32 px, 4 at 64 px), one residual "
        "block of the WGAN-GP's critic (down1, down2, res3, res4) (default: 0, train all)",
    )


def add_mixing_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mix-fraction",
        type=unit_interval,
        help="fraction of the generator's training conditions drawn as blends (e_i + e_j) / 2 of two classes, "
        "so that mixed conditions at sampling time are not new to it (default: 0, the paper)",
    )


def add_projection_flag(parser) -> None:
    """The discriminator's (or critic's) use of the condition, shared by both GAN scripts."""
    parser.add_argument(
        "--projection",
        action=argparse.BooleanOptionalAction,
        help="a projection discriminator (Miyato & Koyama): its adversarial output adds <c, class logits>, so "
        "'real and of this style' is what it tells apart; the class terms stay (default: off, the paper's "
        "auxiliary classifier alone)",
    )


def add_ema_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ema-decay",
        type=unit_float,
        help="decay of the generator's exponential weight average, saved as generator_ema_*.h5 and used for "
        "the sample grids (default: 0.999; 0 turns it off)",
    )


def add_device_flags(parser: argparse.ArgumentParser) -> None:
    devices = parser.add_argument_group("devices")
    devices.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="'default': one device; 'mirrored': every local GPU; 'multiworker': the machines in TF_CONFIG "
        "(--batch-size stays the global batch)",
    )
    devices.add_argument(
        "--mixed-precision",
        choices=(*MIXED_PRECISIONS, "float32"),
        help="compute in bfloat16 or float16 with float32 variables (losses, scores and the penalty stay float32; "
        "float16 scales its losses, and log.csv counts the updates it skipped); float32 is the default, and a "
        "resumed run may switch in either direction",
    )
    devices.add_argument(
        "--jit",
        action=argparse.BooleanOptionalAction,
        help="compile train_step with XLA (default: off on the CPU and with --strategy; on one GPU, the choice "
        "measured for each model: on for the DC-GAN, off for the WGAN-GP, README); not with --strategy mirrored "
        "or multiworker",
    )
    devices.add_argument(
        "--steps-per-execution",
        type=positive_int,
        metavar="N",
        help="train steps run back to back in one call, without returning to Python (default: 1 on the CPU, "
        "up to 8 on a GPU); must divide the steps of an epoch and --checkpoint-every",
    )


def add_out_flags(parser: argparse.ArgumentParser):
    run = parser.add_argument_group("run directory")
    run.add_argument("--out", help="run directory (default: runs/<script>-<dataset>-<timestamp>)")
    run.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")
    return run


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    run = add_out_flags(parser)
    run.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last complete checkpoint"
    )
    run.add_argument(
        "--checkpoint-every",
        type=positive_int,
        help="also checkpoint every N steps within an epoch (long WikiArt epochs)",
    )
    run.add_argument("--keep", type=positive_int, help="keep only the newest N checkpoints (default: every epoch's)")
    run.add_argument("--sample-columns", type=positive_int, help="samples per class in the per-epoch grid (default: 8)")
    run.add_argument(
        "--tensorboard",
        action="store_true",
        help="also log the scalars and sample grids to <out>/tensorboard (may be turned on when resuming)",
    )
    run.add_argument(
        "--eval-every", type=positive_int, help="every N epochs, add evaluation figures (see evaluate.py) to log.csv"
    )
    add_inception_flags(run, " (with --eval-every: FID, KID and IS columns in log.csv)")


def add_inception_flags(parser, purpose: str = "") -> None:
    """The Inception network and FID's precomputed real side, shared by evaluate.py, the trainers and the benches."""
    parser.add_argument(
        "--inception-weights",
        metavar="PATH",
        help="an Inception network on disk, never downloaded: inception-2015-12-05.tgz (or its "
        "classify_image_graph_def.pb, or pytorch-fid's pt_inception-2015-12-05-*.pth) gives FIDs comparable "
        "with papers; Keras's InceptionV3 .h5 "
        f"gives figures that compare with each other only{purpose}",
    )
    parser.add_argument(
        "--fid-stats",
        metavar="FILE.npz",
        help="FID's real side from a statistics file (mu, sigma: TTUR's format, or fid_stats.py's) "
        "computed with the same network; no real image is then read for FID",
    )


def check_inception_flags(parser, weights: str | None, stats: str | None) -> None:
    for flag, path in (("--inception-weights", weights), ("--fid-stats", stats)):
        if path is not None and not os.path.isfile(path):
            parser.error(f"{flag} {path} is not a file")


def prefer_onednn_kernels() -> None:
    """Ask TensorFlow for oneDNN's CPU kernels unless the environment already says yes or no.

    TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI or BF16 or AMX; elsewhere
    (AVX2 AMD and Intel processors) it runs its Eigen kernels, whose transposed and backward
    convolutions are slower (BENCHMARKS.md, "Throughput on an AVX2 CPU: oneDNN's kernels"). Takes
    effect only before TensorFlow is imported, which every script does after its flags parse.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def run_cli(main, argv=None) -> int:
    """Run a script's main; user errors become one line on stderr and exit code 2."""
    prefer_onednn_kernels()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # tf.distribute's per-step INFO chatter
    try:
        main(argv)
    except UserError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    except TrainingDiverged as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; resume with --resume --out <run directory>\n")
        return 130
    return 0
