"""Decoding image files once, robustly, into the decoded-image store (``data.cache``).

Every file is opened with Pillow before training starts, so a bad file is
skipped and named in the log instead of stopping an epoch, and every mode
(grayscale, CMYK, palette, alpha, 16-bit) is turned into the dataset's
channel count. A file whose shorter side is under a quarter of the image
size is skipped too: stretched four times and more it is a blur, and a 1x1
file a flat tile. The decoded, resized images go to the store in chunks, so
later runs, other subsets and other splits never decode a JPEG again, and a
first decode that is stopped continues where it was.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from base.choices import RESIZE_MODES
from base.errors import UserError
from base.terminal import progress_bar
from data.cache import DecodedStore, StoredImages, file_key, human_bytes, index_line, make_room, printable

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
CHUNK_BYTES = 16 * 2**20  # decoded per chunk, then appended to the store: what a killed first decode loses
SMALLEST_SIDE_FRACTION = 4  # a file's shorter side must be at least image_size / 4


class ImageTooSmall(ValueError):
    """A file whose shorter side is under ``minimum_side``: skipped and counted, not stretched."""


@dataclass
class DecodedImages:
    source: np.ndarray | StoredImages  # uint8, N x S x S x C: in memory, or rows of the store
    labels: np.ndarray  # int64, N
    skipped: list[tuple[str, str]]  # (path, reason) of the files that could not be used

    @property
    def images(self) -> np.ndarray:
        return self.source if isinstance(self.source, np.ndarray) else self.source.array()


def minimum_side(size: int) -> int:
    return max(1, -(-size // SMALLEST_SIDE_FRACTION))


def is_image_file(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale 16- and 32-bit integer images to 8 bits (Pillow's convert clips them)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return Image.fromarray(np.clip(values * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")
    return image


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite transparent images onto white, so hidden pixels do not leak in."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA"))
    return image


def _center_square(image: Image.Image) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def decode_image(path: str, size: int, channels: int, resize: str) -> np.ndarray:
    """One file -> uint8 array (size, size, channels). Raises on any unusable file."""
    with Image.open(path) as image:
        width, height = image.size
        if min(width, height) < minimum_side(size):
            raise ImageTooSmall(f"{width}x{height} pixels, under the {minimum_side(size)} px a side needs at {size} px")
        image.draft("RGB" if channels == 3 else "L", (size, size))  # JPEG: decode at reduced scale
        image.load()
        image = _flatten_alpha(_to_8bit(image))
        image = image.convert("RGB" if channels == 3 else "L")
        if resize == "crop":
            image = _center_square(image)
        image = image.resize((size, size), Image.Resampling.LANCZOS)
        array = np.asarray(image, dtype=np.uint8)
    return array.reshape(size, size, channels)


def _try_decode(args):
    path, size, channels, resize = args
    try:
        return decode_image(path, size, channels, resize), None
    except Exception as exc:  # noqa: BLE001 - every failure means "skip this file"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"{type(exc).__name__}: {reason}"


def _try_key(path: str):
    try:
        return file_key(path), None
    except OSError as exc:
        return None, f"{type(exc).__name__}: {exc.strerror or exc}"


def decode_files(paths, labels, size, channels, resize, cache_dir=None, workers=None, progress=True) -> DecodedImages:
    """Decode ``paths`` in parallel threads (Pillow releases the GIL) into the store under ``cache_dir``.

    Without ``cache_dir`` (or where it cannot be written) the images are decoded into memory.
    """
    if resize not in RESIZE_MODES:
        raise UserError(f"unknown resize mode {resize!r}; choose one of {', '.join(RESIZE_MODES)}")
    paths = [str(p) for p in paths]
    labels = np.asarray(labels, dtype=np.int64)
    workers = workers or max(1, os.cpu_count() or 1)
    if cache_dir is not None:
        try:
            store = DecodedStore(cache_dir, size, channels, resize).open()
        except OSError as exc:
            log.warning("cannot use the decoded-image cache in %s (%s): decoding into memory", cache_dir,
                        exc.strerror or exc)  # fmt: skip
        else:
            try:
                return _decode_into_store(store, paths, labels, workers, progress)
            except OSError as exc:  # the store's files cannot be read or locked (not a full disk: _append says that)
                log.warning("cannot use the decoded-image cache %s (%s): decoding into memory", store.directory,
                            exc.strerror or exc)  # fmt: skip
    return _decode_in_memory(paths, labels, size, channels, resize, workers, progress)


def _decode_in_memory(paths, labels, size, channels, resize, workers, progress) -> DecodedImages:
    images = np.empty((len(paths), size, size, channels), dtype=np.uint8)
    keep = np.zeros(len(paths), dtype=bool)
    skipped = []
    bar = progress_bar(len(paths), "image") if progress and paths else None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = ((p, size, channels, resize) for p in paths)
        for index, (array, error) in enumerate(pool.map(_try_decode, jobs, chunksize=16)):
            if error is None:
                images[index] = array
                keep[index] = True
            else:
                skipped.append((paths[index], error))
            if bar is not None and ((index + 1) % 64 == 0 or index + 1 == len(paths)):
                bar.update(index + 1)
    return DecodedImages(images[keep], labels[keep], skipped)


def _decode_into_store(store: DecodedStore, paths, labels, workers, progress) -> DecodedImages:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        keyed = list(pool.map(_try_key, paths, chunksize=64))
    keys = [key for key, _ in keyed]
    unreadable = {i: reason for i, (key, reason) in enumerate(keyed) if key is None}
    entries, _ = store.read_index()
    found = store.lookup(keys, entries)
    missing = [i for i in found.missing(keys) if i not in unreadable]
    if missing:
        with store.writing():  # another run may have decoded them meanwhile: look again under the lock
            entries, damaged = store.read_index()
            next_row = store.repair(entries, damaged)
            found = store.lookup(keys, entries)
            missing = [i for i in found.missing(keys) if i not in unreadable]
            if missing:
                _fill(store, paths, keys, missing, found, next_row, workers, progress)
    else:
        log.info("using %d decoded images cached in %s", int((found.rows >= 0).sum()), store.directory)
    skipped = []
    for i, key in enumerate(keys):
        reason = unreadable.get(i) or found.reasons.get(key)
        if reason is not None:
            skipped.append((paths[i], reason))
    kept = found.rows >= 0
    return DecodedImages(store.images(found.rows[kept]), labels[kept], skipped)


def _fill(store: DecodedStore, paths, keys, missing, found, next_row: int, workers, progress) -> None:
    """Decode the files at ``missing`` (each distinct key once) and append them to the store, chunk by chunk."""
    first = {}
    for i in missing:
        first.setdefault(keys[i], i)
    todo = list(first.values())
    needed = len(todo) * store.row_bytes
    log.info(
        "decoding %d images at %s into %s: %s on disk (%d of the %d wanted were decoded before)",
        len(todo), "x".join(map(str, store.image_shape)), store.directory, human_bytes(needed),
        len(keys) - len(missing), len(keys),
    )  # fmt: skip
    make_room(store, needed)
    per_chunk = max(16, CHUNK_BYTES // store.row_bytes)
    bar = progress_bar(len(todo), "image") if progress else None
    written = {}
    buffer = np.empty((min(per_chunk, len(todo)), *store.image_shape), np.uint8)  # the only copy held
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for begin in range(0, len(todo), per_chunk):
            chunk = todo[begin : begin + per_chunk]
            jobs = ((paths[i], store.side, store.channels, store.resize) for i in chunk)
            kept, values = 0, {}
            for i, (array, error) in zip(chunk, pool.map(_try_decode, jobs, chunksize=4), strict=True):
                if error is None:
                    values[keys[i]] = next_row + kept
                    buffer[kept] = array
                    kept += 1
                else:
                    values[keys[i]] = error
                if bar is not None and (len(values) % 64 == 0 or len(values) == len(chunk)):
                    bar.update(begin + len(values))
            _append(store, next_row, buffer[:kept], values, begin, len(todo))
            next_row += kept
            written.update(values)
    for i in missing:
        value = written[keys[i]]
        if isinstance(value, str):
            found.reasons[keys[i]] = value
        else:
            found.rows[i] = value
    log.info("decoded %d images into %s", len(todo), store.directory)


def _append(store: DecodedStore, row: int, pixels, values: dict, done: int, total: int) -> None:
    lines = b"".join(index_line(key, value) for key, value in values.items())
    try:
        store.append(row, pixels, lines)
    except OSError as exc:
        free = human_bytes(shutil.disk_usage(store.directory).free)
        raise UserError(
            f"could not write the decoded images to {store.directory} ({exc.strerror or exc}; {free} free) after "
            f"{done} of {total}: free some space or pass --cache-dir on another disk; the next run continues "
            "from there"
        ) from None


def report_skipped(skipped, what="image files") -> None:
    """Log the counts by cause and every skipped file, so a user can find and fix them."""
    if not skipped:
        return
    causes = Counter("too small" if why.startswith(ImageTooSmall.__name__) else "unreadable" for _, why in skipped)
    log.warning("skipped %d %s (%s):", len(skipped), what, ", ".join(f"{n} {cause}" for cause, n in causes.items()))
    for path, reason in skipped:
        log.warning("  skipped %s (%s)", printable(path), reason)
