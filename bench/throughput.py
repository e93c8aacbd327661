#!/usr/bin/env python
"""Training throughput of the DC-GAN and WGAN-GP train steps, against the machine's measured peak.

Each case runs in a fresh Python process (its own precision policy, XLA
cache and memory) and goes through the real training path: the trainer
that ``train_dcgan.py`` / ``train_wgan_gp.py`` build from the paper's
defaults (their recipes' ``build_trainer(settings, image_shape, num_classes)``), compiled
with ``--jit`` on or off, the precision policy set before the networks
are built (as ``training/runner.py`` does), and ``trainer.fit`` on one
real batch from ``data.training_dataset`` (WGAN-GP: ``group=n_critic``)
repeated in memory. A first ``fit`` traces and warms up; a second one is
timed per iteration (one ``train_step`` = one generator update) with a
callback; the figure is the median.

FLOPs per iteration are counted from the layers' shapes (bench/flops.py:
2 x multiply-adds of Conv2D/Conv2DTranspose/Dense; forward 1, backprop to
the inputs 1 and to the weights 1 per pass; the gradient penalty 6):
  DC-GAN   4 F_G + 8 F_D
  WGAN-GP  (n_critic + 3) F_G + (12 n_critic + 2) F_D
with F_G, F_D one forward pass of the generator / discriminator over the
batch. Achieved GFLOP/s = counted FLOPs / median time; the peak is a
large float32 (and bfloat16) matmul and the best of several 3x3
convolutions of the networks' shapes, timed in the same run (best call).

The machine is shared: before every case the 1-minute load average is
printed and recorded, and a case waits (up to --wait seconds) for it to
fall below --max-load (0.35 per core by default, so a many-core host does
not wait for a quiet it never has). A case started above it is flagged in
the table. On a GPU, ``bench/gpu_report.py`` makes the figures.

Examples:
  python bench/throughput.py --quick --only dcgan-28
  python bench/throughput.py                   # every case, a few minutes each for WGAN-GP 64 px
  python bench/throughput.py --only peak,wgan-64,wgan-64-jit --json /tmp/throughput.json
  python bench/throughput.py --only wgan-64,wgan-64-torch
  python bench/throughput.py --only dcgan-64,dcgan-64-eigen,dcgan-64-torch --profile   # where the time goes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from base.choices import DEFAULT_CHANNELS

ROOT = Path(__file__).resolve().parents[1]

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


# --------------------------------------------------------------------------- settings of a case


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
    return settings, trainer, one_real_batch(settings, trainer.real_batches_per_step, image_shape, num_classes)


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
    from bench.flops import dcgan_iteration_flops, wgan_gp_iteration_flops

    if case.model == "wgan":
        batch, n_critic = settings.optimisation.batch_size, settings.optimisation.n_critic
        return wgan_gp_iteration_flops(trainer.generator, trainer.critic, batch, n_critic)
    return dcgan_iteration_flops(trainer.generator, trainer.discriminator, settings.optimisation.batch_size)


def iterations_to_time(seconds_per_iteration: float, minimum: int, min_seconds: float) -> int:
    return max(minimum, math.ceil(min_seconds / max(seconds_per_iteration, 1e-9)))


# --------------------------------------------------------------------------- workers (one per process)


def now() -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds over all its threads)."""
    return time.perf_counter(), time.process_time()


def intervals(marks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:], strict=False)]


def time_calls(one_iteration, args) -> tuple[float, list[tuple[float, float]]]:
    """Warm up (the first call traces), then time enough calls; ``(first call s, [(wall, cpu)])``."""
    marks = [now()]
    for _ in range(args.warmup):
        one_iteration()
        marks.append(now())
    warm = intervals(marks)
    steps = iterations_to_time(warm[-1][0], args.iterations, args.min_seconds)
    marks = [now()]
    for _ in range(steps):
        one_iteration()
        marks.append(now())
    return warm[0][0], intervals(marks)


def run_keras(case: Case, args) -> Result:
    """trainer.fit, as a training run drives it."""
    import keras
    import tensorflow as tf

    settings, trainer, batch = paper_trainer(case)
    data = tf.data.Dataset.from_tensors(batch).repeat()

    class IterationClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.marks = [now()]

        def on_train_batch_end(self, batch, logs=None):
            self.marks.append(now())

    clock = IterationClock()
    trainer.fit(data, epochs=1, steps_per_epoch=args.warmup, verbose=0, callbacks=[clock])  # traces
    warm = intervals(clock.marks)
    steps = iterations_to_time(warm[-1][0], args.iterations, args.min_seconds)
    trainer.fit(data, epochs=1, steps_per_epoch=steps + 1, verbose=0, callbacks=[clock])
    times = intervals(clock.marks[1:])  # from the end of the first step: fit's own set-up is not an iteration
    flops = iteration_flops(case, trainer, settings)
    result = timed_result(case, warm[0][0], times, images_per_step(settings, case), flops)
    result.first_iteration_cpu_s = warm[0][1]
    if args.profile:
        add_profile(result, "tensorflow", lambda steps: trainer.fit(data, epochs=1, steps_per_epoch=steps, verbose=0))
    return result


