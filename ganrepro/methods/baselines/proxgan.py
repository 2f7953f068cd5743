"""ProxGAN (Farnia & Ozdaglar 2020, "Do GANs always have Nash equilibria?"), as BRC compares it (brc.txt Table 2).

Proximal training: the generator minimises the proximal discriminator objective
    max_{phi'} f(theta, phi') - (lambda/2) |phi' - phi|^2,
whose gradient in theta is, by Danskin's theorem, d_theta F at the proximal maximiser phi'. phi' is approximated
by ``prox_steps`` gradient-ascent steps (step ``prox_lr``) from the current phi, without differentiating through
them. Choices (recorded in brc_table2's notes): parameter-space proximity, lambda = 0.1, 5 steps of size 0.01.
Variants ``plain``, ``brc`` and
the suite's readings of Eq. 9 ``brc_sign``, ``brc_gn`` and of Algorithm 1's D steps ``brc_d5``
(ganrepro/methods/brc.py, docs/brc.md).
"""
from __future__ import annotations

import torch

from ganrepro.methods.baselines.vgan import build, d_loss
from ganrepro.methods.baselines.vgan import g_loss as vgan_g_loss
from ganrepro.methods.brc import READING_VARIANTS, functional_discriminator, with_brc
from ganrepro.methods.nn.losses import ADVERSARIAL_LOG_KEYS
from ganrepro.methods.registry import Method


def proximal_discriminator(D, real, fake, p, ctx):
    names, phi = zip(*[(n, q) for n, q in D.named_parameters() if q.requires_grad])  # D: module or FunctionalD
    cur = [q.detach().clone().requires_grad_(True) for q in phi]
    fake = fake.detach()
    for _ in range(int(p["prox_steps"])):
        f = -d_loss(functional_discriminator(D, names, cur), real, fake, p, ctx)[0]
        prox = 0.5 * p["prox_lambda"] * sum(((c - q.detach()) ** 2).sum() for c, q in zip(cur, phi))
        grads = torch.autograd.grad(f - prox, cur)
        cur = [(c + p["prox_lr"] * g).detach().requires_grad_(True) for c, g in zip(cur, grads)]
    # phi' = phi + (detached proximal step): its value is the proximal maximiser, its derivative in phi the identity,
    # so that BRC's d_phi F (variant brc) sees the leader's sensitivity to the discriminator.
    return functional_discriminator(D, names, [q + (c - q).detach() for c, q in zip(cur, phi)])


def g_loss(D, fake, p, ctx):
    return vgan_g_loss(proximal_discriminator(D, ctx.real, fake, p, ctx), fake, p, ctx)


METHOD = with_brc(
    Method(name="proxgan", paper="Farnia & Ozdaglar 2020", build=build, d_loss=d_loss, g_loss=g_loss,
           log_keys=ADVERSARIAL_LOG_KEYS,
           defaults={"d_norm": "batch", "n_critic": 1, "prox_lambda": 0.1, "prox_steps": 5, "prox_lr": 0.01,
                     "loss": "ns"},
           variants={"plain": {}}, baselines={"plain": ("vgan", "plain")}),
    {"brc": ("plain", {}), **READING_VARIANTS},
)
