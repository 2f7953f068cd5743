"""Adversarial losses shared by the baselines (all take raw discriminator outputs, any shape, mean-reduced)."""
from __future__ import annotations

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
    """Hinge loss, generator: -E[D(G(z))]."""
    return -d_fake.mean()


def ls_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """LSGAN (Mao et al. 2017, Eq. 2 with a=0, b=c=1), discriminator: E[(D(x) - 1)^2]/2 + E[D(G(z))^2]/2."""
    return 0.5 * ((d_real - 1.0) ** 2).mean() + 0.5 * (d_fake ** 2).mean()


def ls_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """LSGAN, generator: E[(D(G(z)) - 1)^2]/2."""
    return 0.5 * ((d_fake - 1.0) ** 2).mean()


def wasserstein_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """WGAN critic: E[D(G(z))] - E[D(x)]."""
    return d_fake.mean() - d_real.mean()


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None):
    """WGAN-GP (Gulrajani et al. 2017, Eq. 3): E[(||grad_x D(x_hat)||_2 - 1)^2], x_hat = eps x + (1 - eps) G(z)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator).to(real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
