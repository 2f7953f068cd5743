"""Adversarial losses shared by every method, and the one loss-pair table that methods choose from by parameter.

Every loss takes raw discriminator outputs of any shape — one score per image (B,) or an h x w feature matrix per
image (B, h, w), as GL-GAN's patch discriminator and LGA's 1x1-conv head produce — and mean-reduces over all of
them (for a map: the mean over images of each image's mean over positions).

``LOSSES[name] = LossPair(d, g)``; a method with parameter ``loss: <name>`` uses ``adversarial_d_loss`` /
``adversarial_g_loss`` below instead of writing its own pair. Statistics returned beside a loss are detached device
tensors (no host synchronisation: the training loop reads them once per log interval).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


def ns_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating GAN, discriminator: E[-log sigmoid(D(x))] + E[-log(1 - sigmoid(D(G(z))))]."""
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def ns_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating GAN, generator (Goodfellow et al. 2014, Sec. 3): E[-log sigmoid(D(G(z)))]."""
    return F.softplus(-d_fake).mean()


def hinge_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Hinge loss, discriminator: E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()


def hinge_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Hinge loss, generator (Lim & Ye 2017; Miyato et al. 2018): -E[D(G(z))]."""
    return -d_fake.mean()


def hinge_margin_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Margin hinge for the generator: E[max(0, 1 - D(G(z)))] (GL-GAN's Eq. 5 and its public code)."""
    return F.relu(1.0 - d_fake).mean()


def ls_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """LSGAN (Mao et al. 2017, Eq. 2 with a=0, b=c=1), discriminator: E[(D(x) - 1)^2]/2 + E[D(G(z))^2]/2."""
    return 0.5 * ((d_real - 1.0) ** 2).mean() + 0.5 * (d_fake ** 2).mean()


def ls_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """LSGAN, generator: E[(D(G(z)) - 1)^2]/2."""
    return 0.5 * ((d_fake - 1.0) ** 2).mean()


def wasserstein_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """WGAN critic: E[D(G(z))] - E[D(x)]."""
    return d_fake.mean() - d_real.mean()


@dataclass(frozen=True)
class LossPair:
    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]


LOSSES: dict[str, LossPair] = {
    "ns": LossPair(ns_d_loss, ns_g_loss),
    "hinge": LossPair(hinge_d_loss, hinge_g_loss),
    "hinge_margin": LossPair(hinge_d_loss, hinge_margin_g_loss),
    "ls": LossPair(ls_d_loss, ls_g_loss),
    "wasserstein": LossPair(wasserstein_d_loss, hinge_g_loss),  # generator: -E[D(G(z))], the same as hinge's
}


def loss_pair(name: str) -> LossPair:
    if name not in LOSSES:
        raise KeyError(f"unknown loss {name!r}; known: {sorted(LOSSES)}")
    return LOSSES[name]


def adversarial_d_loss(D, real, fake, p, ctx):
    """The discriminator loss of ``p["loss"]`` with the mean real / fake scores as statistics."""
    d_real, d_fake = D(real), D(fake)
    return loss_pair(p["loss"]).d(d_real, d_fake), {"d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}


def adversarial_g_loss(D, fake, p, ctx):
    """The generator loss of ``p["loss"]``."""
    return loss_pair(p["loss"]).g(D(fake)), {}


# the statistics ``adversarial_d_loss`` reports (a method's ``log_keys``)
ADVERSARIAL_LOG_KEYS = {"d_real": "mean", "d_fake": "mean"}


def per_sample_scores(out: torch.Tensor) -> torch.Tensor:
    """(B,) scores from D's output: a score per image as is, an h x w map averaged over its positions."""
    return out.reshape(out.shape[0], -1).mean(dim=1)


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None):
    """WGAN-GP (Gulrajani et al. 2017, Eq. 3): E[(||grad_x D(x_hat)||_2 - 1)^2], x_hat = eps x + (1 - eps) G(z).

    Per sample: D(x_hat_i) is image i's score (for a map, the mean over its positions, the score its losses see),
    and its gradient is taken with respect to x_hat_i alone (the critic has no batch coupling, so the gradient of
    the batch sum gives every sample's own gradient).
    """
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator).to(real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(per_sample_scores(D(x_hat)).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