def run_plain(case: Case, args) -> Result:
    """The same trainer's train_step under a bare tf.function: what fit() itself costs, by difference."""
    import tensorflow as tf

    settings, trainer, batch = paper_trainer(case)
    step = tf.function(trainer.train_step, jit_compile=case.jit)
    one_iteration = lambda: float(step(batch)["g_loss"])  # noqa: E731 (float() waits for the step)
    first, times = time_calls(one_iteration, args)
    flops = iteration_flops(case, trainer, settings)
    result = timed_result(case, first, times, images_per_step(settings, case), flops)
    if args.profile:
        add_profile(result, "tensorflow", lambda steps: repeat(one_iteration, steps))
    return result


def run_torch(case: Case, args) -> Result:
    try:
        import torch  # noqa: F401
    except ImportError:
        return Result(case.name, os.getloadavg()[0], note="skipped: torch is not installed")
    from bench.torch_reference import build_iteration

    settings, image_shape, num_classes = paper_settings(case)
    one_iteration, flops = build_iteration(case, settings, image_shape, num_classes)
    first, times = time_calls(one_iteration, args)
    result = timed_result(case, first, times, images_per_step(settings, case), flops)
    if args.profile:
        add_profile(result, "torch", lambda steps: repeat(one_iteration, steps))
    return result


def add_profile(result: Result, framework: str, run_iterations) -> None:
    """Profile about two seconds' worth of ``run_iterations(n)`` (at least one) into ``result.op_ms``."""
    from bench.step_profile import profile_tensorflow, profile_torch

    steps = max(1, round(2000.0 / result.ms_per_iteration))
    profile = profile_tensorflow if framework == "tensorflow" else profile_torch
    result.op_ms = profile(lambda: run_iterations(steps), steps)


def repeat(call, times: int) -> None:
    for _ in range(times):
        call()


# 3x3 "same" convolutions of the shapes the networks run (batch, pixels, channels in = out).
CONV_PROBES = ((32, 64, 128), (64, 28, 128), (64, 32, 128), (32, 32, 256), (64, 16, 256), (32, 16, 512))


def run_peak(case: Case, args) -> Result:
    """GFLOP/s of a large matmul and of 3x3 convolutions of the networks' shapes, float32 and bfloat16.

    A single convolution shape understates what the machine does: oneDNN's
    kernels run some shapes faster than others, so the convolution peak
    ("conv3x3 <dtype>") is the best of ``CONV_PROBES``, each shown too.
    """
    import tensorflow as tf

    size, probes = (2048, CONV_PROBES[:2]) if args.quick else (4096, CONV_PROBES)
    result = Result(case.name, 0.0)
    for dtype in (tf.float32, tf.bfloat16):
        a = tf.cast(tf.random.normal((size, size)), dtype)
        matmul = tf.function(lambda x: tf.matmul(x, x))
        kernels = {f"matmul {dtype.name}": (lambda a=a, f=matmul: waited(f(a)), 2 * size**3)}
        conv = tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
        for batch, pixels, channels in probes:
            x = tf.cast(tf.random.normal((batch, pixels, pixels, channels)), dtype)
            w = tf.cast(tf.random.normal((3, 3, channels, channels)) * 0.05, dtype)
            kernels[f"conv3x3 {batch}x{pixels}x{pixels}x{channels} {dtype.name}"] = (
                lambda x=x, w=w, f=conv: waited(f(x, w)),
                2 * batch * pixels * pixels * channels * channels * 9,
            )
        for name, (call, flops) in kernels.items():
            wall, cpu = _kernel_seconds(call, args)
            result.peaks[name] = flops / wall / 1e9
            result.cpu_peaks[name] = flops / cpu / 1e9
        convs = [name for name in kernels if name.startswith("conv3x3")]
        result.peaks[f"conv3x3 {dtype.name}"] = max(result.peaks[name] for name in convs)
        result.cpu_peaks[f"conv3x3 {dtype.name}"] = max(result.cpu_peaks[name] for name in convs)
    result.note = f"matmul {size}x{size}x{size}; conv3x3: the best of the shapes batch x H x W x channels above"
    return result


def waited(result) -> None:
    """Wait for a kernel by reading one element of its result: no copy of the whole result to the host."""
    float(result[(0,) * len(result.shape)])


