#!/usr/bin/env python
"""What a host sync per step costs: the divergence check before and after it moved to the device, in one run.

Before, ``DivergenceGuard`` turned every logged value into a Python float
after every batch, so each step waited for the device before the next was
queued; now the trainer notes a non-finite value on the device and the guard
reads that note every 50 steps (``models.trainers.base.DivergenceWatch``).
Keras's ``steps_per_execution`` then runs several steps per call into
TensorFlow without returning to Python.

One trainer (the paper's DC-GAN by default: the shortest step, where the
host's share is largest) is timed through ``fit`` in interleaved rounds, so
that a busy machine's drift falls on every variant alike:

- ``per-step read``: the guard as it was (a host read of every value, every step);
- ``device watch``: the guard now, one step per call;
- ``device watch, N per call``: the guard now, N steps per call.

On a CPU the step runs where the host does, so the gain is only Python's
and the read's share; on a GPU the read also drains the device's queue.

  python bench/host_sync.py                         # DC-GAN, 28 px (MNIST), batch 64
  python bench/host_sync.py --size 64 --model wgan  # the WGAN-GP at 64 px
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def per_step_read_guard():
    """DivergenceGuard as it was before the device watch: every logged value read after every batch."""
    import keras

    from base.errors import TrainingDiverged

    class PerStepRead(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            for name, value in (logs or {}).items():
                if not np.isfinite(float(np.asarray(value))):
                    raise TrainingDiverged(f"{name} became {value} at step {batch + 1}")

    return PerStepRead()


def seconds_per_step(trainer, data, callback, per_call: int, steps: int) -> tuple[float, float]:
    """(wall, process CPU) seconds per step of one ``fit`` of ``steps`` steps, ``per_call`` to a call."""
    if trainer.steps_per_execution != per_call:
        trainer.steps_per_execution = per_call
        trainer.train_function = None  # Keras builds it again for the new count
        trainer.fit(data, epochs=1, steps_per_epoch=per_call, verbose=0, callbacks=[callback])  # traces
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[callback])
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("dcgan", "wgan"), default="dcgan")
    parser.add_argument("--size", type=int, choices=(28, 32, 64), default=28)
    parser.add_argument("--steps", type=int, default=48, help="steps per timed fit (default: 48)")
    parser.add_argument("--per-call", type=int, default=8, help="steps per execution of the last variant")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from base.terminal import start_tensorflow_quietly

    start_tensorflow_quietly()
    import tensorflow as tf

    from bench.throughput_cases import CASES, one_real_batch, paper_trainer
    from training.callbacks import DivergenceGuard

    name = f"{args.model}-{args.size}"
    settings, trainer, _ = paper_trainer(CASES[name])
    shape = (args.size, args.size, 1 if args.size == 28 else 3)
    batch = one_real_batch(settings, trainer.real_batch_group, shape, 10 if args.size < 64 else 9)
    data = tf.data.Dataset.from_tensors(batch).repeat()
    variants = {
        "per-step read": (per_step_read_guard(), 1),
        "device watch": (DivergenceGuard(), 1),
        f"device watch, {args.per_call} per call": (DivergenceGuard(), args.per_call),
    }
    for callback, per_call in variants.values():  # trace every variant once before timing
        seconds_per_step(trainer, data, callback, per_call, per_call)
    times = {variant: [] for variant in variants}
    for round_number in range(args.rounds):
        for variant, (callback, per_call) in variants.items():
            wall, cpu = seconds_per_step(trainer, data, callback, per_call, args.steps)
            times[variant].append((1000 * wall, 1000 * cpu))
        said = ", ".join(f"{v} {t[-1][0]:.1f} ms (CPU {t[-1][1]:.1f})" for v, t in times.items())
        print(f"round {round_number + 1}: {said}", flush=True)
    before = statistics.median(wall for wall, _ in times["per-step read"])
    print(f"\n{name}, batch {settings.optimisation.batch_size}, {args.steps} steps per fit, {args.rounds} rounds")
    print("| variant | ms / step, per round | median | process CPU ms / step, median | against the per-step read |")
    print("|---|---|---:|---:|---:|")
    for variant, values in times.items():
        median = statistics.median(wall for wall, _ in values)
        cpu = statistics.median(cpu for _, cpu in values)
        rounds = " / ".join(f"{wall:.1f}" for wall, _ in values)
        print(f"| {variant} | {rounds} | {median:.1f} | {cpu:.1f} | {before / median:.3f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
