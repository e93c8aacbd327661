"""The Keras workarounds (models/keras_workarounds.py) are still needed, and still hook where they should.

Each test fails when a Keras upgrade makes its workaround unnecessary or
wrong; then read the workaround's note and drop or rewrite it.
"""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from models import keras_workarounds
from models.keras_workarounds import PrebuiltTrainer
from training.recipes.dcgan import RECIPE

SHAPE, CLASSES = (16, 16, 1), 3


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, *SHAPE)).astype("float32")
    return images, np.eye(CLASSES, dtype="float32")[rng.integers(0, CLASSES, 8)]


def small_trainer():
    settings = RECIPE.settings("digits", seed=0, latent_dim=4, jit=False, ema_decay=0.0)
    return RECIPE.build_trainer(settings, SHAPE, CLASSES, steps_per_epoch=1)


def test_keras_still_has_the_symbolic_build_hook_with_its_signature():
    base = keras.Model._maybe_symbolic_build
    assert list(inspect.signature(base).parameters) == ["self", "iterator", "data_batch"]
    assert list(inspect.signature(PrebuiltTrainer._maybe_symbolic_build).parameters) == [
        "self", "iterator", "data_batch"
    ]  # fmt: skip


def test_fit_under_a_strategy_still_calls_the_hook(batch):
    """If fit stopped calling it, the override would be dead code."""
    calls = []

    class Spy(PrebuiltTrainer):
        def _maybe_symbolic_build(self, iterator=None, data_batch=None):
            calls.append(iterator is not None or data_batch is not None)

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        trainer = small_trainer()
    trainer.__class__ = type("SpiedDCGAN", (Spy, type(trainer)), {})
    trainer.fit(tf.data.Dataset.from_tensors(batch), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert calls == [True]


def test_without_the_override_keras_would_build_the_trainer_on_a_data_batch(batch):
    """Keras's own hook runs the model on (images, conditions): for a GAN trainer, a wrong call."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        trainer = small_trainer()
    trainer.built = False  # as without mark_built
    with pytest.raises(ValueError, match="generator"):  # the generator, handed the images instead of (z, condition)
        keras.Model._maybe_symbolic_build(trainer, data_batch=(batch[0], batch[1], None))


def test_keras_still_gathers_multi_worker_outputs_along_axis_0():
    """step_logs sends length-1 vectors because of this function; if it went, recheck step_logs."""
    from keras.src.backend.tensorflow import trainer as tensorflow_trainer

    source = inspect.getsource(tensorflow_trainer._multi_worker_concat)
    assert "gather(" in source and "axis=0" in source


def test_the_workarounds_name_the_keras_release_they_were_checked_against():
    major, minor = (int(part) for part in keras_workarounds.WRITTEN_FOR.split("."))
    installed = tuple(int(part) for part in keras.__version__.split(".")[:2])
    assert installed >= (major, minor), f"Keras {keras.__version__} is older than {keras_workarounds.WRITTEN_FOR}"
