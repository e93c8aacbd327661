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
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench.throughput_cases import CASES, EXTRA_CASES, Case, Result
from bench.throughput_tables import describe, peak_table, table

# The driver: each case in a fresh process (``--worker``: bench/throughput_workers.py), the load waited
# for, the tables printed (bench/throughput_tables.py). What a case trains: bench/throughput_cases.py.

ROOT = Path(__file__).resolve().parents[1]


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
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # the worker leaves TensorFlow's start-up notices out itself
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
        from bench.throughput_workers import worker_main

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
