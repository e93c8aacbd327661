"""Pure loss functions on logits and float condition vectors (no model code)."""

from losses.adversarial import (
    discriminator_validity_loss,
    generator_validity_loss,
    validity_accuracy,
)
from losses.classification import class_accuracy, class_cross_entropy, class_hits, projected_score
from losses.creative import damped_style_loss, damped_target, posterior_entropy, style_ambiguity_loss
from losses.wasserstein import (
    generator_wasserstein_loss,
    gradient_penalty,
    input_gradients,
    interpolate,
    wasserstein_estimate,
)

__all__ = [
    "class_accuracy",
    "class_hits",
    "class_cross_entropy",
    "damped_style_loss",
    "damped_target",
    "posterior_entropy",
    "projected_score",
    "style_ambiguity_loss",
    "discriminator_validity_loss",
    "generator_validity_loss",
    "generator_wasserstein_loss",
    "gradient_penalty",
    "input_gradients",
    "interpolate",
    "validity_accuracy",
    "wasserstein_estimate",
]
