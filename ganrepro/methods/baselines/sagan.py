"""SAGAN (Zhang et al. 2019, "Self-Attention Generative Adversarial Networks", Secs. 4-5), unconditional, as
GL-GAN's Table 1 compares it.

Networks: ``ganrepro.methods.nn.resnet``'s "imagenet" layout at every resolution (Miyato et al.'s 128 px ResNet, which SAGAN
builds on; 4 x 4 x 16ch after G's linear layer, ch = g_width = d_width = 64 at full scale; layer lists for 64, 128
and 256 px in ``ganrepro.methods.nn.resnet``), with

* spectral normalisation on every layer of G and D (Sec. 4: "we apply spectral normalization to both the generator
  and the discriminator"): every conv, shortcut conv, linear layer and the attention blocks' 1x1 convs; G keeps its
  BatchNorm;
* self-attention (``ganrepro.methods.nn.nets.SelfAttention``, Sec. 3; gamma starts at 0) in G and in D at the 32 x 32 feature
  map, SAGAN's final model ("feat32", Sec. 5.1 / Table 1): in G after the up block that outputs 32 x 32, in D after
  the block that outputs 32 x 32 (128 px: G's third block, 8ch -> 4ch; D's second, ch -> 2ch). Images under 64 px
  have no 32 x 32 map between the image and the bottom: there the side is min(32, resolution // 2) (32 px -> 16,
  16 px -> 8; ``attention_side: auto``);
* the hinge loss (``loss: hinge``: D E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], G -E[D(G(z))]), one D step per G
  step (``n_critic`` 1), TTUR: Adam lr_G 1e-4, lr_D 4e-4, betas (0, 0.9) (Sec. 4-5; ``train_defaults``: an
  experiment's ``train`` section wins), z in R^128 ~ N(0, I) (``z_dim`` 128, SAGAN's code). SAGAN's batch of 256
  is not set here (the citing table's batch size applies).

Unconditional: SAGAN is a class-conditional ImageNet model; here its conditional BatchNorm becomes plain BatchNorm
and the projection discriminator's class term <embed(y), pooled features> is dropped (D's output is the linear
layer on the globally sum-pooled features alone).

Variant ``default``. Parameters: ``resnet_layout`` (imagenet), ``g_spectral_norm`` / ``d_spectral_norm`` (True),
``attention_side`` (auto).
"""
from __future__ import annotations

from ganrepro.methods.nn import losses
from ganrepro.methods.nn.resnet import build
from ganrepro.methods.registry import Method

METHOD = Method(
    name="sagan", paper="Zhang et al. 2019", build=build, d_loss=losses.adversarial_d_loss,
    g_loss=losses.adversarial_g_loss, log_keys=losses.ADVERSARIAL_LOG_KEYS,
    defaults={"loss": "hinge", "n_critic": 1, "z_dim": 128, "resnet_layout": "imagenet", "g_spectral_norm": True,
              "d_spectral_norm": True, "attention_side": "auto"},
    variants={"default": {}},
    train_defaults={"lr_g": 1e-4, "lr_d": 4e-4, "betas": [0.0, 0.9]},
)
