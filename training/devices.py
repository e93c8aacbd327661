"""Where and how fast training runs: tf.distribute strategies, mixed precision, XLA, steps per execution.

Decided once, before any model exists: the strategy's scope must hold every
variable, and the precision policy applies to layers built after it is set.
The start-up line (:func:`describe`) names the devices, the precision, XLA
and the steps per execution as they were resolved.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import keras
import tensorflow as tf

from base.choices import PRECISION_POLICIES, STRATEGIES
from base.errors import UserError
from base.gpus import GPU, cpu_name, visible_gpus, why_no_gpu

log = logging.getLogger("artgan")


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``default``: one device; ``mirrored``: every local GPU; ``multiworker``: the machines in TF_CONFIG."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise UserError("--strategy multiworker needs the TF_CONFIG environment variable (see README)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UserError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """The one process that writes the run directory: the chief, else worker 0, else the only process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def check_batch_split(batch_size: int, strategy: tf.distribute.Strategy) -> int:
    """The global batch must split evenly; returns the per-replica batch."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise UserError(f"--batch-size {batch_size} does not split evenly over {replicas} replicas")
    return batch_size // replicas


def set_precision(policy: str) -> None:
    """float32, or mixed precision: bfloat16/float16 compute with float32 variables.

    Critic scores, class logits, the generator's tanh output, every loss, the
    softmax and the gradient penalty's norm stay in float32 (the networks'
    heads are float32 layers and the loss functions cast their inputs).
    """
    if policy not in PRECISION_POLICIES:
        raise UserError(f"unknown precision {policy!r}; choose one of {', '.join(PRECISION_POLICIES)}")
    keras.mixed_precision.set_global_policy(policy)
    gpus = visible_gpus()
    advice = precision_advice(policy, gpus, cpu_computes_bfloat16(), gpu_unused=not gpus and why_no_gpu() is not None)
    if advice:
        log.warning(advice)


def precision_advice(policy: str, gpus: list[GPU], cpu_bfloat16: bool | None, gpu_unused: bool) -> str | None:
    """One warning where the precision asked for is a slow path on the devices at hand; None where it is fine.

    On a GPU: bfloat16 has tensor cores from Ampere (compute capability 8.0),
    float16 from Volta (7.0); the paper's RTX 2080 (7.5) has float16's only.
    On a CPU: float16 is emulated; bfloat16 is too without AVX512-BF16 or AMX.
    On a machine whose GPU TensorFlow does not see, the advice is the
    install's (``base.gpus``), not to leave mixed precision out.
    """
    if policy == "float32":
        return None
    kind = policy.removeprefix("mixed_")
    if gpus:
        fast = {
            "bfloat16": ("has_bfloat16_tensor_cores", "Ampere, 8.0"),
            "float16": ("has_float16_tensor_cores", "Volta, 7.0"),
        }
        attribute, since = fast[kind]
        slow = [gpu for gpu in gpus if gpu.compute_capability and not getattr(gpu, attribute)]
        if not slow:
            return None
        capability = "{}.{}".format(*slow[0].compute_capability)
        better = (
            "--mixed-precision float16 is its fast path" if slow[0].has_float16_tensor_cores else "float32 is as fast"
        )
        gpu = f"{slow[0].name} (compute capability {capability})"
        return f"{gpu} has no {kind} tensor cores ({since}, and later do): {better}"
    if gpu_unused:
        return f"--mixed-precision {kind} runs on the CPU because TensorFlow sees no GPU (the warning above says why)"
    if kind == "float16":
        return (
            "float16 on a CPU is emulated and slower than float32: it is for GPUs; on a CPU with AVX512-BF16 or AMX, "
            "--mixed-precision bfloat16 is the fast path (BENCHMARKS.md)"
        )
    if cpu_bfloat16 is False:
        return (
            "bfloat16 on a CPU without bfloat16 instructions (AVX512-BF16 or AMX) is emulated, many times slower "
            'than float32 (BENCHMARKS.md, "Throughput on an AVX2 CPU"); leave out --mixed-precision'
        )
    return None


BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_computes_bfloat16(cpuinfo: str | None = None) -> bool | None:
    """Whether the CPU has bfloat16 arithmetic, from the flags of /proc/cpuinfo; None where they are unknown.

    Without it bfloat16 arithmetic is emulated, so mixed precision costs time
    instead of saving it (BENCHMARKS.md, "Throughput on an AVX2 CPU").
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    lines = [line.partition(":")[2] for line in cpuinfo.splitlines() if line.startswith("flags")]
    flags = {flag for line in lines for flag in line.split()}
    return any(flag in flags for flag in BFLOAT16_CPU_FLAGS) if flags else None


