"""A GPU machine, checked from a CPU: why no GPU is used, memory growth, the start-up line, precision advice,
steps per execution, XLA's default and the device flags a strategy cannot take."""

import json
import logging
import os
import types

import numpy as np
import pytest
import tensorflow as tf

from base import gpus
from base.errors import UserError
from tests.conftest import ROOT, run_script, tiny_digits
from training import devices
from training.settings import to_json

FAKE_NVIDIA_SMI = """#!/bin/sh
case "$*" in
  *driver_version*) echo "550.54.14";;
  *name,memory.total*) printf 'NVIDIA GeForce RTX 2080, 7982\\nNVIDIA A100-SXM4-40GB, 40960\\n'
                       printf 'NVIDIA A100-SXM4-40GB, 40960\\nTesla T4, 15360\\nTesla T4, 16384\\n';;
esac
"""
BUILD = {"cuda_version": "12.5.1", "cudnn_version": "9"}
RTX_2080 = gpus.GPU(0, "NVIDIA GeForce RTX 2080", (7, 5), 7982 * 2**20)
A100 = gpus.GPU(0, "NVIDIA A100-SXM4-40GB", (8, 0), 40960 * 2**20)
GTX_1080 = gpus.GPU(0, "NVIDIA GeForce GTX 1080", (6, 1), None)


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    """An nvidia-smi on the PATH that reports a driver and some GPUs, as on a GPU machine."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (folder / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def tensorflow_sees_a_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


# --------------------------------------------------------------------------- why no GPU is used


def diagnose(**changes):
    given = dict(driver="550.54.14", gpus_seen=0, built_with_cuda=True, versions=BUILD, libraries_found=False,
                 visible_devices=None, system="Linux")  # fmt: skip
    return gpus.diagnose(**{**given, **changes})


def test_nothing_is_said_without_a_driver_or_with_a_gpu_in_use():
    assert diagnose(driver=None) is None
    assert diagnose(gpus_seen=1) is None


def test_a_driver_without_cudas_libraries_names_the_install():
    said = diagnose()
    assert said.startswith("an NVIDIA driver (550.54.14) is present but TensorFlow sees no GPU")
    assert "CUDA 12.5.1 and cuDNN 9 libraries" in said and "pip install -r requirements-gpu.txt" in said
    assert "\n" not in said


def test_each_other_reason_has_its_own_advice():
    assert "CUDA_VISIBLE_DEVICES='' hides every GPU (unset it" in diagnose(visible_devices="")
    assert "CUDA_VISIBLE_DEVICES='-1'" in diagnose(visible_devices="-1")
    built_without = diagnose(built_with_cuda=False, system="Windows")
    assert "built without CUDA" in built_without and "WSL2" in built_without and "requirements-gpu.txt" in built_without
    assert "WSL2" not in diagnose(built_with_cuda=False)
    present = diagnose(libraries_found=True)
    assert "driver supports CUDA 12.5.1" in present and "TF_CPP_MIN_LOG_LEVEL=0" in present


def test_the_driver_and_each_models_memory_come_from_nvidia_smi(fake_nvidia_smi, monkeypatch):
    monkeypatch.setattr(gpus, "Path", lambda path: types.SimpleNamespace(is_file=lambda: False))  # no /proc entry
    assert gpus.nvidia_driver() == "550.54.14"
    memory = gpus.memory_by_name()
    assert memory["NVIDIA GeForce RTX 2080"] == 7982 * 2**20 and memory["NVIDIA A100-SXM4-40GB"] == 40960 * 2**20
    assert "Tesla T4" not in memory  # two sizes under one name: which one TensorFlow's is cannot be told


def test_a_gpu_is_named_with_its_memory_and_capability():
    assert str(RTX_2080) == "GPU 0: NVIDIA GeForce RTX 2080 (7.8 GiB, compute capability 7.5)"
    assert str(gpus.GPU(1, "Some GPU")) == "GPU 1: Some GPU"
    assert RTX_2080.has_float16_tensor_cores and not RTX_2080.has_bfloat16_tensor_cores
    assert A100.has_bfloat16_tensor_cores and not GTX_1080.has_float16_tensor_cores


def test_a_gpu_machine_whose_tensorflow_sees_none_is_told_why_at_start(fake_nvidia_smi, tmp_path):
    """The quiet start leaves TensorFlow's own complaint out; this one warning must reach a user's terminal."""
    if tensorflow_sees_a_gpu():
        pytest.skip("this machine's TensorFlow sees a GPU: nothing to warn about")
    result = run_script("train_dcgan.py", *tiny_digits(steps=1), "--epochs", "1", "--mixed-precision", "bfloat16",
                        "--out", tmp_path / "run", cpu=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    warned = [line for line in lines if "TensorFlow sees no GPU" in line and line.startswith("WARNING an NVIDIA")]
    assert len(warned) == 1 and "550.54.14" in warned[0] and "requirements-gpu.txt" in warned[0], lines[:5]
    precision = [line for line in lines if "--mixed-precision bfloat16" in line]
    assert precision and "runs on the CPU because TensorFlow sees no GPU" in precision[0]
    assert not [line for line in lines if "leave out --mixed-precision" in line]  # not the CPU's advice here
    assert "on the CPU (" in result.stderr


# --------------------------------------------------------------------------- memory growth


def fake_gpus(monkeypatch, count=2):
    devices_seen = [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(count)]
    grown = []
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: devices_seen if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda device, on: grown.append((device, on)))
    return devices_seen, grown


def test_every_gpu_grows_its_memory_unless_tensorflows_own_switch_is_set(monkeypatch):
    monkeypatch.delenv(gpus.GROWTH_VARIABLE, raising=False)
    seen, grown = fake_gpus(monkeypatch)
    gpus.share_gpu_memory()
    assert grown == [(device, True) for device in seen]
    grown.clear()
    monkeypatch.setenv(gpus.GROWTH_VARIABLE, "false")  # a user who wants one process to hold the whole GPU
    gpus.share_gpu_memory()
    assert grown == []


def test_the_training_images_are_held_in_host_memory(monkeypatch):
    """The pipeline reads each batch on the host: the images never become a constant, which lands on GPU 0."""
    from data import training_dataset

    shapes, constant = [], tf.constant

    def noting_shapes(value, *args, **kwargs):
        shapes.append(np.shape(value))
        return constant(value, *args, **kwargs)

    monkeypatch.setattr(tf, "constant", noting_shapes)
    stream = training_dataset(np.zeros([8, 4, 4, 1], np.uint8), [0, 1] * 4, 2, batch_size=4, seed=0)
    assert next(iter(stream))[0].shape == (4, 4, 4, 1)
    assert (8, 4, 4, 1) not in shapes, shapes


# --------------------------------------------------------------------------- precision advice


@pytest.mark.parametrize(("policy", "found", "unused", "cpu_bf16", "expected"), [
    ("float32", [RTX_2080], False, True, None),
    ("mixed_bfloat16", [RTX_2080], False, True, "has no bfloat16 tensor cores (Ampere, 8.0, and later do): "
                                                "--mixed-precision float16 is its fast path"),
    ("mixed_bfloat16", [A100], False, True, None),
    ("mixed_float16", [RTX_2080], False, True, None),
    ("mixed_float16", [GTX_1080], False, True, "has no float16 tensor cores (Volta, 7.0, and later do): float32"),
    ("mixed_bfloat16", [], True, False, "runs on the CPU because TensorFlow sees no GPU"),
    ("mixed_float16", [], False, True, "float16 on a CPU is emulated"),
    ("mixed_bfloat16", [], False, False, "leave out --mixed-precision"),
    ("mixed_bfloat16", [], False, True, None),
])  # fmt: skip
def test_precision_advice_points_at_the_fast_path_of_the_devices_at_hand(policy, found, unused, cpu_bf16, expected):
    said = devices.precision_advice(policy, found, cpu_bf16, unused)
    if expected is None:
        assert said is None
    else:
        assert said is not None and expected in said, said


# --------------------------------------------------------------------------- the start-up line


def test_the_start_up_line_names_the_device_precision_xla_and_steps_per_execution():
    line = devices.describe("default", tf.distribute.get_strategy(), 32, "mixed_float16", False, 1)
    assert line.startswith("one device over 1 replica(s), batch 32, precision mixed_float16, XLA off, 1 step per ")
    if not tensorflow_sees_a_gpu():
        assert line.endswith(f"on the CPU ({devices.cpu_name()})") and "cores" in line


def test_a_default_strategy_on_a_two_gpu_machine_says_the_second_is_idle(monkeypatch):
    monkeypatch.setattr(devices, "visible_gpus", lambda: [RTX_2080, gpus.GPU(1, "NVIDIA GeForce RTX 2080", (7, 5))])
    assert devices.device_names("default") == f"{RTX_2080} (the other 1 idle: --strategy mirrored trains on all)"
    assert devices.device_names("mirrored").count("RTX 2080") == 2


# --------------------------------------------------------------------------- steps per execution and XLA


def test_steps_per_execution_divide_the_epoch_and_the_checkpoints(monkeypatch):
    assert devices.steps_per_execution(5, 35, None, 0) == 5
    with pytest.raises(UserError, match=r"--steps-per-execution 4 must divide the 35 steps of an epoch; 1 does"):
        devices.steps_per_execution(4, 35, None, 0)
    with pytest.raises(UserError, match=r"60 steps of an epoch, --checkpoint-every 10 and the 20 steps .*; 5 does"):
        devices.steps_per_execution(6, 60, 10, 20)
    monkeypatch.setattr(devices.tf.config, "list_physical_devices", lambda kind=None: [])
    assert devices.steps_per_execution(None, 35, None, 0) == 1  # the CPU: a step is long, the host's turn short
    monkeypatch.setattr(devices.tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert devices.steps_per_execution(None, 35, None, 0) == 7  # the largest divisor of 35 up to 8
    assert devices.steps_per_execution(None, 64, 12, 0) == 4
    assert devices.steps_per_execution(None, 64, None, 0, strategy="mirrored") == 1


def test_xla_follows_the_flag_or_the_recipes_measured_choice_on_one_gpu(monkeypatch):
    from training.recipes.dcgan import RECIPE as DCGAN
    from training.recipes.wgan_gp import RECIPE as WGAN_GP

    assert devices.resolve_jit(True, False, "default") is True and devices.resolve_jit(False, True, "default") is False
    monkeypatch.setattr(devices.tf.config, "list_physical_devices", lambda kind=None: [])
    assert devices.resolve_jit("auto", True, "default") is False  # never on the CPU by default
    monkeypatch.setattr(devices.tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert devices.resolve_jit("auto", True, "default") is True
    assert devices.resolve_jit("auto", True, "mirrored") is False
    for recipe in (DCGAN, WGAN_GP):
        settings = recipe.settings("digits", seed=0, latent_dim=4, **({"filters": 8} if recipe is WGAN_GP else {}))
        trainer = recipe.build_trainer(settings, (16, 16, 1), 3)
        assert trainer.jit_compile is recipe.xla_on_one_gpu, recipe.script


@pytest.mark.parametrize(("flags", "message"), [
    (["--strategy", "mirrored", "--jit"], "--jit compiles one device's step with XLA; with --strategy mirrored"),
    (["--strategy", "mirrored", "--steps-per-execution", "2"], "--steps-per-execution 2 with --strategy mirrored"),
])  # fmt: skip
def test_what_a_strategy_cannot_take_is_refused_before_training(tmp_path, flags, message):
    result = run_script("train_dcgan.py", *tiny_digits(steps=2), *flags, "--out", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "run").exists()


def test_a_resumed_run_cannot_take_them_either(tmp_path):
    from training.recipes.dcgan import RECIPE as DCGAN

    settings = DCGAN.settings("digits", seed=0, out=str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps(to_json(settings, None)))
    with pytest.raises(UserError, match="--jit compiles one device's step"):
        DCGAN.settings_from_flags(["--resume", "--out", str(tmp_path / "run"), "--strategy", "mirrored", "--jit"])


def test_steps_per_execution_leave_the_run_as_it_was(tmp_path):
    """Two steps per call, a checkpoint every two steps: the same weights, logs and checkpoints as one step a call."""
    from tests.test_trustworthy import assert_same_weights, epochs_logged

    common = [*tiny_digits(steps=4), "--epochs", "2", "--checkpoint-every", "2", "--keep", "10"]
    for name, per_call in (("one", "1"), ("two", "2")):
        result = run_script("train_dcgan.py", *common, "--steps-per-execution", per_call, "--out", tmp_path / name)
        assert result.returncode == 0, result.stderr[-2000:]
        assert f"{per_call} step{'s' if per_call == '2' else ''} per execution" in result.stderr
        if gpus.nvidia_driver() is None:
            assert "NVIDIA" not in result.stderr  # no driver: nothing to say about GPUs
    assert_same_weights(tmp_path / "one", tmp_path / "two", ("generator", "discriminator"), 2)
    assert epochs_logged(tmp_path / "two") == [1, 2]
    names = sorted(path.name for path in (tmp_path / "two" / "checkpoints").glob("state_*"))
    assert names == sorted(path.name for path in (tmp_path / "one" / "checkpoints").glob("state_*"))


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU: the scripts' GPU path is not tested")
def test_a_script_trains_on_the_gpu_when_there_is_one(tmp_path):
    result = run_script("train_dcgan.py", *tiny_digits(steps=8), "--epochs", "1", "--out", tmp_path / "run", cpu=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "; on GPU 0: " in result.stderr and "steps per execution" in result.stderr


def test_the_gpu_install_asks_for_tensorflows_cuda_extra_and_the_rest_of_the_requirements():
    import tomllib

    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements-gpu.txt").read_text().splitlines()]
    required = [line for line in lines if line]
    assert "-r requirements.txt" in required
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert sorted(extras["gpu"]) == sorted(line for line in required if line != "-r requirements.txt")
    assert any(line.startswith("tensorflow[and-cuda]") for line in required)
    assert "pip install -r requirements-gpu.txt" in (ROOT / "README.md").read_text()


def test_logging_of_start_gpus_is_one_warning_at_most(monkeypatch, caplog):
    monkeypatch.setattr(gpus, "_started", False)
    monkeypatch.setattr(gpus, "why_no_gpu", lambda: "an NVIDIA driver (1) is present but TensorFlow sees no GPU")
    with caplog.at_level(logging.WARNING, logger="artgan"):
        gpus.start_gpus()
        gpus.start_gpus()
    assert [record.getMessage() for record in caplog.records].count(
        "an NVIDIA driver (1) is present but TensorFlow sees no GPU"
    ) == 1


def test_the_other_scripts_name_their_device_and_a_gpu_hidden_on_purpose_is_a_note(tmp_path, fake_nvidia_smi):
    from models.dcgan import build_dcgan_generator

    generator = build_dcgan_generator((16, 16, 1), 3, latent_dim=4)
    generator.save(tmp_path / "generator.h5")
    # run_script hides the GPUs (CUDA_VISIBLE_DEVICES=''): on purpose, so a note and not a warning
    result = run_script("sample.py", "--checkpoint", tmp_path / "generator.h5", "--grid", "one", "--n", "8",
                        "--out", tmp_path / "one.png")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"INFO on the CPU ({devices.cpu_name()})" in result.stderr.splitlines()
    notes = [line for line in result.stderr.splitlines() if "TensorFlow sees no GPU" in line]
    assert len(notes) == 1 and notes[0].startswith("INFO ") and "CUDA_VISIBLE_DEVICES=''" in notes[0]