def _kernel_seconds(call, args) -> tuple[float, float]:
    """Best wall and CPU seconds of a kernel over at least 5 calls and (quick: 1, else 5) seconds.

    The best, not the median: other work on the machine only ever slows a kernel down, and a
    higher peak makes every "fraction of peak" below conservative.
    """
    call()
    call()
    marks = [now()]
    while len(marks) < 6 or marks[-1][0] - marks[0][0] < (1.0 if args.quick else 5.0):
        call()
        marks.append(now())
    times = intervals(marks)
    return min(t[0] for t in times), min(t[1] for t in times)


def timed_result(case: Case, first: float, times: list[tuple[float, float]], images: int, flops: int) -> Result:
    ms = [1000.0 * wall for wall, _ in times]
    return Result(
        case.name,
        0.0,
        iterations=len(ms),
        ms_per_iteration=statistics.median(ms),
        ms_spread=(min(ms), max(ms)),
        cpu_ms_per_iteration=statistics.median(1000.0 * cpu for _, cpu in times),
        first_iteration_s=first,
        images_per_iteration=images,
        gflop_per_iteration=flops / 1e9,
    )


WORKERS = {"keras": run_keras, "plain": run_plain, "torch": run_torch, "peak": run_peak}


def worker_main(args) -> None:
    """Runs one case in this process and prints its Result as the last line of stdout (JSON)."""
    case = CASES[args.worker]
    if not case.grappler:
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    result = WORKERS[case.kind](case, args)
    print("RESULT " + json.dumps(asdict(result)), flush=True)


# --------------------------------------------------------------------------- the driver


def wait_for_quiet(max_load: float, wait: float) -> float:
    """Sleep until the 1-minute load average is below ``max_load`` (at most ``wait`` seconds); return it."""
    deadline = time.monotonic() + wait
    load = os.getloadavg()[0]
    while load >= max_load and time.monotonic() < deadline:
        print(f"  load {load:.2f} >= {max_load}: waiting", flush=True)
        time.sleep(15)
        load = os.getloadavg()[0]
    return load


