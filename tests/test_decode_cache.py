"""The decoded-image store: what survives a kill, a power cut, a full disk, a second run, and its cap."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import data.cache
import data.images
from base.errors import UserError
from data.cache import DecodedStore, cache_entries
from data.images import decode_files
from tests.conftest import ROOT

SIDE = 8


def paintings(folder, count, start=0):
    """``count`` distinct 24x24 PNGs (each its own colour)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"{i:03d}.png"
        Image.new("RGB", (24, 24), (i * 7 % 256, i * 13 % 256, 100)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def decodes(monkeypatch):
    """The files decoded from here on, by path."""
    seen = []
    original = data.images._try_decode

    def counting(args):
        seen.append(str(args[0]))
        return original(args)

    monkeypatch.setattr(data.images, "_try_decode", counting)
    return seen


def decode(paths, cache, side=SIDE, **options):
    return decode_files(paths, list(range(len(paths))), side, 3, "squash", cache_dir=cache, progress=False, **options)


def store_of(cache, side=SIDE) -> DecodedStore:
    return DecodedStore(cache, side, 3, "squash")


def python(code: str, **env) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environment, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_every_image_is_decoded_once_and_read_back_at_its_row(tmp_path, decodes):
    paths = paintings(tmp_path / "img", 5)
    fresh = decode(paths, None)
    stored = decode(paths, tmp_path / "cache")
    assert len(decodes) == 10 and np.array_equal(stored.images, fresh.images)
    assert isinstance(stored.images, np.memmap)  # one file list decoded in order: adjacent rows, no copy
    assert np.array_equal(stored.source.take([4, 0, 2]), fresh.images[[4, 0, 2]])
    decode(paths, tmp_path / "cache")
    assert len(decodes) == 10


def test_a_relative_path_and_a_subset_reuse_what_was_decoded(tmp_path, decodes, monkeypatch):
    paths = paintings(tmp_path / "img", 6)
    whole = decode(paths, tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    relative = [os.path.relpath(p, tmp_path) for p in paths]
    again = decode(relative[1:5], tmp_path / "cache")  # --top-styles: a subset, named another way
    assert len(decodes) == 6
    assert np.array_equal(again.images, whole.images[1:5])


def test_new_files_are_decoded_alone_and_the_rest_reused(tmp_path, decodes):
    paths = paintings(tmp_path / "img", 4)
    decode(paths, tmp_path / "cache")
    more = paths + paintings(tmp_path / "img", 2, start=4)
    grown = decode(more[::-1], tmp_path / "cache")  # other order, two new files
    assert sorted(decodes[4:]) == sorted(map(str, more[4:]))
    assert not isinstance(grown.images, np.memmap)  # rows out of order: read into memory
    assert np.array_equal(grown.images, decode(more[::-1], None).images)


def test_a_same_size_rewrite_with_the_old_mtime_is_decoded_again(tmp_path, decodes):
    (path,) = paintings(tmp_path / "img", 1)
    before = decode([path], tmp_path / "cache").images[0].copy()
    stat = path.stat()
    Image.new("RGB", (24, 24), (255, 255, 255)).save(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime; PNGs of one colour: same size
    assert path.stat().st_size == stat.st_size
    after = decode([path], tmp_path / "cache").images[0]
    assert len(decodes) == 2 and after.min() == 255 and not np.array_equal(before, after)


def test_unreadable_files_are_remembered_with_their_reason(tmp_path, decodes):
    paths = paintings(tmp_path / "img", 2)
    bad = tmp_path / "img" / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    first = decode([*paths, bad], tmp_path / "cache")
    second = decode([*paths, bad], tmp_path / "cache")
    assert len(decodes) == 3 and first.skipped == second.skipped and first.skipped[0][0] == str(bad)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda store: store.pixels.write_bytes(b""), id="empty pixels (a power cut after the write)"),
        pytest.param(lambda store: os.truncate(store.pixels, store.row_bytes * 2 + 5), id="truncated pixels"),
        pytest.param(lambda store: os.truncate(store.index, store.index.stat().st_size - 3), id="cut index line"),
        pytest.param(lambda store: store.index.write_bytes(b"\x00garbage\n" * 3), id="garbage index"),
    ],
)
def test_a_damaged_store_is_a_cache_miss_with_one_warning(tmp_path, decodes, caplog, damage):
    paths = paintings(tmp_path / "img", 5)
    want = decode(paths, tmp_path / "cache").images.copy()
    damage(store_of(tmp_path / "cache"))
    got = decode(paths, tmp_path / "cache")
    assert np.array_equal(got.images, want) and not got.skipped
    assert 5 < len(decodes) <= 10  # only what was lost is decoded again
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "damaged entries" in warnings[0] and "decoded again" in warnings[0]
    assert not [p for p in store_of(tmp_path / "cache").directory.iterdir() if ".tmp" in p.name]
    caplog.clear()
    decode(paths, tmp_path / "cache")  # repaired: quiet again
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_a_failed_write_leaves_no_partial_rows_and_says_so_in_one_line(tmp_path, monkeypatch, decodes):
    paths = paintings(tmp_path / "img", 40)
    monkeypatch.setattr(data.images, "CHUNK_BYTES", 10 * SIDE * SIDE * 3)  # chunks of 16 images
    real_fsync, calls = os.fsync, []

    def full_on_the_third_chunk(fd):
        calls.append(fd)
        if len(calls) == 5:  # pixels, index, pixels, index, then the third chunk's pixels
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(data.cache.os, "fsync", full_on_the_third_chunk)
    with pytest.raises(UserError) as failure:
        decode(paths, tmp_path / "cache")
    message = str(failure.value)
    assert "\n" not in message and "No space left on device" in message and "after 32 of 40" in message
    assert "continues from there" in message
    store = store_of(tmp_path / "cache")
    assert store.pixels.stat().st_size == 32 * store.row_bytes  # the failed chunk's rows were cut off again
    assert len(store.index.read_bytes().splitlines()) == 32
    assert sorted(p.name for p in store.directory.iterdir()) == ["in-use", "index", "lock", "pixels", "used"]
    monkeypatch.setattr(data.cache.os, "fsync", real_fsync)
    decodes.clear()
    whole = decode(paths, tmp_path / "cache")
    assert len(decodes) == 8 and np.array_equal(whole.images, decode(paths, None).images)


