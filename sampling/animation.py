"""Frames -> an animated GIF (Pillow) or an MP4 (H.264 through imageio-ffmpeg), written atomically.

GIF needs nothing beyond Pillow and plays everywhere a picture does (a README,
an issue, a slide), so it is the default. MP4 is far smaller for long or large
walks; it is written by the ffmpeg executable that the imageio-ffmpeg wheel
ships (no system ffmpeg, no download at run time), driven through a pipe: the
smallest maintained package that brings its own encoder.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from base.errors import UserError
from base.rundir import partial_path

ANIMATION_SUFFIXES = (".gif", ".mp4")
PALETTE_SAMPLE_FRAMES = 16  # frames whose colours make the GIF's one palette
MP4_BLOCK = 16  # H.264's macroblock: frames are padded (white) to a multiple, never resampled


def check_animation_path(path) -> None:
    if Path(path).suffix.lower() not in ANIMATION_SUFFIXES:
        raise UserError(f"{path} must end in .gif or .mp4")


def save_animation(pictures, path, fps: float, hold_last: float = 0.0) -> Path:
    """Write (H, W, 3) uint8 pictures of one size as a looping animation; ``hold_last`` seconds on the last frame.

    The file appears complete or not at all (written under a partial name, then renamed).
    """
    path = Path(path)
    check_animation_path(path)
    pictures = [np.ascontiguousarray(picture, dtype=np.uint8) for picture in pictures]
    if not pictures:
        raise ValueError("an animation needs one frame at least")
    if len({picture.shape for picture in pictures}) > 1:
        raise ValueError("every frame of an animation must have one size")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    try:
        if path.suffix.lower() == ".gif":
            write_gif(pictures, tmp, fps, hold_last)
        else:
            write_mp4(pictures, tmp, fps, hold_last)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_gif(pictures, path, fps: float, hold_last: float) -> None:
    """One palette for every frame (no flicker of colours from frame to frame), no dithering (no shimmer)."""
    images = [Image.fromarray(picture) for picture in pictures]
    palette = shared_palette(images)
    frames = [image.quantize(palette=palette, dither=Image.Dither.NONE) for image in images]
    step = round(1000 / fps)
    durations = [step] * len(frames)
    durations[-1] += round(1000 * hold_last)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)


def shared_palette(images) -> Image.Image:
    """A 256-colour palette from evenly spaced frames stacked into one picture."""
    picks = np.unique(np.linspace(0, len(images) - 1, min(PALETTE_SAMPLE_FRAMES, len(images))).round().astype(int))
    stacked = np.concatenate([np.asarray(images[i]) for i in picks], axis=0)
    return Image.fromarray(stacked).quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def write_mp4(pictures, path, fps: float, hold_last: float) -> None:
    """H.264 in yuv420p (what every player decodes), frames padded to whole macroblocks."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise UserError("writing .mp4 needs the imageio-ffmpeg package: pip install imageio-ffmpeg") from None
    height, width = pictures[0].shape[:2]
    padded = (-(-width // MP4_BLOCK) * MP4_BLOCK, -(-height // MP4_BLOCK) * MP4_BLOCK)
    held = [pictures[-1]] * round(fps * hold_last)
    writer = imageio_ffmpeg.write_frames(
        str(path), padded, fps=fps, codec="libx264", quality=8, macro_block_size=MP4_BLOCK,
        output_params=["-f", "mp4"], ffmpeg_log_level="error",
    )  # fmt: skip
    writer.send(None)
    try:
        for picture in [*pictures, *held]:
            writer.send(pad(picture, padded))
    finally:
        writer.close()


def pad(picture: np.ndarray, size) -> np.ndarray:
    """The picture at the top left of a white (width, height) canvas."""
    width, height = size
    canvas = np.full((height, width, 3), 255, np.uint8)
    canvas[: picture.shape[0], : picture.shape[1]] = picture
    return canvas
