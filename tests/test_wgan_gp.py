"""The conditional WGAN-GP: penalty formula, critic design, Algorithm 1's loop, and train_wgan_gp.py."""

import csv
import json
from functools import partial

import keras
import numpy as np
import pytest
import tensorflow as tf

from losses import gradient_penalty, interpolate
from models.trainers import ConditionalWGANGP
from models.trainers.critic_terms import critic_on_both
from models.wgan_gp import build_wgan_critic, build_wgan_generator
from tests.conftest import run_script, shared_data


def linear_critic(weights):
    image = keras.Input((2, 2, 1))
    score = keras.layers.Dense(1)(keras.layers.Flatten()(image))
    model = keras.Model(image, score)
    model.layers[-1].set_weights([weights.reshape(4, 1), np.array([0.3])])
    return model


@pytest.mark.parametrize("weights", [[3.0, 0.0, 4.0, 0.0], [0.1, 0.2, -0.2, 0.1]])
def test_penalty_of_a_linear_critic_is_its_weight_norm(weights):
    weights = np.array(weights, np.float32)
    critic = linear_critic(weights)
    real, fake = np.random.rand(6, 2, 2, 1).astype("f"), np.random.rand(6, 2, 2, 1).astype("f")
    penalty = gradient_penalty(critic, real, fake, tf.random.uniform((6,)))
    assert np.isclose(float(penalty), (np.linalg.norm(weights) - 1.0) ** 2, rtol=1e-5)


def test_interpolates_lie_between_real_and_fake():
    real, fake = tf.ones((3, 2, 2, 1)), tf.zeros((3, 2, 2, 1))
    x_hat = interpolate(real, fake, tf.constant([0.0, 0.25, 1.0]))
    assert np.allclose(np.asarray(x_hat)[:, 0, 0, 0], [0.0, 0.25, 1.0])


def test_penalty_gradient_is_finite_where_the_critic_is_flat():
    critic = linear_critic(np.zeros(4, np.float32))
    real = tf.Variable(tf.random.uniform((2, 2, 2, 1)))
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, real, tf.zeros((2, 2, 2, 1)), tf.ones((2,)))
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)  # the norm is sqrt(epsilon), not 0
    assert np.isfinite(np.asarray(tape.gradient(penalty, critic.weights[0]))).all()


@pytest.mark.parametrize("size", [28, 32, 64])
def test_critic_has_no_batch_statistics_and_both_heads(size):
    critic = build_wgan_critic((size, size, 3), 7, filters=8)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers)
    assert any(isinstance(layer, keras.layers.GroupNormalization) for layer in critic.layers)
    score, logits = critic(np.zeros((2, size, size, 3), "f"))
    assert score.shape == (2, 1) and logits.shape == (2, 7)
    x = np.random.rand(4, size, size, 3).astype("f")  # a sample's score ignores the rest of the batch
    assert np.allclose(critic(x, training=True)[0][:1], critic(x[:1], training=True)[0], atol=1e-5)
    generator = build_wgan_generator((size, size, 3), 7, latent_dim=5, filters=8)
    assert generator([np.zeros((1, 5), "f"), np.eye(7, dtype="f")[:1]]).shape == (1, size, size, 3)


def critic_and_trainer(policy: str):
    keras.mixed_precision.set_global_policy(policy)
    try:
        critic = build_wgan_critic((16, 16, 3), 5, filters=8)
        return critic, ConditionalWGANGP(build_wgan_generator((16, 16, 3), 5, 4, filters=8), critic, 4)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def critic_outputs_and_gradients(critic, trainer, real, fake, joint: bool):
    """The four critic outputs and the gradients of a loss that weighs every output row differently."""
    weights = tf.constant(np.random.default_rng(4).normal(size=(4, len(real))), tf.float32)
    with tf.GradientTape() as tape:
        if joint:
            outputs = critic_on_both(trainer.critic, real, fake)
        else:
            (real_score, real_class), (fake_score, fake_class) = (
                critic(real, training=True),
                critic(fake, training=True),
            )
            outputs = (real_score, fake_score, real_class, fake_class)
        loss = sum(
            tf.reduce_sum(w[:, None] * tf.cast(o, tf.float32))
            for w, o in zip(tf.unstack(weights), outputs, strict=True)
        )
    gradients = tape.gradient(loss, critic.trainable_variables)
    return [np.float32(o) for o in outputs], [np.float32(g) for g in gradients]