def run_case(case: Case, args) -> Result:
    load = wait_for_quiet(args.max_load, args.wait)
    print(f"[{case.name}] load average before: {load:.2f}", flush=True)
    command = [sys.executable, __file__, "--worker", case.name, *worker_flags(args)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    # oneDNN's kernels, which the training scripts ask for (training/cli.py), unless the case is about Eigen's
    env["TF_ENABLE_ONEDNN_OPTS"] = "1" if case.onednn else "0"
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        result = Result(case.name, load, note=f"not done within {args.timeout:.0f} s (tracing/compilation included)")
        print(f"[{case.name}] {result.note}", flush=True)
        return result
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return Result(case.name, load, note="failed: " + " | ".join(tail))
    result = Result(**{**json.loads(lines[-1][len("RESULT ") :]), "load_before": load})
    result.ms_spread = tuple(result.ms_spread)
    if load >= args.max_load:
        result.note = (result.note + f"; started at load {load:.2f}").lstrip("; ")
    print(f"[{case.name}] {describe(result)}", flush=True)
    if result.op_ms:
        from bench.step_profile import describe as describe_profile

        print(f"[{case.name}] op time per iteration by op type:\n{describe_profile(result.op_ms)}", flush=True)
    return result


def worker_flags(args) -> list[str]:
    flags = ["--warmup", str(args.warmup), "--iterations", str(args.iterations)]
    flags += ["--min-seconds", str(args.min_seconds)]
    return flags + (["--quick"] if args.quick else []) + (["--profile"] if args.profile else [])


def describe(result: Result) -> str:
    if result.peaks:
        cpu = result.cpu_peaks
        return ", ".join(f"{name} {gf:.1f} GFLOP/s ({cpu[name]:.1f} per CPU-s)" for name, gf in result.peaks.items())
    if not result.iterations:
        return result.note
    return (
        f"{result.ms_per_iteration:.1f} ms/iteration (median of {result.iterations}; CPU "
        f"{result.cpu_ms_per_iteration:.0f} ms), {result.images_per_second:.1f} images/s, "
        f"{result.gflops:.1f} GFLOP/s, first iteration {result.first_iteration_s:.1f} s "
        f"(CPU {result.first_iteration_cpu_s:.1f} s)"
    )


HEADER = (
    "| case | network | px | batch | precision | jit | path | load | ms / iteration (min-max) | images / s "
    "| GFLOP / iteration | GFLOP/s | of f32 conv peak | GFLOP / CPU-s | of f32 conv peak per CPU-s "
    "| first iteration s |"
)


def percent(value: float, peak: float | None) -> str:
    return f"{100 * value / peak:.0f}%" if peak else "-"


def best_peaks(results: list[Result]) -> tuple[dict, dict]:
    """Each kernel's best GFLOP/s (and per CPU-s) over every peak measurement among the results."""
    wall, cpu = {}, {}
    for result in results:
        for name, value in result.peaks.items():
            wall[name] = max(wall.get(name, 0.0), value)
            cpu[name] = max(cpu.get(name, 0.0), result.cpu_peaks[name])
    return wall, cpu


def table(results: list[Result]) -> str:
    wall, cpu = best_peaks(results)
    conv_peak, conv_cpu_peak = wall.get("conv3x3 float32"), cpu.get("conv3x3 float32")
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for result in results:
        case = CASES[result.case]
        if case.kind == "peak":
            continue
        settings, _, _ = paper_settings(case)
        network = {"dcgan": "DC-GAN", "wgan": "WGAN-GP"}[case.model]
        path = {"keras": "trainer.fit", "plain": "tf.function(train_step)", "torch": "PyTorch"}[case.kind]
        path += "" if case.onednn or case.kind == "torch" else " (Eigen kernels)"
        jit = "-" if case.kind == "torch" else ("on" if case.jit else "off")
        row = [case.name, network, str(case.size), str(settings.optimisation.batch_size), case.precision, jit, path]
        row.append(f"{result.load_before:.2f}")
        if result.iterations:
            gflop = result.gflop_per_iteration
            row += [
                f"{result.ms_per_iteration:.0f} ({result.ms_spread[0]:.0f}-{result.ms_spread[1]:.0f})",
                f"{result.images_per_second:.1f}",
                f"{gflop:.2f}" if gflop < 10 else f"{gflop:.0f}",
                f"{result.gflops:.1f}",
                percent(result.gflops, conv_peak),
                f"{result.gflop_per_cpu_second:.1f}",
                percent(result.gflop_per_cpu_second, conv_cpu_peak),
                f"{result.first_iteration_s:.1f}",
            ]
        else:
            row += ["-"] * 8
        lines.append("| " + " | ".join(row) + " |" + (f" {result.note}" if result.note else ""))
    return "\n".join(lines)


def peak_table(results: list[Result]) -> str:
    peaks = [r for r in results if r.peaks]
    if not peaks:
        return ""
    wall, cpu = best_peaks(results)
    loads = ", ".join(f"{r.load_before:.2f}" for r in peaks)
    lines = ["| kernel | GFLOP/s | GFLOP / CPU-s |", "|---|---|---|"]
    lines += [f"| {name} | {value:.1f} | {cpu[name]:.1f} |" for name, value in wall.items()]
    summary = f"best of {len(peaks)} measurement(s), load average before: {loads}"
    return "\n".join(lines) + f"\n\n({peaks[0].note}; {summary})"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only",
        help="comma-separated cases (default: all but " + ", ".join(EXTRA_CASES) + "): " + ", ".join(CASES),
    )
    parser.add_argument("--quick", action="store_true", help="few iterations and small peak kernels (development)")
    parser.add_argument("--warmup", type=int, help="untimed iterations first, tracing included (default: 2)")
    parser.add_argument("--iterations", type=int, help="at least this many timed iterations (default: 3; quick 2)")
    parser.add_argument("--min-seconds", type=float, help="and at least this long timed (default: 20; quick 1)")
    parser.add_argument(
        "--max-load",
        type=float,
        default=0.35 * (os.cpu_count() or 2),
        help="wait for a 1-minute load below this (default: 0.35 per core)",
    )
    parser.add_argument("--wait", type=float, help="seconds to wait for it per case (default: 600; quick 0)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one case may take (default: 1800)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after timing, profile about two seconds of iterations and print op time by op type "
        "(TensorFlow's profiler; PyTorch's for the torch cases)",
    )
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--render", nargs="+", metavar="JSON", help="print the tables of earlier --json files, merged")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = {"warmup": 2, "iterations": 2 if args.quick else 3, "min_seconds": 1.0 if args.quick else 20.0}
    defaults["wait"] = 0.0 if args.quick else 600.0
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.only:
        unknown = [name for name in args.only.split(",") if name not in CASES]
        if unknown:
            parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
        return 0
    if args.render:
        results = [Result(**r) for path in args.render for r in json.loads(Path(path).read_text())]
        print(peak_table(results) + "\n\n" + table(results))
        return 0
    names = args.only.split(",") if args.only else [name for name in CASES if name not in EXTRA_CASES]
    if not args.only:
        names.append("peak")  # again at the end: the table takes each kernel's best
    results = [run_case(CASES[name], args) for name in names]
    print()
    if any(r.peaks for r in results):
        print(peak_table(results) + "\n")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0 if all(r.iterations or r.peaks or r.note.startswith("skipped") for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
