"""Decoding image files once, robustly, into an on-disk cache of uint8 arrays.

Every file is opened with Pillow before training starts, so a bad file is
skipped and named in the log instead of stopping an epoch, and every mode
(grayscale, CMYK, palette, alpha, 16-bit) is turned into the dataset's
channel count. The decoded, resized images are cached as ``.npy`` files keyed
by the file list and the preprocessing, so later runs and epochs never decode
a JPEG again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from base.choices import RESIZE_MODES
from base.errors import UserError
from base.terminal import progress_bar

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
CACHE_VERSION = 1


@dataclass
class DecodedImages:
    images: np.ndarray  # uint8, N x S x S x C
    labels: np.ndarray  # int64, N
    skipped: list[tuple[str, str]]  # (path, reason) of the files that could not be used


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


def _cache_key(paths, labels, size, channels, resize) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([CACHE_VERSION, size, channels, resize]).encode())
    for path, label in zip(paths, labels, strict=True):
        stat = os.stat(path) if os.path.exists(path) else None
        stamp = (stat.st_size, int(stat.st_mtime)) if stat else None
        digest.update(json.dumps([str(path), int(label), stamp]).encode())
    return digest.hexdigest()[:20]


def _atomic_save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)


def _read_cache(prefix: Path):
    meta_path = prefix.with_suffix(".json")
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        images = np.load(prefix.with_suffix(".images.npy"), mmap_mode="r")
        labels = np.load(prefix.with_suffix(".labels.npy"))
    except (OSError, ValueError):
        return None
    if len(images) != len(labels):
        return None
    return DecodedImages(images, labels, [tuple(item) for item in meta["skipped"]])


def _write_cache(prefix: Path, decoded: DecodedImages) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(prefix.with_suffix(".images.npy"), decoded.images)
    _atomic_save(prefix.with_suffix(".labels.npy"), decoded.labels)
    tmp = prefix.with_suffix(f".json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"skipped": decoded.skipped, "count": len(decoded.labels)}))
    os.replace(tmp, prefix.with_suffix(".json"))  # written last: marks the cache complete


def decode_files(paths, labels, size, channels, resize, cache_dir=None, workers=None, progress=True):
    """Decode ``paths`` in parallel threads (Pillow releases the GIL), cached on disk."""
    if resize not in RESIZE_MODES:
        raise UserError(f"unknown resize mode {resize!r}; choose one of {', '.join(RESIZE_MODES)}")
    paths = [str(p) for p in paths]
    labels = np.asarray(labels, dtype=np.int64)
    prefix = None
    if cache_dir is not None:
        prefix = Path(cache_dir) / f"decoded-{_cache_key(paths, labels, size, channels, resize)}"
        cached = _read_cache(prefix)
        if cached is not None:
            log.info("using %d decoded images cached in %s", len(cached.labels), prefix.parent)
            return cached
    decoded = _decode_all(paths, labels, size, channels, resize, workers, progress)
    if prefix is not None:
        try:
            _write_cache(prefix, decoded)
        except OSError as exc:
            log.warning("could not write the decoded-image cache in %s: %s", prefix.parent, exc)
    return decoded


def _decode_all(paths, labels, size, channels, resize, workers, progress):
    workers = workers or max(1, os.cpu_count() or 1)
    bar = progress_bar(len(paths), "image") if progress and paths else None
    images = np.empty((len(paths), size, size, channels), dtype=np.uint8)
    keep = np.zeros(len(paths), dtype=bool)
    skipped = []
    jobs = ((p, size, channels, resize) for p in paths)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for index, (array, error) in enumerate(pool.map(_try_decode, jobs, chunksize=16)):
            if error is None:
                images[index] = array
                keep[index] = True
            else:
                skipped.append((paths[index], error))
            if bar is not None and ((index + 1) % 64 == 0 or index + 1 == len(paths)):
                bar.update(index + 1)
    return DecodedImages(images[keep], labels[keep], skipped)


def report_skipped(skipped, what="image files") -> None:
    """Log the count and every skipped file, so a user can find and fix them."""
    if not skipped:
        return
    log.warning("skipped %d unreadable %s:", len(skipped), what)
    for path, reason in skipped:
        log.warning("  skipped %s (%s)", path, reason)
