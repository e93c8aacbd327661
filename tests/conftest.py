"""Shared fixtures: the real data in ../shared/data and small generated image trees; the suite on a GPU machine."""

from __future__ import annotations

import os

# The CPU kernels the scripts ask for (training.cli.prefer_onednn_kernels), in this process and in every
# script it starts, whichever test runs first.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
# On a machine with an NVIDIA GPU (README, "Tests"): the two test processes share the GPU (memory growth), and
# float32 convolutions and matmuls stay float32 (no TF32, whose 10-bit products the tolerances were not set for).
# The scripts the tests start train on the CPU (run_script), where resuming is exact and the figures were recorded.
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
os.environ.setdefault("NVIDIA_TF32_OVERRIDE", "0")
import contextlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def no_tf32():
    """TF32 off in this process too (NVIDIA_TF32_OVERRIDE covers the libraries; this, TensorFlow's own switch)."""
    import tensorflow as tf

    tf.config.experimental.enable_tensor_float_32_execution(False)


@contextlib.contextmanager
def on_the_cpu():
    """Ops and variables placed on the CPU, where a test compares with figures the CPU's kernels made."""
    import tensorflow as tf

    with tf.device("/CPU:0"):
        yield


@pytest.fixture(autouse=True)
def same_randomness_for_every_test():
    """Each test starts from one random state, whatever ran before it or beside it.

    Unseeded weight initialisations and draws made threshold tests pass or
    fail by the luck of the run (a random generator's features once made the
    Frechet distance's sqrtm fail in one run of two).
    """
    import keras

    keras.utils.set_random_seed(20261123)


def shared_data(name: str) -> Path:
    """A folder of the real datasets, or a skip saying why it is missing."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/data/README.md)")
    return path


def write_image(path: Path, size=(20, 12), mode="RGB", color=(200, 30, 60), fmt=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path, format=fmt)
    return path


def run_script(*args, cwd=ROOT, timeout=600, project=True, cpu=True):
    """Run a script in a fresh Python process, as a user would; ``project=False`` hides our packages.

    On the CPU unless ``cpu=False``, even on a machine with a GPU: the tests compare runs bit for bit
    (a resumed run with a straight one), with figures the CPU's kernels made, and one device with two
    logical CPU devices; a GPU's kernels round differently from run to run.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONPATH", None)
    if project:
        env["PYTHONPATH"] = str(ROOT)
    if cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def tiny_digits(steps: int = 3, batch: int = 16, seed: int = 3) -> list[str]:
    """Flags for a seconds-long run on scikit-learn's digits at 16 px with an 8-d z."""
    return ["--dataset", "digits", "--image-size", "16", "--batch-size", str(batch), "--steps-per-epoch",
            str(steps), "--latent-dim", "8", "--seed", str(seed), "--quiet"]  # fmt: skip


@pytest.fixture
def rng():
    return np.random.default_rng(0)
