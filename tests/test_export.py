"""export.py and sampling.export: each format reloaded in a fresh process that cannot import the project."""

import json

import keras
import numpy as np
import pytest

import export
from models.dcgan import build_dcgan_generator
from models.wgan_gp import build_wgan_generator
from sampling.export import description_path, export_generator, exportable
from tests.conftest import run_script
from training.cli import run_cli

# Each runtime's output against Keras's (the float32 rebuild the export is made from), on the same inputs:
# float32 files agree to float rounding; float16 weights move an image by a few thousandths (of a range of 2).
TOLERANCE = {"savedmodel": 1e-5, "tflite": 1e-4, "tflite-float16": 1e-2, "onnx": 1e-4}
EXPORTS = {  # name -> (format, quantize, file)
    "savedmodel": ("savedmodel", None, "generator_savedmodel"),
    "tflite": ("tflite", None, "generator.tflite"),
    "tflite-float16": ("tflite", "float16", "generator_fp16.tflite"),
    "onnx": ("onnx", None, "generator.onnx"),
}

RELOAD = """
import json, sys
import numpy as np

PROJECT = {"base", "data", "losses", "models", "sampling", "evaluation", "training", "bench", "export"}


class RefuseTheProject:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in PROJECT:
            raise ImportError(f"{name} is the project's; a user of the export has only the file")


sys.meta_path.insert(0, RefuseTheProject())
folder, inputs = sys.argv[1], np.load(sys.argv[2])
z, condition = inputs["z"], inputs["condition"]
outputs = {}
for name, path in json.loads(sys.argv[3]).items():
    if name.endswith("savedmodel"):
        import tensorflow as tf

        serve = tf.saved_model.load(path).signatures["serving_default"]
        outputs[name] = serve(z=tf.constant(z), condition=tf.constant(condition))["image"].numpy()
    elif "tflite" in name:
        import tensorflow as tf

        runner = tf.lite.Interpreter(model_path=path).get_signature_runner("serving_default")
        outputs[name] = runner(z=z, condition=condition)["image"]
    else:
        import onnxruntime

        session = onnxruntime.InferenceSession(path)
        outputs[name] = session.run(["image"], {"z": z, "condition": condition})[0]
np.savez(folder + "/outputs.npz", **outputs)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in PROJECT)))
"""


