"""Network shapes for every dataset size, standard layers only, and the loss functions."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from base.errors import UserError
from losses import class_accuracy, class_cross_entropy, discriminator_validity_loss, generator_validity_loss
from models.dcgan import build_dcgan_discriminator, build_dcgan_generator
from models.layout import resolution_plan


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3), (48, 3), (16, 1)])
def test_dcgan_shapes(size, channels):
    g = build_dcgan_generator((size, size, channels), num_classes=5, latent_dim=12)
    d = build_dcgan_discriminator((size, size, channels), num_classes=5)
    images = g([np.random.normal(size=(3, 12)), np.eye(5, dtype="float32")[:3]], training=False)
    assert images.shape == (3, size, size, channels)
    assert float(tf.reduce_min(images)) >= -1 and float(tf.reduce_max(images)) <= 1
    validity, logits = d(images)
    assert validity.shape == (3, 1) and logits.shape == (3, 5)
    bn = [layer for layer in d.layers if isinstance(layer, keras.layers.BatchNormalization)]
    convs = [layer for layer in d.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(bn) == len(convs) - 1  # BatchNorm on all but the first block


def test_only_standard_layers():
    g = build_dcgan_generator((32, 32, 3), 4)
    d = build_dcgan_discriminator((32, 32, 3), 4)
    for layer in g.layers + d.layers:
        assert type(layer).__module__.startswith("keras."), type(layer)
        assert not isinstance(layer, keras.layers.Lambda)


def test_resolution_plan():
    assert resolution_plan(28) == (7, 2) and resolution_plan(64) == (4, 4)
    with pytest.raises(UserError, match="cannot be reached by doubling"):
        resolution_plan(50)


def test_validity_losses_match_formula():
    real, fake = tf.constant([[2.0], [0.5]]), tf.constant([[-1.0], [3.0]])
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    expected_d = -np.mean(np.log(sig(np.array([2.0, 0.5])))) - np.mean(np.log(1 - sig(np.array([-1.0, 3.0]))))
    assert np.isclose(float(discriminator_validity_loss(real, fake)), expected_d, atol=1e-5)
    assert np.isclose(float(generator_validity_loss(fake)), -np.mean(np.log(sig(np.array([-1.0, 3.0])))), atol=1e-5)


def test_class_cross_entropy_accepts_mixed_conditions():
    logits = tf.constant([[1.0, 2.0, 0.5]])
    mixed = tf.constant([[0.5, 0.5, 0.0]])
    log_p = np.log(np.exp([1.0, 2.0, 0.5]) / np.exp([1.0, 2.0, 0.5]).sum())
    assert np.isclose(float(class_cross_entropy(mixed, logits)), -(0.5 * log_p[0] + 0.5 * log_p[1]), atol=1e-5)
    summed = tf.constant([[1.0, 1.0, 0.0]])  # e_i + e_j is normalised to the same target
    assert np.isclose(float(class_cross_entropy(summed, logits)), float(class_cross_entropy(mixed, logits)))
    assert float(class_accuracy(tf.constant([[0.0, 1.0, 0.0]]), logits)) == 1.0
