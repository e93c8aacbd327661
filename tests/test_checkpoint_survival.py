"""Checkpoints that survive a power cut, a full disk and a damaged file: at most one checkpoint lost, no traceback."""

from __future__ import annotations

import csv
import errno
import logging
import os
import shutil
import subprocess

import pytest

import training.checkpoints
from base.errors import UserError
from base.rundir import Position, complete_checkpoints, network_path, state_path
from tests.conftest import run_script, tiny_digits
from training.checkpoints import CheckpointNotSaved, DiskWatch, save_checkpoint

ROLES = ("generator", "generator_ema", "discriminator")


def train(out, *flags):
    import train_dcgan

    train_dcgan.main([*tiny_digits(steps=2), *flags, "--out", str(out)])


def epochs_logged(run):
    with open(run / "log.csv", newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def checkpoint_names(run) -> list[str]:
    return sorted(path.name for path in (run / "checkpoints").iterdir() if path.is_file())


def expected_names(*epochs) -> list[str]:
    return sorted([f"{role}_epoch_{e:03d}.h5" for role in ROLES for e in epochs] +
                  [f"state_epoch_{e:03d}.npz" for e in epochs])  # fmt: skip


@pytest.fixture(scope="module")
def small_trainer():
    from training.recipes.dcgan import RECIPE

    settings = RECIPE.settings("digits", latent_dim=4, seed=0, jit=False)
    return RECIPE.build_trainer(settings, (8, 8, 1), 2)


def test_the_state_file_comes_after_every_network_file_and_the_folder_are_on_disk(tmp_path, monkeypatch,
                                                                                   small_trainer):  # fmt: skip
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def replace(source, target):
        events.append(("rename", os.path.basename(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save_checkpoint(small_trainer, tmp_path, Position(3))
    renamed = [name for kind, name in events if kind == "rename"]
    assert renamed[-1] == "state_epoch_003.npz" and len(renamed) == 4
    state = events.index(("rename", "state_epoch_003.npz"))
    for name in renamed[:-1]:  # each network: its bytes fsynced before its rename, its rename before the folder's
        partial = next(i for i, (kind, target) in enumerate(events) if kind == "fsync" and ".partial." in target
                       and target.startswith(f".{name[:-3]}"))  # fmt: skip
        assert partial < events.index(("rename", name))
    folder = [i for i, event in enumerate(events) if event == ("fsync", tmp_path.name)]
    assert folder and max(events.index(("rename", n)) for n in renamed[:-1]) < folder[0] < state
    assert folder[-1] > state  # and once more after the state file's rename


def test_a_save_that_fails_removes_its_files_and_says_what_is_left(tmp_path, monkeypatch, small_trainer):
    save_checkpoint(small_trainer, tmp_path, Position(1))
    real_save = training.checkpoints.save_network

    def disk_fills_at_the_discriminator(network, path):
        if "discriminator" in path.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(network, path)

    monkeypatch.setattr(training.checkpoints, "save_network", disk_fills_at_the_discriminator)
    with pytest.raises(CheckpointNotSaved) as failure:
        save_checkpoint(small_trainer, tmp_path, Position(2))
    message = str(failure.value)
    assert "\n" not in message and "could not save the checkpoint at the end of epoch 2" in message
    assert "No space left on device" in message and "MB free" in message
    assert "last complete checkpoint: the one at the end of epoch 1" in message
    assert f"--resume --out {tmp_path.parent}" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == expected_names(1)  # epoch 2's generators removed too


def test_the_disk_watch_warns_early_and_once(tmp_path, monkeypatch, caplog, small_trainer):
    save_checkpoint(small_trainer, tmp_path, Position(1))
    size = sum(p.stat().st_size for p in tmp_path.iterdir())
    free = {"now": 10 * size}
    monkeypatch.setattr(training.checkpoints.shutil, "disk_usage", lambda path: type("U", (), {"free": free["now"]}))
    watch = DiskWatch()
    watch.check(tmp_path, small_trainer)
    assert not caplog.records
    free["now"] = 2 * size
    watch.check(tmp_path, small_trainer)
    watch.check(tmp_path, small_trainer)
    free["now"] = size // 2
    watch.check(tmp_path, small_trainer)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "room for fewer than three" in warnings[0] and "less than one" in warnings[1]


def test_a_full_disk_mid_run_ends_in_one_line_and_the_run_resumes(tmp_path, monkeypatch):
    """The fault injected at the write; test_a_full_tmpfs... below fills a real (small) disk where it can mount one."""
    real_save, calls = training.checkpoints.save_network, []

    def full_in_epoch_two(network, path):
        calls.append(path.name)
        if path.name == "discriminator_epoch_002.h5":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(network, path)

    monkeypatch.setattr(training.checkpoints, "save_network", full_in_epoch_two)
    run = tmp_path / "run"
    with pytest.raises(UserError, match="last complete checkpoint: the one at the end of epoch 1"):
        train(run, "--epochs", "3")
    assert "generator_epoch_002.h5" in calls and checkpoint_names(run) == expected_names(1)
    monkeypatch.setattr(training.checkpoints, "save_network", real_save)
    train(run, "--epochs", "3", "--resume")
    assert checkpoint_names(run) == expected_names(1, 2, 3) and epochs_logged(run) == [1, 2, 3]


def can_mount() -> bool:
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    return True


@pytest.mark.skipif(not can_mount(), reason="mounting a small tmpfs needs root; the injected fault above runs instead")
def test_a_full_tmpfs_during_a_save_then_a_resume_with_space(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        run = disk / "run"  # a checkpoint of this run is 5.5 MB: the first fits in 8 MB, the second does not
        failed = run_script("train_dcgan.py", *tiny_digits(steps=2), "--epochs", "3", "--out", run)
        assert failed.returncode == 2 and "Traceback" not in failed.stderr and "Logging error" not in failed.stderr
        last = failed.stderr.strip().splitlines()[-1]
        assert last.startswith("error: could not save the checkpoint at the end of epoch 2")
        assert "No space left on device" in last and "last complete checkpoint: the one at the end of epoch 1" in last
        assert f"--resume --out {run}" in last
        assert "room for fewer than three" in failed.stderr  # warned before the first epoch
        assert checkpoint_names(run) == expected_names(1) and not list((run / "checkpoints").glob(".*"))
        subprocess.run(["mount", "-o", "remount,size=32m", str(disk)], check=True)
        resumed = run_script("train_dcgan.py", "--resume", "--out", run, "--quiet")
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "resumed from the checkpoint at the end of epoch 1" in resumed.stderr
        assert checkpoint_names(run) == expected_names(1, 2, 3) and epochs_logged(run) == [1, 2, 3]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def damage_generator(checkpoints):
    network_path(checkpoints, "generator", 2).write_bytes(b"")  # a power cut before the data reached the disk


def damage_state(checkpoints):
    path = state_path(checkpoints, 2)
    os.truncate(path, path.stat().st_size // 2)


@pytest.mark.parametrize("damage", [damage_generator, damage_state], ids=["empty generator", "truncated state"])
def test_a_damaged_newest_checkpoint_is_skipped_for_the_one_before(tmp_path, caplog, damage):
    caplog.set_level(logging.INFO)
    run = tmp_path / "run"
    train(run, "--epochs", "2")
    damage(run / "checkpoints")
    orphan = run / "checkpoints" / "generator_epoch_005.h5"  # a save that never reached its state file
    orphan.write_bytes(b"\0" * 1000)
    (run / "checkpoints" / ".critic_epoch_005.partial.99.h5").write_bytes(b"\0" * 1000)
    train(run, "--epochs", "3", "--resume")
    assert checkpoint_names(run) == expected_names(1, 2, 3) and epochs_logged(run) == [1, 2, 3]
    damaged = sorted(path.name for path in (run / "checkpoints" / "damaged").iterdir())
    assert damaged == expected_names(2)
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped the checkpoint")]
    assert len(skipped) == 1 and "skipped the checkpoint at the end of epoch 2, which does not load" in skipped[0]
    assert ("generator_epoch_002.h5" if damage is damage_generator else "state_epoch_002.npz") in skipped[0]
    assert "resumed from the checkpoint at the end of epoch 1" in caplog.text
    assert "removed 2 files of incomplete checkpoints" in caplog.text and not orphan.exists()


def test_when_no_checkpoint_loads_resuming_stops_and_moves_nothing(tmp_path):
    run = tmp_path / "run"
    train(run, "--epochs", "1")
    state_path(run / "checkpoints", 1).write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(UserError, match=r"none of the 1 checkpoints in .* loads; the newest: .*state_epoch_001.npz"):
        train(run, "--epochs", "2", "--resume")
    assert complete_checkpoints(run / "checkpoints") == [Position(1)]  # left where it was, for a look
    assert not (run / "checkpoints" / "damaged").exists()