def images(seed: int):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (6, 16, 16, 3)), tf.float32)


def test_one_critic_pass_over_real_and_fake_equals_two_passes_with_the_same_gradients():
    """The critic step scores real and fake images in one stacked pass: scores, logits and gradients as two."""
    critic, trainer = critic_and_trainer("float32")
    joint, joint_gradients = critic_outputs_and_gradients(critic, trainer, images(1), images(2), joint=True)
    apart, apart_gradients = critic_outputs_and_gradients(critic, trainer, images(1), images(2), joint=False)
    for together, separately in zip(joint, apart, strict=True):
        assert together.shape == separately.shape
        np.testing.assert_allclose(together, separately, rtol=1e-5, atol=1e-6)
    for together, separately in zip(joint_gradients, apart_gradients, strict=True):
        scale = np.abs(separately).max() + 1e-12
        np.testing.assert_allclose(together / scale, separately / scale, atol=1e-5)


def test_under_bfloat16_one_pass_is_as_close_to_float32_as_two_passes():
    """bfloat16 gradients stray 1 to 30% from float32 either way; stacking the passes must not add to that."""
    exact, exact_trainer = critic_and_trainer("float32")
    rounded, rounded_trainer = critic_and_trainer("mixed_bfloat16")
    rounded.set_weights(exact.get_weights())
    _, truth = critic_outputs_and_gradients(exact, exact_trainer, images(1), images(2), joint=False)
    _, joint = critic_outputs_and_gradients(rounded, rounded_trainer, images(1), images(2), joint=True)
    _, apart = critic_outputs_and_gradients(rounded, rounded_trainer, images(1), images(2), joint=False)
    for reference, together, separately in zip(truth, joint, apart, strict=True):
        scale = np.abs(reference).max() + 1e-12
        error_joint, error_apart = (
            np.abs(together - reference).max() / scale,
            np.abs(separately - reference).max() / scale,
        )
        assert error_joint <= 1.3 * error_apart + 0.01, (error_joint, error_apart)


class RecordingWGANGP(ConditionalWGANGP):
    """Remembers the mean of the real batch each critic update saw, newest last."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = tf.Variable(tf.zeros(self.n_critic))

    def critic_step(self, real, condition, index=0):
        self.seen.assign(tf.concat([self.seen[1:], [tf.reduce_mean(real)]], axis=0))
        super().critic_step(real, condition, index)


def test_train_step_gives_each_critic_update_its_own_real_batch():
    n_critic, batch = 3, 4
    adam = partial(keras.optimizers.Adam, 1e-4, beta_1=0.0, beta_2=0.9)
    trainer = RecordingWGANGP(
        build_wgan_generator((8, 8, 1), 2, 4, filters=4),
        build_wgan_critic((8, 8, 1), 2, filters=4),
        4,
        n_critic=n_critic,
    )
    trainer.compile(g_optimizer=adam(), d_optimizer=adam())
    levels = np.tile([-0.5, 0.0, 0.5], (batch, 1)).astype("f")  # (batch, n_critic): column i is update i's
    images = np.broadcast_to(levels[:, :, None, None, None], (batch, n_critic, 8, 8, 1)).copy()
    conditions = np.eye(2, dtype="f")[np.arange(batch * n_critic).reshape(batch, n_critic) % 2]
    trainer.fit(tf.data.Dataset.from_tensors((images, conditions)), epochs=1, verbose=0, shuffle=False)
    assert np.allclose(trainer.seen.numpy(), [-0.5, 0.0, 0.5])
    assert int(trainer.d_optimizer.iterations) == n_critic and int(trainer.g_optimizer.iterations) == 1


TINY_WIKIART = [
    "--dataset",
    "wikiart",
    "--batch-size",
    "4",
    "--n-critic",
    "2",
    "--steps-per-epoch",
    "2",
    "--filters",
    "8",
    "--latent-dim",
    "8",
    "--image-size",
    "32",
    "--sample-columns",
    "2",
    "--seed",
    "5",
    "--quiet",
]

RELOAD = """
import json, sys, numpy as np, keras
g = keras.models.load_model(sys.argv[1], compile=False)
c = keras.models.load_model(sys.argv[2], compile=False)
z = np.zeros((2, g.inputs[0].shape[1]), "float32")
images = g([z, np.eye(g.inputs[1].shape[1], dtype="float32")[:2]], training=False)
score, logits = c(images)
print(json.dumps({"images": list(images.shape), "score": list(score.shape), "logits": list(logits.shape),
                  "layers": sorted({type(layer).__name__ for layer in c.layers})}))
