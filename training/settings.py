"""One frozen settings object per experiment, and the record of what the data turned out to be.

Settings are grouped the way readers look for things: data, networks,
losses, optimisation, augmentation, devices, run. Each field's default says
where it comes from. A recipe (``training/recipes``) resolves them once:
its section classes' defaults, then the dataset's paper settings, then the
flags, then the options that follow from others, then one validator
(``Recipe.resolve``). Nothing changes them afterwards; what the data held
(image shape, classes, steps per epoch) is a separate record, ``DataRecord``,
filled once by the runner. The data section, ``DataSettings``, is the data
floor's own (``data/settings.py``): the scripts that read images without
training fill one too.

``config.json`` is their serialisation: one flat object whose keys are the
fields' names (unique across sections, so readers such as ``sample.py`` and
the notebooks need no schema), the data record's facts, and ``schema_version``.
This module imports no TensorFlow: ``--help`` and flag errors stay instant.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from data.settings import DataSettings  # the data section: the data floor's own, for the scripts beneath training

SCHEMA_VERSION = 2  # 1: the flat config dicts written before the settings objects (no schema_version key)
PAPER_WIKIART = {"batch_size": 32, "epochs": 100}  # the paper's WikiArt training, both GANs (its Section 4)


# --------------------------------------------------------------------------- the sections


@dataclass(frozen=True)
class DCGANNetworks:
    latent_dim: int = 100  # the paper's z
    upsampling: str | None = None  # None until resolved: "nearest" from 64 px or under --augment (BENCHMARKS.md)
    init_from: tuple[str, ...] | None = None  # --init-from: a trained run, or a generator and a critic .h5
    init_weights: dict | None = None  # what --init-from located (files, classes); filled by the validator
    freeze_critic: int = 0  # FreezeD's frozen discriminator blocks (0: train all, the paper)


@dataclass(frozen=True)
class WGANGPNetworks:
    latent_dim: int = 100  # the paper's z
    filters: int = 128  # the paper's width, both networks
    conditioning: str = "concat"  # the paper: the condition enters once, with z
    critic_weights: str | None = None  # a pretrained critic .h5 (pretrain_critic.py)
    init_from: tuple[str, ...] | None = None  # --init-from (none: random weights, the paper)
    init_weights: dict | None = None  # what --init-from located (files, classes); filled by the validator
    freeze_critic: int = 0  # FreezeD's frozen critic blocks (0: train all, the paper)


@dataclass(frozen=True)
class CriticNetworks:
    latent_dim: int = 100  # z of the untrained generator that --adversarial trains against
    filters: int = 128  # must match train_wgan_gp.py's --filters
    adversarial: bool = False  # GANGogh pretrained the class head alone


@dataclass(frozen=True)
class DCGANLosses:
    class_weight: float = 1.0  # the paper's double loss: validity and class terms weigh the same
    projection: bool = False  # the paper's auxiliary classifier alone; on: Miyato & Koyama's projection too


@dataclass(frozen=True)
class WGANGPLosses:
    gp_weight: float = 10.0  # lambda of Gulrajani et al.
    class_weight: float = 10.0  # not the paper's 1: with 1 the generator ignored its condition (BENCHMARKS.md)
    critic_class_weight: float | None = None  # None: class_weight
    fake_class_loss: bool | None = None  # None until resolved: on as in the paper's code; off for wikiart
    # (BENCHMARKS.md: one style lost with it at 64 filters) and with --creative (styles from real art only)
    creative: str = "off"  # the paper's style term; "can" and "damped" are the art extensions
    ambiguity_weight: float = 1.0  # CAN's lambda
    damping: float = 0.5  # the damped target's alpha
    projection: bool = False  # the paper's auxiliary classifier alone; on: Miyato & Koyama's projection too


@dataclass(frozen=True)
class CriticLosses:
    gp_weight: float = 10.0  # with --adversarial, as in WGAN-GP training


@dataclass(frozen=True)
class DCGANOptimisation:
    epochs: int = 25  # wikiart: 100, the paper's
    batch_size: int = 64  # the paper's; wikiart: 32
    lr: float = 2e-4  # the paper's Adam
    beta1: float = 0.5  # DCGAN's Adam
    beta2: float = 0.999
    lr_decay: str = "none"  # "linear" to 0 at the last epoch
    mix_fraction: float = 0.0  # the paper trains on one-class conditions only
    ema_decay: float = 0.999  # the generator's weight average (BigGAN, StyleGAN); 0 turns it off


@dataclass(frozen=True)
class WGANGPOptimisation:
    epochs: int = 25  # wikiart: 100, the paper's
    batch_size: int = 64  # wikiart: 32, the paper's
    lr: float = 2e-4  # the paper's text (Algorithm 1 has 1e-4)
    beta1: float = 0.0  # Algorithm 1's Adam
    beta2: float = 0.9
    lr_decay: str = "none"  # wikiart: "linear" to 0 at epoch 100, the paper's
    n_critic: int = 5  # Algorithm 1
    mix_fraction: float = 0.0  # the paper trains on one-class conditions only
    ema_decay: float = 0.999  # the generator's weight average (BigGAN, StyleGAN); 0 turns it off


@dataclass(frozen=True)
class CriticOptimisation:
    epochs: int = 10  # a few minutes at 64 px on a GPU
    batch_size: int = 64  # wikiart: 32, as its WGAN-GP
    lr: float = 1e-4  # the WGAN-GP critic's Adam (Algorithm 1)
    beta1: float = 0.0
    beta2: float = 0.9
    lr_decay: str = "none"  # the pretraining is short: a constant rate
    steps: int | None = None  # train for N steps instead, rounded up to whole epochs
    val_fraction: float = 0.1  # held out where the data has no style_val.csv


@dataclass(frozen=True)
class AugmentSettings:
    augment: tuple[str, ...] = ()  # DiffAugment's transforms; none is the paper's training
    augment_p: float | str = 1.0  # DiffAugment's (every transform on every image); "ada": ADA's adaptive p
    ada_target: float = 0.6  # ADA's r target
    ada_images: int = 20000  # real images over which p may rise from 0 to 1 (ADA's 500,000 suits longer runs)


@dataclass(frozen=True)
class DeviceSettings:
    strategy: str = "default"  # one device
    mixed_precision: str | None = None  # float32
    jit: bool | str = (
        "auto"  # the recipe's measured choice on one GPU (README, "XLA"); off on the CPU and tf.distribute
    )
    steps_per_execution: int | None = None  # None: 1 on the CPU, up to 8 on a GPU (training.devices)

    @property
    def policy(self) -> str:
        """The Keras dtype policy: float32, mixed_bfloat16 or mixed_float16."""
        return f"mixed_{self.mixed_precision}" if self.mixed_precision else "float32"


@dataclass(frozen=True)
class OutputSettings:
    seed: int | None = None  # None until resolved: drawn once and recorded
    out: str | None = None  # None until resolved: runs/<script>-<dataset>-<timestamp>
    quiet: bool = False  # a progress bar on a terminal


@dataclass(frozen=True)
class RunSettings(OutputSettings):
    resume: bool = False  # a new run; --resume continues the one in --out
    keep: int | None = None  # every epoch's checkpoint
    checkpoint_every: int | None = None  # checkpoints at epoch ends only
    sample_columns: int = 8  # samples per class in each epoch's grid
    tensorboard: bool = False  # log.csv and the PNG grids only; TensorBoard is optional
    eval_every: int | None = None  # no figures while training
    inception_weights: str | None = None  # no Inception figures: a network on disk is needed (never downloaded)
    fid_stats: str | None = None  # with --inception-weights: the real side from the real images themselves


SECTIONS = ("data", "networks", "losses", "optimisation", "augmentation", "devices", "run")


@dataclass(frozen=True)
class Settings:
    """Everything an experiment is, resolved; ``script`` names the recipe that resolved it."""

    script: str
    data: DataSettings
    networks: DCGANNetworks | WGANGPNetworks | CriticNetworks
    losses: DCGANLosses | WGANGPLosses | CriticLosses
    optimisation: DCGANOptimisation | WGANGPOptimisation | CriticOptimisation
    augmentation: AugmentSettings | None
    devices: DeviceSettings
    run: OutputSettings

    def flat(self) -> dict:
        """Every field by its name (config.json's keys), tuples as lists."""
        values = {"script": self.script}
        for name in SECTIONS:
            section = getattr(self, name)
            if section is not None:
                values.update({f.name: as_json(getattr(section, f.name)) for f in fields(section)})
        return values

    def replace(self, **changes) -> Settings:
        """A copy with some fields changed, by name, wherever their section is (for benches and tests)."""
        sections = {}
        for name in SECTIONS:
            section = getattr(self, name)
            if section is None:
                continue
            mine = {key: changes.pop(key) for key in [f.name for f in fields(section)] if key in changes}
            sections[name] = dataclasses.replace(section, **mine) if mine else section
        if changes:
            raise TypeError(f"no such settings: {', '.join(sorted(changes))}")
        return dataclasses.replace(self, **sections)


def as_json(value):
    """A value as config.json holds it: lists, not tuples (so a stored value and a setting compare)."""
    return list(value) if isinstance(value, tuple) else value


def field_names(section_class) -> set[str]:
    return {f.name for f in fields(section_class)}


def section_defaults(section_class) -> dict:
    """The fields that have a default, by name."""
    return {
        f.name: f.default
        for f in fields(section_class)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }


# --------------------------------------------------------------------------- what the data turned out to be


@dataclass(frozen=True)
class DataRecord:
    """What the training data held, recorded once when it is read; a resumed run must hold the same."""

    image_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    num_images: int
    steps_per_epoch_actual: int  # full steps of the trainer's real batches, after --steps-per-epoch's cap
    epochs_actual: int  # the settings' epochs, or what --steps rounds up to (critic pretraining)
    init_classes: dict | None = None  # --init-from: classes carried over and new ones

    def flat(self) -> dict:
        return {f.name: as_json(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_config(cls, config: dict) -> DataRecord | None:
        """The record in a config.json object, or None where it has none (a run that never reached its data)."""
        if "class_names" not in config or "steps_per_epoch_actual" not in config:
            return None
        return cls(
            image_shape=tuple(config["image_shape"]),
            class_names=tuple(config["class_names"]),
            num_images=int(config.get("num_images", 0)),
            steps_per_epoch_actual=int(config["steps_per_epoch_actual"]),
            epochs_actual=int(config.get("epochs_actual", config["epochs"])),
            init_classes=config.get("init_classes"),
        )


def to_json(settings: Settings, record: DataRecord | None) -> dict:
    """config.json's object."""
    values = {"schema_version": SCHEMA_VERSION, **settings.flat()}
    if record is not None:
        values.update(record.flat())
    return values


# Fields that runs written before them lack, with the value that reproduces what those runs did.
BEFORE_THE_FIELD = {
    "upsampling": "transposed",
    "ema_decay": 0.0,
    "mix_fraction": 0.0,
    "augment": (),
    "augment_p": 1.0,
    "ada_target": 0.6,
    "ada_images": 20000,
}


def config_values(config: dict, section_class) -> dict:
    """A section's fields from a config.json object; fields it predates take their old behaviour."""
    values = {}
    for name in field_names(section_class):
        if name in config:
            values[name] = config[name]
        elif name in BEFORE_THE_FIELD:
            values[name] = BEFORE_THE_FIELD[name]
    return values


__all__ = [
    "AugmentSettings",
    "CriticLosses",
    "CriticNetworks",
    "CriticOptimisation",
    "DCGANLosses",
    "DCGANNetworks",
    "DCGANOptimisation",
    "DataRecord",
    "DataSettings",
    "DeviceSettings",
    "OutputSettings",
    "RunSettings",
    "SCHEMA_VERSION",
    "SECTIONS",
    "Settings",
    "as_json",
    "config_values",
    "WGANGPLosses",
    "WGANGPNetworks",
    "WGANGPOptimisation",
    "field_names",
    "section_defaults",
    "to_json",
]
