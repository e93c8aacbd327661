"""One throughput case, measured in this process: ``trainer.fit``, a bare ``tf.function(train_step)``, the
PyTorch twin, or the machine's peak kernels; then, with ``--profile``, where the time of an iteration goes.

``python bench/throughput.py --worker NAME`` runs ``worker_main`` in a fresh
process per case (its own precision policy, XLA cache and memory), which
prints the case's ``Result`` as its last line of stdout (``RESULT <json>``).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
from dataclasses import asdict

from bench.throughput_cases import (
    CASES,
    Case,
    Result,
    images_per_step,
    iteration_flops,
    paper_settings,
    paper_trainer,
)
from bench.timing import best_kernel_seconds, intervals, iterations_to_time, now, time_calls, waited

# 3x3 "same" convolutions of the shapes the networks run (batch, pixels, channels in = out).
CONV_PROBES = ((32, 64, 128), (64, 28, 128), (64, 32, 128), (32, 32, 256), (64, 16, 256), (32, 16, 512))


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

    from models.remapper import remapper_off

    settings, trainer, batch = paper_trainer(case)
    step = tf.function(trainer.train_step, jit_compile=case.jit)
    # as fit() runs it: the DC-GAN's step without the remapper (models/remapper.py), the WGAN-GP's with it
    optimised_as_in_fit = remapper_off if case.model != "wgan" else contextlib.nullcontext

    def one_iteration():
        with optimised_as_in_fit():
            return float(step(batch)["g_loss"])  # float() waits for the step

    first, times = time_calls(one_iteration, args.warmup, args.iterations, args.min_seconds)
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
    first, times = time_calls(one_iteration, args.warmup, args.iterations, args.min_seconds)
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
            wall, cpu = best_kernel_seconds(call, 1.0 if args.quick else 5.0)
            result.peaks[name] = flops / wall / 1e9
            result.cpu_peaks[name] = flops / cpu / 1e9
        convs = [name for name in kernels if name.startswith("conv3x3")]
        result.peaks[f"conv3x3 {dtype.name}"] = max(result.peaks[name] for name in convs)
        result.cpu_peaks[f"conv3x3 {dtype.name}"] = max(result.cpu_peaks[name] for name in convs)
    result.note = f"matmul {size}x{size}x{size}; conv3x3: the best of the shapes batch x H x W x channels above"
    return result


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
    """Runs the case ``args.worker`` in this process and prints its Result as the last line of stdout (JSON).

    TensorFlow starts as the training scripts start it (``base.terminal``): its
    start-up notices stay out of the stderr a failed case is reported with.
    """
    from base.terminal import start_tensorflow_quietly

    case = CASES[args.worker]
    start_tensorflow_quietly()
    if not case.grappler:
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    result = WORKERS[case.kind](case, args)
    print("RESULT " + json.dumps(asdict(result)), flush=True)
