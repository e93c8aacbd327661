"""--projection: the discriminator's adversarial output asks "real and of this class", on both GANs."""

from functools import partial

import keras
import numpy as np
import pytest
import tensorflow as tf

from losses import gradient_penalty, projected_score
from models.dcgan import build_dcgan_discriminator, build_dcgan_generator
from models.trainers import ConditionalDCGAN, ConditionalWGANGP
from models.trainers.critic_terms import penalised_wasserstein
from models.wgan_gp import build_wgan_critic, build_wgan_generator


def test_the_projection_adds_the_conditions_class_logit_and_blends_linearly():
    score = tf.constant([[0.5], [-1.0]])
    logits = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    one_hot = tf.constant([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(projected_score(score, logits, one_hot), [[3.5], [3.0]])
    blend = tf.constant([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    np.testing.assert_allclose(projected_score(score, logits, blend), [[2.0], [4.5]])


def two_headed_linear_critic(score_weights, class_weights):
    """score = w . x, class logits = V x on 2x2 images: the projected score's input gradient is w + V^T c."""
    image = keras.Input((2, 2, 1))
    flat = keras.layers.Flatten()(image)
    score = keras.layers.Dense(1, use_bias=False)(flat)
    logits = keras.layers.Dense(len(class_weights), use_bias=False)(flat)
    model = keras.Model(image, [score, logits])
    model.layers[2].set_weights([np.reshape(score_weights, (4, 1))])
    model.layers[3].set_weights([np.transpose(class_weights)])
    return model


def test_the_projection_critics_penalty_is_on_the_projected_scores_gradient():
    w = np.array([0.3, 0.0, 0.4, 0.0], np.float32)
    v = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]], np.float32)
    critic = two_headed_linear_critic(w, v)
    rng = np.random.default_rng(0)
    real, fake = rng.random((4, 2, 2, 1), np.float32), rng.random((4, 2, 2, 1), np.float32)
    labels = np.eye(2, dtype=np.float32)[[0, 1, 0, 1]]
    fake_conditions = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    epsilon = tf.constant([1.0, 1.0, 0.0, 0.0])  # the first two interpolates are real, the last two fake
    wasserstein, penalty, _, _ = penalised_wasserstein(critic, real, fake, epsilon, (labels, fake_conditions))
    norms = [np.linalg.norm(w + v.T @ c) for c in (labels[0], labels[1], fake_conditions[2], fake_conditions[3])]
    assert float(penalty) == pytest.approx(np.mean((np.array(norms) - 1) ** 2), rel=1e-5)
    flat_real, flat_fake = real.reshape(4, 4), fake.reshape(4, 4)
    real_scores = flat_real @ w + np.sum(labels * (flat_real @ v.T), axis=1)
    fake_scores = flat_fake @ w + np.sum(fake_conditions * (flat_fake @ v.T), axis=1)
    assert float(wasserstein) == pytest.approx(real_scores.mean() - fake_scores.mean(), rel=1e-5)
    # without conditions the plain score is penalised, as before
    _, plain, _, _ = penalised_wasserstein(critic, real, fake, epsilon)
    assert float(plain) == pytest.approx(float(gradient_penalty(lambda x: critic(x)[0], real, fake, epsilon)))


def class_head(trainer):
    return trainer.discriminator.get_layer("class_logits").get_weights()[0].copy()


@pytest.mark.parametrize("projection", [False, True])
def test_with_projection_the_adversarial_game_trains_the_class_head(projection):
    """With class weight 0 only the adversarial terms train D: its class head moves with projection alone."""
    keras.utils.set_random_seed(0)
    trainer = ConditionalDCGAN(
        build_dcgan_generator((16, 16, 1), 3, latent_dim=4, filters=8),
        build_dcgan_discriminator((16, 16, 1), 3, filters=8),
        4,
        class_weight=0.0,
        projection=projection,
    )
    adam = partial(keras.optimizers.Adam, 1e-3, beta_1=0.5)
    trainer.compile(g_optimizer=adam(), d_optimizer=adam())
    before = class_head(trainer)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype("f")
    labels = np.eye(3, dtype="f")[np.arange(8) % 3]
    history = trainer.fit(tf.data.Dataset.from_tensors((images, labels)).repeat(2), epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    moved = np.abs(class_head(trainer) - before).max()
    assert (moved > 1e-4) == projection


def test_a_projection_wgan_gp_trains_finite_steps():
    keras.utils.set_random_seed(0)
    trainer = ConditionalWGANGP(
        build_wgan_generator((8, 8, 1), 2, 4, filters=4),
        build_wgan_critic((8, 8, 1), 2, filters=4),
        4,
        n_critic=2,
        projection=True,
    )
    adam = partial(keras.optimizers.Adam, 1e-4, beta_1=0.0, beta_2=0.9)
    trainer.compile(g_optimizer=adam(), d_optimizer=adam())
    images = np.random.default_rng(0).uniform(-1, 1, (4, 2, 8, 8, 1)).astype("f")
    conditions = np.eye(2, dtype="f")[np.arange(8).reshape(4, 2) % 2]
    history = trainer.fit(tf.data.Dataset.from_tensors((images, conditions)).repeat(2), epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert int(trainer.g_optimizer.iterations) == 2
