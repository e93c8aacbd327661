"""A generator for other runtimes: a TensorFlow SavedModel, a TensorFlow Lite file, or ONNX.

Every format holds the same function, (z, condition) -> image: inputs ``z``
(batch, latent) and ``condition`` (batch, classes), float32; output ``image``
(batch, H, W, C) in [-1, 1], the generator in inference mode (BatchNorm's
moving statistics). Each file gets ``<name>.json`` beside it with the class
names in condition order, so a user of the file knows which entry is which style.

The exports compute in float32. A generator trained under ``--mixed-precision``
stores float32 weights but computes in bfloat16 or float16; a runtime that
reads the file has no use for that choice (TensorFlow Lite has no bfloat16
kernels, ONNX export requires float32), so the layers are rebuilt with the
float32 policy around the same weights first (:func:`exportable`). The Keras
model the tests compare each export with is that float32 rebuild.

The SavedModel is written by Keras's ``ExportArchive``, the TensorFlow Lite
file by TensorFlow's converter from that SavedModel, the ONNX file by Keras's
exporter (``Model.export(format="onnx")``, through tf2onnx).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from base.errors import UserError
from base.rundir import partial_path

EXPORT_FORMATS = ("savedmodel", "tflite", "onnx")
QUANTIZATIONS = ("float16",)
SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}  # a SavedModel is a folder
INPUT_NAMES, OUTPUT_NAME = ("z", "condition"), "image"


def check_export_flags(fmt: str, out, quantize: str | None) -> None:
    """The checks that need no TensorFlow, so a wrong flag is reported at once."""
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if quantize is not None and fmt != "tflite":
        raise UserError(f"--quantize {quantize} applies to --format tflite only")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise UserError(f"unknown quantization {quantize!r}; choose one of {', '.join(QUANTIZATIONS)}")
    suffix = SUFFIXES.get(fmt)
    if suffix and Path(out).suffix.lower() != suffix:
        raise UserError(f"--out {out} must end in {suffix} for --format {fmt}")
    if fmt == "savedmodel" and Path(out).suffix.lower() in (".tflite", ".onnx", ".h5", ".keras"):
        raise UserError(f"--out {out}: a SavedModel is a folder; name one (e.g. generator_savedmodel)")


def exportable(generator, fmt: str):
    """The generator as it is exported: in float32, and for TensorFlow Lite with its nearest-neighbour
    doublings written as ``Resizing`` layers; the same weights and the same pixels, another file."""
    import keras

    config = _float32_policies(generator.get_config())
    if fmt == "tflite":
        config = _upsampling_as_resizing(config, generator)
    if config == generator.get_config():
        return generator
    rebuilt = keras.Model.from_config(config)
    rebuilt.set_weights(generator.get_weights())
    return rebuilt


def _float32_policies(config):
    """A model config with every mixed dtype policy replaced by float32."""
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and "config" in config:
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    return config


def _upsampling_as_resizing(config: dict, generator) -> dict:
    """``UpSampling2D(interpolation="nearest")`` -> ``Resizing(2H, 2W, interpolation="nearest")``.

    The two give identical pixels (each output pixel copies input pixel
    floor(i / 2)), but Keras builds the first from ``repeat``, whose reshape
    under a dynamic batch loses the channel count, and the converter then
    cannot lower the convolution after it to a TensorFlow Lite operator;
    ``Resizing`` is TensorFlow Lite's RESIZE_NEAREST_NEIGHBOR, for any batch.
    """
    layers = []
    for layer in config["layers"]:
        settings = layer["config"]
        if layer["class_name"] == "UpSampling2D" and settings.get("interpolation") == "nearest":
            height, width = generator.get_layer(settings["name"]).output.shape[1:3]
            resizing = {key: settings[key] for key in ("name", "trainable", "dtype") if key in settings}
            resizing.update(height=int(height), width=int(width), interpolation="nearest")
            layer = {**layer, "class_name": "Resizing", "module": "keras.layers", "config": resizing}
        layers.append(layer)
    return {**config, "layers": layers}


def input_signature(generator):
    import tensorflow as tf

    return [
        tf.TensorSpec([None, int(tensor.shape[-1])], tf.float32, name=name)
        for tensor, name in zip(generator.inputs, INPUT_NAMES, strict=True)
    ]


def export_generator(generator, fmt: str, out, quantize: str | None = None, about: dict | None = None) -> Path:
    """Write the generator in ``fmt`` to ``out`` (replacing what is there only once the new export is complete)
    and ``<out>.json`` beside it with ``about`` (class names, source) and the signature."""
    check_export_flags(fmt, out, quantize)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = exportable(generator, fmt)
    tmp = partial_path(out)
    try:
        {"savedmodel": write_savedmodel, "tflite": write_tflite, "onnx": write_onnx}[fmt](model, tmp, quantize)
        replace(tmp, out)
    finally:
        remove(tmp)
    write_description(model, fmt, out, quantize, about or {})
    return out


def write_savedmodel(model, path: Path, _quantize=None) -> None:
    """A SavedModel whose ``serving_default`` signature takes z and condition and returns {"image": ...}.

    The archive finds the variables through its endpoint; ``track(model)``
    as well would write every variable twice (Keras 3.15), a SavedModel of
    twice the weights' size.
    """
    import keras

    archive = keras.export.ExportArchive()
    archive.add_endpoint(
        "serving_default",
        lambda z, condition: {OUTPUT_NAME: model([z, condition], training=False)},
        input_signature=input_signature(model),
    )
    archive.write_out(str(path), verbose=False)


def write_tflite(model, path: Path, quantize: str | None = None) -> None:
    """TensorFlow Lite converted from that SavedModel, built-in operators only (no TensorFlow ops inside: any
    LiteRT runtime reads it); ``float16`` stores the weights in half precision (half the file; they are
    widened again to compute)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        saved_model = Path(folder) / "savedmodel"
        write_savedmodel(model, saved_model)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        path.write_bytes(converter.convert())


