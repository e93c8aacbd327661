"""Every choice a setting offers, in one module free of TensorFlow, so flags, settings and builders agree.

A flag's ``choices``, the settings' validator and the builder that acts on
the value all read the same tuple here; ``--help`` stays instant.
"""

DATASETS = ("mnist", "cifar10", "wikiart", "folder", "digits")
DEFAULT_IMAGE_SIZE = {"mnist": 28, "cifar10": 32, "wikiart": 64, "folder": 64, "digits": 32}
RESIZE_MODES = ("squash", "crop")  # image files: ignore the aspect ratio (the paper), or take the central square
AUGMENT_POLICIES = ("color", "translation", "cutout")  # models/augment.py's transforms (DiffAugment's)
ADAPTIVE = "ada"  # --augment-p ada: ADA's adaptive probability (DC-GAN)
UPSAMPLINGS = ("transposed", "nearest")  # how a DC-GAN generator doubles its side
CONDITIONINGS = ("concat", "global")  # the WGAN-GP generator: condition with z only, or also in every up-block
CREATIVE_MODES = ("off", "can", "damped")  # the WGAN-GP generator's style term
LR_DECAYS = ("none", "linear")
STRATEGIES = ("default", "mirrored", "multiworker")
MIXED_PRECISIONS = ("bfloat16", "float16")  # --mixed-precision; none means float32
PRECISION_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")  # the Keras dtype policies they name


def check_choice(what: str, value, choices) -> None:
    """A ValueError naming the choices, for builders called with a value no flag would have allowed."""
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(map(str, choices))}")
