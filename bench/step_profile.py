"""Where a train step's time goes: op time summed by op type, from TensorFlow's or PyTorch's profiler.

TensorFlow's profiler writes an XSpace protobuf; on the host plane every
op a graph runs is an event named ``<node name>:<op type>`` on the line of
the inter-op thread that ran it, lasting from the op's start to its end
(its intra-op work on other threads included). Summing those durations by
op type gives each kind of kernel's share of the op time; that total can
exceed the wall time when ops overlap on several inter-op threads.
PyTorch's profiler gives the same figure as each op's self CPU time.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

# Op types that do the counted FLOPs: everything else is the overhead a faster step removes.
COUNTED_KERNELS = ("Conv", "MatMul", "conv", "mm", "addmm", "linear")


def tensorflow_op_seconds(xplane_path: Path) -> Counter:
    """Seconds per op type over the profiled interval, from one ``.xplane.pb`` file."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(xplane_path).read_bytes())
    seconds = Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:"):
            continue
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                node, _, op_type = name.rpartition(":")
                if node and op_type and " " not in name and "::" not in name and not op_type.startswith("__"):
                    seconds[op_type] += event.duration_ps * 1e-12
    return seconds


def profile_tensorflow(run_steps, steps: int) -> dict[str, float]:
    """Milliseconds per step by op type while ``run_steps()`` runs ``steps`` steps (already traced)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        try:
            run_steps()
        finally:
            tf.profiler.experimental.stop()
        files = sorted(Path(logdir).rglob("*.xplane.pb"))
        seconds = tensorflow_op_seconds(files[-1]) if files else Counter()
    return {op: 1000.0 * value / steps for op, value in seconds.most_common()}


def profile_torch(run_steps, steps: int) -> dict[str, float]:
    """The same table for PyTorch: self CPU milliseconds per step by op name."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        run_steps()
    totals = Counter()
    for event in profiler.key_averages():
        totals[event.key] += event.self_cpu_time_total / 1000.0
    return {op: value / steps for op, value in totals.most_common()}


def counted_share(op_ms: dict[str, float]) -> float:
    """The fraction of op time spent in convolutions and matrix products (the kernels FLOPs count)."""
    total = sum(op_ms.values())
    counted = sum(ms for op, ms in op_ms.items() if any(key in op for key in COUNTED_KERNELS))
    return counted / total if total else float("nan")


def describe(op_ms: dict[str, float], top: int = 12) -> str:
    """Lines of 'op type  ms per step  share of op time', largest first, and the rest summed."""
    total = sum(op_ms.values())
    if not total:
        return "  (no ops recorded)"
    ranked = sorted(op_ms.items(), key=lambda item: -item[1])
    others = f"({max(0, len(ranked) - top)} other op types)"
    rows = [*ranked[:top], (others, sum(ms for _, ms in ranked[top:]))]
    lines = [f"  {op:<40} {ms:9.1f} ms  {100 * ms / total:5.1f}%" for op, ms in rows]
    share = 100 * counted_share(op_ms)
    lines.append(f"  {'op time per iteration':<40} {total:9.1f} ms; convolutions and matmuls {share:.0f}%")
    return "\n".join(lines)
