"""The trainers: ``keras.Model`` subclasses whose ``train_step`` reads like the paper's algorithm.

One file each, on a shared base (``base``): the conditional DC-GAN
(``dcgan``), the conditional WGAN-GP (``wgan_gp``) and the critic's
pretraining (``critic_pretraining``); the generator's weight average
(``average``) is a part of every GAN trainer.
"""

from models.trainers.average import (
    EMA_WARMUP,
    STATISTICS_BATCH_SIZE,
    STATISTICS_DRAWS,
    GeneratorAverage,
    recompute_batchnorm_statistics,
)
from models.trainers.base import ConditionalGAN, Trainer, apply_mean_gradients
from models.trainers.critic_pretraining import CriticPretrainer
from models.trainers.dcgan import ConditionalDCGAN
from models.trainers.wgan_gp import ConditionalWGANGP

__all__ = [
    "EMA_WARMUP",
    "STATISTICS_DRAWS",
    "STATISTICS_BATCH_SIZE",
    "ConditionalDCGAN",
    "ConditionalGAN",
    "ConditionalWGANGP",
    "CriticPretrainer",
    "GeneratorAverage",
    "Trainer",
    "apply_mean_gradients",
    "recompute_batchnorm_statistics",
]
