"""The generator's weight average: its warm-up formula, what checkpoints hold, resume, and the viewers."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from base.rundir import choose_generator
from base.streams import stream_key
from models.trainers import EMA_WARMUP, STATISTICS_BATCH_SIZE, STATISTICS_DRAWS, recompute_batchnorm_statistics
from tests.conftest import run_script, tiny_digits
from training.recipes import dcgan, wgan_gp

SETTINGS = {"latent_dim": 4, "seed": 3, "jit": False, "lr": 1e-2, "beta1": 0.5, "beta2": 0.9, "mixed_precision": None}
WGAN = {"filters": 4, "n_critic": 1, "gp_weight": 10.0, "class_weight": 1.0, "fake_class_loss": True}


def batches(which, count, rng):
    group = (1,) if which == "wgan" else ()
    images = rng.uniform(-1, 1, (count, 4, *group, 8, 8, 1)).astype("f")
    conditions = np.eye(2, dtype="f")[rng.integers(0, 2, (count, 4, *group))]
    return [(tf.constant(x), tf.constant(c)) for x, c in zip(images, conditions, strict=True)]


def build(which, decay, policy="float32"):
    keras.config.set_dtype_policy(policy)
    try:
        if which == "wgan":
            settings = wgan_gp.RECIPE.settings("digits", **SETTINGS, **WGAN, ema_decay=decay)
            return wgan_gp.RECIPE.build_trainer(settings, (8, 8, 1), 2)
        settings = dcgan.RECIPE.settings("digits", **SETTINGS, class_weight=1.0, ema_decay=decay)
        return dcgan.RECIPE.build_trainer(settings, (8, 8, 1), 2)
    finally:
        keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("which", ["dcgan", "wgan"])
def test_average_follows_the_warmed_up_decay_after_every_generator_step(which):
    decay = 0.6
    trainer = build(which, decay)
    average = [v.numpy() for v in trainer.generator.trainable_variables]
    for step, batch in enumerate(batches(which, 4, np.random.default_rng(0)), start=1):
        trainer.train_step(batch)
        d = min(decay, (1 + step) / (EMA_WARMUP + step))
        raw = trainer.generator.trainable_variables
        average = [d * a + (1 - d) * v.numpy() for a, v in zip(average, raw, strict=True)]
    averaged = trainer.sample_generator()
    assert averaged is not trainer.generator
    for got, want, raw in zip(
        averaged.trainable_variables, average, trainer.generator.trainable_variables, strict=True
    ):
        assert np.allclose(got.numpy(), want, atol=1e-6)
        assert not np.allclose(got.numpy(), raw.numpy())  # an average, not a copy of the last step
    if which == "dcgan":  # BatchNorm statistics measured on the averaged weights, not the raw ones'
        assert not np.allclose(
            averaged.non_trainable_variables[0].numpy(), trainer.generator.non_trainable_variables[0]
        )


def test_standing_statistics_are_the_mean_over_the_draws():
    keras.utils.set_random_seed(0)
    z, condition = keras.Input((3,)), keras.Input((2,))
    features = keras.layers.Dense(4)(keras.layers.Concatenate()([z, condition]))
    norm = keras.layers.BatchNormalization()
    generator = keras.Model([z, condition], norm(features))
    recompute_batchnorm_statistics(generator)
    dense = generator.layers[-2]
    means = []
    for k in range(STATISTICS_DRAWS):
        draw = tf.random.stateless_normal((STATISTICS_BATCH_SIZE, 3), stream_key(0, "standing_statistics", k))
        labels = tf.one_hot(tf.range(STATISTICS_BATCH_SIZE) % 2, 2)
        means.append(np.asarray(dense(tf.concat([draw, labels], axis=1))).mean(axis=0))
    assert np.allclose(norm.moving_mean.numpy(), np.mean(means, axis=0), atol=1e-5)
    assert norm.momentum == 0.99  # restored


def test_decay_zero_keeps_no_average():
    trainer = build("dcgan", 0.0)
    assert trainer.sample_generator() is trainer.generator
    assert set(trainer.saved_networks()) == {"generator", "discriminator"}
    assert "generator_ema" not in trainer.state_variables()


def test_average_stays_float32_under_mixed_precision():
    trainer = build("wgan", 0.9, "mixed_bfloat16")
    assert trainer.generator.layers[-2].compute_dtype == "bfloat16"
    trainer.train_step(batches("wgan", 1, np.random.default_rng(1))[0])
    averages = trainer.state_variables()["generator_ema"]
    assert averages and all(v.dtype == "float32" for v in averages)
    assert all(np.isfinite(v.numpy()).all() for v in averages)


def test_viewers_prefer_the_average_and_raw_picks_the_file(tmp_path):
    raw = tmp_path / "generator_epoch_003.h5"
    raw.write_bytes(b"")
    assert choose_generator(raw) == raw  # no average saved
    twin = tmp_path / "generator_ema_epoch_003.h5"
    twin.write_bytes(b"")
    assert choose_generator(raw) == twin
    assert choose_generator(raw, raw=True) == raw
    assert choose_generator(twin) == twin


RELOAD = """
import sys, numpy as np, keras
g = keras.models.load_model(sys.argv[1], compile=False)
z = np.random.default_rng(0).normal(size=(3, g.inputs[0].shape[1])).astype("float32")
images = np.asarray(g([z, np.eye(g.inputs[1].shape[1], dtype="float32")[:3]], training=False))
print(images.shape, float(images.min()), float(images.max()), float(images.std()))
"""


def test_run_saves_an_average_that_reloads_without_project_code_and_feeds_sample_py(tmp_path):
    out = tmp_path / "run"
    result = run_script("train_dcgan.py", *tiny_digits(steps=4), "--epochs", "2", "--ema-decay", "0.9", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((out / "config.json").read_text())["ema_decay"] == 0.9
    checkpoints = out / "checkpoints"
    raw, averaged = checkpoints / "generator_epoch_002.h5", checkpoints / "generator_ema_epoch_002.h5"
    assert averaged.is_file() and (checkpoints / "generator_ema_epoch_001.h5").is_file()
    script = tmp_path / "reload.py"
    script.write_text(RELOAD)
    reloaded = run_script(script, averaged, cwd=tmp_path, project=False)
    assert reloaded.returncode == 0, reloaded.stderr[-3000:]
    shape, low, high, spread = reloaded.stdout.strip().splitlines()[-1].rsplit(" ", 3)
    assert shape == "(3, 16, 16, 1)" and -1 <= float(low) < float(high) <= 1 and float(spread) > 0.01
    drawn = run_script("sample.py", "--checkpoint", raw, "--grid", "one", "--n", "8", "--out", tmp_path / "a.png")
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    assert "generator_ema_epoch_002.h5" in drawn.stdout and "weight-averaged" in drawn.stderr
