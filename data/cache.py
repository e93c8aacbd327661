"""The decoded-image store: each image file decoded once per size, shared by every run and every subset.

One store per *variant* (side, channels, resize mode) under ``<cache>/decoded/``::

    64px-rgb-squash-v2/
      pixels   uint8 rows of side*side*channels bytes, appended with plain file writes
      index    a line per file, appended after its pixels: "<key> <row>", or "<key> !<reason>" for a
               file that could not be used
      lock     held (flock) by the process that appends; a second run waits for it, then finds its files
      in-use   held shared by every process that reads the store, so that eviction passes it by
      used     its modification time is the store's last use

A file's key is its resolved path, size, modification time and the first and last 4 KiB of its bytes,
so a relative path, ``--top-styles``, a new file or a second split all reuse the rows they share, and
a painting rewritten in place is decoded again. Decoding goes in chunks, each appended and fsynced
before its index lines: a run killed during its first decode loses at most one chunk, and the next
run continues from there. A damaged store (a power cut, a full disk) is a cache miss for the rows it
lost, said in one warning. Stores beyond the cap (``ARTGAN_CACHE_GB``, default 50) are evicted, the
least recently used first.

Training reads rows at their offsets (``StoredImages.take``), so the decoded set is never held in
memory: pages read with ``pread`` stay in the kernel's page cache and are not the process's memory.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import mmap
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.errors import UserError

log = logging.getLogger(__name__)

STORE_VERSION = 2  # 1: one .npy per file list (decoded-<key>.images.npy), rewritten whole for any change
HASHED_BYTES = 4096  # from each end of a file: what a same-size rewrite changes
CAP_VARIABLE = "ARTGAN_CACHE_GB"
DEFAULT_CAP_GB = 50.0  # the archive's training and val rows at 64, 128 and 256 px take about 20 GB
DISK_MARGIN = 256 * 2**20  # left free beside the store: logs and checkpoints share the disk


def human_bytes(count: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(count) >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{int(count)} bytes"


def printable(path) -> str:
    """A path as text that any log file can hold: undecodable bytes of a name as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


# ---------------------------------------------------------------------------------------------- keys


