"""Runs survive kills, resume exactly, stop cleanly on NaN, and reject checkpoints that do not fit."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from base.errors import TrainingDiverged, UserError
from base.networks import load_network
from base.rundir import Position, complete_checkpoints, network_path
from models.dcgan import build_dcgan_generator
from sampling import fixed_noise, mixing_matrix, render_grid
from tests.conftest import ROOT, run_script, tiny_digits, write_image
from training.callbacks import Checkpoint, DivergenceGuard, MixingMatrix
from training.checkpoints import copy_weights
from training.recipes.dcgan import RECIPE as DCGAN_RECIPE

DCGAN = ["train_dcgan.py", *tiny_digits()]
WGAN = [
    "train_wgan_gp.py",
    "--dataset",
    "digits",
    "--image-size",
    "16",
    "--batch-size",
    "8",
    "--n-critic",
    "2",
    "--filters",
    "8",
    "--latent-dim",
    "8",
    "--seed",
    "4",
    "--lr-decay",
    "linear",
    "--augment",
    "color,translation,cutout",
    "--augment-p",
    "0.5",
    "--quiet",
]  # augmentation too: its draws must repeat on resume


def final_weights(run, role, epoch):
    folder = run / "checkpoints" if (run / "checkpoints").is_dir() else run
    return load_network(network_path(folder, role, epoch)).get_weights()


def assert_same_weights(run_a, run_b, roles, epoch):
    for role in roles:
        for a, b in zip(final_weights(run_a, role, epoch), final_weights(run_b, role, epoch), strict=True):
            assert np.array_equal(a, b), f"{role} weights differ after resuming"


def epochs_logged(run):
    with open(run / "log.csv", newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def train(*args):
    result = run_script(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def crash_after_epoch(source, target, epoch):
    """A copy of a finished run as a crash right after ``epoch`` would have left it."""
    shutil.copytree(source, target)
    for position in complete_checkpoints(target / "checkpoints"):
        if position > Position(epoch):
            (target / "checkpoints" / f"state_{position.tag}.npz").unlink()


@pytest.mark.parametrize("script,roles", [(DCGAN, ("generator", "discriminator")), (WGAN, ("generator", "critic"))])
def test_stopped_and_resumed_run_equals_the_straight_run(tmp_path, script, roles):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train(*script, "--steps-per-epoch", "4", "--epochs", "2", "--out", straight)
    crash_after_epoch(straight, resumed, 1)
    train(script[0], "--resume", "--out", resumed, "--quiet")
    assert_same_weights(straight, resumed, roles, 2)
    assert epochs_logged(resumed) == [1, 2]


def test_kill_minus_nine_mid_epoch_then_resume(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    common = ["--steps-per-epoch", "60", "--epochs", "2"]
    # The straight run saves at epoch ends only (its 22 mid-epoch saves took a quarter of its time): a killed run
    # resumed from a mid-epoch checkpoint must equal a run that never stopped, whatever it saved on the way.
    train(*DCGAN, *common, "--out", straight)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")  # as run_script
    process = subprocess.Popen(
        [sys.executable, *DCGAN, *common, "--checkpoint-every", "5", "--out", killed],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not any(p.step >= 10 for p in complete_checkpoints(killed / "checkpoints")):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    latest = complete_checkpoints(killed / "checkpoints")[-1]
    assert latest.step > 0 or latest.epochs >= 1
    for role in ("generator", "discriminator"):  # the newest complete checkpoint loads
        assert load_network(network_path(killed / "checkpoints", role, latest)).count_params() > 0
    result = train(DCGAN[0], "--resume", "--out", killed, "--quiet")
    assert f"resumed from the checkpoint at {latest}" in result.stderr
    assert epochs_logged(killed) == [1, 2]
    assert_same_weights(straight, killed, ("generator", "discriminator"), 2)
    assert not list((killed / "checkpoints").glob("*_step_*"))  # mid-epoch checkpoints pruned at epoch end


def test_nan_stops_before_any_checkpoint_holds_it(tmp_path):
    result = run_script(*DCGAN, "--steps-per-epoch", "3", "--epochs", "2", "--lr", "1e30", "--out", tmp_path / "run")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "became nan at step 1 of epoch 1" in last and "try a lower --lr" in last
    assert complete_checkpoints(tmp_path / "run" / "checkpoints") == []


def small_dcgan():
    """The DC-GAN on 8 px images, no weight average, Adam at 1e-4."""
    settings = DCGAN_RECIPE.settings("digits", latent_dim=4, seed=0, lr=1e-4, jit=False, ema_decay=0.0)
    return DCGAN_RECIPE.build_trainer(settings, (8, 8, 1), 2)


def test_nan_mid_run_keeps_the_last_good_checkpoint(tmp_path):
    trainer = small_dcgan()
    images = np.zeros((6, 8, 8, 1), np.float32)
    images[4:] = np.nan  # the first batch of the second epoch is poisoned
    conditions = np.eye(2, dtype=np.float32)[[0, 1] * 3]
    stream = tf.data.Dataset.from_tensor_slices((images, conditions)).batch(2)
    callbacks = [DivergenceGuard(), Checkpoint(tmp_path, steps_per_epoch=2)]
    with pytest.raises(TrainingDiverged, match="d_loss became nan at step 1 of epoch 2"):
        trainer.fit(stream, epochs=2, steps_per_epoch=2, callbacks=callbacks, verbose=0, shuffle=False)
    assert complete_checkpoints(tmp_path) == [Position(1)]
    assert all(np.isfinite(w).all() for w in final_weights(tmp_path, "generator", 1))


def poisoned_stream(bad_step: int, steps: int):
    """Batches of 2 for ``steps`` steps, NaN images in step ``bad_step`` (1-based)."""
    images = np.zeros((2 * steps, 8, 8, 1), np.float32)
    images[2 * (bad_step - 1) : 2 * bad_step] = np.nan
    conditions = np.eye(2, dtype=np.float32)[[0, 1] * steps]
    return tf.data.Dataset.from_tensor_slices((images, conditions)).batch(2)


class CountedReads(DivergenceGuard):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.reads = []

    def check(self):
        self.reads.append(self.checked)
        super().check()


def test_the_guard_reads_the_device_every_few_steps_and_at_checkpoints_not_after_every_step():
    trainer = small_dcgan()
    guard = CountedReads(check_every=4, checkpoint_every=3)
    trainer.fit(poisoned_stream(99, 10).take(10), epochs=1, steps_per_epoch=10, callbacks=[guard], verbose=0)
    assert len(guard.reads) == 4  # steps 3 (a checkpoint), 6 (a checkpoint), 9 (a checkpoint) and the epoch's end
    assert int(trainer.watch.steps.numpy()) == 10 and trainer.watch.first() is None


def test_the_guard_names_the_step_that_went_nan_whatever_the_steps_per_execution():
    """Three steps per call into TensorFlow: the host sees steps 3, 6 and 9, the device notes step 5."""
    trainer = small_dcgan()
    trainer.steps_per_execution = 3
    with pytest.raises(TrainingDiverged, match="d_loss became nan at step 5 of epoch 1"):
        trainer.fit(poisoned_stream(5, 9), epochs=1, steps_per_epoch=9, callbacks=[DivergenceGuard(check_every=6)],
                    verbose=0)  # fmt: skip


def test_a_run_that_dies_in_epoch_two_still_has_the_mixing_matrix_of_epoch_one(tmp_path):
    from PIL import Image

    trainer = small_dcgan()
    images = np.zeros((6, 8, 8, 1), np.float32)
    images[4:] = np.nan
    conditions = np.eye(2, dtype=np.float32)[[0, 1] * 3]
    stream = tf.data.Dataset.from_tensor_slices((images, conditions)).batch(2)
    noise = fixed_noise(0, 2, 4)
    epoch_one = {}
    remember = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: epoch_one.setdefault("weights", trainer.sample_generator().get_weights())
    )
    callbacks = [DivergenceGuard(), MixingMatrix(tmp_path / "mixing_matrix.png", noise, ["a", "b"]), remember]
    with pytest.raises(TrainingDiverged):
        trainer.fit(stream, epochs=2, steps_per_epoch=2, callbacks=callbacks, verbose=0, shuffle=False)
    written = np.asarray(Image.open(tmp_path / "mixing_matrix.png").convert("RGB"))
    generator = trainer.sample_generator()
    generator.set_weights(epoch_one["weights"])
    cells = mixing_matrix(generator, [0, 1], noise, 2)
    expected = render_grid(cells, ["a", "b"], ["a", "b"], title="mixing matrix: (e_i + e_j) / 2, epoch 1")
    assert np.array_equal(written, expected)


def test_checkpoint_for_another_shape_is_a_clear_error(tmp_path):
    other = build_dcgan_generator((16, 16, 1), 10, latent_dim=8)
    mine = build_dcgan_generator((32, 32, 3), 10, latent_dim=8)
    with pytest.raises(UserError, match=r"\(None, 16, 16, 1\).*\(None, 32, 32, 3\)"):
        copy_weights(other, mine, "other.h5")


def test_unwritable_run_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_script(*DCGAN, "--epochs", "1", "--out", blocker / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot write to the run directory" in result.stderr.strip().splitlines()[-1]


def test_folder_with_bad_files_trains_and_names_them(tmp_path):
    root = tmp_path / "images"
    for name in ("red", "blue"):
        for i in range(5):
            write_image(root / name / f"{i}.png", color=(200, 0, 0) if name == "red" else (0, 0, 200))
    (root / "red" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (root / "blue" / "empty.png").write_bytes(b"")
    run = tmp_path / "run"
    result = train(
        "train_dcgan.py",
        "--dataset",
        "folder",
        "--data-dir",
        root,
        "--image-size",
        "16",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--latent-dim",
        "8",
        "--cache-dir",
        tmp_path / "cache",
        "--out",
        run,
        "--quiet",
    )
    log = (run / "train.log").read_text()
    assert "skipped 2 image files (2 unreadable)" in log
    assert "broken.jpg" in log and "empty.png" in log and "broken.jpg" in result.stderr
    assert json.loads((run / "config.json").read_text())["num_images"] == 10
