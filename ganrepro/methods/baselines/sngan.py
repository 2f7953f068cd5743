"""SNGAN (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks"), as BRC's CIFAR table
uses it (brc.txt Sec. 3.2), LGA compares it (lga.txt 4.2, Table 2) and GL-GAN re-runs it (Table 3).

Networks: Miyato's ResNets (Appendix B.4, Tables 4 and 6, the ResBlock of Fig. 8), ``ganrepro.methods.nn.resnet`` with
``resnet_layout: auto``: the CIFAR-10 ResNet (Table 4; G 256 channels, D 128 at the suite's full-scale widths
g_width = d_width = 64, mapped C_g = 4 g_width, C_d = 2 d_width) at images <= 48 px (32 px; STL-10 at 48 px as
SNGAN trains it; 16 px at smoke scale), the 128 px ImageNet ResNet (Table 6, ch = g_width / d_width = 64) above.
Layer lists, blocks and initialisation: ``ganrepro.methods.nn.resnet``'s docstring.

Settings (Miyato et al. Sec. 4 / Appendix B.4, the ResNet runs): hinge loss (``loss: hinge``; D: E[max(0, 1 - D(x))]
+ E[max(0, 1 + D(G(z)))], G: -E[D(G(z))]), spectral normalisation on every discriminator layer (every conv, the
shortcut 1x1 convs and the final linear layer; one power iteration per step), none in the generator (which keeps its
BatchNorm), no other discriminator normalisation, ``n_critic`` 5 discriminator steps per generator step, z in
R^128 ~ N(0, I) (``z_dim`` 128), Adam lr 2e-4 for both networks, betas (0, 0.9) (``train_defaults``, Miyato's
CIFAR ResNet setting; an experiment's ``train`` section, the citing paper's statement, wins: BRC's StudioGAN
betas (0.5, 0.999), LGA's (0, 0.9)). Batch 64 (the config's default).

Citing papers:

* BRC's CIFAR table follows StudioGAN (Kang et al.): its SNGAN CIFAR-10 config is this ResNet with spectral norm in
  D, the hinge loss and 5 D steps - with conditional BatchNorm in G and a projection discriminator, since StudioGAN
  trains class-conditional models. The suite's tables are unconditional: plain BatchNorm in G and no projection
  term (D's output is the linear layer on the pooled features alone).
* GL-GAN Table 3's CelebA-HQ 256 px SNGAN row uses the "imagenet" layout extended to 256 px: Miyato's largest ResNet
  is 128 px, and one more up block in G / down block in D is added per doubling (the rule in ``ganrepro.methods.nn.resnet``).

Variants: ``plain``; ``default`` (the same run under LGA Table 2's name); ``brc`` (``plain`` + BRC, ganrepro/methods/brc.py).
Parameters: ``resnet_layout`` (auto / cifar / imagenet), ``g_spectral_norm`` (False), ``d_spectral_norm`` (True),
``attention_side`` (None: no self-attention).
"""
from __future__ import annotations

from ganrepro.methods.brc import with_brc
from ganrepro.methods.nn import losses
from ganrepro.methods.nn.resnet import build
from ganrepro.methods.registry import Method

METHOD = with_brc(
    Method(name="sngan", paper="Miyato et al. 2018", build=build, d_loss=losses.adversarial_d_loss,
           g_loss=losses.adversarial_g_loss, log_keys=losses.ADVERSARIAL_LOG_KEYS,
           defaults={"loss": "hinge", "n_critic": 5, "z_dim": 128, "resnet_layout": "auto",
                     "g_spectral_norm": False, "d_spectral_norm": True, "attention_side": None},
           variants={"plain": {}, "default": {}},  # "default": LGA Table 2's name for the same run
           train_defaults={"lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.0, 0.9]}),
    {"brc": ("plain", {})},
)
