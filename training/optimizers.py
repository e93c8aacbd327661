"""Adam with the paper's optional linear learning-rate decay, one builder for every script."""

from __future__ import annotations

import keras

from training.cli import precision_policy


def learning_rate(config: dict, updates_per_iteration: int = 1):
    """A constant rate, or one that falls linearly to 0 at the last step of the last epoch.

    ``updates_per_iteration`` counts how often this optimizer steps per
    generator iteration (n_critic for a WGAN critic), so both networks reach
    0 together. Resuming restores the optimizer's step counter, and with it
    the schedule's position.
    """
    if config.get("lr_decay", "none") == "none":
        return config["lr"]
    total = config["epochs"] * config["steps_per_epoch_actual"] * updates_per_iteration
    return keras.optimizers.schedules.PolynomialDecay(config["lr"], decay_steps=total, end_learning_rate=0.0, power=1.0)


def adam(config: dict, updates_per_iteration: int = 1) -> keras.optimizers.Optimizer:
    """Adam; wrapped for dynamic loss scaling under mixed_float16."""
    optimizer = keras.optimizers.Adam(
        learning_rate(config, updates_per_iteration), beta_1=config["beta1"], beta_2=config["beta2"]
    )
    if precision_policy(config) == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
