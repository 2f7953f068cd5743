"""SNGAN (Miyato et al. 2018), as BRC's CIFAR table uses it (brc.txt Sec. 3.2) and LGA compares it (lga.txt 4.2).

Hinge loss, spectral normalisation on every discriminator layer, no discriminator normalisation otherwise,
5 discriminator steps per generator step (StudioGAN's SNGAN CIFAR setting). Networks: ``baselines.nets``' DCGAN
pair with spectral norm (Miyato et al.'s "standard CNN" family); StudioGAN's SNGAN uses ResNet blocks - a recorded
deviation (see brc_table_cifar's notes). Variants ``plain`` and ``brc``.
"""
from __future__ import annotations

from baselines import losses
from baselines.dcgan import NET_PARAMS, build
from ganrepro.registry import Method
from models.brc import with_brc


METHOD = with_brc(
    Method(name="sngan", paper="Miyato et al. 2018", build=build, d_loss=losses.adversarial_d_loss,
           g_loss=losses.adversarial_g_loss, log_keys=losses.ADVERSARIAL_LOG_KEYS, extra_params=NET_PARAMS,
           defaults={"d_norm": "none", "d_spectral_norm": True, "n_critic": 5, "loss": "hinge"},
           variants={"plain": {}, "default": {}}),  # "default": LGA Table 2's name for the same run
    {"brc": ("plain", {})},
)
