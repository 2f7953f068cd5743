"""DCGAN baseline (Radford et al. 2016) with the non-saturating (``ns``) or hinge (``hinge``) loss.

Variant ``ns_brc`` adds BRC (models/brc.py). Used by BRC's CIFAR table (DCGAN with and without BRC, StudioGAN's DCGAN setting uses the non-saturating loss).
"""
from __future__ import annotations

from baselines import losses
from baselines.nets import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from ganrepro.registry import Method
from models.brc import with_brc


def build(p: dict):
    G = DCGANGenerator(p["z_dim"], p["resolution"], p["g_width"], spectral_norm=p.get("g_spectral_norm", False))
    D = DCGANDiscriminator(p["resolution"], p["d_width"], norm=p["d_norm"], spectral_norm=p.get("d_spectral_norm", False))
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    return G, D


def d_loss(D, real, fake, p, ctx):
    d_real, d_fake = D(real), D(fake)
    fn = losses.hinge_d_loss if p["loss"] == "hinge" else losses.ns_d_loss
    return fn(d_real, d_fake), {"d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()}


def g_loss(D, fake, p, ctx):
    d_fake = D(fake)
    fn = losses.hinge_g_loss if p["loss"] == "hinge" else losses.ns_g_loss
    return fn(d_fake), {}


METHOD = with_brc(Method(
    name="dcgan",
    paper="Radford et al. 2016",
    build=build,
    d_loss=d_loss,
    g_loss=g_loss,
    defaults={"d_norm": "batch", "n_critic": 1},
    variants={"ns": {"loss": "ns"}, "hinge": {"loss": "hinge"}},
), {"ns_brc": ("ns", {})})
