"""The DC-GAN's train step without TensorFlow's remapper (models/remapper.py): silent, and the same figures.

With oneDNN on, the remapper's second pass over the DC-GAN's train step
fails on the discriminator's first block (Conv2D with a bias, LeakyReLU, and
the gradient that reads the BiasAdd) and prints ``remapper failed`` on
stderr; Grappler drops that pass and keeps the first. The trainer optimises
its step without the remapper. These tests check that a run prints no such
line, that the remapper still fails without the switch (else drop it), and
that the switch changes no figure of a training step.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import models.trainers.dcgan
from tests.conftest import ROOT, tiny_digits
from training.recipes.dcgan import RECIPE

FAILURE = "remapper failed"
SHAPE, CLASSES, BATCH, STEPS = (16, 16, 1), 3, 8, 3


def run_with_tensorflows_errors(*args, cwd):
    """Python with TensorFlow's own logging on (TF_CPP_MIN_LOG_LEVEL=0): its errors reach stderr."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_a_dcgan_run_prints_no_remapper_failure(tmp_path):
    result = run_with_tensorflows_errors(
        ROOT / "train_dcgan.py", *tiny_digits(steps=2, batch=BATCH), "--epochs", "1", "--out", tmp_path / "run",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert FAILURE not in result.stderr, [line for line in result.stderr.splitlines() if FAILURE in line]


KERAS_OWN_STEP = """
import keras, numpy as np, tensorflow as tf
import models.trainers.dcgan
from training.recipes.dcgan import RECIPE
models.trainers.dcgan.without_the_remapper = lambda function: function  # Keras's own step, remapper on
settings = RECIPE.settings("digits", seed=0, latent_dim=4, jit=False)
trainer = RECIPE.build_trainer(settings, (16, 16, 1), 3, steps_per_epoch=1)
images = np.zeros((8, 16, 16, 1), "float32")
labels = np.eye(3, dtype="float32")[np.arange(8) % 3]
trainer.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(4), epochs=1, verbose=0, shuffle=False)
"""


def test_without_the_switch_the_remapper_still_fails_on_the_dcgan_step(tmp_path):
    """If this fails, TensorFlow fixed its remapper: drop models/remapper.py and the trainer's hook."""
    result = run_with_tensorflows_errors("-c", KERAS_OWN_STEP, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    failures = [line for line in result.stderr.splitlines() if FAILURE in line]
    if not failures and "oneDNN custom operations are on" not in result.stderr:
        pytest.skip("TensorFlow without oneDNN here: its remapper never takes the failing pattern")
    assert failures and "LeakyReluGrad" in failures[0] and "down1_conv" in failures[0], result.stderr[-3000:]


def train(remapper: bool, monkeypatch) -> dict:
    """A few steps of a fresh trainer on a batch of unknown size (as a run's pipeline hands it over)."""
    with monkeypatch.context() as patch:
        if remapper:
            patch.setattr(models.trainers.dcgan, "without_the_remapper", lambda function: function)
        keras.utils.set_random_seed(0)
        settings = RECIPE.settings("digits", seed=0, latent_dim=4, jit=False, ema_decay=0.9)
        trainer = RECIPE.build_trainer(settings, SHAPE, CLASSES, steps_per_epoch=STEPS)
        rng = np.random.default_rng(0)
        images = rng.uniform(-1, 1, (STEPS * BATCH, *SHAPE)).astype("float32")
        labels = np.eye(CLASSES, dtype="float32")[rng.integers(0, CLASSES, STEPS * BATCH)]
        data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH)
        assert data.element_spec[0].shape[0] is None
        history = trainer.fit(data, epochs=1, verbose=0, shuffle=False).history
    figures = {f"log/{name}": np.array(values) for name, values in history.items()}
    for role, network in trainer.networks().items():
        figures.update({f"{role}/{w.path}": w.numpy() for w in network.weights})
    for role, variables in trainer.state_variables().items():
        figures.update({f"{role}/{i}": np.array(v) for i, v in enumerate(variables)})
    return figures


def test_the_step_without_the_remapper_computes_what_the_step_with_it_does(monkeypatch):
    """Losses, every weight, the optimizers' slots and the weight average, after a few steps.

    Bit for bit on the machine this was written on; the tolerance is for CPUs that sum in another order.
    """
    with_it, without = train(True, monkeypatch), train(False, monkeypatch)
    assert sorted(with_it) == sorted(without) and len(with_it) > 40
    for name, want in with_it.items():
        np.testing.assert_allclose(without[name], want, rtol=1e-6, atol=1e-7, err_msg=name)
