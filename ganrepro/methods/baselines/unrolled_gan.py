"""UnrolledGAN (Metz et al. 2017), as BRC compares it (brc.txt Sec. 3.1, Table 3.1).

The generator's loss is the non-saturating GAN loss evaluated at the discriminator after K unrolled ascent steps,
differentiated through the unrolling: f_K(theta, phi) = F(theta, phi_K(theta, phi)). K = 5 (Metz et al. report
5-10 steps on their mixture; the issue fixes 5). The unrolled steps are plain gradient ascent with step size
``unroll_lr`` (Metz et al. unroll their Adam optimiser; SGD keeps the unrolled graph simple: a recorded choice).
This is reverse-mode differentiation through the follower's dynamics, i.e. ``ganrepro.methods.brc``'s ``rhg`` solver.
"""
from __future__ import annotations

from ganrepro.methods.baselines.vgan import build, d_loss
from ganrepro.methods.baselines.vgan import g_loss as vgan_g_loss
from ganrepro.methods.brc import brc_g_loss
from ganrepro.methods.nn.losses import ADVERSARIAL_LOG_KEYS
from ganrepro.methods.registry import Method


def g_loss(D, fake, p, ctx):
    q = {**p, "brc_solver": "rhg", "brc_steps": p["unroll_steps"], "brc_inner_lr": p["unroll_lr"]}
    return brc_g_loss(d_loss, vgan_g_loss)(D, fake, q, ctx)


METHOD = Method(name="unrolled_gan", paper="Metz et al. 2017", build=build, d_loss=d_loss, g_loss=g_loss,
                log_keys={**ADVERSARIAL_LOG_KEYS, "hypergrad_graph_mb": "max"},
                defaults={"d_norm": "batch", "n_critic": 1, "unroll_steps": 5, "unroll_lr": 0.01, "loss": "ns"},
                variants={"plain": {}}, baselines={"*": ("vgan", "plain")})
