"""bench/average_trend.py: the snapshot averages it builds from a run's epoch checkpoints."""

import keras
import numpy as np
import pytest

from bench.average_trend import main, snapshot_average, snapshot_weights


@pytest.mark.parametrize("fraction", [0.025, 0.05, 0.111])
def test_snapshot_weights_have_the_asked_mean_age(fraction):
    epochs, steps = 60, 50
    weights = np.asarray(snapshot_weights(epochs, steps, fraction))
    ages = steps * (epochs - np.arange(1, epochs + 1))
    assert weights.sum() == pytest.approx(1.0)
    assert np.all(np.diff(weights) > 0)  # later checkpoints weigh more
    # an epoch's snapshot stands for its steps, so the mean age is off by under one epoch
    assert abs((weights * ages).sum() - fraction * epochs * steps) < steps


def tiny_generator(value: float) -> keras.Model:
    z, condition = keras.Input((3,), name="z"), keras.Input((2,), name="condition")
    features = keras.layers.Dense(4 * 4, kernel_initializer=keras.initializers.Constant(value))(
        keras.layers.Concatenate()([z, condition])
    )
    image = keras.layers.Reshape((4, 4, 1))(keras.layers.BatchNormalization()(features))
    return keras.Model([z, condition], image)


def test_snapshot_average_is_the_weighted_mean_of_the_checkpoints(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    for epoch, value in enumerate([1.0, 2.0, 4.0], start=1):
        tiny_generator(value).save(checkpoints / f"generator_epoch_{epoch:03d}.h5")
    weights = snapshot_weights(3, 10, 0.1)
    averaged = snapshot_average(tmp_path, 3, 10, 0.1)
    kernel = averaged.layers[3].kernel.numpy()
    assert np.allclose(kernel, np.dot(weights, [1.0, 2.0, 4.0]), atol=1e-5)
    assert not np.allclose(averaged.layers[4].moving_mean.numpy(), 0.0)  # statistics measured, not averaged


def test_a_run_without_the_epochs_asked_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SystemExit) as stop:
        main(["--run", str(tmp_path), "--epochs", "5"])
    assert stop.value.code == 2
    assert "lacks" in capsys.readouterr().err
