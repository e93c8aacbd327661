#!/usr/bin/env python
"""What the training steps do on your GPU: the one command that makes this project's GPU figures.

Prints the device (name, memory, compute capability, driver, the CUDA and
cuDNN TensorFlow was built for), the GPU's matmul and convolution peaks,
then for the conditional DC-GAN and WGAN-GP at the paper's WikiArt settings
(64 px, batch 32, n_critic 5, the WGAN-GP at 128 filters) in float32,
bfloat16 and float16, each with XLA off and on:

- the first step (tracing, and XLA's compile when it is on), in seconds;
- the step (one generator iteration) in milliseconds: the mean of the timed
  steps, from the first step's start to the device's last op (``fit`` waits
  for the device at an epoch's end; nothing is copied to the host between
  steps), so queued work is counted and nothing else; as the training
  scripts run it, several steps per call into TensorFlow on a GPU;
- images per second and an epoch of the paper's ~66,000 paintings in
  minutes, beside the paper's 15 minutes on an RTX 2080;
- the GPU memory the training steps peaked at (TensorFlow's allocator).

Each case runs in a fresh process (its own precision policy, XLA cache and
memory statistics) through the trainer the training scripts build. Nothing
waits for a quiet machine: a GPU's step hardly depends on the host's load,
which is printed once for the record. Paste the table into BENCHMARKS.md
with the command, the machine and the date.

Without a GPU it says so (and why, where a driver is present) and stops;
``--cpu`` runs the same cases on the CPU instead, which is slow at the
paper's sizes and meant for checking the report itself:

  python bench/gpu_report.py                                  # every case on GPU 0
  python bench/gpu_report.py --only wgan --json gpu.json      # the WGAN-GP's six cases
  python bench/gpu_report.py --cpu --image-size 16 --filters 8 --batch 4 --steps 2 --only dcgan-float32
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER_PAINTINGS = 66_000  # the paper's WikiArt: about 66,000 works
PAPER_EPOCH_MINUTES = 15.0  # the paper's epoch on an RTX 2080
MODELS = {"dcgan": "DC-GAN", "wgan": "WGAN-GP"}
PRECISIONS = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Case:
    model: str  # "dcgan" | "wgan"
    precision: str  # float32 | bfloat16 | float16
    jit: bool

    @property
    def name(self) -> str:
        return f"{self.model}-{self.precision}" + ("-xla" if self.jit else "")


CASES = [Case(model, precision, jit) for model in MODELS for precision in PRECISIONS for jit in (False, True)]


@dataclass
class Result:
    case: str
    steps: int = 0
    ms_per_step: float = float("nan")
    first_step_s: float = float("nan")
    images_per_step: int = 0
    steps_per_call: int = 1
    peak_memory_mib: float | None = None
    note: str = ""

    @property
    def images_per_second(self) -> float:
        return 1000.0 * self.images_per_step / self.ms_per_step

    @property
    def epoch_minutes(self) -> float:
        return PAPER_PAINTINGS / self.images_per_second / 60.0


# --------------------------------------------------------------------------- the device


def device_lines() -> list[str]:
    """The GPUs (or why there is none), the driver, and what TensorFlow was built for."""
    import tensorflow as tf

    from base.gpus import nvidia_driver, visible_gpus, why_no_gpu

    build = dict(tf.sysconfig.get_build_info())
    built = f"TensorFlow {tf.__version__}, built for CUDA {build.get('cuda_version', '-')}, cuDNN "
    built += f"{build.get('cudnn_version', '-')}; driver {nvidia_driver() or 'none'}"
    gpus = visible_gpus()
    if not gpus:
        return [f"no GPU found: {why_no_gpu() or 'no NVIDIA driver on this machine'}", built]
    return [str(gpu) for gpu in gpus] + [built]


# --------------------------------------------------------------------------- a case, in its own process


def case_settings(case: Case, args):
    """The recipe's settings as ``train_*.py --dataset wikiart`` resolves them, with the case's devices."""
    from training.recipes import dcgan, wgan_gp

    recipe = wgan_gp.RECIPE if case.model == "wgan" else dcgan.RECIPE
    given = {"seed": 0, "jit": case.jit, "image_size": args.image_size, "batch_size": args.batch}
    given["mixed_precision"] = None if case.precision == "float32" else case.precision
    if case.model == "wgan":
        given["filters"] = args.filters
    return recipe, recipe.settings("wikiart", **given)


def run_case(case: Case, args) -> Result:
    import keras
    import tensorflow as tf

    from bench.throughput_cases import one_real_batch
    from training.devices import set_precision, steps_per_execution

    recipe, settings = case_settings(case, args)
    shape, classes = (args.image_size, args.image_size, 3), 9
    keras.utils.set_random_seed(0)
    set_precision(settings.devices.policy)
    trainer = recipe.build_trainer(settings, shape, classes)
    batch = one_real_batch(settings, trainer.real_batch_group, shape, classes)
    data = tf.data.Dataset.from_tensors(batch).repeat()
    per_call = trainer.steps_per_execution = steps_per_execution(None, math.gcd(args.steps, args.warmup), None, 0)
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    if on_gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    first_call = timed_fit(trainer, data, per_call)  # tracing, XLA's compile, the first call's steps
    timed_fit(trainer, data, args.warmup)  # cuDNN's autotuning settles
    step = timed_fit(trainer, data, args.steps) / args.steps
    peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20 if on_gpu else None
    images = settings.optimisation.batch_size * trainer.real_batches_per_step
    first = first_call - (per_call - 1) * step  # the first step: the call's other steps took a step each
    return Result(case.name, args.steps, 1000.0 * step, first, images, per_call, peak)


def timed_fit(trainer, data, steps: int) -> float:
    """Seconds ``fit`` takes for ``steps`` steps, up to the device's last op (an epoch ends with a wait for it)."""
    import keras

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    clock = Clock()
    if steps:
        trainer.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock])
    return getattr(clock, "seconds", 0.0)


