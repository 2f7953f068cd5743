"""SNDCGAN: spectral normalisation on Miyato et al.'s "standard CNN" (Miyato, Kataoka, Koyama, Yoshida 2018,
"Spectral Normalization for Generative Adversarial Networks", ICLR; Sec. 4 and Appendix B.4, Table 3), the SNDCGAN
row of GL-GAN's Table 1 (glgan.txt 4.3, reference [9]) at 64 and 128 px on CelebA.

Settings and where they come from:

* **Networks** (``ganrepro.methods.nn.standard_cnn``, layer lists there): G dense -> (M/8)^2 x 512, three 4x4 stride-2
  deconvolutions with BatchNorm + ReLU to 256, 128, 64 channels, a 3x3 conv to RGB, Tanh; D seven convs (3x3 s1 /
  4x4 s2 alternating, 64 -> 512 channels) with LeakyReLU(0.1), a dense layer on the flattened map. Miyato et al.
  define it for 32 / 48 px; at 64 and 128 px the same rule M_g = M / 8 gives 8x8 / 16x16 seeds (as Kurach et al.'s
  compare_gan SNDCGAN): the suite's extension, recorded here and in the Table 1 spec notes.
* **Spectral norm** on every layer of D (the dense one included), none in G (Miyato et al. Sec. 4: SN is applied
  to the discriminator); no BatchNorm in D.
* **Loss**: Miyato et al.'s main comparisons use the GAN objective with the non-saturating generator loss (their
  Eq. 3 and "the alternate cost"); they also report the hinge loss. Variant ``default`` is the non-saturating pair,
  ``hinge`` the hinge pair (not a table row). GL-GAN does not say which loss its SNDCGAN run used.
* **Optimiser**: Adam alpha = 2e-4, beta1 = 0.5, beta2 = 0.999, n_dis = 1 (setting "C" of Miyato et al.'s Table 1,
  the DCGAN setting under which the standard CNN is usually trained; GL-GAN states only its own optimiser);
  ``train_defaults`` hold them, the experiment's batch size and epochs (GL-GAN 4.2: batch 64, 30 epochs on
  CelebA) apply. z in R^128 ~ N(0, I) (Table 3).
"""
from __future__ import annotations

from ganrepro.methods.baselines.dcgan import NET_PARAMS, build
from ganrepro.methods.nn import losses
from ganrepro.methods.registry import Method

METHOD = Method(
    name="sndcgan",
    paper="Miyato et al. 2018",
    build=build,
    d_loss=losses.adversarial_d_loss,
    g_loss=losses.adversarial_g_loss,
    log_keys=losses.ADVERSARIAL_LOG_KEYS,
    extra_params=NET_PARAMS,
    defaults={"arch": "standard_cnn", "d_spectral_norm": True, "d_norm": "none", "d_activation": "leaky_relu:0.1",
              "d_pool": "flatten", "g_dense_norm": True, "n_critic": 1, "z_dim": 128},
    variants={"default": {"loss": "ns"}, "hinge": {"loss": "hinge"}},
    train_defaults={"lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999]},
)