"""


@pytest.fixture(scope="module")
def wikiart_run(tmp_path_factory):
    wikiart = shared_data("wikiart")
    root = tmp_path_factory.mktemp("wgan")
    out = root / "run"
    args = [*TINY_WIKIART, "--data-dir", wikiart, "--cache-dir", root / "cache", "--epochs", "2", "--out", out]
    result = run_script("train_wgan_gp.py", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def read_log(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_wikiart_run_directory_and_decayed_learning_rate(wikiart_run):
    config = json.loads((wikiart_run / "config.json").read_text())
    assert config["lr_decay"] == "linear" and config["n_critic"] == 2 and config["flip"] is True
    assert len(config["class_names"]) == 8 and config["image_shape"] == [32, 32, 3]
    rows = read_log(wikiart_run / "log.csv")
    assert {"critic_loss", "g_loss", "wasserstein", "gp", "real_class_acc", "fake_class_acc"} <= set(rows[0])
    assert float(rows[0]["lr_generator"]) == pytest.approx(1e-4, rel=1e-3)  # 2e-4 halfway through 2 epochs
    assert float(rows[-1]["lr_generator"]) == 0.0 and float(rows[-1]["lr_critic"]) == 0.0
    for name in ("generator_epoch_002.h5", "critic_epoch_002.h5", "state_epoch_002.npz"):
        assert (wikiart_run / "checkpoints" / name).is_file()
    assert (wikiart_run / "samples" / "epoch_002.png").is_file() and (wikiart_run / "mixing_matrix.png").is_file()


def test_wgan_checkpoints_reload_in_a_fresh_process(wikiart_run, tmp_path):
    script = tmp_path / "reload.py"
    script.write_text(RELOAD)
    checkpoints = wikiart_run / "checkpoints"
    result = run_script(
        script, checkpoints / "generator_epoch_002.h5", checkpoints / "critic_epoch_002.h5", cwd=tmp_path, project=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["images"] == [2, 32, 32, 3] and report["score"] == [2, 1] and report["logits"] == [2, 8]
    assert "BatchNormalization" not in report["layers"]


def test_wgan_resume_continues(wikiart_run):
    result = run_script("train_wgan_gp.py", "--resume", "--out", wikiart_run, "--epochs", "3", "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [int(r["epoch"]) for r in read_log(wikiart_run / "log.csv")] == [1, 2, 3]
    state = np.load(wikiart_run / "checkpoints" / "state_epoch_003.npz")
    assert int(state["generator_optimizer/0000"]) == 3 * 2
    assert int(state["critic_optimizer/0000"]) == 3 * 2 * 2


def short_digits_run(**overrides):
    """66 generator steps of the default WGAN-GP (16 px digits, 16 filters): the critic's class accuracy by epoch."""
    from data import load_images, training_dataset
    from training.recipes.wgan_gp import RECIPE

    data = load_images("digits", None, 16, progress=False)
    given = {"seed": 0, "latent_dim": 32, "filters": 16, "batch_size": 32, "ema_decay": 0.0, **overrides}
    keras.utils.set_random_seed(0)
    trainer = RECIPE.build_trainer(RECIPE.settings("digits", **given), data.image_shape, data.num_classes)
    group = trainer.real_batch_group
    stream = training_dataset(data.images, data.labels, data.num_classes, 32, 0, epochs=6, group=group)
    history = trainer.fit(stream, epochs=6, steps_per_epoch=11, verbose=0)
    return history.history["real_class_acc"]


def test_default_critic_learns_the_classes_within_a_short_run():
    accuracy = short_digits_run()
    assert accuracy[-1] > 0.45 and accuracy[-1] > accuracy[0] + 0.3  # chance is 0.1


def test_with_the_papers_class_weight_the_critic_stays_near_chance():
    """Why the default weighs the class terms 10: at 1 the Wasserstein term drowns them in the critic's trunk."""
    assert short_digits_run(class_weight=1.0)[-1] < 0.25