def run_peak(args) -> dict[str, float]:
    """TFLOP/s of a large matmul and of the critic's widest 3x3 convolution, per precision, best of several calls.

    Each call is timed to a one-element read of its result, so a GPU's queue is
    drained without copying the result to the host.
    """
    import tensorflow as tf

    size, (batch, pixels, channels) = (1024, (4, 16, 8)) if args.quick else (8192, (32, 64, 128))
    peaks = {}
    for dtype in (tf.float32, tf.bfloat16, tf.float16):
        a = tf.cast(tf.random.normal((size, size)), dtype)
        x = tf.cast(tf.random.normal((batch, pixels, pixels, channels)), dtype)
        w = tf.cast(tf.random.normal((3, 3, channels, channels)) * 0.05, dtype)
        kernels = {
            f"matmul {dtype.name}": (tf.function(lambda a=a: tf.matmul(a, a)), 2 * size**3),
            f"conv3x3 {dtype.name}": (
                tf.function(lambda x=x, w=w: tf.nn.conv2d(x, w, 1, "SAME")),
                2 * batch * pixels * pixels * channels * channels * 9,
            ),
        }
        for name, (call, flops) in kernels.items():
            peaks[name] = flops / best_seconds(call) / 1e12
    return peaks


def best_seconds(call, calls: int = 10) -> float:
    """The fastest of ``calls`` calls after two warm-ups, each waited for by reading one element of its result."""

    from bench.timing import waited

    def once():
        start = time.perf_counter()
        waited(call())
        return time.perf_counter() - start

    once(), once()
    return min(once() for _ in range(calls))


def worker(args) -> None:
    from base.terminal import start_tensorflow_quietly

    start_tensorflow_quietly()
    if args.worker == "peak":
        print("RESULT " + json.dumps(run_peak(args)), flush=True)
        return
    case = next(case for case in CASES if case.name == args.worker)
    print("RESULT " + json.dumps(asdict(run_case(case, args))), flush=True)


# --------------------------------------------------------------------------- the driver


