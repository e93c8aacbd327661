"""Where and how fast training runs: tf.distribute strategies, mixed precision, XLA.

Decided once, before any model exists: the strategy's scope must hold every
variable, and the precision policy applies to layers built after it is set.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import keras
import tensorflow as tf

from base.choices import PRECISION_POLICIES, STRATEGIES
from base.errors import UserError

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
    if policy == "mixed_bfloat16" and not tf.config.list_physical_devices("GPU") and cpu_computes_bfloat16() is False:
        log.warning(
            "bfloat16 on a CPU without bfloat16 instructions (AVX512-BF16 or AMX) is emulated: the DC-GAN's "
            "64 px step ran 14x slower than in float32 on such a CPU (BENCHMARKS.md); leave out --mixed-precision"
        )


BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_computes_bfloat16(cpuinfo: str | None = None) -> bool | None:
    """Whether the CPU has bfloat16 arithmetic, from the flags of /proc/cpuinfo; None where they are unknown.

    Without it bfloat16 arithmetic is emulated, so mixed precision costs time
    instead of saving it (13.7x for the DC-GAN's 64 px step, BENCHMARKS.md).
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


def describe(name: str, strategy: tf.distribute.Strategy, batch_size: int, policy: str, jit) -> str:
    """One log line: where the run trains, how the global batch splits, precision and XLA."""
    replicas = strategy.num_replicas_in_sync
    split = (
        f"batch {batch_size}" if replicas == 1 else f"global batch {batch_size} = {replicas} x {batch_size // replicas}"
    )
    return f"{STRATEGY_NAMES[name]} over {replicas} replica(s), {split}, precision {policy}, jit {jit}"
