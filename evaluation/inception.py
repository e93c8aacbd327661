"""FID, KID and Inception Score in an Inception network's features, only from files already on disk.

Three files are read, told apart by their content rather than their names:

- the 2015 TensorFlow Inception graph (``inception-2015-12-05.tgz`` or the
  ``classify_image_graph_def.pb`` inside it): the network of the reference
  FID code, so these figures stand beside published ones;
- pytorch-fid's port of that graph (``pt_inception-2015-12-05-*.pth``),
  rebuilt in Keras layers (``evaluation/inception_port.py``);
- Keras's ImageNet InceptionV3 weights (``.h5``): a different network, whose
  figures compare with each other only.

Nothing is downloaded: without a file the figures are reported as not
computed, with one line that says how to get them. Samples and real images
stream through the network in batches, so 50,000 of them need the memory
of one batch and of the 2048 x 2048 covariance.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.errors import UserError, first_line
from base.streams import numpy_stream
from base.terminal import progress_bar
from data import image_chunks
from data.files import keras_home
from evaluation.metrics import (
    RunningMoments,
    SplitInceptionScore,
    frechet_distance_from_statistics,
    kernel_distance,
)
from evaluation.statistics_file import read_statistics

TOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"  # with the classifier: FID and IS
NOTOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"  # features only: FID
REFERENCE_ARCHIVE = "inception-2015-12-05.tgz"
PORT_FILE = "pt_inception-2015-12-05-6726825d.pth"  # pytorch-fid's, cached by torch.hub
REFERENCE_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
INPUT_SIZE = 299
BATCH_SIZE = 50  # images per network call: TTUR's default
KID_FEATURES = 10_000  # features kept per side for KID: 100 subsets of 1000 draw from these
IS_SPLITS = 10  # the Inception Score's customary splits (Salimans et al.)

REFERENCE_GRAPH = "the 2015 TensorFlow Inception graph (TTUR fid.py, pool_3), as published FIDs use"
PORT_DESCRIPTION = (
    "pytorch-fid's port of the 2015 TensorFlow Inception graph (pt_inception-2015-12-05), as published FIDs use"
)
KERAS_NETWORK = (
    "Keras's ImageNet InceptionV3 (keras.applications): not comparable with published FIDs, which come "
    "from the 2015 Inception graph; compare these figures with each other only"
)
log = logging.getLogger(__name__)
GZIP_MAGIC, HDF5_MAGIC, ZIP_MAGIC = b"\x1f\x8b", b"\x89HDF\r\n\x1a\n", b"PK\x03\x04"


@dataclass
class FeatureNetwork:
    """An Inception network ready to run: ``run(images in [-1, 1]) -> (features, probabilities or None)``."""

    kind: str  # "reference-graph", "pytorch-fid-port" or "keras-imagenet"
    description: str  # printed beside every figure
    comparable_with_papers: bool
    path: Path
    feature_dim: int
    has_classifier: bool
    run: Callable

    @property
    def family(self) -> str:
        """What statistics files record: the graph and its port give the same features, Keras's network others."""
        return "inception-2015" if self.comparable_with_papers else self.kind


def keras_models_dir() -> Path:
    """Where Keras keeps downloaded application weights (``$KERAS_HOME/models``, default ~/.keras/models)."""
    return keras_home() / "models"


