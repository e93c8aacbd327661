"""The same networks and train steps in plain PyTorch, as a yardstick for the Keras figures.

Layer for layer the shapes of models/dcgan.py and models/wgan_gp.py
(GroupNorm(1) where the Keras critic has GroupNormalization(groups=1),
"same" transposed convolutions as padding + output_padding, nearest
nn.Upsample where Keras has UpSampling2D), the same losses and update
order: DC-GAN D then G; WGAN-GP n_critic critic updates with the gradient
penalty (create_graph=True, double backprop), then one generator update.
The WGAN-GP networks are the paper's (generator base from
``paper_generator_plan``, critic of a pooled first block, a pooled block
and two identity blocks). Tensors are channels-last in memory, like
TensorFlow's NHWC. FLOPs are counted from the Keras twins of the networks,
so a row here has exactly the FLOPs of its Keras row.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from models.layout import check_paper_critic_size, paper_generator_plan, resolution_plan, stage_filters


def up_conv(c_in, c_out, kernel, bias=True):
    """Keras Conv2DTranspose(kernel, strides=2, padding="same"): output exactly twice the input."""
    padding = (kernel - 1) // 2 if kernel > 1 else 0
    output_padding = 2 - kernel + 2 * padding
    return nn.ConvTranspose2d(c_in, c_out, kernel, 2, padding, output_padding, bias=bias)


def doubling(c_in, c_out, upsampling, bias):
    """models/dcgan.py's doubling: the paper's 4x4 transposed convolution, or nearest-neighbour and a 3x3 one."""
    if upsampling == "transposed":
        return up_conv(c_in, c_out, 4, bias=bias)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias))


class DCGenerator(nn.Module):
    def __init__(self, size, channels, classes, latent=100, filters=64, upsampling="transposed"):
        super().__init__()
        self.base, stages = resolution_plan(size)
        self.widths = stage_filters(filters, stages)[::-1]
        self.project = nn.Sequential(
            nn.Linear(latent + classes, self.base * self.base * self.widths[0], bias=False),
            nn.BatchNorm1d(self.base * self.base * self.widths[0], eps=1e-3, momentum=0.01),
            nn.ReLU(),
        )
        blocks = []
        for c_in, c_out in zip(self.widths, self.widths[1:], strict=False):
            blocks += [doubling(c_in, c_out, upsampling, False), nn.BatchNorm2d(c_out, 1e-3, 0.01), nn.ReLU()]
        blocks += [doubling(self.widths[-1], channels, upsampling, True), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z, condition):
        x = self.project(torch.cat([z, condition], 1))
        x = x.view(-1, self.base, self.base, self.widths[0]).permute(0, 3, 1, 2)
        return self.blocks(x.contiguous(memory_format=torch.channels_last))


class DCDiscriminator(nn.Module):
    def __init__(self, size, channels, classes, filters=64):
        super().__init__()
        _, stages = resolution_plan(size)
        layers, c_in = [], channels
        for stage, width in enumerate(stage_filters(filters, stages), start=1):
            layers.append(nn.Conv2d(c_in, width, 4, 2, 1, bias=stage == 1))
            if stage > 1:
                layers.append(nn.BatchNorm2d(width, 1e-3, 0.01))
            layers.append(nn.LeakyReLU(0.2))
            c_in = width
        self.body = nn.Sequential(*layers)
        features = c_in * (size // 2**stages) ** 2
        self.validity = nn.Linear(features, 1)
        self.classes = nn.Linear(features, classes)

    def forward(self, x):
        h = self.body(x).permute(0, 2, 3, 1).flatten(1)  # NHWC flatten, as Keras does
        return self.validity(h), self.classes(h)


def layer_norm(channels):
    """Keras GroupNormalization(groups=1, epsilon=1e-5): one group over (C, H, W), per-channel scale and shift."""
    return nn.GroupNorm(1, channels, eps=1e-5)


class UpBlock(nn.Module):
    """BN-ReLU-Upsample-Conv3x3-BN-ReLU-Conv3x3, plus a nearest-neighbour doubling shortcut."""

    def __init__(self, c_in, filters):
        super().__init__()
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.shortcut = nn.Conv2d(c_in, filters, 1) if c_in != filters else None
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in, 1e-3, 0.01), nn.BatchNorm2d(filters, 1e-3, 0.01)
        self.upconv = nn.Conv2d(c_in, filters, 3, padding=1, bias=False)
        self.conv = nn.Conv2d(filters, filters, 3, padding=1)

    def forward(self, x):
        shortcut = self.upsample(x)
        if self.shortcut is not None:
            shortcut = self.shortcut(shortcut)
        y = self.upconv(self.upsample(F.relu(self.bn1(x))))
        return shortcut + self.conv(F.relu(self.bn2(y)))


class FirstDownBlock(nn.Module):
    """The critic's first block: Conv-ReLU-AvgPool-Conv, plus an AvgPool-1x1 shortcut."""

    def __init__(self, c_in, filters):
        super().__init__()
        self.shortcut = nn.Conv2d(c_in, filters, 1)
        self.conv1 = nn.Conv2d(c_in, filters, 3, padding=1)
        self.conv2 = nn.Conv2d(filters, filters, 3, padding=1)

    def forward(self, x):
        shortcut = self.shortcut(F.avg_pool2d(x, 2))
        return shortcut + self.conv2(F.avg_pool2d(F.relu(self.conv1(x)), 2))


