"""The machine's NVIDIA GPUs as TensorFlow sees them, and why it may not see them.

A GPU machine with the wrong install trains on the CPU without a word: plain
``pip install tensorflow`` brings no CUDA libraries (``tensorflow[and-cuda]``
does), and TensorFlow's own complaint is a C++ log line that the quiet start
leaves out. :func:`start_gpus` runs once TensorFlow is imported, in every
script and notebook (``base.terminal.start_tensorflow_quietly``): it lets
processes share a GPU (memory growth) and, when a driver is present but
TensorFlow found no GPU, logs one warning that says why and what to install.

The driver probes (``/proc/driver/nvidia``, ``nvidia-smi``, ``libcuda``) do not
import TensorFlow; :func:`diagnose` is a pure function of what they found, so
every branch is tested on a machine without a GPU.
"""

from __future__ import annotations

import ctypes.util
import functools
import importlib.util
import logging
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("artgan")

INSTALL = "pip install -r requirements-gpu.txt (tensorflow[and-cuda])"
GROWTH_VARIABLE = "TF_FORCE_GPU_ALLOW_GROWTH"  # TensorFlow's own: set it to false to give one process the whole GPU
# The CUDA libraries tensorflow[and-cuda] installs as Python packages, the ones TensorFlow cannot start without.
CUDA_PACKAGES = ("nvidia.cudnn", "nvidia.cublas", "nvidia.cuda_runtime")
SYSTEM_CUDA_LIBRARIES = ("cudnn", "cublas", "cudart")


@dataclass(frozen=True)
class GPU:
    """One GPU TensorFlow can use, as the start-up line and the GPU report name it."""

    index: int
    name: str
    compute_capability: tuple[int, int] | None = None
    memory_bytes: int | None = None  # None where nvidia-smi could not say

    def __str__(self) -> str:
        details = []
        if self.memory_bytes:
            details.append(f"{self.memory_bytes / 2**30:.1f} GiB")
        if self.compute_capability:
            details.append("compute capability {}.{}".format(*self.compute_capability))
        return f"GPU {self.index}: {self.name}" + (f" ({', '.join(details)})" if details else "")

    @property
    def has_bfloat16_tensor_cores(self) -> bool:
        """Ampere (8.0) and later; on Turing (7.5, the paper's RTX 2080) bfloat16 is not a fast path."""
        return self.compute_capability is not None and self.compute_capability >= (8, 0)

    @property
    def has_float16_tensor_cores(self) -> bool:
        """Volta (7.0) and later."""
        return self.compute_capability is not None and self.compute_capability >= (7, 0)


# --------------------------------------------------------------------------- probes without TensorFlow


def nvidia_driver() -> str | None:
    """The NVIDIA driver's version (or "present"), from /proc, nvidia-smi or libcuda; None without one."""
    version_file = Path("/proc/driver/nvidia/version")
    if version_file.is_file():
        found = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", version_file.read_text(errors="replace"))
        return found.group(1) if found else "present"
    smi = run_nvidia_smi("driver_version")
    if smi:
        return smi[0][0]
    return "present (libcuda)" if ctypes.util.find_library("cuda") else None


def run_nvidia_smi(*fields: str) -> list[list[str]]:
    """Rows of ``nvidia-smi --query-gpu=<fields>``; empty when nvidia-smi is absent or fails."""
    if shutil.which("nvidia-smi") is None:
        return []
    command = ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode:
        return []
    return [[cell.strip() for cell in line.split(",")] for line in done.stdout.splitlines() if line.strip()]


def memory_by_name() -> dict[str, int]:
    """Total memory in bytes of each GPU model nvidia-smi lists, where every GPU of that name has the same.

    TensorFlow names its GPUs but not their memory, and numbers them in CUDA's
    order, which need not be nvidia-smi's; a name is an unambiguous key when
    all GPUs that carry it are alike.
    """
    sizes: dict[str, set[int]] = {}
    for row in run_nvidia_smi("name", "memory.total"):
        if len(row) == 2 and row[1].isdigit():
            sizes.setdefault(row[0], set()).add(int(row[1]) * 2**20)
    return {name: next(iter(found)) for name, found in sizes.items() if len(found) == 1}


def cuda_libraries_found() -> bool:
    """Whether the CUDA and cuDNN libraries TensorFlow loads are installed (as pip packages or system-wide)."""
    if importlib.util.find_spec("nvidia") is not None and all(importlib.util.find_spec(n) for n in CUDA_PACKAGES):
        return True
    return all(ctypes.util.find_library(name) for name in SYSTEM_CUDA_LIBRARIES)


# --------------------------------------------------------------------------- the diagnosis


