r"""HDCGAN (Curto et al., "High-resolution Deep Convolutional Generative Adversarial Networks"): DCGAN at 512 x 512
with BatchNorm + SELU ("BS") units and additive noise on the inputs of G and D.

Source: hdcgan.txt Sections 3-5. What the text states:

* Sec. 4.1: "HDCGAN structure is described in Figure 2. It differs from traditional DCGAN in the use of
  BatchNorm + SELU (BS) layers instead of ReLUs." SELU (Klambauer et al. 2017) with its fixed constants
  (lambda ~ 1.0507, alpha ~ 1.6733: ``torch.nn.SELU``).
* Sec. 4.1: "additive noise is added to both the inputs of D and G"; "it is always better to use a fixed learning
  rate and instead increase the batch size".
* Sec. 5: "a fixed learning rate of 0.0002 and ADAM solver with batch size 32 and 512 x 512 training images with
  the number of filters of G and D equal to 64" (the experiment ``hdcgan_celeba512`` sets lr, batch and widths; the
  betas are DCGAN's (0.5, 0.999), Radford et al. 2016 Sec. 4, as the paper builds on DCGAN).
* Sec. 2, Eq. 1: the standard GAN objective; G is trained with the non-saturating loss (Goodfellow et al. 2014's
  practical form, DCGAN's PyTorch code, which HDCGAN extends), ``loss: ns``.

**Layer list** (``ganrepro.methods.nn.nets``' DCGAN pair, extended to R x R by DCGAN's rule: one stride-2 unit per doubling,
channels doubling per unit from the base width 64). At R = 512, z in R^100 (DCGAN's z), ``default`` variant::

    G  unit  layer                          out              BS?
       0     ConvT(100 -> 4096, 4/1/0)      4096 x 4 x 4     BN + SELU
       1     ConvT(4096 -> 2048, 4/2/1)     2048 x 8 x 8     BN + SELU
       2     ConvT(2048 -> 1024, 4/2/1)     1024 x 16 x 16   BN + SELU
       3     ConvT(1024 -> 512, 4/2/1)      512 x 32 x 32    BN + SELU
       4     ConvT(512 -> 256, 4/2/1)       256 x 64 x 64    BN + SELU
       5     ConvT(256 -> 128, 4/2/1)       128 x 128 x 128  BN + SELU
       6     ConvT(128 -> 64, 4/2/1)        64 x 256 x 256   BN + SELU
       7     ConvT(64 -> 3, 4/2/1)          3 x 512 x 512    Tanh (no BN: DCGAN's output layer)
    D  0     Conv(3 -> 64, 4/2/1)           64 x 256 x 256   BN + SELU (see the readings below)
       1-6   Conv(..., 4/2/1), 128 ... 4096 4096 x 4 x 4     BN + SELU
       7     Conv(4096 -> 1, 4/1/0)         1 (logit)        - (no BN, no activation: DCGAN's score head)

``python -m ganrepro describe hdcgan_celeba512 hdcgan default`` prints it with the parameter counts.

**Readings the text leaves open** (Figure 2, which would settle them, is not in the text), each a variant:

* *Which units are BS.* "BS layers instead of ReLUs": every unit that has an activation in DCGAN becomes
  BatchNorm + SELU, including D's first unit, which has LeakyReLU and no BatchNorm in DCGAN (``default``:
  ``norm_units: all``, the literal replacement of every rectifier). ``dcgan_norms``: SELU everywhere, BatchNorm only
  where DCGAN has it (not on D's input unit), reading "BS instead of ReLUs" as an activation change on DCGAN's units.
* *Channel growth.* DCGAN's rule doubles the channels per unit (64 px: 512 at 4 x 4); at 512 px that gives 4096
  channels at G's 4 x 4 and D's last map (``default``: no cap; G 185.5 M and D 179.0 M parameters, which fits the
  paper's "12GB to 24 GB" of GPU memory at batch 32). ``cap8`` keeps DCGAN's 64 px maximum of 8 x width (512 for width 64; ``channel_cap: 8``).
* *Input noise.* Neither its magnitude nor a decay is stated: chosen N(0, 0.1^2) on D's input images (in [-1, 1]:
  the usual instance-noise scale, Sonderby et al. 2016 / Arjovsky & Bottou 2017) and on G's latent z ~ N(0, I),
  constant ("fixed" training settings throughout Sec. 4.1), training mode only (``ganrepro.methods.nn.nets.InputNoise``: the
  identity in eval mode, so sampling and metrics see no noise). Config keys ``g_input_noise`` / ``d_input_noise``.
"""
from __future__ import annotations

import math

from ganrepro.methods.baselines import dcgan
from ganrepro.methods.nn import losses
from ganrepro.methods.registry import Method

NET_PARAMS = dcgan.NET_PARAMS | {"channel_cap"}


def max_channels(width: int, resolution: int, cap: int | None) -> int:
    """The largest channel count of either network: ``width * 2**(n-1)`` with n = log2(resolution) - 2 stride units
    (DCGAN's doubling, uncapped: 4096 at 512 px for width 64), or at most ``cap * width`` when ``cap`` is set
    (DCGAN's 64 px networks: 8)."""
    uncapped = width * 2 ** (int(math.log2(resolution)) - 3)
    return uncapped if cap is None else min(int(cap) * width, uncapped)


def build(p: dict):
    """HDCGAN's G and D: the DCGAN pair with BS units (``g_/d_norm: batch``, ``*_activation: selu``,
    ``*_norm_units``), input noise, channels up to ``channel_cap`` x width (None: DCGAN's doubling uncapped); DCGAN-initialised (N(0, 0.02) convs, N(1, 0.02)
    BatchNorm scales, as DCGAN's code that HDCGAN extends)."""
    cap = p.get("channel_cap")
    return dcgan.build({**p, "g_max_channels": max_channels(p["g_width"], p["resolution"], cap),
                        "d_max_channels": max_channels(p["d_width"], p["resolution"], cap)})


METHOD = Method(
    name="hdcgan",
    paper="Curto et al. 2017",
    build=build,
    d_loss=losses.adversarial_d_loss,
    g_loss=losses.adversarial_g_loss,
    log_keys=losses.ADVERSARIAL_LOG_KEYS,
    extra_params=NET_PARAMS,
    defaults={"loss": "ns", "n_critic": 1, "z_dim": 100,
              "g_norm": "batch", "g_norm_units": "all", "g_activation": "selu", "g_input_noise": 0.1,
              "d_norm": "batch", "d_norm_units": "all", "d_activation": "selu", "d_input_noise": 0.1,
              "channel_cap": None},
    variants={"default": {}, "dcgan_norms": {"d_norm_units": None}, "cap8": {"channel_cap": 8}},
    train_defaults={"lr_g": 2.0e-4, "lr_d": 2.0e-4, "betas": [0.5, 0.999]},
)
