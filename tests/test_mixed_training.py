"""--mix-fraction: the generator also trains on two-class blends (e_i + e_j) / 2."""

import json
from functools import partial

import keras
import numpy as np
import pytest
import tensorflow as tf

from models import noise
from models.dcgan import build_dcgan_discriminator, build_dcgan_generator
from models.trainers import ConditionalDCGAN, ConditionalWGANGP
from models.wgan_gp import build_wgan_critic, build_wgan_generator
from tests.conftest import run_script, tiny_digits

CLASSES = 10


def labels(n, classes=CLASSES):
    return tf.one_hot(np.arange(n) % classes, classes)


def test_blends_pair_each_class_with_another_in_the_requested_fraction():
    one_hot = labels(4000)
    mixed, one_class = noise.mixed_conditions(7, 3, 128, one_hot, 0.3)
    mixed, one_class, one_hot = mixed.numpy(), one_class.numpy(), one_hot.numpy()
    blends = one_class == 0
    assert 0.27 < blends.mean() < 0.33
    assert np.array_equal(mixed[~blends], one_hot[~blends])
    assert np.allclose(mixed.sum(axis=1), 1.0)
    halves = mixed[blends] == 0.5
    assert np.all(halves.sum(axis=1) == 2)  # exactly two classes, half each
    assert np.all(mixed[blends][one_hot[blends] == 1] == 0.5)  # one of them the row's own class
    partner = np.argmax(np.where(one_hot[blends] == 1, 0, mixed[blends]), axis=1)
    own = np.argmax(one_hot[blends], axis=1)
    pairs = np.zeros((CLASSES, CLASSES), int)
    np.add.at(pairs, (own, partner), 1)
    assert np.all(np.diag(pairs) == 0)
    assert np.all(pairs + np.eye(CLASSES, dtype=int) > 0)  # every ordered pair of distinct classes drawn


def test_blends_are_a_function_of_seed_step_and_draw():
    one_hot = labels(64)
    first, _ = noise.mixed_conditions(7, 3, 128, one_hot, 0.5)
    again, _ = noise.mixed_conditions(7, 3, 128, one_hot, 0.5)
    later, _ = noise.mixed_conditions(7, 4, 128, one_hot, 0.5)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, later)


def test_fraction_zero_leaves_the_conditions_alone():
    one_hot = labels(32)
    mixed, one_class = noise.mixed_conditions(7, 3, 128, one_hot, 0.0)
    assert np.array_equal(mixed, one_hot) and np.all(one_class.numpy() == 1)


class RecordingDCGAN(ConditionalDCGAN):
    """Keeps the conditions its generator was given in the last step."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = tf.Variable(tf.zeros((8, CLASSES)), trainable=False)

    def generator_conditions(self, labels, use=0):
        conditions, one_class = super().generator_conditions(labels, use)
        self.seen.assign(conditions)
        return conditions, one_class


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_dcgan_step_feeds_the_generator_blends(fraction):
    adam = partial(keras.optimizers.Adam, 2e-4, beta_1=0.5, beta_2=0.999)
    trainer = RecordingDCGAN(
        build_dcgan_generator((8, 8, 1), CLASSES, 4, filters=4),
        build_dcgan_discriminator((8, 8, 1), CLASSES, filters=4),
        4,
        mix_fraction=fraction,
    )
    trainer.compile(g_optimizer=adam(), d_optimizer=adam())
    one_hot = labels(8)
    images = tf.zeros((8, 8, 8, 1))
    history = trainer.fit(tf.data.Dataset.from_tensors((images, one_hot)), epochs=1, verbose=0, shuffle=False)
    seen = trainer.seen.numpy()
    if fraction == 0:
        assert np.array_equal(seen, one_hot.numpy())
    else:
        assert np.all(np.sort(seen, axis=1)[:, -2:] == 0.5)
        assert np.all(seen[one_hot.numpy() == 1] == 0.5)
    assert 0 <= history.history["g_class_acc"][0] <= 1


def test_wgan_gp_graph_loop_draws_blends_per_critic_update():
    """The critic updates run in a tf.while_loop, where the update index is a tensor."""
    n_critic, batch = 2, 4
    adam = partial(keras.optimizers.Adam, 1e-4, beta_1=0.0, beta_2=0.9)
    trainer = ConditionalWGANGP(
        build_wgan_generator((8, 8, 1), 2, 4, filters=4),
        build_wgan_critic((8, 8, 1), 2, filters=4),
        4,
        n_critic=n_critic,
        mix_fraction=0.5,
    )
    trainer.compile(g_optimizer=adam(), d_optimizer=adam())
    images = np.zeros((batch, n_critic, 8, 8, 1), "f")
    conditions = np.eye(2, dtype="f")[np.arange(batch * n_critic).reshape(batch, n_critic) % 2]
    history = trainer.fit(tf.data.Dataset.from_tensors((images, conditions)), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["critic_loss"][0])
    first, _ = trainer.generator_conditions(tf.constant(conditions[:, 0]), use=1)
    second, _ = trainer.generator_conditions(tf.constant(conditions[:, 0]), use=2)
    assert not np.array_equal(first, second)  # each critic update draws its own blends


def test_cli_records_the_fraction_and_rejects_bad_values(tmp_path):
    out = tmp_path / "run"
    done = run_script("train_dcgan.py", *tiny_digits(steps=2), "--epochs", "1", "--mix-fraction", "0.5", "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((out / "config.json").read_text())["mix_fraction"] == 0.5
    bad = run_script("train_dcgan.py", "--dataset", "digits", "--mix-fraction", "1.5")
    assert bad.returncode == 2
    assert "--mix-fraction: expected a number in [0, 1], got 1.5" in bad.stderr.strip().splitlines()[-1]
    changed = run_script("train_dcgan.py", "--resume", "--out", out, "--mix-fraction", "0.25")
    assert changed.returncode == 2 and "--mix-fraction 0.25 differs from the run's 0.5" in changed.stderr
