"""Every choice a setting offers, in one module free of TensorFlow, so flags, settings and builders agree.

A flag's ``choices``, the settings' validator and the builder that acts on
the value all read the same tuple here; ``--help`` stays instant. The
datasets are ``data.sources``'s (what each one is and how it is read).
"""

MIN_IMAGE_SIZE = 8  # the smallest side every network's plan can reach
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


def check_image_size(size: int) -> None:
    """A one-line user error (the choices module imports nothing, so the error class is looked up here)."""
    from base.errors import UserError

    if size < MIN_IMAGE_SIZE:
        raise UserError(f"--image-size {size} is too small; use {MIN_IMAGE_SIZE} or more")