def file_key(path: str) -> str:
    """What identifies one file's content, cheaply: resolved path, size, mtime and both ends of its bytes."""
    resolved = os.path.realpath(path)
    with open(resolved, "rb") as handle:
        stat = os.fstat(handle.fileno())
        head = handle.read(HASHED_BYTES)
        tail = os.pread(handle.fileno(), HASHED_BYTES, max(0, stat.st_size - HASHED_BYTES))
    digest = hashlib.sha256(os.fsencode(resolved))
    digest.update(f"\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    digest.update(head)
    digest.update(tail)
    return digest.hexdigest()[:32]


# ------------------------------------------------------------------------------------ reading rows


_READERS: dict[str, int] = {}  # open file descriptors of the stores' pixels, one per file and process


def _reader(path: str) -> int:
    """A descriptor of ``path``, opened again when the file there is not the one it has open (a store removed
    and made again while this process runs; the old descriptor stays open, as another thread may be reading)."""
    fd = _READERS.get(path)
    if fd is not None:
        with contextlib.suppress(OSError):
            if os.path.samestat(os.stat(path), os.fstat(fd)):
                return fd
    fd = os.open(path, os.O_RDONLY)
    _READERS[path] = fd
    return fd


@dataclass(frozen=True)
class StoredImages:
    """Images that live in a file: image i is row ``rows[i]`` of ``path`` (uint8, ``image_shape`` each).

    Reading goes through ``pread`` at the rows' offsets, never a memory map: the pages a map touches
    count as the process's memory until the kernel takes them back, pages read stay in its cache.
    """

    path: str
    rows: np.ndarray  # int64
    image_shape: tuple[int, int, int]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.image_shape)

    @property
    def row_bytes(self) -> int:
        side, width, channels = self.image_shape
        return int(side) * int(width) * int(channels)

    @property
    def nbytes(self) -> int:
        return len(self.rows) * self.row_bytes

    def subset(self, indices) -> StoredImages:
        return StoredImages(self.path, self.rows[np.asarray(indices)], self.image_shape)

    def take(self, indices) -> np.ndarray:
        """The images at ``indices``, read in the order of their rows (runs of adjacent rows at once)."""
        rows = self.rows[np.asarray(indices, dtype=np.int64)]
        row_bytes = self.row_bytes
        out = np.empty((len(rows), row_bytes), np.uint8)
        order = np.argsort(rows, kind="stable")
        starts = np.flatnonzero(np.diff(rows[order], prepend=-2) != 1).tolist()
        fd = _reader(self.path)
        for begin, end in zip(starts, [*starts[1:], len(order)], strict=True):
            positions = order[begin:end]
            first = int(positions[0])
            in_place = end - begin == 1 or bool(np.all(np.diff(positions) == 1))  # adjacent in the output too
            block = out[first : first + end - begin] if in_place else np.empty((end - begin, row_bytes), np.uint8)
            self._read(fd, block, int(rows[first]) * row_bytes)
            if not in_place:
                out[positions] = block
        return out.reshape(len(rows), *self.image_shape)

    def _read(self, fd: int, block: np.ndarray, offset: int) -> None:
        done, view = 0, memoryview(block).cast("B")
        while done < len(view):
            count = os.preadv(fd, [view[done:]], offset + done)
            if count == 0:
                raise OSError(errno.EIO, f"{self.path} ends {offset + done} bytes in, before the rows it should hold")
            done += count

    def contiguous(self) -> bool:
        return len(self.rows) > 0 and bool(np.all(np.diff(self.rows) == 1))

    def array(self) -> np.ndarray:
        """Every image as one array: a read-only memory map when the rows are adjacent, else read into memory."""
        if self.contiguous():
            offset = int(self.rows[0]) * self.row_bytes
            return np.memmap(self.path, np.uint8, "r", offset=offset, shape=self.shape)
        return self.take(np.arange(len(self.rows)))

    @classmethod
    def of_memmap(cls, array: np.ndarray) -> StoredImages | None:
        """The rows of a read-only memory map of a whole-row file region (``array``), to read without mapping."""
        if not isinstance(array, np.memmap) or array.filename is None or array.ndim != 4:
            return None
        if not array.flags.c_contiguous or array.dtype != np.uint8:
            return None
        row_bytes, offset = int(np.prod(array.shape[1:])), file_offset(array)
        if offset is None or offset % row_bytes:
            return None
        first = offset // row_bytes
        return cls(str(array.filename), np.arange(first, first + len(array), dtype=np.int64), array.shape[1:])


def file_offset(array: np.memmap) -> int | None:
    """Where a memory map's first byte is in its file; a slice of a map keeps its parent's ``offset``."""
    mapping = array.base
    while mapping is not None and not isinstance(mapping, mmap.mmap):
        mapping = mapping.base
    if mapping is None:
        return None
    start = array.offset - array.offset % mmap.ALLOCATIONGRANULARITY
    return start + array.ctypes.data - np.frombuffer(mapping, np.uint8).ctypes.data


# ----------------------------------------------------------------------------------------- the store


@dataclass
class Lookup:
    """What the index says about a list of keys: a row each (-1: not there) and why unusable ones failed."""

    rows: np.ndarray
    reasons: dict[str, str]

    def missing(self, keys) -> list[int]:
        return [i for i, key in enumerate(keys) if self.rows[i] < 0 and key not in self.reasons]


