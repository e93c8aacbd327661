"""A tiny stand-in for the 2015 Inception graph, with its tensor names, and its output computed in NumPy.

The real ``classify_image_graph_def.pb`` (95 MB) cannot be downloaded here.
This graph keeps what the loader relies on: a JPEG-string placeholder that
must never be fed, the chain Cast -> ExpandDims -> ResizeBilinear -> Sub 128
-> Mul 1/128, a convolution, ``pool_3``, a reshape fixed at batch size 1
that must never run, and a softmax layer whose bias the Inception Score
leaves out. Its weights are random, so a wrong wiring shows in the numbers.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np

RESIZED = 8  # the graph's own resize, 299 in the real one
KERNEL = 2  # a 2x2 VALID convolution
FEATURES = 6  # 2048 in the real one
CLASSES = 5  # 1008 in the real one


def weights(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "kernel": rng.normal(size=(KERNEL, KERNEL, 3, FEATURES)).astype(np.float32),
        "softmax": rng.normal(size=(FEATURES, CLASSES)).astype(np.float32),
        "bias": (5.0 * rng.normal(size=(CLASSES,))).astype(np.float32),  # large: its omission must show
    }


def graph_bytes(seed: int = 0, with_pool: bool = True, with_softmax: bool = True) -> bytes:
    import tensorflow as tf

    w = weights(seed)
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        decoded = tf.image.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        expanded = tf.expand_dims(tf.cast(decoded, tf.float32, name="Cast"), 0, name="ExpandDims")
        resized = tf.raw_ops.ResizeBilinear(
            images=expanded, size=tf.constant([RESIZED, RESIZED]), align_corners=False, name="ResizeBilinear"
        )
        scaled = tf.multiply(tf.subtract(resized, 128.0, name="Sub"), 1.0 / 128.0, name="Mul")
        convolved = tf.nn.relu(tf.nn.conv2d(scaled, tf.constant(w["kernel"]), 1, "VALID"), name="mixed_10/join")
        side = RESIZED - KERNEL + 1
        pooled = tf.nn.avg_pool2d(convolved, side, side, "VALID", name="pool_3" if with_pool else "pool_x")
        reshaped = tf.reshape(pooled, [1, FEATURES], name="pool_3/_reshape")
        if with_softmax:
            matrix = tf.constant(w["softmax"], name="softmax/weights")
            product = tf.matmul(reshaped, matrix, name="softmax/logits/MatMul")
            logits = tf.nn.bias_add(product, tf.constant(w["bias"], name="softmax/biases"), name="softmax/logits")
            tf.nn.softmax(logits, name="softmax")
    return graph.as_graph_def().SerializeToString()


def write_graph(path: Path, seed: int = 0, **options) -> Path:
    path.write_bytes(graph_bytes(seed, **options))
    return path


def write_archive(path: Path, seed: int = 0, member: str = "classify_image_graph_def.pb") -> Path:
    """A .tgz laid out as inception-2015-12-05.tgz: the graph beside other files."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in (("LICENSE", b"Apache 2.0\n"), (member, graph_bytes(seed))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def legacy_resize(images: np.ndarray, size: int) -> np.ndarray:
    """TF1's ResizeBilinear without align_corners or half-pixel centres: source = destination * (in / out)."""
    height, width = images.shape[1:3]

    def axis(n_in):
        source = np.arange(size) * (n_in / size)
        low = np.floor(source).astype(int)
        return low, np.minimum(low + 1, n_in - 1), (source - low).astype(np.float32)

    (y0, y1, dy), (x0, x1, dx) = axis(height), axis(width)
    top = images[:, y0][:, :, x0] * (1 - dx)[None, None, :, None] + images[:, y0][:, :, x1] * dx[None, None, :, None]
    bottom = images[:, y1][:, :, x0] * (1 - dx)[None, None, :, None] + images[:, y1][:, :, x1] * dx[None, None, :, None]
    return top * (1 - dy)[None, :, None, None] + bottom * dy[None, :, None, None]


def expected_outputs(pixels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(features, probabilities without the bias)`` of float 0-255 RGB images, in NumPy."""
    w = weights(seed)
    scaled = (legacy_resize(pixels.astype(np.float64), RESIZED) - 128.0) / 128.0
    side = RESIZED - KERNEL + 1
    convolved = sum(
        np.einsum("nyxc,co->nyxo", scaled[:, dy : dy + side, dx : dx + side], w["kernel"][dy, dx])
        for dy in range(KERNEL)
        for dx in range(KERNEL)
    )
    features = np.maximum(convolved, 0.0).mean(axis=(1, 2))
    logits = features @ w["softmax"]
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    return features, probabilities / probabilities.sum(axis=1, keepdims=True)
