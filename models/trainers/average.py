"""The generator's exponential weight average and the BatchNorm statistics measured with it."""

from __future__ import annotations

import keras
import tensorflow as tf

from base.streams import stream_key

# The average's decay is min(decay, (1 + t) / (EMA_WARMUP + t)) after t generator steps: until the decay
# binds (t near 20,000 at 0.999), the average's mean age is (EMA_WARMUP + t) / (EMA_WARMUP - 1), 5% of the
# steps so far (StyleGAN2-ADA's ramp-up). TensorFlow's 10, a longer horizon, lagged a still-improving
# generator (BENCHMARKS.md, MNIST WGAN-GP section, "the weight average's horizon").
EMA_WARMUP = 21
STATISTICS_DRAWS, STATISTICS_BATCH_SIZE = 8, 64  # draws that set the averaged generator's BatchNorm statistics


class GeneratorAverage:
    """An exponential moving average of the generator's weights (as BigGAN and StyleGAN sample from).

    A GAN generator's weights keep moving around an equilibrium; their
    average draws cleaner samples than the weights of any one step. After
    every generator update, average <- d * average + (1 - d) * weights with
    d = min(decay, (1 + t) / (EMA_WARMUP + t)) at generator step t: the form
    of TensorFlow's ExponentialMovingAverage warm-up, so the average's horizon
    grows with the run (5% of its steps) instead of clinging to the random
    initial weights or trailing far behind a generator that still improves
    (Keras optimizers' ``use_ema`` has no warm-up). The averages are float32
    variables (the generator's variables are float32 under every precision
    policy) that every replica updates to the same value, saved and restored
    with the optimizer state, so
    ``--resume`` continues them exactly. BatchNorm's moving statistics are
    not averaged: the raw generator's belong to the raw weights, so the
    averaged network measures its own on fixed draws (BigGAN's "standing
    statistics").
    """

    def __init__(self, generator, decay: float):
        self.decay = float(decay)
        self.generator = generator
        self.averages = [
            keras.Variable(variable.numpy(), trainable=False, aggregation="only_first_replica", name=f"ema_{index:04d}")
            for index, variable in enumerate(generator.trainable_variables)
        ]
        self._model = None
        self._model_step = None  # the generator step the model's weights were taken at

    def update(self, step) -> None:
        """Move the averages towards the weights after generator update number ``step`` (1-based)."""
        t = tf.cast(step, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + t) / (EMA_WARMUP + t))
        for average, variable in zip(self.averages, self.generator.trainable_variables, strict=True):
            average.assign(decay * average + (1.0 - decay) * tf.cast(variable.value, tf.float32))

    def model(self, step: int) -> keras.Model:
        """A plain generator network holding the averaged weights and BatchNorm statistics measured with them.

        ``step`` is the generator's step count: the grid, the checkpoint and the
        evaluation of one epoch end share one copy instead of measuring it again.
        """
        if self._model is None:
            self._model = keras.models.clone_model(self.generator)
        if self._model_step != step:
            for target, average in zip(self._model.trainable_variables, self.averages, strict=True):
                target.assign(average.numpy())
            recompute_batchnorm_statistics(self._model)
            self._model_step = step
        return self._model


def recompute_batchnorm_statistics(generator) -> None:
    """Set every BatchNorm layer's moving statistics to their mean over a few fixed draws of (z, class).

    BigGAN's "standing statistics". The k-th draw enters with momentum
    k / (k + 1), so the result is the plain mean over the draws; the draws
    (seeded, every class in turn) make it a function of the weights alone.
    Their random stream keeps the name "standing_statistics": the name is
    part of the seed.
    """
    norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        return
    latent_dim, classes = generator.inputs[0].shape[-1], generator.inputs[1].shape[-1]
    momenta = [layer.momentum for layer in norms]
    try:
        for k in range(STATISTICS_DRAWS):
            for layer in norms:
                layer.momentum = k / (k + 1)
            z = tf.random.stateless_normal((STATISTICS_BATCH_SIZE, latent_dim), stream_key(0, "standing_statistics", k))
            condition = tf.one_hot(tf.range(STATISTICS_BATCH_SIZE) % classes, classes)
            generator([z, condition], training=True)
    finally:
        for layer, momentum in zip(norms, momenta, strict=True):
            layer.momentum = momentum
