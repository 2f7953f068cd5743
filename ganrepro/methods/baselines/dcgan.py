"""DCGAN baseline (Radford et al. 2016) with the non-saturating (``ns``) or hinge (``hinge``) loss.

``build`` is the DCGAN-family network pair that the other image baselines share; the losses come from
``ganrepro.methods.nn.losses``' table by the ``loss`` parameter.

Variant ``ns_brc`` adds BRC (ganrepro/methods/brc.py). Used by BRC's CIFAR table (DCGAN with and without BRC): there the
experiment sets StudioGAN's CIFAR-10 DCGAN setting (``arch: standard_cnn`` = StudioGAN's ``deep_conv`` backbone,
non-saturating loss, 2 D steps per G step; config ``experiments.brc_cifar10.methods.dcgan``, docs/brc.md).
"""
from __future__ import annotations

from ganrepro.methods.brc import with_brc
from ganrepro.methods.nn import losses
from ganrepro.methods.nn.nets import NET_PARAMS as _NET_OPTIONS
from ganrepro.methods.nn.nets import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights, network_kwargs
from ganrepro.methods.nn.standard_cnn import PARAMS as _STANDARD_CNN_OPTIONS
from ganrepro.methods.nn.standard_cnn import build_standard_cnn
from ganrepro.methods.registry import Method

# the network options ``build`` reads beyond the widths: ``arch`` picks the network family
NET_PARAMS = frozenset(_NET_OPTIONS) | frozenset(_STANDARD_CNN_OPTIONS) | {"arch"}
ARCHS = ("dcgan", "standard_cnn")


def build(p: dict):
    """The network pair of ``p["arch"]``: ``"dcgan"`` (the default) is the DCGAN pair with the network options of
    ``p`` (``ganrepro.methods.nn.nets.NET_PARAMS``: spectral norm per layer, activations, norms, input noise, attention blocks,
    score or map head), DCGAN-initialised; ``"standard_cnn"`` is Miyato et al.'s standard CNN
    (``ganrepro.methods.nn.standard_cnn``: SNDCGAN's network and StudioGAN's ``deep_conv``)."""
    arch = p.get("arch") or "dcgan"
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; known: {', '.join(ARCHS)}")
    if arch == "standard_cnn":
        return build_standard_cnn(p)
    gk, dk = network_kwargs(p)
    G = DCGANGenerator(p["z_dim"], p["resolution"], p["g_width"], **gk)
    D = DCGANDiscriminator(p["resolution"], p["d_width"], **dk)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    return G, D


METHOD = with_brc(Method(
    name="dcgan",
    paper="Radford et al. 2016",
    build=build,
    d_loss=losses.adversarial_d_loss,
    g_loss=losses.adversarial_g_loss,
    log_keys=losses.ADVERSARIAL_LOG_KEYS,
    extra_params=NET_PARAMS,
    defaults={"d_norm": "batch", "n_critic": 1},
    variants={"ns": {"loss": "ns"}, "hinge": {"loss": "hinge"}},
), {"ns_brc": ("ns", {})})
