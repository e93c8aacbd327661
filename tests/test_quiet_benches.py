"""The benches start TensorFlow as the training scripts do: its start-up notices left out of stderr."""

import ast
import os
import subprocess
import sys

import numpy as np

from base.terminal import STARTUP_NOISE
from tests.conftest import ROOT

BENCH = ROOT / "bench"
NO_TENSORFLOW = {"explorer_browser"}  # its own process never imports TensorFlow (the notebook's kernel does)


def bench_scripts() -> list:
    return [path for path in sorted(BENCH.glob("*.py")) if 'if __name__ == "__main__":' in path.read_text()]


def calls(path, name: str) -> bool:
    return any(
        isinstance(node, ast.Call) and name in (getattr(node.func, "id", None), getattr(node.func, "attr", None))
        for node in ast.walk(ast.parse(path.read_text()))
    )


def bench_modules_imported(path) -> list:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench."):
            names.add(node.module.split(".")[1])
    return [BENCH / f"{name}.py" for name in sorted(names)]


def test_every_bench_starts_tensorflow_quietly_itself_or_in_the_module_it_hands_its_work_to():
    scripts = bench_scripts()
    assert {"quality", "throughput", "judge"} <= {path.stem for path in scripts}
    quiet = {
        path.stem: any(calls(module, "start_tensorflow_quietly") for module in [path, *bench_modules_imported(path)])
        for path in scripts
        if path.stem not in NO_TENSORFLOW
    }
    assert [name for name, started in quiet.items() if not started] == []


def write_idx(path, values, magic: int) -> None:
    """LeCun's idx format: the magic number (whose last byte is the rank), the sizes, then the bytes."""
    values = np.asarray(values, np.uint8)
    header = magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in values.shape)
    path.write_bytes(header + values.tobytes())


def test_a_bench_run_prints_no_tensorflow_startup_notices(tmp_path):
    """bench/data_pipeline.py on 128 made-up digits (the loader, then one DC-GAN step timed), as a user runs it."""
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte", rng.integers(0, 256, (128, 28, 28)), 2051)
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", rng.integers(0, 10, 128), 2049)
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, str(BENCH / "data_pipeline.py"), "--data-root", str(tmp_path), "--datasets", "mnist",
               "--epochs", "1", "--train-steps", "1"]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| mnist | 128 | 28x28x1 | 64 |" in result.stdout, result.stdout
    assert not [noise for noise in STARTUP_NOISE if noise in result.stderr], result.stderr[-3000:]
    assert not [line for line in result.stderr.splitlines() if line.startswith(("I0000", "W0000", "E0000"))]