class DecodedStore:
    """One variant's pixels and index (see the module's docstring)."""

    def __init__(self, cache_dir, side: int, channels: int, resize: str):
        self.cache_dir = Path(cache_dir)
        self.name = f"{side}px-{'rgb' if channels == 3 else 'gray'}-{resize}-v{STORE_VERSION}"
        self.directory = self.cache_dir / "decoded" / self.name
        self.side, self.channels, self.resize = side, channels, resize
        self.image_shape = (side, side, channels)
        self.row_bytes = side * side * channels
        self.pixels = self.directory / "pixels"
        self.index = self.directory / "index"

    # ----------------------------------------------------------------- opening

    def open(self) -> DecodedStore:
        """Create the store if needed, mark it in use by this process and as used now."""
        self.directory.mkdir(parents=True, exist_ok=True)
        hold_in_use(self.directory)
        for path in (self.pixels, self.index):
            path.touch(exist_ok=True)
        (self.directory / "used").touch()
        return self

    # ----------------------------------------------------------------- the index

    def read_index(self) -> tuple[dict[str, int | str], int]:
        """``({key: row or reason}, damaged lines)``; rows the pixels file does not hold count as damaged."""
        with open(self.index, "rb") as handle:
            data = handle.read()
        rows_on_disk = self.pixels.stat().st_size // self.row_bytes  # after: pixels are written before their lines
        entries, damaged = {}, 0
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        elif lines:
            damaged += 1  # the last line was cut short
            lines.pop()
        for line in lines:
            entry = parse_index_line(line)
            if entry is None or (isinstance(entry[1], int) and entry[1] >= rows_on_disk):
                damaged += 1
                continue
            entries[entry[0]] = entry[1]
        return entries, damaged

    def lookup(self, keys: list[str | None], entries: dict) -> Lookup:
        rows = np.full(len(keys), -1, np.int64)
        reasons = {}
        for i, key in enumerate(keys):
            value = entries.get(key)
            if isinstance(value, int):
                rows[i] = value
            elif value is not None:
                reasons[key] = value
        return Lookup(rows, reasons)

    def repair(self, entries: dict, damaged: int) -> int:
        """Rewrite the index without damaged lines and cut the pixels after the last indexed row; rows in use."""
        used_rows = max((v for v in entries.values() if isinstance(v, int)), default=-1) + 1
        if damaged:
            log.warning(
                "the decoded-image cache %s had %d damaged entries (a power cut or a full disk): "
                "those images are decoded again",
                self.directory,
                damaged,
            )
            lines = b"".join(index_line(key, value) for key, value in entries.items())
            replace_file(self.index, lines)
        if self.pixels.stat().st_size != used_rows * self.row_bytes:
            os.truncate(self.pixels, used_rows * self.row_bytes)
        return used_rows

    # ----------------------------------------------------------------- appending

    @contextlib.contextmanager
    def writing(self):
        """The store's append lock; a second process waits here, and says so, until the first one is done."""
        with open(self.directory / "lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("another run is decoding into %s: waiting for it, then using what it decoded", self.directory)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def append(self, first_row: int, pixels: np.ndarray, lines: bytes) -> None:
        """Rows then their index lines, each fsynced; on failure both files are cut back to what they held."""
        pixel_size, index_size = first_row * self.row_bytes, self.index.stat().st_size
        try:
            with open(self.pixels, "r+b") as handle:
                handle.seek(pixel_size)
                handle.write(memoryview(np.ascontiguousarray(pixels)).cast("B"))
                handle.flush()
                os.fsync(handle.fileno())
            with open(self.index, "ab") as handle:
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.truncate(self.index, index_size)
                os.truncate(self.pixels, pixel_size)
            raise

    def size_on_disk(self) -> int:
        return directory_size(self.directory)

    def images(self, rows: np.ndarray) -> StoredImages:
        return StoredImages(str(self.pixels), np.asarray(rows, np.int64), self.image_shape)


def index_line(key: str, value: int | str) -> bytes:
    text = f"{key} {value}" if isinstance(value, int) else f"{key} !{json.dumps(value)}"
    return text.encode("ascii") + b"\n"


def parse_index_line(line: bytes) -> tuple[str, int | str] | None:
    try:
        key, value = line.decode("ascii").split(" ", 1)
        if len(key) != 32:
            return None
        return (key, json.loads(value[1:])) if value.startswith("!") else (key, int(value))
    except (ValueError, UnicodeDecodeError):
        return None


def replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole through a temporary file that is removed if anything fails."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------- in use, eviction

_IN_USE: dict[str, int] = {}  # store directory -> descriptor of its in-use file, held shared until exit


def hold_in_use(directory: Path) -> None:
    """A shared lock on ``directory/in-use`` for this process's lifetime; eviction passes such stores by."""
    if str(directory) in _IN_USE:
        return
    path = directory / "in-use"
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:  # not evicted while we waited
                _IN_USE[str(directory)] = fd
                return
        except FileNotFoundError:
            pass
        os.close(fd)
        directory.mkdir(parents=True, exist_ok=True)
    raise OSError(errno.EAGAIN, f"{directory} keeps being evicted by another process")


def cap_bytes() -> int:
    text = os.environ.get(CAP_VARIABLE)
    try:
        gigabytes = float(text) if text else DEFAULT_CAP_GB
    except ValueError:
        raise UserError(f"{CAP_VARIABLE}={text!r} is not a number of gigabytes") from None
    return int(gigabytes * 1e9)


def directory_size(directory: Path) -> int:
    total = 0
    for folder, _, names in os.walk(directory):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


@dataclass
class CacheEntry:
    """A store (or a file group of the first cache format) that eviction may remove as one."""

    paths: list[Path]
    size: int
    last_used: float
    store: bool

    @property
    def name(self) -> str:
        return self.paths[0].name.split(".")[0]


def cache_entries(cache_dir: Path) -> list[CacheEntry]:
    """Every variant's store and every first-format cache file group, least recently used first."""
    entries = []
    decoded = cache_dir / "decoded"
    if decoded.is_dir():
        for directory in decoded.iterdir():
            if directory.is_dir() and not directory.name.startswith("."):
                used = directory / "used"
                stamp = used.stat().st_mtime if used.exists() else directory.stat().st_mtime
                entries.append(CacheEntry([directory], directory_size(directory), stamp, True))
    groups: dict[str, list[Path]] = {}
    if cache_dir.is_dir():
        for path in cache_dir.glob("decoded-*"):
            groups.setdefault(path.name.split(".")[0], []).append(path)
    for paths in groups.values():
        stats = [path.stat() for path in paths]
        entries.append(CacheEntry(paths, sum(s.st_size for s in stats), max(s.st_mtime for s in stats), False))
    return sorted(entries, key=lambda entry: entry.last_used)


def evict(cache_dir: Path, keep: Path, room: int, reason: str) -> int:
    """Remove the least recently used entries but ``keep`` until ``room`` bytes are gone; bytes freed."""
    freed = 0
    for entry in cache_entries(cache_dir):
        if freed >= room:
            break
        if entry.paths[0] == keep or not remove_entry(entry):
            continue
        freed += entry.size
        when = time.strftime("%Y-%m-%d", time.localtime(entry.last_used))
        log.info("evicted the decoded images %s (%s, last used %s): %s", entry.name, human_bytes(entry.size),
                 when, reason)  # fmt: skip
    return freed


def remove_entry(entry: CacheEntry) -> bool:
    """Remove a store nobody uses (its in-use and append locks both free) or a first-format file group."""
    if not entry.store:
        for path in entry.paths:
            path.unlink(missing_ok=True)
        return True
    directory = entry.paths[0]
    try:
        in_use = os.open(directory / "in-use", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        fcntl.flock(in_use, fcntl.LOCK_EX | fcntl.LOCK_NB)
        doomed = directory.with_name(f".evicted-{os.getpid()}-{directory.name}")
        os.rename(directory, doomed)  # atomic: a process that opens the store now makes a new one
    except OSError:
        return False
    finally:
        os.close(in_use)
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def make_room(store: DecodedStore, needed: int) -> None:
    """Evict beyond the cap, and for the disk's sake; one line when the disk cannot hold ``needed`` bytes."""
    cap = cap_bytes()
    entries = cache_entries(store.cache_dir)
    total = sum(entry.size for entry in entries) + needed
    if total > cap:
        why = f"the decoded-image cache {store.cache_dir} would exceed its cap of {human_bytes(cap)} ({CAP_VARIABLE})"
        evict(store.cache_dir, store.directory, total - cap, why)
        kept = store.size_on_disk() + needed
        if kept > cap:
            log.warning("the decoded images at this size alone (%s) exceed the cache's cap of %s (%s): kept, as "
                        "this run needs them", human_bytes(kept), human_bytes(cap), CAP_VARIABLE)  # fmt: skip
    free = shutil.disk_usage(store.directory).free
    if free < needed + DISK_MARGIN:
        evict(store.cache_dir, store.directory, needed + DISK_MARGIN - free, "the disk is short of space")
        free = shutil.disk_usage(store.directory).free
    if free < needed + DISK_MARGIN:
        raise UserError(
            f"decoding needs {human_bytes(needed)} in {store.directory} and the disk has {human_bytes(free)} free "
            f"(plus {human_bytes(DISK_MARGIN)} kept for the run's files): free some space or pass --cache-dir on "
            "another disk"
        )
