"""WGAN-GP baseline (Gulrajani et al. 2017): critic without BatchNorm, gradient penalty lambda, n_critic updates.

Variants: ``default`` is the paper's WGAN loss with lambda = 10; ``hinge`` is LGA's "WGAN-GP + hinge loss"
(lga.txt Section 4: hinge loss with gradient penalty, lambda = 1 for every experiment but default WGAN-GP).
Optimiser: Algorithm 1's Adam (1e-4, beta = (0, 0.9)) unless the experiment states another for every row.
"""
from __future__ import annotations

from ganrepro.methods.baselines.dcgan import (  # the DCGAN-family pair; critic without normalisation (d_norm none)
    NET_PARAMS,
    build,
)
from ganrepro.methods.nn import losses
from ganrepro.methods.registry import Method


def d_loss(D, real, fake, p, ctx):
    d_real, d_fake = D(real), D(fake)
    adv = losses.loss_pair(p["loss"]).d(d_real, d_fake)
    gp = losses.gradient_penalty(D, real, fake, generator=ctx.rng)
    return adv + p["gp_lambda"] * gp, {"gp": gp.detach(), "wdist": (d_real.mean() - d_fake.mean()).detach()}


METHOD = Method(
    name="wgan_gp",
    paper="Gulrajani et al. 2017",
    build=build,
    d_loss=d_loss,
    g_loss=losses.adversarial_g_loss,  # -E[D(G(z))] for both variants (the table's wasserstein and hinge pairs)
    log_keys={"gp": "mean", "wdist": "mean"},
    extra_params=NET_PARAMS,
    defaults={"d_norm": "none", "n_critic": 5},
    # Gulrajani et al. 2017, Algorithm 1's defaults: alpha = 1e-4, beta1 = 0, beta2 = 0.9 (n_critic = 5 above)
    train_defaults={"lr_g": 1e-4, "lr_d": 1e-4, "betas": [0.0, 0.9]},
    variants={"default": {"loss": "wasserstein", "gp_lambda": 10.0},
              "hinge": {"loss": "hinge", "gp_lambda": 1.0}},
)
