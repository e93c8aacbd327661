"""A seeded short run of each script trains the same weights as the recorded one.

The digest of every array a run leaves (the networks' .h5 weights and the
state file's optimizer slots and weight average) was recorded from the code
as it stood before the settings and recipes moved into the library
(``tests/data/seeded_runs.json``). A refactoring that changes a default, a
seed stream, the order in which layers draw their initial weights, a loss
term or a learning-rate schedule changes the optimizers' slots (Adam's first
and second moments are the gradients themselves), so it fails here.
Tolerances allow for CPUs that sum in another order, not for another
computation.

Recorded again once since, when the networks' normalisation layers moved to
their training kernels (models/fused_norms.py): the DC-GAN's arrays moved by
about 1e-7 (rounding: the fused BatchNorm), the WGAN-GP's by about 1e-2
(the penalty's second derivative through the layer norm is now exact;
tests/test_fused_norms.py shows Keras's was not).

A convolution bias whose every path meets a BatchNorm (the WGAN-GP
generator's ``up{k}_conv``) has a true gradient of zero; Adam turns its
rounding noise into full-size steps, so its values depend on the CPU's
kernels (an AVX2 machine's differ from an AMX machine's). Those biases, their
weight averages and their Adam slots are checked against what a zero gradient
allows instead of their digests (``inert_arrays``, ``within_noise``): every
value within the learning rate times the generator updates, the slots at
rounding level. Every other array still holds the change it would show.

To record again after a change of behaviour that is meant:
``ARTGAN_RECORD_DIGESTS=1 python -m pytest tests/test_seeded_runs.py``.
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.conftest import on_the_cpu, tiny_digits

DIGESTS = Path(__file__).parent / "data" / "seeded_runs.json"
RECORDING = os.environ.get("ARTGAN_RECORD_DIGESTS") == "1"

RUNS = {
    "dcgan": ("train_dcgan", ["--epochs", "1"]),
    "dcgan_options": (
        "train_dcgan",
        ["--epochs", "1", "--augment", "color,translation", "--augment-p", "ada", "--mix-fraction", "0.25",
         "--lr-decay", "linear", "--class-weight", "2"],
    ),
    "wgan_gp": ("train_wgan_gp", ["--epochs", "1", "--filters", "8"]),
    "wgan_gp_art": (
        "train_wgan_gp",
        ["--epochs", "1", "--filters", "8", "--creative", "damped", "--damping", "0.3", "--conditioning", "global",
         "--mix-fraction", "0.5", "--augment", "translation", "--augment-p", "0.5", "--lr-decay", "linear"],
    ),
    "critic_pretraining": ("pretrain_critic", ["--epochs", "1", "--filters", "8", "--adversarial"]),
}  # fmt: skip


def array_digest(values) -> list[float]:
    """``[count, sum, sum of squares]`` in float64."""
    values = np.asarray(values, dtype=np.float64).ravel()
    return [float(values.size), float(values.sum()), float(np.square(values).sum())]


def h5_digest(path: Path) -> dict:
    found = {}

    def visit(name, item):
        if isinstance(item, h5py.Dataset) and item.dtype.kind == "f":
            found[name] = array_digest(item[()])

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return found


def log_digest(path: Path) -> dict:
    """The losses and accuracies of each epoch's row, each as a one-value array."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {f"{row['epoch']}/{key}": array_digest([float(value)]) for row in rows for key, value in row.items()
            if key not in ("epoch", "seconds") and value not in ("", "nan")}  # fmt: skip


def run_digest(out: Path) -> dict:
    """Every float array a run's files hold, by file and array name, and every figure of its log.csv."""
    digest = {}
    for path in sorted(out.rglob("*")):
        if path.name == "log.csv":
            digest["log.csv"] = log_digest(path)
        elif path.suffix == ".h5":
            digest[path.relative_to(out).as_posix()] = h5_digest(path)
        elif path.suffix == ".npz":
            with np.load(path) as state:
                digest[path.relative_to(out).as_posix()] = {
                    key: array_digest(state[key]) for key in sorted(state.files) if state[key].dtype.kind == "f"
                }
    return digest


def train(name: str, out: Path) -> Path:
    """The run on the CPU: the digests hold the CPU's kernels' figures, not a GPU's."""
    import importlib

    script, flags = RUNS[name]
    with on_the_cpu():
        importlib.import_module(script).main([*tiny_digits(steps=3), *flags, "--out", str(out)])
    return out


INERT_LAYER = re.compile(r"up\d+_conv$")  # a WGAN-GP generator's convolution followed by BatchNorm alone
NOISE_SLOTS = {"momentum": 1e-5, "velocity": 1e-10}  # RMS bounds; a real gradient's slots here: about 1e-2, 1e-5


