"""WGAN (Arjovsky et al. 2017) with weight clipping, as BRC compares it (brc.txt Sec. 3.1).

Critic: max E[D(x)] - E[D(G(z))] with every critic weight clipped to [-c, c] after each step (c = 0.01, the WGAN
paper's value); generator: -E[D(G(z))]. BRC's text fixes Adam for every method ("The Adam optimizer is uniformly set
to optimize two networks"), so Adam replaces WGAN's RMSprop. Variants ``plain``, ``brc`` and
the suite's readings of Eq. 9 ``brc_sign``, ``brc_gn`` and of Algorithm 1's D steps ``brc_d5``
(ganrepro/methods/brc.py, docs/brc.md).
"""
from __future__ import annotations

import torch

from ganrepro.methods.baselines.dcgan import NET_PARAMS
from ganrepro.methods.baselines.vgan import build
from ganrepro.methods.brc import READING_VARIANTS, with_brc
from ganrepro.methods.nn import losses
from ganrepro.methods.registry import Method


def d_loss(D, real, fake, p, ctx):
    d_real, d_fake = D(real), D(fake)
    return losses.wasserstein_d_loss(d_real, d_fake), {"wdist": (d_real.mean() - d_fake.mean()).detach()}


def g_loss(D, fake, p, ctx):
    return losses.hinge_g_loss(D(fake)), {}  # -E[D(G(z))]


def clip_weights(D, p):
    with torch.no_grad():
        for q in D.parameters():
            q.clamp_(-p["clip"], p["clip"])


METHOD = with_brc(
    Method(name="wgan", paper="Arjovsky et al. 2017", build=build, d_loss=d_loss, g_loss=g_loss,
           log_keys={"wdist": "mean"}, extra_params=NET_PARAMS,
           defaults={"d_norm": "none", "n_critic": 1, "clip": 0.01}, variants={"plain": {}},
           after_d_step=clip_weights),
    {"brc": ("plain", {}), **READING_VARIANTS},
)