class NormReluConv(nn.Module):
    """LN-ReLU(-AvgPool)-Conv3x3, the unit of every critic block after the first."""

    def __init__(self, c_in, filters, pool=False):
        super().__init__()
        self.pool = pool
        self.ln = layer_norm(c_in)
        self.conv = nn.Conv2d(c_in, filters, 3, padding=1)

    def forward(self, x):
        y = F.relu(self.ln(x))
        return self.conv(F.avg_pool2d(y, 2) if self.pool else y)


class PooledDownBlock(nn.Module):
    """LN-ReLU-Conv, LN-ReLU-AvgPool-Conv, plus an AvgPool shortcut (same width: no 1x1)."""

    def __init__(self, filters):
        super().__init__()
        self.unit1, self.unit2 = NormReluConv(filters, filters), NormReluConv(filters, filters, pool=True)

    def forward(self, x):
        return F.avg_pool2d(x, 2) + self.unit2(self.unit1(x))


class IdentityBlock(nn.Module):
    """LN-ReLU-Conv, LN-ReLU-Conv, plus the identity."""

    def __init__(self, filters):
        super().__init__()
        self.unit1, self.unit2 = NormReluConv(filters, filters), NormReluConv(filters, filters)

    def forward(self, x):
        return x + self.unit2(self.unit1(x))


class WGenerator(nn.Module):
    def __init__(self, size, channels, classes, latent=100, filters=128):
        super().__init__()
        self.base, stages = paper_generator_plan(size)
        self.filters = filters
        self.project = nn.Linear(latent + classes, self.base * self.base * filters)
        self.blocks = nn.Sequential(*[UpBlock(filters, filters) for _ in range(stages)])
        self.out = nn.Sequential(
            nn.BatchNorm2d(filters, 1e-3, 0.01), nn.ReLU(), nn.Conv2d(filters, channels, 3, padding=1), nn.Tanh()
        )

    def forward(self, z, condition):
        x = self.project(torch.cat([z, condition], 1)).view(-1, self.base, self.base, self.filters)
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        return self.out(self.blocks(x))


class WCritic(nn.Module):
    def __init__(self, size, channels, classes, filters=128):
        super().__init__()
        check_paper_critic_size(size)
        blocks = [FirstDownBlock(channels, filters), PooledDownBlock(filters)]
        blocks += [IdentityBlock(filters), IdentityBlock(filters)]
        self.blocks = nn.Sequential(*blocks)
        self.score = nn.Linear(filters, 1)
        self.classes = nn.Linear(filters, classes)

    def forward(self, x):
        h = F.relu(self.blocks(x)).mean((2, 3))
        return self.score(h), self.classes(h)


def soft_cross_entropy(condition, logits):
    return -(condition * F.log_softmax(logits.float(), 1)).sum(1).mean()


