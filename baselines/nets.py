"""DCGAN-style convolutional generator and discriminator for square images of side 2**k >= 8.

Radford et al. 2016 (DCGAN): the generator is a stack of ConvTranspose(4, 2, 1)-BatchNorm-ReLU units that double
the side from a 4x4 seed (first unit ConvTranspose(4, 1, 0) on the 1x1 latent) and ends in Tanh; the discriminator
mirrors it with Conv(4, 2, 1)-[norm]-LeakyReLU(0.2) units down to 4x4 and a final Conv(4, 1, 0) to one logit.
The same shape is GL-GAN's Fig. 3 backbone (glgan.txt Section 4.2) and HDCGAN's starting point.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm as _sn


def _n_stages(resolution: int) -> int:
    k = math.log2(resolution)
    if resolution < 8 or k != int(k):
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return int(k) - 2  # number of x2 stages between 4x4 and the image


def _maybe_sn(layer: nn.Module, use: bool) -> nn.Module:
    return _sn(layer) if use else layer


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, resolution: int = 64, width: int = 64, max_channels: int = 512,
                 spectral_norm: bool = False):
        super().__init__()
        self.z_dim = z_dim
        n = _n_stages(resolution)
        chans = [min(width * 2 ** (n - 1 - i), max_channels) for i in range(n)]  # 4x4 ... res/2
        layers: list[nn.Module] = [
            _maybe_sn(nn.ConvTranspose2d(z_dim, chans[0], 4, 1, 0, bias=False), spectral_norm),
            nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [_maybe_sn(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), spectral_norm),
                       nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [_maybe_sn(nn.ConvTranspose2d(chans[-1], 3, 4, 2, 1), spectral_norm), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Returns one logit per image, shape (B,). ``norm`` is 'batch', 'layer' or 'none' (WGAN-GP critics use none)."""

    def __init__(self, resolution: int = 64, width: int = 64, max_channels: int = 512, norm: str = "batch",
                 spectral_norm: bool = False):
        super().__init__()
        n = _n_stages(resolution)
        chans = [min(width * 2 ** i, max_channels) for i in range(n)]  # res/2 ... 4x4
        layers: list[nn.Module] = [_maybe_sn(nn.Conv2d(3, chans[0], 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2, True)]
        side = resolution // 2
        for cin, cout in zip(chans[:-1], chans[1:]):
            side //= 2
            layers.append(_maybe_sn(nn.Conv2d(cin, cout, 4, 2, 1, bias=norm == "none"), spectral_norm))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(cout))
            elif norm == "layer":
                layers.append(nn.LayerNorm([cout, side, side]))
            elif norm != "none":
                raise ValueError(f"unknown norm {norm!r}")
            layers.append(nn.LeakyReLU(0.2, True))
        self.features = nn.Sequential(*layers)
        self.head = _maybe_sn(nn.Conv2d(chans[-1], 1, 4, 1, 0), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).flatten()


def init_dcgan_weights(m: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
        nn.init.normal_(w, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
