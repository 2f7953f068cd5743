"""The MLPs of BRC's mixture-of-Gaussians experiments (brc.txt Sec. 3.1): "For the generator and discriminator, we use
a 3-layer linear network with a width of 256 and a leaky relu with a threshold of 0.2 as the activation function."

Three linear layers, LeakyReLU(0.2) between them; the width is the config's ``g_width`` / ``d_width``.
``MLPDiscriminator(rf=True)`` is BRC-Rf's discriminator (Sec. 3.1): "we add the mean and variance of data features as
input to the discriminator classification layer" - the classification layer sees [h(x), mean_batch h, var_batch h],
the batch statistics of the features of the batch x belongs to (real and fake batches are scored separately).
``MLPGenerator(residual=True)`` is LCGAN's actor: G(z) = z + MLP(z) on a latent of the data's dimension.
"""
from __future__ import annotations

import torch
from torch import nn


def _mlp(d_in: int, width: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2),
                         nn.Linear(width, d_out))


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, out_dim: int, width: int = 256, residual: bool = False):
        super().__init__()
        if residual and z_dim != out_dim:
            raise ValueError("a residual (LCGAN actor) generator needs z_dim == data dimension")
        self.net, self.residual = _mlp(z_dim, width, out_dim), residual

    def forward(self, z):
        return z + self.net(z) if self.residual else self.net(z)


class MLPDiscriminator(nn.Module):
    def __init__(self, in_dim: int, width: int = 256, rf: bool = False):
        super().__init__()
        self.rf = rf
        self.features = nn.Sequential(nn.Linear(in_dim, width), nn.LeakyReLU(0.2), nn.Linear(width, width),
                                      nn.LeakyReLU(0.2))
        self.classifier = nn.Linear(3 * width if rf else width, 1)

    def forward(self, x):
        h = self.features(x)
        if self.rf:
            mean = h.mean(dim=0, keepdim=True).expand_as(h)
            var = h.var(dim=0, unbiased=False, keepdim=True).expand_as(h)
            h = torch.cat([h, mean, var], dim=1)
        return self.classifier(h).squeeze(1)


def build_mlp_pair(p: dict):
    """(G, D) for a MoG run: ``p`` has z_dim, data_dim, g_width, d_width and optionally rf / residual."""
    G = MLPGenerator(p["z_dim"], p["data_dim"], p["g_width"], residual=p.get("residual", False))
    D = MLPDiscriminator(p["data_dim"], p["d_width"], rf=p.get("rf", False))
    return G, D
