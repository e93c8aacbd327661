"""What the scripts ask of a CPU: oneDNN's kernels, and a warning where bfloat16 would be emulated."""

import logging
import os
import subprocess
import sys

import keras
import pytest

from tests.conftest import ROOT
from training import devices

ONEDNN_PROBE = (
    "from training.cli import run_cli\n"
    "def main(argv):\n"
    "    from tensorflow.python.util import _pywrap_util_port\n"
    "    print('onednn', _pywrap_util_port.IsMklEnabled())\n"
    "run_cli(main)\n"
)


@pytest.mark.parametrize(("setting", "expected"), [(None, "True"), ("0", "False"), ("1", "True")])
def test_scripts_ask_for_onednn_kernels_unless_the_environment_says(setting, expected):
    """TensorFlow leaves oneDNN off on AVX2-only CPUs, where it made the DC-GAN step 1.9x faster."""
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    env.update(PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", ONEDNN_PROBE], env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["onednn", expected]


AVX2_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma\n"
BF16_CPU = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n"


def test_bfloat16_instructions_are_read_from_the_cpu_flags():
    assert devices.cpu_computes_bfloat16(AVX2_CPU) is False
    assert devices.cpu_computes_bfloat16(BF16_CPU) is True
    assert devices.cpu_computes_bfloat16("flags\t: avx2 amx_bf16\n") is True
    assert devices.cpu_computes_bfloat16("model name\t: something without flags\n") is None


@pytest.mark.parametrize(("cpu", "policy", "warned"), [
    (AVX2_CPU, "mixed_bfloat16", True),
    (BF16_CPU, "mixed_bfloat16", False),
    (AVX2_CPU, "float32", False),
    (BF16_CPU, "mixed_float16", False),  # float16 has a warning of its own (tests/test_gpu_readiness.py)
])  # fmt: skip
def test_emulated_bfloat16_is_warned_about(monkeypatch, caplog, cpu, policy, warned):
    parse = devices.cpu_computes_bfloat16
    monkeypatch.setattr(devices, "cpu_computes_bfloat16", lambda: parse(cpu))
    monkeypatch.setattr(devices.tf.config, "list_physical_devices", lambda kind=None: [])  # the CPU alone
    try:
        with caplog.at_level(logging.WARNING, logger="artgan"):
            devices.set_precision(policy)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    said = [record.getMessage() for record in caplog.records if "bfloat16 on a CPU without" in record.getMessage()]
    assert bool(said) == warned, said
    if warned:
        assert "--mixed-precision" in said[0] and "emulated" in said[0] and "BENCHMARKS.md" in said[0]