def diagnose(
    driver: str | None,
    gpus_seen: int,
    built_with_cuda: bool,
    versions: dict,
    libraries_found: bool,
    visible_devices: str | None,
    system: str,
) -> str | None:
    """One line on why TensorFlow sees no GPU on a machine with an NVIDIA driver; None when nothing is wrong.

    ``versions``: TensorFlow's build information (``cuda_version``, ``cudnn_version``).
    """
    if driver is None or gpus_seen:
        return None
    start = f"an NVIDIA driver ({driver}) is present but TensorFlow sees no GPU, so training runs on the CPU: "
    if visible_devices is not None and visible_devices.strip() in ("", "-1"):
        return start + f"CUDA_VISIBLE_DEVICES={visible_devices!r} hides every GPU (unset it to train on them)"
    if not built_with_cuda:
        where = "use Linux or WSL2 and " if system != "Linux" else ""
        return start + f"this TensorFlow is built without CUDA; {where}{INSTALL}"
    cuda = " ".join(filter(None, ["CUDA", versions.get("cuda_version")]))
    cudnn = " ".join(filter(None, ["cuDNN", versions.get("cudnn_version")]))
    if not libraries_found:
        return start + f"the {cuda} and {cudnn} libraries it loads are not installed; {INSTALL}"
    return start + (
        f"check that nvidia-smi lists the GPU and that the driver supports {cuda} (525 or newer for CUDA 12); "
        "TF_CPP_MIN_LOG_LEVEL=0 shows TensorFlow's own reason"
    )


@functools.cache
def why_no_gpu() -> str | None:
    """:func:`diagnose` for this machine and this TensorFlow."""
    import tensorflow as tf

    seen = len(tf.config.list_physical_devices("GPU"))
    driver = None if seen else nvidia_driver()
    if driver is None:
        return None
    build = dict(tf.sysconfig.get_build_info())
    return diagnose(
        driver,
        seen,
        bool(build.get("is_cuda_build", tf.test.is_built_with_cuda())),
        build,
        cuda_libraries_found(),
        os.environ.get("CUDA_VISIBLE_DEVICES"),
        platform.system(),
    )


def cpu_name() -> str:
    """``Intel(R) Xeon(R) ..., 2 cores``: the CPU's model (from /proc/cpuinfo) and the cores this process may use."""
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    names = [line.partition(":")[2].strip() for line in lines if line.startswith("model name")]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return ", ".join([*names[:1], f"{cores} cores"])


# --------------------------------------------------------------------------- with TensorFlow


def share_gpu_memory() -> None:
    """Memory growth on every GPU, so sampling, evaluation or a test run fit beside a training run.

    TensorFlow otherwise reserves nearly all of a GPU's memory for the first
    process. ``TF_FORCE_GPU_ALLOW_GROWTH=false`` (TensorFlow's own switch)
    keeps its default; it must be set before the GPUs are first used, which
    is why this runs as TensorFlow starts.
    """
    import tensorflow as tf

    if GROWTH_VARIABLE in os.environ:
        return  # TensorFlow reads it itself
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPUs are already initialised (a notebook run twice): leave them be
            return


def visible_gpus() -> list[GPU]:
    """The GPUs TensorFlow will train on, with their names, compute capabilities and (where known) memory."""
    import tensorflow as tf

    memory = None
    gpus = []
    for index, device in enumerate(tf.config.list_physical_devices("GPU")):
        details = tf.config.experimental.get_device_details(device)
        name = details.get("device_name", device.name)
        if memory is None:
            memory = memory_by_name()
        capability = details.get("compute_capability")
        gpus.append(GPU(index, name, tuple(capability) if capability else None, memory.get(name)))
    return gpus


_started = False


def where_tensorflow_runs() -> str:
    """The device a process without a strategy computes on: GPU 0 (named) when there is one, else the CPU."""
    gpus = visible_gpus()
    return str(gpus[0]) if gpus else f"the CPU ({cpu_name()})"


def start_gpus(say_where: bool = False) -> None:
    """What every process does once TensorFlow is imported: share GPU memory, and say why no GPU is used (once).

    ``say_where``: also log the device it computes on (the training scripts say more, later).
    """
    global _started
    if _started:
        return
    _started = True
    share_gpu_memory()
    problem = why_no_gpu()
    if problem:  # a note, not a warning, where the user hid the GPUs on purpose
        log.log(logging.INFO if hidden_by_environment() else logging.WARNING, problem)
    if say_where:
        log.info("on %s", where_tensorflow_runs())


def hidden_by_environment() -> bool:
    """Whether CUDA_VISIBLE_DEVICES hides every GPU (the tests' scripts do, to train on the CPU)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible is not None and visible.strip() in ("", "-1")