def mixed_precision_generator(kind):
    """Built as a --mixed-precision bfloat16 run builds it: the export must compute in float32 all the same."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        if kind == "dcgan-nearest":
            return build_dcgan_generator((16, 16, 3), 5, latent_dim=12, filters=8, upsampling="nearest")
        if kind == "dcgan-transposed":
            return build_dcgan_generator((16, 16, 1), 5, latent_dim=12, filters=8, upsampling="transposed")
        return build_wgan_generator((32, 32, 3), 5, latent_dim=12, filters=8)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def with_trained_statistics(generator):
    """BatchNorm statistics away from 0 and 1, as training leaves them, so inference mode is what is compared."""
    rng = np.random.default_rng(1)
    for layer in generator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.3, layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype("float32"))
    return generator


KINDS = ("dcgan-nearest", "dcgan-transposed", "wgan-gp")  # the doublings and blocks the networks are made of


def test_every_export_reloads_without_the_project_and_draws_what_keras_draws(tmp_path):
    """Three generators in four formats, all read back by one fresh process that cannot import the project."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 12)).astype("float32")
    condition = np.eye(5, dtype="float32")
    condition[4] = (condition[1] + condition[3]) / 2  # a mixed condition goes through the same signature
    np.savez(tmp_path / "inputs.npz", z=z, condition=condition)
    generators, paths = {}, {}
    for kind in KINDS:
        generators[kind] = with_trained_statistics(mixed_precision_generator(kind))
        for name, (fmt, quantize, file) in EXPORTS.items():
            path = export_generator(generators[kind], fmt, tmp_path / kind / file, quantize)
            paths[f"{kind}/{name}"] = str(path)
    script = tmp_path / "reload.py"
    script.write_text(RELOAD)
    result = run_script(script, tmp_path, tmp_path / "inputs.npz", json.dumps(paths), cwd=tmp_path, project=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    outputs = np.load(tmp_path / "outputs.npz")
    for kind, generator in generators.items():
        for name, (fmt, _, _) in EXPORTS.items():
            expected = np.asarray(exportable(generator, fmt)([z, condition], training=False))
            got = outputs[f"{kind}/{name}"]
            assert got.shape == expected.shape == (5, *generator.outputs[0].shape[1:])
            error = np.abs(got - expected).max()
            assert error <= TOLERANCE[name], f"{kind} {name}: {error}"
        mixed = np.asarray(generator([z, condition], training=False))
        assert np.abs(outputs[f"{kind}/savedmodel"] - mixed).max() < 0.1  # the bfloat16 original, coarser


def test_the_float32_rebuild_keeps_the_weights_and_the_pixels():
    generator = with_trained_statistics(mixed_precision_generator("dcgan-nearest"))
    assert {layer.dtype_policy.name for layer in generator.layers} >= {"mixed_bfloat16"}
    for fmt in ("savedmodel", "tflite"):
        rebuilt = exportable(generator, fmt)
        assert {layer.dtype_policy.name for layer in rebuilt.layers} == {"float32"}
        assert all(np.array_equal(a, b) for a, b in zip(rebuilt.get_weights(), generator.get_weights(), strict=True))
    resized = exportable(generator, "tflite")
    assert "Resizing" in {type(layer).__name__ for layer in resized.layers}  # TensorFlow Lite's nearest resize
    z = np.random.default_rng(2).standard_normal((3, 12)).astype("float32")
    condition = np.eye(5, dtype="float32")[:3]
    same = exportable(generator, "savedmodel")([z, condition], training=False)
    assert np.array_equal(np.asarray(resized([z, condition], training=False)), np.asarray(same))


def test_float16_weights_halve_the_tflite_file(tmp_path):
    generator = build_wgan_generator((32, 32, 3), 5, latent_dim=12, filters=32)  # weights outweigh the format's own
    full = export_generator(generator, "tflite", tmp_path / "g.tflite").stat().st_size
    half = export_generator(generator, "tflite", tmp_path / "h.tflite", "float16").stat().st_size
    weights = sum(w.size for w in generator.get_weights()) * 4
    assert 0.9 * weights < full < 1.2 * weights and half < 0.6 * full


@pytest.fixture(scope="module")
def generator_h5(tmp_path_factory):
    """A generator file in a run directory, as sample.py and export.py find them."""
    run = tmp_path_factory.mktemp("run")
    (run / "checkpoints").mkdir()
    (run / "config.json").write_text(json.dumps({"class_names": ["Baroque", "Cubism", "Ukiyo-e"], "seed": 3}))
    generator = build_dcgan_generator((16, 16, 3), 3, latent_dim=6, filters=8, upsampling="nearest")
    path = run / "checkpoints" / "generator_epoch_001.h5"
    generator.save(path)
    return path


def test_export_script_writes_the_file_and_its_class_names(generator_h5, tmp_path, capsys):
    out = tmp_path / "out" / "g.tflite"
    code = run_cli(export.main, ["--checkpoint", str(generator_h5), "--format", "tflite", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "wrote" in capsys.readouterr().out and out.stat().st_size > 10_000
    about = json.loads(description_path(out).read_text())
    assert about["class_names"] == ["Baroque", "Cubism", "Ukiyo-e"] and about["weights"] == "float32"
    assert about["inputs"] == {"z": [None, 6], "condition": [None, 3]}
    assert about["output"]["image"] == [None, 16, 16, 3] and about["signature"] == "serving_default"
    savedmodel = ["--checkpoint", str(generator_h5), "--format", "savedmodel", "--out", str(out.parent / "sm")]
    assert run_cli(export.main, savedmodel) == 0 and (out.parent / "sm" / "saved_model.pb").is_file()
    assert run_cli(export.main, savedmodel) == 0  # over the first: replaced whole, no debris left
    assert sorted(p.name for p in out.parent.iterdir()) == ["g.json", "g.tflite", "sm", "sm.json"]


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--format", "savedmodel", "--quantize", "float16", "--out", "x"], "--quantize float16 applies to --format"),
        (["--format", "tflite", "--out", "x.onnx"], "--out x.onnx must end in .tflite for --format tflite"),
        (["--format", "onnx", "--out", "x.tflite"], "--out x.tflite must end in .onnx"),
        (["--format", "savedmodel", "--out", "x.h5"], "a SavedModel is a folder"),
        (["--format", "keras", "--out", "x"], "invalid choice: 'keras'"),
    ],
)
def test_export_script_errors_are_one_line_with_exit_code_2(generator_h5, capsys, flags, message):
    try:
        code = run_cli(export.main, ["--checkpoint", str(generator_h5), *flags])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err


def test_export_refuses_a_discriminator(tmp_path, capsys):
    critic = keras.Sequential([keras.Input((16, 16, 3), name="image"), keras.layers.Flatten(), keras.layers.Dense(1)])
    critic.save(tmp_path / "critic.h5")
    flags = ["--checkpoint", str(tmp_path / "critic.h5"), "--format", "onnx", "--out", str(tmp_path / "c.onnx")]
    assert run_cli(export.main, flags) == 2
    assert "is not a generator" in capsys.readouterr().err and not (tmp_path / "c.onnx").exists()