def in_a_process(name: str, args) -> tuple[dict | None, str]:
    """Run ``--worker name`` in a fresh process; its RESULT line, or None and why."""
    flags = ["--image-size", str(args.image_size), "--filters", str(args.filters), "--batch", str(args.batch)]
    flags += ["--steps", str(args.steps), "--warmup", str(args.warmup)] + (["--quick"] if args.quick else [])
    command = [sys.executable, __file__, "--worker", name, *flags]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as the training scripts run on a CPU (training/cli.py)
    if args.cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    try:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return None, f"not done within {args.timeout:.0f} s"
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return None, "failed: " + " | ".join(tail)
    return json.loads(lines[-1][len("RESULT ") :]), ""


def chosen(only: str | None) -> list[Case]:
    """The cases named (exactly), or else those whose names contain one of the words; every case without ``only``."""
    if not only:
        return list(CASES)
    words = only.split(",")
    exact = [case for case in CASES if case.name in words]
    return exact or [case for case in CASES if any(word in case.name for word in words)]


def table(results: list[Result]) -> str:
    header = (
        "| model | precision | XLA | first step s | ms / step | steps per call | images / s "
        "| epoch of 66,000 paintings, min | of the paper's 15 min | GPU memory peak, MiB |"
    )
    lines = [header, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        case = next(case for case in CASES if case.name == result.case)
        row = [MODELS[case.model], case.precision, "on" if case.jit else "off"]
        if result.steps:
            memory = f"{result.peak_memory_mib:.0f}" if result.peak_memory_mib is not None else "-"
            share = result.epoch_minutes / PAPER_EPOCH_MINUTES
            timing = [f"{result.first_step_s:.1f}", f"{result.ms_per_step:.1f}", str(result.steps_per_call)]
            row += [*timing, f"{result.images_per_second:.1f}", f"{result.epoch_minutes:.1f}", f"{share:.2f}x", memory]
        else:  # why it has no figures, in the first step's cell: a Markdown row keeps its columns
            row += [result.note or "-"] + ["-"] * 6
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated case names (e.g. wgan-float16-xla), or words the names "
                        "contain (wgan, float16, xla); default: all twelve")  # fmt: skip
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (no GPU is used even if present)")
    parser.add_argument("--image-size", type=int, default=64, help="(default: 64, the paper's WikiArt)")
    parser.add_argument("--filters", type=int, default=128, help="the WGAN-GP's width (default: 128, the paper's)")
    parser.add_argument("--batch", type=int, default=32, help="(default: 32, the paper's WikiArt batch)")
    parser.add_argument("--steps", type=int, default=48, help="timed steps per case (default: 48)")
    parser.add_argument("--warmup", type=int, default=8, help="untimed steps after the first call (default: 8)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one case may take (default: 3600)")
    parser.add_argument("--quick", action="store_true", help="small peak kernels (checking the report)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    from base.terminal import start_tensorflow_quietly

    start_tensorflow_quietly()
    import tensorflow as tf

    lines = device_lines()
    print("\n".join(lines))
    if not tf.config.list_physical_devices("GPU") and not args.cpu:
        print("the report measures GPUs; --cpu runs its cases on this CPU instead (slowly at the paper's sizes)")
        return 1
    print(f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"{args.image_size} px, batch {args.batch}, WGAN-GP {args.filters} filters", flush=True)  # fmt: skip
    peaks, why = in_a_process("peak", args)
    print("peak: " + (", ".join(f"{name} {value:.3g} TFLOP/s" for name, value in peaks.items()) if peaks else why))
    results = []
    for case in chosen(args.only):
        found, why = in_a_process(case.name, args)
        results.append(Result(**found) if found else Result(case.name, note=why))
        print(f"[{case.name}] " + (f"{results[-1].ms_per_step:.1f} ms/step" if found else why), flush=True)
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"device": lines, "peaks": peaks, "cases": [asdict(r) for r in results]},
                                              indent=2) + "\n")  # fmt: skip
    return 0 if all(result.steps for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