def test_a_temporary_index_is_removed_when_its_rewrite_fails(tmp_path, monkeypatch):
    target = tmp_path / "index"
    target.write_bytes(b"old\n")
    monkeypatch.setattr(data.cache.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OSError):
        data.cache.replace_file(target, b"new\n")
    assert [p.name for p in tmp_path.iterdir()] == ["index"] and target.read_bytes() == b"old\n"


def test_too_little_disk_is_refused_before_decoding_in_one_line(tmp_path, monkeypatch, decodes):
    paths = paintings(tmp_path / "img", 4)
    monkeypatch.setattr(data.cache.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 10**6})())
    with pytest.raises(UserError, match=r"decoding needs 768 bytes in .* the disk has 1.0 MB free") as failure:
        decode(paths, tmp_path / "cache")
    assert "\n" not in str(failure.value) and not decodes


def test_a_decode_killed_after_its_first_chunk_continues_on_the_next_run(tmp_path, decodes):
    paths = paintings(tmp_path / "img", 48)
    killed = python(f"""
        import os
        import data.cache, data.images
        data.images.CHUNK_BYTES = 16 * {SIDE * SIDE * 3}
        append = data.cache.DecodedStore.append
        def append_then_die(self, *args):
            append(self, *args)
            os._exit(9)  # as a kill -9 would: nothing cleans up
        data.cache.DecodedStore.append = append_then_die
        data.images.decode_files({[str(p) for p in paths]!r}, list(range(48)), {SIDE}, 3, "squash",
                                 cache_dir={str(tmp_path / "cache")!r}, progress=False)
    """)
    assert killed.returncode == 9, killed.stderr
    whole = decode(paths, tmp_path / "cache")
    assert sorted(decodes) == sorted(map(str, paths[16:]))  # the first chunk was kept
    assert np.array_equal(whole.images, decode(paths, None).images)


