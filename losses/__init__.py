"""Pure loss functions on logits and float condition vectors (no model code)."""

from losses.adversarial import (
    discriminator_validity_loss,
    generator_validity_loss,
    validity_accuracy,
)
from losses.classification import class_accuracy, class_cross_entropy
from losses.wasserstein import (
    generator_wasserstein_loss,
    gradient_penalty,
    interpolate,
    wasserstein_estimate,
)

__all__ = [
    "class_accuracy",
    "class_cross_entropy",
    "discriminator_validity_loss",
    "generator_validity_loss",
    "generator_wasserstein_loss",
    "gradient_penalty",
    "interpolate",
    "validity_accuracy",
    "wasserstein_estimate",
]
