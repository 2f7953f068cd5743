"""WGAN-GP baseline (Gulrajani et al. 2017): critic without BatchNorm, gradient penalty lambda, n_critic updates.

Variants: ``default`` is the paper's WGAN loss with lambda = 10; ``hinge`` is LGA's "WGAN-GP + hinge loss"
(lga.txt Section 4: hinge loss with gradient penalty, lambda = 1 for every experiment but default WGAN-GP).
"""
from __future__ import annotations

from baselines import losses
from baselines.nets import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from ganrepro.registry import Method


def build(p: dict):
    G = DCGANGenerator(p["z_dim"], p["resolution"], p["g_width"])
    D = DCGANDiscriminator(p["resolution"], p["d_width"], norm=p["d_norm"])
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    return G, D


def d_loss(D, real, fake, p, ctx):
    d_real, d_fake = D(real), D(fake)
    adv = losses.hinge_d_loss(d_real, d_fake) if p["loss"] == "hinge" else losses.wasserstein_d_loss(d_real, d_fake)
    gp = losses.gradient_penalty(D, real, fake, generator=ctx.rng)
    return adv + p["gp_lambda"] * gp, {"gp": gp.item(), "wdist": (d_real.mean() - d_fake.mean()).item()}


def g_loss(D, fake, p, ctx):
    return losses.hinge_g_loss(D(fake)), {}  # -E[D(G(z))] for both variants


METHOD = Method(
    name="wgan_gp",
    paper="Gulrajani et al. 2017",
    build=build,
    d_loss=d_loss,
    g_loss=g_loss,
    defaults={"d_norm": "none", "n_critic": 5},
    variants={"default": {"loss": "wasserstein", "gp_lambda": 10.0},
              "hinge": {"loss": "hinge", "gp_lambda": 1.0}},
)