class Trainer:
    """One generator iteration of the Keras trainers, in PyTorch."""

    def __init__(self, model, settings, image_shape, classes, precision):
        size, _, channels = image_shape
        self.model, self.settings, self.latent = model, settings, settings.networks.latent_dim
        if model == "wgan":
            filters = settings.networks.filters
            self.g = WGenerator(size, channels, classes, self.latent, filters)
            self.d = WCritic(size, channels, classes, filters)
            betas = (settings.optimisation.beta1, settings.optimisation.beta2)
            own = settings.losses.critic_class_weight
            self.critic_class_weight = settings.losses.class_weight if own is None else own
        else:
            self.g = DCGenerator(size, channels, classes, self.latent, upsampling=settings.networks.upsampling)
            self.d = DCDiscriminator(size, channels, classes)
            betas = (settings.optimisation.beta1, settings.optimisation.beta2)
        self.g.to(memory_format=torch.channels_last)
        self.d.to(memory_format=torch.channels_last)
        self.g_opt = torch.optim.Adam(self.g.parameters(), settings.optimisation.lr, betas)
        self.d_opt = torch.optim.Adam(self.d.parameters(), settings.optimisation.lr, betas)
        self.autocast = precision == "bfloat16"

    def amp(self):
        return torch.autocast("cpu", torch.bfloat16, enabled=self.autocast)

    def z(self, batch):
        return torch.randn(batch, self.latent)

    def dcgan_step(self, real, condition):
        batch = real.shape[0]
        bce = F.binary_cross_entropy_with_logits
        with self.amp():
            with torch.no_grad():
                fake = self.g(self.z(batch), condition)
            real_v, real_c = self.d(real)
            fake_v, _ = self.d(fake)
            d_loss = bce(real_v.float(), torch.ones_like(real_v.float())) + bce(
                fake_v.float(), torch.zeros_like(fake_v.float())
            )
            d_loss = d_loss + soft_cross_entropy(condition, real_c)
        self.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_opt.step()
        with self.amp():
            fake_v, fake_c = self.d(self.g(self.z(batch), condition))
            g_loss = bce(fake_v.float(), torch.ones_like(fake_v.float())) + soft_cross_entropy(condition, fake_c)
        self.generator_update(g_loss)

    def critic_step(self, real, condition):
        batch = real.shape[0]
        with self.amp():
            with torch.no_grad():
                fake = self.g(self.z(batch), condition)
            real_s, real_c = self.d(real)
            fake_s, fake_c = self.d(fake)
            wasserstein = real_s.float().mean() - fake_s.float().mean()
            eps = torch.rand(batch, 1, 1, 1)
            x_hat = (eps * real + (1 - eps) * fake.float()).requires_grad_(True)
            score = self.d(x_hat)[0].float().sum()
            (grad,) = torch.autograd.grad(score, x_hat, create_graph=True)
            norms = torch.sqrt(grad.float().square().sum((1, 2, 3)) + 1e-12)
            penalty = ((norms - 1) ** 2).mean()
            class_loss = soft_cross_entropy(condition, real_c)
            if self.settings.losses.fake_class_loss:
                class_loss = class_loss + soft_cross_entropy(condition, fake_c)
            loss = -wasserstein + self.settings.losses.gp_weight * penalty + self.critic_class_weight * class_loss
        self.d_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.d_opt.step()

    def wgan_step(self, images, conditions):
        for i in range(self.settings.optimisation.n_critic):
            self.critic_step(images[:, i], conditions[:, i])
        condition = conditions[:, -1]
        with self.amp():
            fake_s, fake_c = self.d(self.g(self.z(condition.shape[0]), condition))
            loss = -fake_s.float().mean() + self.settings.losses.class_weight * soft_cross_entropy(condition, fake_c)
        self.generator_update(loss)

    def generator_update(self, loss):
        """G's gradients only, as the Keras step takes them (D's weights get none)."""
        self.g_opt.zero_grad(set_to_none=True)
        for p in self.d.parameters():
            p.requires_grad_(False)
        loss.backward()
        for p in self.d.parameters():
            p.requires_grad_(True)
        self.g_opt.step()

    def step(self, images, conditions):
        if self.model == "wgan":
            self.wgan_step(images, conditions)
        else:
            self.dcgan_step(images, conditions)


def build_iteration(case, settings, image_shape, num_classes):
    """``(one_iteration, FLOPs of one iteration)``; the FLOPs are counted on the Keras twins of the networks."""
    import os

    from bench.throughput_cases import iteration_flops

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    trainer = Trainer(case.model, settings, image_shape, num_classes, case.precision)
    batch = settings.optimisation.batch_size
    group = settings.optimisation.n_critic if case.model == "wgan" else 1
    shape = (batch, group, *image_shape) if case.model == "wgan" else (batch, *image_shape)
    images = (torch.rand(shape) * 2 - 1).movedim(-1, -3)  # NCHW indexing of NHWC data: channels-last memory
    if case.model != "wgan":
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, num_classes, shape[: -len(image_shape)])
    conditions = F.one_hot(labels, num_classes).float()
    flops = iteration_flops(case, keras_twin(case, settings, image_shape, num_classes), settings)
    return (lambda: trainer.step(images, conditions)), flops


def keras_twin(case, settings, image_shape, num_classes):
    """The Keras networks of the same case, only to count FLOPs."""
    from types import SimpleNamespace

    if case.model == "wgan":
        from models.wgan_gp import build_wgan_critic, build_wgan_generator

        g = build_wgan_generator(image_shape, num_classes, settings.networks.latent_dim, settings.networks.filters)
        d = build_wgan_critic(image_shape, num_classes, settings.networks.filters)
        return SimpleNamespace(generator=g, critic=d)
    from models.dcgan import build_dcgan_discriminator, build_dcgan_generator

    g = build_dcgan_generator(
        image_shape, num_classes, settings.networks.latent_dim, upsampling=settings.networks.upsampling
    )
    d = build_dcgan_discriminator(image_shape, num_classes)
    return SimpleNamespace(generator=g, discriminator=d)
