"""A script run as a new user runs it: no TensorFlow start-up notices, no escape codes in a log file."""

import os
import subprocess
import sys

from base.terminal import STARTUP_NOISE
from tests.conftest import ROOT, write_image

CONTROL = ("\x1b", "\r", "\x08")  # colour codes, carriage returns and backspaces: a redrawn progress bar


def run_as_a_user(*args, cwd):
    """The script with its output going to files (a pipe), TF_CPP_MIN_LOG_LEVEL not set."""
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_a_training_run_prints_no_startup_notices_and_no_escape_codes_off_a_terminal(tmp_path):
    for name in ("red", "blue"):
        for index in range(20):
            write_image(tmp_path / "paintings" / name / f"{index}.png", (24, 24), color=(9 * index, 100, 200))
    result = run_as_a_user(
        ROOT / "train_dcgan.py", "--dataset", "folder", "--data-dir", tmp_path / "paintings", "--image-size", "16",
        "--batch-size", "8", "--steps-per-epoch", "2", "--latent-dim", "4", "--epochs", "1",
        "--cache-dir", tmp_path / "cache", "--out", tmp_path / "run", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "40/40" in result.stdout  # the decoding progress, as one plain line
    for stream in (result.stdout, result.stderr):
        assert not [noise for noise in STARTUP_NOISE if noise in stream]
        assert not [code for code in CONTROL if code in stream]
        assert not [line for line in stream.splitlines() if line.startswith(("I0000", "W0000", "E0000"))]
    assert "INFO done:" in result.stderr


def test_a_user_who_sets_the_log_level_gets_tensorflows_own_logging():
    code = (
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '1'\n"
        "from base.terminal import start_tensorflow_quietly; start_tensorflow_quietly()\n"
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    )
    result = run_as_a_user("-c", code, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == "1"  # left as the user set it


def test_what_tensorflow_prints_beside_its_notices_is_passed_on():
    """A line that is not a known notice reaches stderr (here, one printed while TensorFlow imports)."""
    code = (
        "import os, sys\n"
        "class Loud:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'tensorflow':\n"
        "            os.write(2, b'a real problem\\n' + b'I0000 oneDNN custom operations are on\\n')\n"
        "sys.meta_path.insert(0, Loud())\n"
        "from base.terminal import start_tensorflow_quietly; start_tensorflow_quietly()\n"
    )
    result = run_as_a_user("-c", code, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "a real problem" in result.stderr and "oneDNN" not in result.stderr