def write_onnx(model, path: Path, _quantize=None) -> None:
    """ONNX through Keras's exporter (tf2onnx), its output renamed ``image`` like the other formats'."""
    try:
        import onnx
        import tf2onnx  # noqa: F401 - Keras's ONNX export needs it; say so before it fails deep inside
    except ImportError:
        raise UserError("--format onnx needs the tf2onnx package (pip install tf2onnx)") from None
    model.export(str(path), format="onnx", input_signature=[input_signature(model)], verbose=False)
    graph = onnx.load(str(path))
    old = graph.graph.output[0].name
    for node in graph.graph.node:
        node.output[:] = [OUTPUT_NAME if name == old else name for name in node.output]
    graph.graph.output[0].name = OUTPUT_NAME
    onnx.save(graph, str(path))


def write_description(model, fmt: str, out: Path, quantize, about: dict) -> Path:
    """``<out>.json``: what the file computes and which condition entry is which class."""
    description = {
        **about,
        "format": fmt,
        "weights": quantize or "float32",
        "inputs": {name: [None, int(t.shape[-1])] for name, t in zip(INPUT_NAMES, model.inputs, strict=True)},
        "output": {OUTPUT_NAME: [None, *map(int, model.outputs[0].shape[1:])], "range": [-1.0, 1.0]},
        "signature": "serving_default" if fmt != "onnx" else None,
    }
    path = description_path(out)
    path.write_text(json.dumps(description, indent=2) + "\n")
    return path


def description_path(out) -> Path:
    out = Path(out)
    return out.with_suffix(".json") if out.suffix else out.with_name(out.name + ".json")


def replace(new: Path, old: Path) -> None:
    """``new`` takes ``old``'s name; a folder (SavedModel) is swapped in, the old one removed after."""
    if new.is_dir() and old.exists():
        stale = partial_path(old.with_name(old.name + "-old"))
        os.replace(old, stale)
        os.replace(new, old)
        remove(stale)
    else:
        os.replace(new, old)


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