def inert_arrays(out: Path) -> dict[tuple[str, str], str]:
    """``{(file, array): kind}`` for the arrays of the biases a zero gradient updates, by file and array name.

    The state file indexes the weight average by the generator's trainable
    variables and Adam's slots as (momentum, velocity) pairs after its
    iteration count and learning rate, in the same order.
    """
    import keras

    found = {}
    for path in sorted((out / "checkpoints").glob("generator_epoch_*.h5")):
        generator = keras.models.load_model(path, compile=False)
        tag = path.name.removeprefix("generator_").removesuffix(".h5")
        for index, variable in enumerate(generator.trainable_variables):
            layer, _, name = variable.path.rpartition("/")
            if name != "bias" or not INERT_LAYER.search(layer):
                continue
            for role in ("generator", "generator_ema"):
                found[(f"checkpoints/{role}_{tag}.h5", f"model_weights/{layer}/{layer}/bias")] = "weight"
            state = f"checkpoints/state_{tag}.npz"
            found[(state, f"generator_ema/{index:04d}")] = "weight"
            found[(state, f"generator_optimizer/{2 + 2 * index:04d}")] = "momentum"
            found[(state, f"generator_optimizer/{3 + 2 * index:04d}")] = "velocity"
    return found


def within_noise(got: list[float], kind: str, largest_step: float) -> bool:
    """A zero gradient's array: weights no further from 0 than Adam's steps allow, slots at rounding level."""
    count, _, squares = got
    rms = np.sqrt(squares / count)
    return rms <= (largest_step if kind == "weight" else NOISE_SLOTS[kind])


def close(got: list[float], want: list[float]) -> bool:
    """Counts equal; sums within 1e-3 of their size, plus 1e-4 of the array's norm for sums that cancel."""
    count, total, squares = got
    norm = np.sqrt(want[2])
    return (
        count == want[0]
        and abs(total - want[1]) <= 1e-3 * abs(want[1]) + 1e-4 * norm + 1e-12
        and abs(squares - want[2]) <= 1e-3 * want[2] + 1e-12
    )


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_seeded_run_trains_the_recorded_weights(name, tmp_path):
    digest = run_digest(train(name, tmp_path / name))
    if RECORDING:
        recorded = json.loads(DIGESTS.read_text()) if DIGESTS.is_file() else {}
        recorded[name] = digest
        DIGESTS.parent.mkdir(exist_ok=True)
        DIGESTS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"recorded {name}")
    want = json.loads(DIGESTS.read_text())[name]
    assert sorted(digest) == sorted(want)
    inert = inert_arrays(tmp_path / name)
    config = json.loads((tmp_path / name / "config.json").read_text())
    largest_step = config["lr"] * config["steps_per_epoch_actual"] * config["epochs_actual"]
    for file, arrays in want.items():
        assert sorted(digest[file]) == sorted(arrays), file
        differ = [key for key, value in arrays.items()
                  if not (within_noise(digest[file][key], inert[file, key], largest_step) if (file, key) in inert
                          else close(digest[file][key], value))]  # fmt: skip
        assert not differ, f"{file}: {differ[:5]} of {len(arrays)} arrays differ"


def test_the_inert_arrays_are_the_biases_a_zero_gradient_moves(tmp_path):
    """Found by name in the WGAN-GP run; their recorded values pass the noise bound, a real weight's do not."""
    out = train("wgan_gp", tmp_path / "wgan_gp")
    inert = inert_arrays(out)
    layers = {key.split("/")[1] for (file, key), kind in inert.items() if file.endswith(".h5")}
    assert layers == {"up1_conv", "up2_conv"}
    assert sorted(set(inert.values())) == ["momentum", "velocity", "weight"]
    recorded = json.loads(DIGESTS.read_text())["wgan_gp"]
    config = json.loads((out / "config.json").read_text())
    largest_step = config["lr"] * config["steps_per_epoch_actual"] * config["epochs_actual"]
    assert all(within_noise(recorded[file][key], kind, largest_step) for (file, key), kind in inert.items())
    kernel = recorded["checkpoints/generator_epoch_001.h5"]["model_weights/up1_conv/up1_conv/kernel"]
    assert not within_noise(kernel, "weight", largest_step)
    real_slots = [recorded["checkpoints/state_epoch_001.npz"][f"generator_optimizer/{index:04d}"] for index in (6, 7)]
    assert not within_noise(real_slots[0], "momentum", largest_step)
    assert not within_noise(real_slots[1], "velocity", largest_step)
