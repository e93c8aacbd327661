"""What a style judge reads: its accuracy on images with one kind of information taken away.

Each perturbation removes one cue and keeps the others, so the accuracy a
judge keeps under it says how much its verdict rested on that cue:

- ``blur`` and ``jpeg`` remove fine texture (brushwork, grain, the pixel
  patterns a generator can learn to satisfy one network);
- ``noise`` adds grain of its own;
- ``posterize`` keeps a few levels per channel: shapes and palette, no
  gradations;
- ``grey`` removes the palette, keeps tone, texture and layout;
- ``lowres`` (down to a side, then back up) keeps only palette and layout;
- ``shuffle`` cuts the image into square patches and shuffles them:
  the layout goes, palette and texture inside each patch stay.

Read on real paintings, the figures say what each judge relies on; read on
generated images beside real ones, they say which cue carries the
generator's style: a verdict that real paintings keep under blur and the
samples lose rests on fine pixel patterns, not on what a person sees.
All functions take and return float images in [-1, 1], NHWC.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

from base.streams import numpy_stream


def blur(images, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="reflect").astype(np.float32)


def add_noise(images, sigma: float, seed: int = 0) -> np.ndarray:
    """Gaussian noise of ``sigma`` in the [-1, 1] range (0.1: 5% of the range), clipped."""
    rng = numpy_stream(seed, "cue_noise")
    return np.clip(images + sigma * rng.standard_normal(images.shape), -1, 1).astype(np.float32)


def posterize(images, levels: int) -> np.ndarray:
    """Each channel rounded to ``levels`` evenly spaced values."""
    unit = (np.asarray(images) + 1) / 2
    return (np.round(unit * (levels - 1)) / (levels - 1) * 2 - 1).astype(np.float32)


def grey(images) -> np.ndarray:
    """ITU-R 601 luma in every channel: the palette goes, the tone stays."""
    images = np.asarray(images, np.float32)
    if images.shape[-1] == 1:
        return images
    luma = images @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat(luma[..., None], images.shape[-1], axis=-1)


def _to_uint8(image) -> np.ndarray:
    return np.clip(np.round((image + 1) * 127.5), 0, 255).astype(np.uint8)


def _to_unit(array) -> np.ndarray:
    return np.asarray(array, np.float32) / 127.5 - 1


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)


def _back(image: Image.Image, channels: int) -> np.ndarray:
    array = np.asarray(image)
    return array[..., None] if channels == 1 else array


def jpeg(images, quality: int) -> np.ndarray:
    channels = images.shape[-1]
    out = []
    for image in _to_uint8(images):
        buffer = io.BytesIO()
        _pil(image).save(buffer, format="JPEG", quality=quality)
        out.append(_back(Image.open(io.BytesIO(buffer.getvalue())), channels))
    return _to_unit(np.stack(out))


def lowres(images, side: int) -> np.ndarray:
    """Down to ``side`` x ``side`` (box filter: each pixel the mean of its area), then back up (bilinear)."""
    height, width, channels = images.shape[1:]
    out = []
    for image in _to_uint8(images):
        small = _pil(image).resize((side, side), Image.BOX)
        out.append(_back(small.resize((width, height), Image.BILINEAR), channels))
    return _to_unit(np.stack(out))


def shuffle_patches(images, patch: int, seed: int = 0) -> np.ndarray:
    """Square ``patch`` x ``patch`` tiles in a new random order per image (the side must divide by ``patch``)."""
    images = np.asarray(images, np.float32)
    count, height, width, channels = images.shape
    if height % patch or width % patch:
        raise ValueError(f"patch {patch} does not divide the image side {height}x{width}")
    rows, cols = height // patch, width // patch
    tiles = images.reshape(count, rows, patch, cols, patch, channels).transpose(0, 1, 3, 2, 4, 5)
    tiles = tiles.reshape(count, rows * cols, patch, patch, channels)
    rng = numpy_stream(seed, "cue_shuffle")
    order = np.argsort(rng.random((count, rows * cols)), axis=1)
    tiles = np.take_along_axis(tiles, order[:, :, None, None, None], axis=1)
    tiles = tiles.reshape(count, rows, cols, patch, patch, channels).transpose(0, 1, 3, 2, 4, 5)
    return tiles.reshape(count, height, width, channels)


def perturbations(image_side: int) -> dict:
    """name -> (what it keeps, function of the images): the set of cue tests for images of this side."""
    found = {
        "none": ("everything", lambda x: x),
        "blur 1": ("layout, palette; texture softened", lambda x: blur(x, 1.0)),
        "blur 2": ("layout, palette; no fine texture", lambda x: blur(x, 2.0)),
        "noise 0.1": ("everything, under grain", lambda x: add_noise(x, 0.1)),
        "jpeg 20": ("layout, palette; fine texture compressed", lambda x: jpeg(x, 20)),
        "posterize 4": ("layout, shapes, a coarse palette", lambda x: posterize(x, 4)),
        "grey": ("layout, tone, texture; no palette", grey),
        "lowres 16": ("palette and layout at 16 px", lambda x: lowres(x, 16)),
        "lowres 8": ("palette and a coarse layout at 8 px", lambda x: lowres(x, 8)),
    }
    for patch in (image_side // 4, image_side // 8):
        if patch >= 4:
            found[f"shuffle {patch}"] = (f"palette and texture inside {patch} px tiles; no layout",
                                         lambda x, p=patch: shuffle_patches(x, p))  # fmt: skip
    return found


def accuracy_under(judge, images, labels, perturbation) -> tuple[float, np.ndarray]:
    """``(accuracy, per-image predicted class)`` of ``judge`` on the perturbed images."""
    _, probabilities = judge.predict(perturbation(np.asarray(images, np.float32)))
    predicted = np.argmax(probabilities, axis=1)
    return float(np.mean(predicted == np.asarray(labels))), predicted


def cue_table(judge, real_images, real_labels, samples=None, requested=None) -> dict:
    """name -> {"keeps", "real", "samples"}: accuracy on real images and on samples under each perturbation.

    ``samples`` are generated for the classes ``requested``; without them
    only the real column is filled.
    """
    table = {}
    for name, (keeps, perturb) in perturbations(int(np.shape(real_images)[1])).items():
        row = {"keeps": keeps, "real": accuracy_under(judge, real_images, real_labels, perturb)[0]}
        if samples is not None:
            row["samples"] = accuracy_under(judge, samples, requested, perturb)[0]
        table[name] = row
    return table
