"""LSGAN (Mao et al. 2017) with the DCGAN networks, as BRC's CIFAR table uses it (brc.txt Sec. 3.2).

Least-squares losses with targets a = 0 (fake), b = c = 1 (real). The method builds the DCGAN pair of
``ganrepro.methods.baselines.dcgan`` (``arch`` selects the network); on BRC's CIFAR experiments the config sets
StudioGAN's LSGAN.yaml setting (Kang et al.; brc.txt 3.2 "we follow the settings in [30]"): the ``deep_conv``
backbone, i.e. ``arch: standard_cnn`` (Miyato et al.'s standard CNN: BatchNorm and ReLU in D, global sum pooling, no
BatchNorm after G's dense layer), z in R^128 and 2 D steps per G step (``config/config.yaml``, ``brc_cifar10``), not
the DCGAN pair of the other experiments. Variants ``plain`` and ``brc``.
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