def test_two_runs_started_together_decode_each_file_once(tmp_path):
    paths = paintings(tmp_path / "img", 30)
    script = f"""
        import logging, sys, time
        import data.images
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
        original = data.images._try_decode
        def slow(args):
            time.sleep(0.01)
            return original(args)
        data.images._try_decode = slow
        decoded = data.images.decode_files({[str(p) for p in paths]!r}, list(range(30)), {SIDE}, 3, "squash",
                                           cache_dir={str(tmp_path / "cache")!r}, progress=False)
        print("images", len(decoded.labels), int(decoded.images.sum()))
    """
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=environment, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    decoded = [int(line.split()[1]) for out in outputs for line in out.splitlines() if line.startswith("decoded ")]
    assert decoded == [30]  # one run decoded, the other waited and read
    results = {line for out in outputs for line in out.splitlines() if line.startswith("images")}
    assert len(results) == 1 and results.pop().startswith("images 30 ")


def test_variants_beyond_the_cap_are_evicted_oldest_first_unless_in_use(tmp_path, monkeypatch, caplog):
    paths = paintings(tmp_path / "img", 6)
    cache = tmp_path / "cache"
    for side in (8, 12, 16):  # three variants, written by a process that has ended
        made = python(f"""
            import data.images
            data.images.decode_files({[str(p) for p in paths]!r}, list(range(6)), {side}, 3, "squash",
                                     cache_dir={str(cache)!r}, progress=False)
        """)
        assert made.returncode == 0, made.stderr
    legacy = cache / "decoded-0123456789abcdef0123.images.npy"  # the first cache format, never used since
    legacy.write_bytes(b"\0" * 1000)
    for age, name in ((400, legacy.name), (300, "12px-rgb-squash-v2"), (200, "8px-rgb-squash-v2")):
        stamp = legacy if name == legacy.name else cache / "decoded" / name / "used"
        os.utime(stamp, (stamp.stat().st_atime - age, stamp.stat().st_mtime - age))
    caplog.set_level(logging.INFO)
    held = os.open(cache / "decoded" / "12px-rgb-squash-v2" / "in-use", os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_SH)  # another run still reads the 12 px images
    sizes = {entry.name: entry.size for entry in cache_entries(cache)}
    cap = sum(sizes.values()) - 1000 - sizes["8px-rgb-squash-v2"] // 2 + 6 * 20 * 20 * 3  # all but 1.5 entries
    monkeypatch.setenv("ARTGAN_CACHE_GB", str(cap / 1e9))
    try:
        decode(paths, cache, side=20)
    finally:
        os.close(held)
    left = sorted(entry.name for entry in cache_entries(cache))
    assert left == ["12px-rgb-squash-v2", "16px-rgb-squash-v2", "20px-rgb-squash-v2"]
    evicted = [r.getMessage() for r in caplog.records if r.getMessage().startswith("evicted")]
    assert len(evicted) == 2 and "decoded-0123456789abcdef0123" in evicted[0] and "8px-rgb" in evicted[1]
    assert "ARTGAN_CACHE_GB" in evicted[1]


def test_a_cache_that_cannot_be_written_decodes_into_memory(tmp_path, caplog):
    paths = paintings(tmp_path / "img", 3)
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    decoded = decode(paths, blocked)
    assert decoded.images.shape == (3, SIDE, SIDE, 3) and isinstance(decoded.source, np.ndarray)
    assert any("decoding into memory" in r.getMessage() for r in caplog.records)