STRATEGY_NAMES = {"default": "one device", "mirrored": "MirroredStrategy", "multiworker": "MultiWorkerMirroredStrategy"}


def resolve_jit(jit, on_one_gpu: bool, strategy: str) -> bool:
    """XLA on or off: ``--jit``/``--no-jit`` as given; by default, the recipe's measured choice on one GPU, else off.

    ``on_one_gpu`` is the recipe's ``xla_on_one_gpu`` (README, "XLA"). On the
    CPU XLA stays off (its compile of the paper's steps is slow and its
    steps are no faster; BENCHMARKS.md), and under tf.distribute too (as in
    Keras; ``--jit`` with a strategy is refused, ``training.recipes.check_devices``).
    """
    if jit != "auto":
        return bool(jit)
    return on_one_gpu and strategy == "default" and bool(tf.config.list_physical_devices("GPU"))


AUTO_STEPS_PER_EXECUTION = 8  # on a GPU: steps run back to back in one call, the host checked in between


def steps_per_execution(
    given: int | None, steps_per_epoch: int, checkpoint_every: int | None, skip: int, strategy: str = "default"
) -> int:
    """Train steps per call into TensorFlow: ``given``, or by default 1 on the CPU and up to 8 on one GPU.

    Keras runs a call's steps without returning to Python (no callback, no
    progress bar between them), which spares a GPU the host's turn after
    every step; on the CPU a step takes long enough that it gains little
    (BENCHMARKS.md). Keras runs whole calls only, so the count must divide
    the steps of an epoch, the steps between ``--checkpoint-every``
    checkpoints and the steps a resumed epoch skips; otherwise a call would
    run into the next epoch. Over several replicas Keras 3.15 cannot run more
    than one step per call (``training.recipes.check_devices`` refuses it).
    """
    divisible = math.gcd(steps_per_epoch, checkpoint_every or 0, skip)
    if given:
        if divisible % given:
            largest = max(d for d in range(1, given + 1) if divisible % d == 0)
            bounds = f"the {steps_per_epoch} steps of an epoch"
            bounds += f", --checkpoint-every {checkpoint_every}" if checkpoint_every else ""
            bounds += f" and the {skip} steps the resumed epoch skips" if skip else ""
            raise UserError(f"--steps-per-execution {given} must divide {bounds}; {largest} does")
        return given
    if strategy != "default" or not tf.config.list_physical_devices("GPU"):
        return 1
    return max(d for d in range(1, AUTO_STEPS_PER_EXECUTION + 1) if divisible % d == 0)


def device_names(name: str) -> str:
    """The devices a strategy of that name trains on, as a person names them."""
    gpus = visible_gpus()
    if not gpus:
        return f"the CPU ({cpu_name()})"
    if name == "default" and len(gpus) > 1:
        return f"{gpus[0]} (the other {len(gpus) - 1} idle: --strategy mirrored trains on all)"
    return "; ".join(map(str, gpus if name != "default" else gpus[:1]))


def describe(name: str, strategy: tf.distribute.Strategy, batch_size: int, policy: str, jit: bool, steps=1) -> str:
    """One log line: where the run trains, how the global batch splits, precision, XLA and steps per execution."""
    replicas = strategy.num_replicas_in_sync
    split = (
        f"batch {batch_size}" if replicas == 1 else f"global batch {batch_size} = {replicas} x {batch_size // replicas}"
    )
    execution = f"{steps} step{'s' if steps > 1 else ''} per execution"
    return (
        f"{STRATEGY_NAMES[name]} over {replicas} replica(s), {split}, precision {policy}, "
        f"XLA {'on' if jit else 'off'}, {execution}; on {device_names(name)}"
    )
