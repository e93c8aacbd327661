"""mixed_float16: both models train, the penalty's inner gradient keeps its small terms, log.csv counts the
skipped updates, and a run resumes in another precision in either direction."""

import csv
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from losses import gradient_penalty, input_gradients
from tests.conftest import run_script, tiny_digits
from training.callbacks import EpochLog
from training.devices import set_precision
from training.recipes.dcgan import RECIPE as DCGAN
from training.recipes.wgan_gp import RECIPE as WGAN_GP


@pytest.fixture
def float16():
    set_precision("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("recipe", [DCGAN, WGAN_GP], ids=["dcgan", "wgan-gp"])
def test_both_models_train_in_float16_and_log_their_loss_scales_and_skipped_updates(float16, recipe, tmp_path):
    # the WGAN-GP with --projection: its penalty differentiates the projected score at the loss scale
    small = {"filters": 8, "n_critic": 2, "projection": True} if recipe is WGAN_GP else {}
    settings = recipe.settings("digits", seed=0, latent_dim=8, jit=False, mixed_precision="float16", **small)
    trainer = recipe.build_trainer(settings, (16, 16, 1), 3)
    assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in trainer.optimizers().values())
    for network in trainer.networks().values():
        weighted = [layer.compute_dtype for layer in network.layers if getattr(layer, "kernel", None) is not None]
        assert weighted.count("float16") >= len(weighted) - 2, weighted  # all but the float32 heads
    rng = np.random.default_rng(0)
    group = (2,) if recipe is WGAN_GP else ()
    images = rng.uniform(-1, 1, (8, *group, 16, 16, 1)).astype("float32")
    conditions = np.eye(3, dtype="float32")[rng.integers(0, 3, (8, *group))]
    before = [network.get_weights() for network in trainer.networks().values()]
    stream = tf.data.Dataset.from_tensors((images, conditions)).repeat()
    history = trainer.fit(stream, epochs=1, steps_per_epoch=6, verbose=0, callbacks=[EpochLog(tmp_path / "log.csv")])
    assert all(math.isfinite(values[-1]) for values in history.history.values()), history.history
    after = [network.get_weights() for network in trainer.networks().values()]
    for old, new in zip(before, after, strict=True):
        assert max(float(np.abs(a - b).max()) for a, b in zip(old, new, strict=True)) > 1e-5  # both networks moved
        assert all(np.isfinite(w).all() for w in new)
    (row,) = log_rows(tmp_path)
    kept = trainer.state_variables()
    for role, optimizer in trainer.optimizers().items():
        updates = 6 * trainer.updates_per_step()[role]
        scale, skipped = float(row[f"loss_scale_{role}"]), int(row[f"skipped_updates_{role}"])
        assert 1 <= scale <= 2**15 and math.log2(scale).is_integer()
        assert 0 <= skipped < updates / 2  # most updates were applied...
        assert int(optimizer.iterations.numpy()) == updates - skipped  # ...and the others counted
        assert 2**15 / scale == 2**skipped  # each skip halved the scale; none grew it yet
        assert float(kept[f"{role}_loss_scale"][1].numpy()) == scale  # what a checkpoint keeps


def float16_critic():
    """conv - ReLU - conv - mean - a float32 score head whose small weights make every input gradient tiny."""
    images = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(images)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    score = keras.layers.Dense(1, dtype="float32", kernel_initializer=keras.initializers.Constant(1e-6))(x)
    return keras.Model(images, score)


def test_the_penalty_inner_gradient_keeps_its_small_terms_under_the_loss_scale(float16):
    """Unscaled, float16's backward flushes gradients of 1e-8 to zero; at the loss scale it keeps them.

    BENCHMARKS.md measures the same on the paper's 64 px critic.
    """
    critic16 = float16_critic()
    keras.mixed_precision.set_global_policy("float32")
    critic32 = float16_critic()
    critic32.set_weights(critic16.get_weights())
    x_hat = tf.random.stateless_uniform((4, 8, 8, 3), (1, 2), -1, 1)
    want = input_gradients(critic32, x_hat).numpy()
    unscaled = input_gradients(critic16, x_hat).numpy()
    scaled = input_gradients(critic16, x_hat, tf.constant(2.0**15)).numpy()
    assert np.abs(want).max() < 1e-7 and (want != 0).mean() > 0.9
    assert (unscaled == 0).mean() > 0.5  # most terms lost
    assert ((scaled == 0) & (want != 0)).mean() < 0.01
    norms = [np.sqrt((g**2).sum(axis=(1, 2, 3))) for g in (want, scaled)]
    np.testing.assert_allclose(norms[1], norms[0], rtol=0.02)
    penalty = gradient_penalty(critic16, x_hat, x_hat, tf.ones([4]), tf.constant(2.0**15))
    assert penalty.dtype == tf.float32 and abs(float(penalty) - 1.0) < 1e-3  # ||grad|| is ~0: (0 - 1)^2


def log_rows(run):
    with open(run / "log.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def state(run, tag):
    with np.load(run / "checkpoints" / f"state_{tag}.npz") as arrays:
        return {key: arrays[key] for key in arrays.files}


def train(*args):
    result = run_script(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_a_run_resumes_in_another_precision_with_its_optimizer_slots_either_way(tmp_path):
    """float32 for an epoch, float16 for the next (the loss scale starts afresh); back to float32 (it is dropped).

    The way there runs the script; the way back restores the float16 checkpoint in this process, which
    spares a third script start (the part of this test that costs).
    """
    from base.rundir import Position
    from training.checkpoints import apply_checkpoint, read_checkpoint

    run = tmp_path / "run"
    train("train_dcgan.py", *tiny_digits(steps=3), "--epochs", "1", "--out", run)
    result = train("train_dcgan.py", "--resume", "--out", run, "--epochs", "2", "--mixed-precision", "float16")
    assert "precision mixed_float16," in result.stderr
    states = [state(run, f"epoch_00{epoch}") for epoch in (1, 2)]
    settings, record = DCGAN.settings_from_flags(["--resume", "--out", str(run), "--mixed-precision", "float32"])
    assert settings.devices.policy == "float32"
    back = DCGAN.build_trainer(settings, record.image_shape, len(record.class_names))
    position = Position(2, 0)
    apply_checkpoint(back, run / "checkpoints", *read_checkpoint(back, run / "checkpoints", position), position)
    for role in ("generator", "discriminator"):
        slots = [sorted(key for key in arrays if key.startswith(f"{role}_optimizer/")) for arrays in states]
        assert slots[0] == slots[1]  # the same slots in either precision
        counts = [int(arrays[f"{role}_optimizer/0000"]) for arrays in states]
        assert counts[0] == 3 and counts[1] > counts[0]  # Adam's step count went on
        assert any(np.abs(states[0][key]).max() > 0 for key in slots[0][2:])  # and its moments came along
        assert [f"{role}_loss_scale/0001" in arrays for arrays in states] == [False, True]
        restored = [np.asarray(variable.numpy()) for variable in back.state_variables()[f"{role}_optimizer"]]
        assert len(restored) == len(slots[1]) and f"{role}_loss_scale" not in back.state_variables()
        for key, value in zip(slots[1], restored, strict=True):
            np.testing.assert_array_equal(value, states[1][key])  # float32 took float16's slots as they were
    rows = log_rows(run)
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert [row["loss_scale_generator"] != "" for row in rows] == [False, True]
