"""FID and Inception Score with InceptionV3, only from ImageNet weights already on disk.

These are the field's standard figures, but their network needs ImageNet
weights (about 90 MB). Nothing here downloads: without a local file the
figures are reported as not computed, with one line that says how to get them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from base.errors import DataError
from data.files import keras_home
from evaluation.metrics import frechet_distance, inception_score, kernel_distance

TOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"  # with the classifier: FID and IS
NOTOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"  # features only: FID
INPUT_SIZE = 299
BATCH_SIZE = 32


def keras_models_dir() -> Path:
    """Where Keras keeps downloaded application weights (``$KERAS_HOME/models``, default ~/.keras/models)."""
    return keras_home() / "models"


def find_weights(explicit: str | None = None) -> Path | None:
    """The weights file to use: ``explicit`` (which must exist), else one in the Keras cache, else None."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise DataError(f"--inception-weights {explicit} is not a file")
        return path
    for name in (TOP_FILE, NOTOP_FILE):
        if (keras_models_dir() / name).is_file():
            return keras_models_dir() / name
    return None


def not_available_message() -> str:
    return (
        "FID and Inception Score: not computed: no local ImageNet weights for InceptionV3 "
        f"(pass --inception-weights PATH or put {TOP_FILE} or {NOTOP_FILE} in {keras_models_dir()}; "
        "nothing is downloaded)"
    )


def _inception(path: Path, has_top: bool):
    import keras

    if has_top:
        full = keras.applications.InceptionV3(include_top=True, weights=str(path))
        return keras.Model(full.input, [full.get_layer("avg_pool").output, full.output])
    return keras.applications.InceptionV3(include_top=False, weights=str(path), pooling="avg")


def build_inception(path: Path):
    """``(model, has_top)``: the model maps 299x299 images in [-1, 1] to (pool features[, probabilities]).

    A file may hold the network with or without its ImageNet classifier; the
    name says which as a rule (Keras's "_notop"), and the other is tried next.
    """
    error = None
    for has_top in (False, True) if "notop" in path.name else (True, False):
        try:
            return _inception(path, has_top), has_top
        except Exception as caught:  # noqa: BLE001 - any failure means "not this layout"
            error = caught
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise DataError(f"cannot load InceptionV3 weights from {path}: {first}") from None


def inception_outputs(model, has_top: bool, images) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize to 299x299 (grey images to three channels) and run InceptionV3 in chunks."""
    import tensorflow as tf

    features, probabilities = [], []
    for start in range(0, len(images), BATCH_SIZE):
        batch = tf.convert_to_tensor(np.asarray(images[start : start + BATCH_SIZE], np.float32))
        if batch.shape[-1] == 1:
            batch = tf.repeat(batch, 3, axis=-1)
        batch = tf.image.resize(batch, (INPUT_SIZE, INPUT_SIZE), method="bilinear")
        outputs = model(batch, training=False)
        if has_top:
            features.append(np.asarray(outputs[0]))
            probabilities.append(np.asarray(outputs[1]))
        else:
            features.append(np.asarray(outputs))
    return np.concatenate(features), (np.concatenate(probabilities) if has_top else None)


NETWORK_NOTE = (
    "Keras's ImageNet InceptionV3 (keras.applications), not the 2015 TensorFlow graph "
    "(pt_inception-2015-12-05) behind published FIDs: compare these figures with each other, not with papers"
)


def inception_figures(path: Path, generated, real) -> dict:
    """FID and KID of generated vs real images and, with the top layer, the Inception Score of the generated ones."""
    model, has_top = build_inception(path)
    generated_features, probabilities = inception_outputs(model, has_top, generated)
    real_features, _ = inception_outputs(model, has_top, real)
    kid, kid_std = kernel_distance(generated_features, real_features)
    return {
        "available": True,
        "weights": str(path),
        "network": NETWORK_NOTE,
        "fid": frechet_distance(generated_features, real_features),
        "kid": kid,
        "kid_std": kid_std,
        "inception_score": inception_score(probabilities, splits=min(10, len(probabilities))) if has_top else None,
    }
