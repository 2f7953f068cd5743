"""LSGAN (Mao et al. 2017) with the DCGAN networks, as BRC's CIFAR table uses it (brc.txt Sec. 3.2).

Least-squares losses with targets a = 0 (fake), b = c = 1 (real); networks are StudioGAN's CIFAR DCGAN setting
(Kang et al.), here ``baselines.nets``' DCGAN pair. Variants ``plain`` and ``brc``.
"""
from __future__ import annotations

from baselines import losses
from baselines.dcgan import build
from ganrepro.registry import Method
from models.brc import with_brc


def d_loss(D, real, fake, p, ctx):
    d_real, d_fake = D(real), D(fake)
    return losses.ls_d_loss(d_real, d_fake), {"d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()}


def g_loss(D, fake, p, ctx):
    return losses.ls_g_loss(D(fake)), {}


METHOD = with_brc(
    Method(name="lsgan", paper="Mao et al. 2017", build=build, d_loss=d_loss, g_loss=g_loss,
           defaults={"d_norm": "batch", "n_critic": 1}, variants={"plain": {}}),
    {"brc": ("plain", {})},
)
