"""LSGAN (Mao et al. 2017) with the DCGAN networks, as BRC's CIFAR table uses it (brc.txt Sec. 3.2).

Least-squares losses with targets a = 0 (fake), b = c = 1 (real); networks are StudioGAN's CIFAR DCGAN setting
(Kang et al.), here ``ganrepro.methods.nn.nets``' DCGAN pair. Variants ``plain`` and ``brc``.
"""
from __future__ import annotations

from ganrepro.methods.baselines.dcgan import NET_PARAMS, build
from ganrepro.methods.brc import with_brc
from ganrepro.methods.nn import losses
from ganrepro.methods.registry import Method

METHOD = with_brc(
    Method(name="lsgan", paper="Mao et al. 2017", build=build, d_loss=losses.adversarial_d_loss,
           g_loss=losses.adversarial_g_loss, log_keys=losses.ADVERSARIAL_LOG_KEYS, extra_params=NET_PARAMS,
           defaults={"d_norm": "batch", "n_critic": 1, "loss": "ls"}, variants={"plain": {}}),
    {"brc": ("plain", {})},
)
