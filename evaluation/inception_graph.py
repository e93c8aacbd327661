"""The 2015 TensorFlow Inception graph behind published FIDs, run in TensorFlow 2.

The reference FID code (bioinf-jku/TTUR ``fid.py``) and OpenAI's Inception
Score code read ``classify_image_graph_def.pb`` from
``inception-2015-12-05.tgz``, feed float images in 0-255 at ``ExpandDims:0``
(the graph resizes them to 299x299 itself and maps them to [-1, 1]) and
take the 2048 features at ``pool_3:0``; the Inception Score applies the
softmax layer's weights to those features without its bias.

The graph was frozen for one JPEG at a time: its input and a reshape after
``pool_3`` are fixed at batch size 1, which TTUR patches through a private
shape attribute in a TF1 session. Here the input is replaced, on import, by
a placeholder of any batch size and any image size, and the function is
pruned to the outputs taken, so the batch-1 reshape never runs.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from base.errors import UserError, first_line

GRAPH_MEMBER = "classify_image_graph_def.pb"  # inside inception-2015-12-05.tgz
INPUT = "ExpandDims:0"  # float32 (1, height, width, 3) in 0-255, before the graph's resize
FEATURES = "pool_3:0"  # (batch, 1, 1, 2048) after the replaced input
SOFTMAX_MATMUL = "softmax/logits/MatMul"  # its second input is the (2048, 1008) weight matrix


def read_graph_bytes(path: Path, archive: bool) -> bytes:
    """The GraphDef's bytes: the file itself, or its member read in memory from a (gzipped) tar."""
    if not archive:
        return path.read_bytes()
    try:
        with tarfile.open(path, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and Path(m.name).name == GRAPH_MEMBER]
            if not members:
                raise UserError(f"--inception-weights {path} is an archive without {GRAPH_MEMBER}")
            return tar.extractfile(members[0]).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise UserError(f"--inception-weights {path} is a damaged archive ({first_line(error)})") from None


def read_graph_def(path: Path, archive: bool):
    """The parsed GraphDef, refused with one line unless it has the reference graph's input and features."""
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(read_graph_bytes(path, archive))
    except (DecodeError, RuntimeWarning, ValueError) as error:
        raise UserError(f"--inception-weights {path} is not a TensorFlow graph ({first_line(error)})") from None
    names = {node.name for node in graph_def.node}
    missing = [name.split(":")[0] for name in (INPUT, FEATURES) if name.split(":")[0] not in names]
    if missing:
        raise UserError(
            f"--inception-weights {path} is a graph without {' and '.join(missing)}: "
            "not the 2015 Inception graph (classify_image_graph_def.pb)"
        )
    return graph_def


def graph_function(graph_def):
    """``run(images) -> (features, probabilities or None)`` for float32 (batch, h, w, 3) images in 0-255."""
    import tensorflow as tf

    has_softmax = any(node.name == SOFTMAX_MATMUL for node in graph_def.node)
    fetched = [FEATURES] + ([SOFTMAX_MATMUL] if has_softmax else [])

    def imported(images):
        outputs = tf.compat.v1.import_graph_def(
            graph_def, input_map={INPUT: images}, return_elements=fetched, name="inception"
        )
        pool = outputs[0]
        features = tf.reshape(pool, [-1, pool.shape[-1]])
        if not has_softmax:
            return features, tf.zeros([tf.shape(features)[0], 0])
        logits = tf.matmul(features, outputs[1].inputs[1])  # OpenAI's Inception Score: no bias
        return features, tf.nn.softmax(logits)

    spec = tf.TensorSpec([None, None, None, 3], tf.float32, name="images")
    wrapped = tf.compat.v1.wrap_function(imported, [spec])
    graph = wrapped.graph
    run = wrapped.prune(feeds=graph.inputs[0], fetches=list(wrapped.outputs))
    feature_dim = int(wrapped.outputs[0].shape[-1])

    def call(images):
        features, probabilities = run(tf.convert_to_tensor(images, tf.float32))
        return features.numpy(), (probabilities.numpy() if has_softmax else None)

    return call, feature_dim, has_softmax
