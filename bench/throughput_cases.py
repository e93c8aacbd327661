"""The throughput bench's cases: what each one trains and at which settings, the FLOPs of one of its
iterations, and the record its measurement fills.

A case trains what the training script would: the recipe's settings for the
dataset the paper trains at the case's image size (``paper_settings``), its
trainer built and compiled by the recipe with the precision policy set first
(``paper_trainer``), and one real batch from ``data.training_dataset``
(WGAN-GP: ``group=n_critic``). Nothing here imports TensorFlow until a
trainer or a batch is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data.sources import DEFAULT_CHANNELS

# Each image size stands for the dataset the paper trains at that size.
DATASET_OF_SIZE = {28: "mnist", 32: "cifar10", 64: "wikiart"}
CLASSES = {"mnist": 10, "cifar10": 10, "wikiart": 9}  # wikiart: the 9 styles the paper's code kept


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "keras" (trainer.fit), "plain" (tf.function(train_step)), "torch", "peak"
    model: str = ""  # "dcgan" | "wgan"
    size: int = 0
    precision: str = "float32"  # or "bfloat16" (Keras mixed_bfloat16 / torch autocast), "float16" (mixed_float16)
    jit: bool = False
    grappler: bool = True  # False: TensorFlow's graph optimizer off (a profiling variant)
    onednn: bool = True  # False: TensorFlow's own Eigen kernels, its default on CPUs without AVX-512 VNNI/BF16 or AMX


def _cases() -> dict[str, Case]:
    cases = [Case("peak", "peak")]
    for model in ("dcgan", "wgan"):
        for size in (28, 32, 64):
            cases.append(Case(f"{model}-{size}", "keras", model, size))
    for model in ("dcgan", "wgan"):
        cases += [
            Case(f"{model}-64-jit", "keras", model, 64, jit=True),
            Case(f"{model}-64-bf16", "keras", model, 64, "bfloat16"),
            Case(f"{model}-64-bf16-jit", "keras", model, 64, "bfloat16", jit=True),
            Case(f"{model}-64-f16", "keras", model, 64, "float16"),
        ]
    cases += [
        Case("wgan-64-plain", "plain", "wgan", 64),
        Case("wgan-64-plain-jit", "plain", "wgan", 64, jit=True),
        Case("wgan-64-nograppler", "keras", "wgan", 64, grappler=False),
        Case("dcgan-64-eigen", "keras", "dcgan", 64, onednn=False),
        Case("wgan-64-eigen", "keras", "wgan", 64, onednn=False),
        Case("dcgan-64-torch", "torch", "dcgan", 64),
        Case("wgan-64-torch", "torch", "wgan", 64),
        Case("wgan-64-torch-bf16", "torch", "wgan", 64, "bfloat16"),
    ]
    return {case.name: case for case in cases}


CASES = _cases()
# Run only when named: XLA compiles the WGAN-GP step (double backprop in a graph loop) for tens of minutes
# on the CPU, and the bare-graph-optimizer run is a profiling aid.
EXTRA_CASES = (
    "wgan-64-jit",
    "wgan-64-bf16-jit",
    "wgan-64-plain-jit",
    "wgan-64-nograppler",
    "wgan-64-eigen",
    "wgan-64-f16",
)


@dataclass
class Result:
    case: str
    load_before: float
    iterations: int = 0
    ms_per_iteration: float = float("nan")
    ms_spread: tuple[float, float] = (float("nan"), float("nan"))  # min, max of the timed iterations
    cpu_ms_per_iteration: float = float("nan")  # process CPU time (all threads), median
    first_iteration_s: float = float("nan")  # tracing (and XLA compilation) included
    first_iteration_cpu_s: float = float("nan")  # the same in process CPU time: less at the mercy of a busy machine
    images_per_iteration: int = 0
    gflop_per_iteration: float = float("nan")
    note: str = ""
    peaks: dict = field(default_factory=dict)  # the "peak" case: GFLOP/s by kernel
    op_ms: dict = field(default_factory=dict)  # --profile: milliseconds of op time per iteration, by op type
    cpu_peaks: dict = field(default_factory=dict)  # and GFLOP per CPU-second

    @property
    def images_per_second(self) -> float:
        return 1000.0 * self.images_per_iteration / self.ms_per_iteration

    @property
    def gflops(self) -> float:
        return 1000.0 * self.gflop_per_iteration / self.ms_per_iteration

    @property
    def gflop_per_cpu_second(self) -> float:
        return 1000.0 * self.gflop_per_iteration / self.cpu_ms_per_iteration


def recipe_of(case: Case):
    from training.recipes import dcgan, wgan_gp

    return (wgan_gp if case.model == "wgan" else dcgan).RECIPE


def paper_settings(case: Case) -> tuple:
    """``(settings, image_shape, num_classes)`` as the training script would resolve them."""
    dataset = DATASET_OF_SIZE[case.size]
    settings = recipe_of(case).settings(
        dataset, seed=0, jit=case.jit, mixed_precision=case.precision if case.precision != "float32" else None
    )
    return settings, (case.size, case.size, DEFAULT_CHANNELS[dataset]), CLASSES[dataset]


def paper_trainer(case: Case):
    """``(settings, compiled trainer, one real batch)`` of a Keras case, its precision policy set first."""
    import keras

    from training.devices import set_precision

    settings, image_shape, num_classes = paper_settings(case)
    keras.utils.set_random_seed(0)
    set_precision(settings.devices.policy)
    trainer = recipe_of(case).build_trainer(settings, image_shape, num_classes)  # 1,000 steps shape the schedule
    return settings, trainer, one_real_batch(settings, trainer.real_batch_group, image_shape, num_classes)


def images_per_step(settings, case: Case) -> int:
    """Real images one train_step (one generator iteration) consumes: a batch per critic update for a WGAN."""
    return settings.optimisation.batch_size * (settings.optimisation.n_critic if case.model == "wgan" else 1)


def one_real_batch(settings, group: int | None, image_shape, num_classes: int):
    """The first element of the training stream on random images: the shapes and layout fit() sees."""
    import numpy as np

    from data import training_dataset

    count = settings.optimisation.batch_size * (group or 1)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, *image_shape), dtype=np.uint8)
    labels = rng.integers(0, num_classes, count)
    stream = training_dataset(images, labels, num_classes, settings.optimisation.batch_size, seed=0, group=group)
    return next(iter(stream))


def iteration_flops(case: Case, trainer, settings) -> int:
    """FLOPs of one generator iteration of ``trainer``'s networks (bench/flops.py's convention)."""
    from bench.flops import dcgan_iteration_flops, wgan_gp_iteration_flops

    if case.model == "wgan":
        batch, n_critic = settings.optimisation.batch_size, settings.optimisation.n_critic
        return wgan_gp_iteration_flops(trainer.generator, trainer.critic, batch, n_critic)
    return dcgan_iteration_flops(trainer.generator, trainer.discriminator, settings.optimisation.batch_size)
