"""VGAN: the original GAN of Goodfellow et al. 2014, as BRC compares it (brc.txt Sec. 3.1, Tables 3.1 and 2).

Discriminator: binary cross-entropy, max_D E[log D(x)] + E[log(1 - D(G(z)))]; generator: the non-saturating
E[-log D(G(z))] that Goodfellow et al. recommend in practice (Sec. 3). Variants: ``plain``; ``brc`` (+ BRC with this
paper's IGA solver); ``brc_rf`` (+ BRC with BRC-Rf's feature-statistics discriminator, Sec. 3.1); ``brc_rhg``,
``brc_bda``, ``brc_cg``, ``brc_neumann`` (BRC with the other hypergradient solvers of the solver table, K = 5 inner
steps each); ``brc_rhg_k10``, ``brc_bda_k10`` (RHG and BDA with K = 10 unrolled steps: the solver table's reading of
the unstated K that the paper's time ratios point to, docs/brc.md "Solvers"); ``rf`` (BRC-Rf's
discriminator without BRC: this suite's ablation, not in the paper, separating what the Rf features do from what BRC
does); ``brc_sign``, ``brc_gn`` (the suite's readings 2 and 3 of Eq. 9: ganrepro/methods/brc.py, docs/brc.md);
``brc_d5``, ``brc_rf_d5`` (BRC and BRC-Rf with 5 discriminator steps per generator step: Algorithm 1's "several
steps", the suite's reading 5).
"""
from __future__ import annotations

from ganrepro.methods.baselines.dcgan import NET_PARAMS
from ganrepro.methods.baselines.dcgan import build as conv_build
from ganrepro.methods.brc import READING_VARIANTS, with_brc
from ganrepro.methods.nn import losses
from ganrepro.methods.nn.mlp import build_mlp_pair
from ganrepro.methods.registry import Method


def build(p: dict):
    if p["resolution"] == 0:
        return build_mlp_pair(p)
    return conv_build(p)


d_loss, g_loss = losses.adversarial_d_loss, losses.adversarial_g_loss  # with loss "ns" (the defaults below)

METHOD = with_brc(
    Method(name="vgan", paper="Goodfellow et al. 2014", build=build, d_loss=d_loss, g_loss=g_loss,
           log_keys=losses.ADVERSARIAL_LOG_KEYS, extra_params=NET_PARAMS,
           defaults={"d_norm": "batch", "n_critic": 1, "loss": "ns"}, variants={"plain": {}, "rf": {"rf": True}}),
    {"brc": ("plain", {}), "brc_rf": ("plain", {"rf": True}), "brc_rf_d5": ("plain", {"rf": True, "n_critic": 5}),
     "brc_rhg": ("plain", {"brc_solver": "rhg"}), "brc_bda": ("plain", {"brc_solver": "bda"}),
     "brc_rhg_k10": ("plain", {"brc_solver": "rhg", "brc_steps": 10}),
     "brc_bda_k10": ("plain", {"brc_solver": "bda", "brc_steps": 10}),
     "brc_cg": ("plain", {"brc_solver": "cg"}), "brc_neumann": ("plain", {"brc_solver": "neumann"}),
     **READING_VARIANTS},
)
