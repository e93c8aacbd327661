"""Clocks of the benches: wall and process CPU time together, timed calls after a warm-up, kernels waited for.

The process CPU time counts every thread, so beside the wall time it tells
a slow step from a busy machine: other work on the machine stretches the
wall time of a step, not the CPU time the step itself takes.
"""

from __future__ import annotations

import math
import time


def now() -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds over all its threads)."""
    return time.perf_counter(), time.process_time()


def intervals(marks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``(wall, cpu)`` seconds between consecutive marks of ``now()``."""
    return [(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:], strict=False)]


def iterations_to_time(seconds_per_iteration: float, minimum: int, min_seconds: float) -> int:
    """At least ``minimum`` iterations, and enough of them to last ``min_seconds``."""
    return max(minimum, math.ceil(min_seconds / max(seconds_per_iteration, 1e-9)))


def time_calls(one_iteration, warmup: int, minimum: int, min_seconds: float):
    """Warm up (the first call traces), then time enough calls; ``(first call s, [(wall, cpu)])``."""
    marks = [now()]
    for _ in range(warmup):
        one_iteration()
        marks.append(now())
    warm = intervals(marks)
    steps = iterations_to_time(warm[-1][0], minimum, min_seconds)
    marks = [now()]
    for _ in range(steps):
        one_iteration()
        marks.append(now())
    return warm[0][0], intervals(marks)


def waited(result) -> None:
    """Wait for a kernel by reading one element of its result: no copy of the whole result to the host."""
    float(result[(0,) * len(result.shape)])


def best_kernel_seconds(call, min_seconds: float) -> tuple[float, float]:
    """Best wall and CPU seconds of a kernel over at least 5 calls and ``min_seconds``, after two warm-ups.

    The best, not the median: other work on the machine only ever slows a kernel down, and a
    higher peak makes every "fraction of peak" measured against it conservative.
    """
    call()
    call()
    marks = [now()]
    while len(marks) < 6 or marks[-1][0] - marks[0][0] < min_seconds:
        call()
        marks.append(now())
    times = intervals(marks)
    return min(t[0] for t in times), min(t[1] for t in times)
