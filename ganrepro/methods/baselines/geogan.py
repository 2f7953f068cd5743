"""GeoGAN (Lim & Ye 2017, "Geometric GAN", arXiv 1705.02894) as LGA's Table 1 reproduces it (lga.txt 4.1).

Geometric GAN's discriminator is a (soft-margin) SVM separating hyperplane: the hinge loss
L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye Sec. 3-4), and the generator moves its samples along
the normal of the hyperplane: L_G = -E[D(G(z))]. lga.txt 4.1: "Weight clipping is used only to reproduce
GeoGAN(Lim & Ye, 2017)" - so every D weight is clamped to [-c, c] after each D step (``after_d_step``), and the
gradient penalty of the other Table 1 rows is not used.

Settings: the networks of the other LGA Table 1 rows (the suite's WGAN-GP network family, ``ganrepro.methods.baselines.dcgan.build``
with no normalisation in D: lga.txt 4.1 trains every row on the same networks), Adam beta = (0, 0.9) and the
experiment's learning rate (lga.txt 4: stated for every row; the experiment's ``train`` sets them).
Not stated in either paper, chosen: the clipping bound c = 0.01 (WGAN's value, Arjovsky et al. 2017, the only
published bound for clipping a critic) and n_critic = 5 (the WGAN-GP rows it is compared with; WGAN's own n_critic);
both are parameters (``clip``, ``n_critic``).
"""
from __future__ import annotations

from ganrepro.methods.baselines.dcgan import NET_PARAMS, build
from ganrepro.methods.baselines.wgan import clip_weights  # every D parameter clamped to [-clip, clip] (WGAN's Alg. 1)
from ganrepro.methods.nn import losses
from ganrepro.methods.registry import Method

METHOD = Method(
    name="geogan",
    paper="Lim & Ye 2017",
    build=build,
    d_loss=losses.adversarial_d_loss,
    g_loss=losses.adversarial_g_loss,
    log_keys=losses.ADVERSARIAL_LOG_KEYS,
    extra_params=NET_PARAMS,
    defaults={"d_norm": "none", "n_critic": 5, "clip": 0.01, "loss": "hinge"},
    variants={"default": {}},
    after_d_step=clip_weights,
)
