"""train_dcgan.py end to end: the run directory's content, reloading, resuming, CLI errors."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from sampling import grid_pixel_size
from tests.conftest import run_script, shared_data, tiny_digits

TINY = [*tiny_digits(steps=3), "--sample-columns", "4"]
METRICS = {"d_loss", "g_loss", "d_real_acc", "d_class_acc", "g_class_acc"}

RELOAD = """
import json, sys, numpy as np, keras
g = keras.models.load_model(sys.argv[1], compile=False)
z = np.random.default_rng(0).normal(size=(4, g.inputs[0].shape[1])).astype("float32")
c = np.eye(g.inputs[1].shape[1], dtype="float32")[[0, 1, 2, 3]]
x = np.asarray(g([z, c], training=False))
ours = sorted(m for m in sys.modules if m.split(".")[0] in ("data", "models", "losses", "training", "sampling"))
print(json.dumps({"shape": x.shape, "min": float(x.min()), "max": float(x.max()), "project": ours}))
"""


def read_log(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dcgan"
    result = run_script("train_dcgan.py", *TINY, "--epochs", "2", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_run_directory_content(tiny_run):
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["class_names"] == [str(d) for d in range(10)] and config["image_shape"] == [16, 16, 1]
    assert config["batch_size"] == 16 and config["seed"] == 3 and config["lr"] == 2e-4
    rows = read_log(tiny_run / "log.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert METRICS <= set(rows[0]) and all(np.isfinite(float(rows[-1][m])) for m in METRICS)
    for epoch in (1, 2):
        picture = Image.open(tiny_run / "samples" / f"epoch_{epoch:03d}.png")
        assert picture.size == grid_pixel_size(10, 4, 16, config["class_names"], title=f"epoch {epoch}")
    names = config["class_names"]
    mixing = Image.open(tiny_run / "mixing_matrix.png")
    assert mixing.size == grid_pixel_size(10, 10, 16, names, names, title="mixing matrix: (e_i + e_j) / 2")
    assert np.asarray(mixing.convert("L")).std() > 10  # real content, not a blank canvas
    for role in ("generator", "discriminator"):
        assert (tiny_run / "checkpoints" / f"{role}_epoch_002.h5").stat().st_size > 10_000


def test_generator_reloads_in_a_fresh_process_without_project_code(tiny_run, tmp_path):
    script = tmp_path / "reload.py"
    script.write_text(RELOAD)
    result = run_script(script, tiny_run / "checkpoints" / "generator_epoch_002.h5", cwd=tmp_path, project=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["shape"] == [4, 16, 16, 1] and -1 <= report["min"] < report["max"] <= 1
    assert report["project"] == []


def test_resume_continues_at_the_next_epoch(tiny_run):
    before = np.load(tiny_run / "checkpoints" / "state_epoch_002.npz")
    assert int(before["generator_optimizer/0000"]) == 2 * 3  # Adam's iteration counter
    result = run_script("train_dcgan.py", "--resume", "--out", tiny_run, "--epochs", "3", "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from the checkpoint at the end of epoch 2" in result.stderr
    assert [int(r["epoch"]) for r in read_log(tiny_run / "log.csv")] == [1, 2, 3]
    after = np.load(tiny_run / "checkpoints" / "state_epoch_003.npz")
    assert int(after["generator_optimizer/0000"]) == 3 * 3
    assert int(after["discriminator_optimizer/0000"]) == 3 * 3


@pytest.mark.parametrize(
    "args,message",
    [
        (["--dataset", "digits", "--epochs", "0"], "--epochs: expected a positive integer, got 0"),
        (["--dataset", "digits", "--batch-size", "0"], "--batch-size: expected a positive integer"),
        (["--dataset", "imagenet"], "invalid choice: 'imagenet'"),
        (["--epochs", "1"], "--dataset is required"),
        (["--dataset", "wikiart", "--data-dir", "/no/such/dir"], "--data-dir /no/such/dir is not a directory"),
        (["--dataset", "digits", "--top-styles", "3"], "--top-styles applies to --dataset wikiart only"),
        (["--dataset", "digits", "--inception-weights", __file__], "take effect with --eval-every N only"),
        (["--dataset", "digits", "--eval-every", "1", "--fid-stats", "/no/s.npz"], "/no/s.npz is not a file"),
        (["--resume", "--out", "/no/such/run"], "has no config.json"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(args, message):
    result = run_script("train_dcgan.py", *args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert message in last and "error" in last


def test_top_styles_beyond_the_styles_present_exits_2(tmp_path):
    wikiart = shared_data("wikiart")
    result = run_script(
        "train_dcgan.py",
        "--dataset",
        "wikiart",
        "--data-dir",
        wikiart,
        "--top-styles",
        "9",
        "--out",
        tmp_path / "run",
        "--cache-dir",
        tmp_path / "cache",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--top-styles 9 is larger than the 8 styles present" in result.stderr.strip().splitlines()[-1]
