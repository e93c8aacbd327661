"""Adam with the paper's optional linear learning-rate decay, one builder for every recipe."""

from __future__ import annotations

import keras


def learning_rate(optimisation, total_updates: int):
    """A constant rate, or one that falls linearly to 0 at the optimizer's last update of the run.

    ``total_updates`` counts this optimizer's updates over the whole run
    (n_critic per generator iteration for a WGAN critic), so both networks
    reach 0 together. Resuming restores the optimizer's step counter, and
    with it the schedule's position.
    """
    if optimisation.lr_decay == "none":
        return optimisation.lr
    return keras.optimizers.schedules.PolynomialDecay(
        optimisation.lr, decay_steps=total_updates, end_learning_rate=0.0, power=1.0
    )


def adam(optimisation, policy: str, total_updates: int) -> keras.optimizers.Optimizer:
    """Adam; wrapped for dynamic loss scaling under mixed_float16."""
    optimizer = keras.optimizers.Adam(
        learning_rate(optimisation, total_updates), beta_1=optimisation.beta1, beta_2=optimisation.beta2
    )
    if policy == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