def torch_hub_checkpoints() -> Path:
    """Where torch.hub keeps downloads, and so pytorch-fid its port: ``$TORCH_HOME/hub/checkpoints``."""
    torch_home = os.environ.get("TORCH_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "torch"
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def cached_candidates() -> list[Path]:
    """Files looked for without --inception-weights, the ones comparable with papers first."""
    return [
        keras_models_dir() / REFERENCE_ARCHIVE,
        torch_hub_checkpoints() / PORT_FILE,
        keras_models_dir() / TOP_FILE,
        keras_models_dir() / NOTOP_FILE,
    ]


def find_weights(explicit: str | None = None) -> Path | None:
    """The network file to use: ``explicit`` (which must exist), else one already cached, else None."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UserError(f"--inception-weights {explicit} is not a file")
        return path
    return next((path for path in cached_candidates() if path.is_file()), None)


def not_available_message() -> str:
    return (
        "FID and Inception Score: not computed: no Inception network on disk (pass --inception-weights "
        f"{REFERENCE_ARCHIVE}, from {REFERENCE_URL}, for figures comparable with papers; none of "
        f"{', '.join(str(path) for path in cached_candidates())} exists; nothing is downloaded)"
    )


def identify(path: Path) -> str:
    """What the file holds, from its first bytes: "archive", "hdf5", "torch" or "graph" (a protobuf has no magic).

    ``torch.save`` writes a zip (PyTorch 1.6 on) or a pickle stream (before).
    """
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(GZIP_MAGIC) or head[257:262] == b"ustar":
        return "archive"
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(ZIP_MAGIC) or head.startswith(b"\x80"):  # torch.save: a zip, or (legacy) a pickle
        return "torch"
    return "graph"


def load_network(path: Path) -> FeatureNetwork:
    """The network in ``path``, or a one-line UserError that says what the file is instead."""
    kind = identify(path)
    if kind == "torch":
        return port_network(path)
    if kind == "hdf5":
        return keras_network(path)
    return reference_network(path, archive=kind == "archive")


def reference_network(path: Path, archive: bool) -> FeatureNetwork:
    from evaluation.inception_graph import graph_function, read_graph_def

    call, feature_dim, has_softmax = graph_function(read_graph_def(path, archive))

    def run(images):
        return call(as_pixel_values(images))

    return FeatureNetwork("reference-graph", REFERENCE_GRAPH, True, path, feature_dim, has_softmax, run)


def port_network(path: Path) -> FeatureNetwork:
    """pytorch-fid's ``pt_inception-2015-12-05-*.pth``, read without PyTorch into standard Keras layers."""
    import tensorflow as tf

    from evaluation.inception_port import build_port, preprocess
    from evaluation.torch_file import read_torch_file

    state = read_torch_file(path)
    try:
        with float32_policy():
            model = build_port(state)
    except UserError as error:
        raise UserError(f"--inception-weights {path}: {error}") from None

    @tf.function(reduce_retracing=True)
    def forward(pixels):
        features, logits = model(preprocess(pixels), training=False)
        return features, tf.nn.softmax(logits)

    def run(images):
        features, probabilities = forward(tf.constant(as_pixel_values(images)))
        return features.numpy(), probabilities.numpy()

    return FeatureNetwork("pytorch-fid-port", PORT_DESCRIPTION, True, path, 2048, True, run)


def as_pixel_values(images) -> np.ndarray:
    """[-1, 1] images as the graph wants them: three channels of whole numbers in 0-255, as if saved as PNG.

    Rounding to whole values is what a figure computed from saved sample
    files sees, and it gives real images back their exact bytes.
    """
    images = np.asarray(images, np.float32)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return np.clip(np.rint((images + 1.0) * 127.5), 0.0, 255.0)


@contextlib.contextmanager
def float32_policy():
    """Networks built inside are float32 whatever a training run's mixed-precision policy: figures must not
    depend on it. The run's policy is given back afterwards."""
    import keras

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(policy)


def _keras_inception(path: Path, has_top: bool):

    with float32_policy():
        return _keras_inception_layers(path, has_top)


def _keras_inception_layers(path: Path, has_top: bool):
    import keras

    if has_top:
        full = keras.applications.InceptionV3(include_top=True, weights=str(path))
        return keras.Model(full.input, [full.get_layer("avg_pool").output, full.output])
    return keras.applications.InceptionV3(include_top=False, weights=str(path), pooling="avg")


def keras_network(path: Path) -> FeatureNetwork:
    """Keras's InceptionV3 from a weights file with or without its classifier.

    The name says which as a rule (Keras's "_notop"), and the other is tried next.
    """
    error = None
    for has_top in (False, True) if "notop" in path.name else (True, False):
        try:
            model = _keras_inception(path, has_top)
            break
        except Exception as caught:  # noqa: BLE001 - any failure means "not this layout"
            error = caught
    else:
        raise UserError(f"cannot load InceptionV3 weights from {path}: {first_line(error)}") from None

    return keras_feature_network(model, has_top, path)


def keras_feature_network(model, has_top: bool, path: Path, description: str = KERAS_NETWORK) -> FeatureNetwork:
    """A Keras InceptionV3 (pool features, and probabilities when ``has_top``) as a FeatureNetwork."""

    def run(images):
        import tensorflow as tf

        batch = tf.convert_to_tensor(np.asarray(images, np.float32))
        if batch.shape[-1] == 1:
            batch = tf.repeat(batch, 3, axis=-1)
        outputs = model(tf.image.resize(batch, (INPUT_SIZE, INPUT_SIZE), method="bilinear"), training=False)
        if has_top:
            return np.asarray(outputs[0]), np.asarray(outputs[1])
        return np.asarray(outputs), None

    return FeatureNetwork("keras-imagenet", description, False, path, 2048, has_top, run)


@dataclass
class StreamedFigures:
    """What one pass of a set of images through the network leaves: enough for FID, KID and IS."""

    count: int
    mu: np.ndarray
    sigma: np.ndarray
    kept_features: np.ndarray  # the first KID_FEATURES features (the images arrive in random order)
    inception_score: float | None


def batches_of(images, order=None, batch_size: int = BATCH_SIZE) -> Iterator[np.ndarray]:
    """``images[order]`` (uint8 0-255 or floats in [-1, 1]) as [-1, 1] float batches, never the whole set at once.

    ``images``: an array, or the store's rows (``LabelledImages.source``), read by ``data.image_chunks``.
    """
    for batch in image_chunks(images, order, batch_size):
        yield batch.astype(np.float32) / 127.5 - 1.0 if batch.dtype == np.uint8 else batch.astype(np.float32)


def real_order(count: int, samples: int, seed: int) -> np.ndarray:
    """Which real images, in which order: up to ``samples`` of them, drawn at random (KID keeps the first)."""
    return numpy_stream(seed, "inception_real").permutation(count)[:samples]


def stream_through(network: FeatureNetwork, batches, total: int, progress: str | None = None) -> StreamedFigures:
    """Run ``total`` images, arriving in ``batches``, through ``network``: moments, KID's features, IS.

    ``progress`` names the images in a progress bar (None: no bar).
    """

    moments, kept = RunningMoments(), []
    score = SplitInceptionScore(total, IS_SPLITS) if network.has_classifier else None
    bar = progress_bar(total, progress) if progress else None
    seen = 0
    for batch in batches:
        features, probabilities = network.run(batch)
        moments.update(features)
        if seen < KID_FEATURES:
            kept.append(np.asarray(features[: KID_FEATURES - seen], np.float32))
        if score is not None:
            score.update(probabilities)
        seen += len(batch)
        if bar is not None:
            bar.update(seen)
    if seen != total:
        raise ValueError(f"{seen} images arrived, {total} were announced")
    mu, sigma = moments.statistics()
    return StreamedFigures(seen, mu, sigma, np.concatenate(kept), score.score() if score else None)


def generated_labels(labels, samples: int, seed: int) -> np.ndarray:
    """The classes asked of the generator: ``samples`` drawn from the real labels, so the class mix is the data's."""
    return numpy_stream(seed, "inception_labels").choice(np.asarray(labels, np.int64), samples)


def generated_batches(generator, labels, num_classes: int, seed: int, batch_size: int = BATCH_SIZE):
    """Samples for ``labels``, one batch at a time, with fresh noise for every batch from one seeded stream."""
    from sampling import generate, one_hot

    latent_dim = int(generator.inputs[0].shape[1])
    rng = numpy_stream(seed, "inception_noise")
    for start in range(0, len(labels), batch_size):
        conditions = one_hot(labels[start : start + batch_size], num_classes)
        yield generate(generator, rng.standard_normal((len(conditions), latent_dim)), conditions)


def network_note(network: FeatureNetwork) -> dict:
    return {
        "network": network.description,
        "network_kind": network.kind,
        "comparable_with_papers": network.comparable_with_papers,
        "weights": str(network.path),
    }


def inception_figures(
    network: FeatureNetwork,
    generated: StreamedFigures,
    real: StreamedFigures | None = None,
    statistics: dict | None = None,
    real_source: str = "",
) -> dict:
    """FID against ``statistics`` (a statistics file) or ``real``; KID against ``real``; IS of ``generated``.

    KID needs the real features themselves, so with only a statistics file it is not computed.
    """
    if statistics is not None:
        real_mu, real_sigma, real_count = statistics["mu"], statistics["sigma"], statistics.get("count")
    else:
        real_mu, real_sigma, real_count = real.mu, real.sigma, real.count
    kid, kid_std = kernel_distance(generated.kept_features, real.kept_features) if real is not None else (None, None)
    return {
        "available": True,
        **network_note(network),
        "fid": frechet_distance_from_statistics(generated.mu, generated.sigma, real_mu, real_sigma),
        "kid": kid,
        "kid_std": kid_std,
        "inception_score": generated.inception_score,
        "inception_score_splits": IS_SPLITS if generated.inception_score is not None else None,
        "generated_count": generated.count,
        "real_source": real_source,
        "real_count": real_count,
        "real_description": real_description(real_source, real_count, statistics is not None),
    }


def real_description(source: str, count: int | None, from_statistics: bool) -> str:
    """ "1000 images of the validation split", or "statistics file F (cifar10 train), from 50000 images"."""
    if not from_statistics:
        return f"{count} images of the {source}"
    return source + (f", from {count} images" if count else ", image count not recorded")


@dataclass
class InceptionSetup:
    """The network and FID's real side, read and checked before any slow work starts, then reused."""

    network: FeatureNetwork | None  # None: no network on disk, figures not computed
    statistics: dict | None = None  # from --fid-stats
    stats_path: str | None = None
    real: StreamedFigures | None = None  # the real images' pass, once computed
    real_source: str = ""


def prepare_inception(inception_weights: str | None, fid_stats: str | None) -> InceptionSetup:
    """Load the network and the statistics file now, so that a wrong file stops the command at once."""
    weights = find_weights(inception_weights)
    if weights is None:
        if fid_stats:
            raise UserError("--fid-stats needs --inception-weights, the network its statistics were computed with")
        return InceptionSetup(None)
    network = load_network(weights)
    statistics = read_statistics(fid_stats, network.feature_dim, network.family) if fid_stats else None
    source = ""
    if statistics is not None:
        source = f"statistics file {fid_stats}" + (f" ({statistics['source']})" if statistics["source"] else "")
    return InceptionSetup(network, statistics, fid_stats, real_source=source)


def add_real_side(setup: InceptionSetup, data, validation, samples: int, seed: int = 0, progress=False) -> None:
    """Stream up to ``samples`` random real images (the validation split's where there is one) through the network.

    Not needed for FID when a statistics file is given; KID then goes uncomputed.
    """
    if setup.network is None or setup.statistics is not None or setup.real is not None:
        return
    real_set, setup.real_source = (validation, "validation split") if validation is not None else (data, "training set")
    order = real_order(len(real_set.labels), samples, seed)
    batches = batches_of(real_set.source, order)
    setup.real = stream_through(setup.network, batches, len(order), "real image" if progress else None)


def inception_part(setup: InceptionSetup, generator, data, validation, samples: int, seed=0, progress=False) -> dict:
    """FID, KID and IS of ``samples`` fresh samples of ``generator``, streamed in batches.

    The classes asked for follow the training labels' mix; the noise is a
    fixed stream of ``seed``, so successive checkpoints see the same draw.
    """
    if setup.network is None:
        return {"available": False, "reason": not_available_message()}
    if setup.statistics is not None:
        warn_if_sizes_differ(setup, data.image_shape[0])
    add_real_side(setup, data, validation, samples, seed, progress)
    labels = generated_labels(data.labels, samples, seed)
    batches = generated_batches(generator, labels, data.num_classes, seed)
    generated = stream_through(setup.network, batches, samples, "sample" if progress else None)
    return inception_figures(setup.network, generated, setup.real, setup.statistics, setup.real_source)


def warn_if_sizes_differ(setup: InceptionSetup, image_size: int) -> None:
    """Statistics of other-sized images are allowed (the network resizes), but not silently."""
    stored = setup.statistics.get("image_size")
    if stored is not None and int(stored) != image_size:
        log.warning(
            "--fid-stats %s was computed from %dx%d images; the samples are %dx%d",
            setup.stats_path,
            stored,
            stored,
            image_size,
            image_size,
        )
