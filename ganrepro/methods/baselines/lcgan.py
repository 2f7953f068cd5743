"""LCGAN (Engel et al. 2017, "Latent constraints"), as BRC compares it on the mixtures (brc.txt Sec. 3.1, Table 2).

Engel et al. train an actor G that moves prior samples z to z' = G(z) which a critic accepts, with a distance
penalty that keeps z' near z: L_G = E[-log D(G(z))] + lambda_dist E[(1/sigma_z^2) log(1 + (G(z) - z)^2)]
(their Eq. 4, summed over dimensions; sigma_z = 1 for the N(0, I) prior). On the mixtures there is no pre-trained
VAE, so the latent space is the data space (choice, recorded in brc_table2's notes): z ~ N(0, I) in the data's
dimension, G(z) = z + MLP(z), lambda_dist = 0.1 (their value). Variants ``plain``, ``brc`` and
the suite's readings of Eq. 9 ``brc_sign``, ``brc_gn`` and of Algorithm 1's D steps ``brc_d5``
(ganrepro/methods/brc.py, docs/brc.md).
"""
from __future__ import annotations

import torch

from ganrepro.methods.baselines.vgan import build as vgan_build
from ganrepro.methods.baselines.vgan import d_loss
from ganrepro.methods.brc import READING_VARIANTS, with_brc
from ganrepro.methods.nn import losses
from ganrepro.methods.registry import Method


def build(p: dict):
    return vgan_build({**p, "z_dim": p["data_dim"], "residual": True})


def g_loss(D, fake, p, ctx):
    adv = losses.ns_g_loss(D(fake))
    shift = fake - ctx.z[:, :fake.shape[1]]
    dist = torch.log1p(shift ** 2).sum(dim=1).mean()
    return adv + p["lambda_dist"] * dist, {"lc_dist": dist.detach()}


METHOD = with_brc(
    Method(name="lcgan", paper="Engel et al. 2017", build=build, d_loss=d_loss, g_loss=g_loss,
           log_keys={**losses.ADVERSARIAL_LOG_KEYS, "lc_dist": "mean"},
           defaults={"d_norm": "batch", "n_critic": 1, "lambda_dist": 0.1, "latent_is_data": True, "loss": "ns"},
           variants={"plain": {}}),
    {"brc": ("plain", {}), **READING_VARIANTS},
)
