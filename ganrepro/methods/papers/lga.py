r"""LGA: "Spatially decomposed hinge adversarial loss by local gradient amplifier" (lga.txt Sections 2.2, 3, 4.1,
4.4; Eqs. 12-15; Tables 1-2).

**The amplifier** (Sec. 3). D ends in a 1x1 conv with one filter, so its output is one n x n map Y per image, shape
(B, n, n) (n = 4 or 8). D's loss is Eq. 12's hinge, unchanged: L_D = E[max(0, 1 - Y(x))] + E[max(0, 1 + Y(G(z)))],
each expectation a mean over images and map positions (``ganrepro.methods.nn.losses.hinge_d_loss``; every position is one
hinge term, as the suite's other map discriminators). For the generator only, an amplification map A is a copy of Y
through which no gradient flows ("we build an amplification map A ... by duplicating final feature map Y"):

    A_ij = min(Y_ij, c)        (Eq. 13: c = 1; "zero LGA", lga.txt 4.1: c = 0, "setting A_ij = min(Y_ij, 0)")
    Y^ = Y ⊙ w(A)              (Eq. 14)
    L_G = -E[Y^]               (Eq. 12's -E[D_LGA(G(z))]: the mean over images and positions)
    dL_G/dY_ij = -w(A_ij) / (B n^2)   (Eq. 15; the 1/(B n^2) is the mean's)

with w(A) = A as printed (``lga_reading: literal``) or w(A) = |A| (``lga_reading: magnitude``, the default), and
``lga_cap`` = c. ``local_gradient_amplifier(y, reading, cap)`` returns (Y^, w(A)).

**Which reading, and why magnitude is the default.** Read literally, a fake region that D calls unrealistic
(Y_ij < 0) gets A_ij = Y_ij < 0, so -dL_G/dY_ij = A_ij / (B n^2) < 0: the generator step pushes that region's score
further *down*, and the more unrealistic it is, the harder. That contradicts every sentence in which the paper says
what the amplifier is for:

* Sec. 1: "Gradient of unrealistic region is amplified, while gradient of realistic region is sustained." and "Our
  proposed decomposed hinge adversarial loss locally amplifies the gradients of unrealistic regions".
* Sec. 1: "Practical policy for faster and stable convergence is encouraging update for such unrealistic region
  while keeping all other realistic image regions."
* Sec. 3: "with which we amplify gradients that propagate to locally unrealistic area in a generated image."
* Sec. 4.1, zero LGA: "gradient, which is propagated to filters of Generator that contributed realistic area, is
  completely blocked by setting A_ij = min(Y_ij, 0)" - taken literally, zero LGA's *only* remaining signal would
  push every unrealistic region the wrong way (towards "more fake"), and a generator trained on it could not
  improve at all; Table 1 reports it as comparable to LGA 4x4 (CIFAR-10 20.20 vs 19.31, CelebA 8.59).

Under the magnitude reading every one of these holds: unrealistic regions (Y < 0) are pushed *up* with strength |Y|
(amplified, relative to the plain hinge's 1, where |Y| > 1), regions with Y >= 1 keep the plain hinge generator's
gradient ("sustained": w = 1), and zero LGA gives exactly zero gradient where Y >= 0 ("completely blocked") while
still pushing unrealistic regions up. The paper's Eq. 15 as printed (dL_G/dY_ij = dL_G/dY x A_ij) is the literal
one, and its tables cannot tell the readings apart (they report FIDs only), so the literal reading is a twin of every
LGA row (``lga4_literal``, ``lga8_literal``, ``lga4_zero_literal``, ``sngan_lga4_literal``), judged on the claims
under the tables' ``readings``. Under both readings (a consequence of Eq.
13 itself, which neither sentence mentions) regions with 0 <= Y < 1 get a damped gradient w = Y, zero at the decision
boundary Y = 0. Near D's initialisation (DCGAN init: |Y| ~ 1e-3) every |w| is that small, so G's gradient is
about 1e-3 of the plain hinge's; Adam divides by the running RMS of the gradient, so this global scale largely
cancels and what the amplifier changes is the relative weight of positions and images (``lga_amp`` logs mean |w|;
``benchmarks/lga_step.py`` saw 0.003-0.3 in the first ten steps). ``tests/test_lga.py::test_sign_table`` checks
the sign of -dL_G/dY per region for both readings:

    Y                     -2    -0.5   0     0.5   1     3
    magnitude, c = 1      up    up     none  up    up    up       (w = 2, 0.5, 0, 0.5, 1, 1)
    literal,   c = 1      down  down   none  up    up    up       (w = -2, -0.5, 0, 0.5, 1, 1)
    magnitude, c = 0      up    up     none  none  none  none     (w = 2, 0.5, 0, 0, 0, 0)
    literal,   c = 0      down  down   none  none  none  none     (w = -2, -0.5, 0, 0, 0, 0)
    none (plain hinge)    up    up     up    up    up    up       (w = 1)

``lga_reading: none`` is the plain hinge generator loss -E[Y] on the same map (w = 1): not a table row, the control
that ``benchmarks/lga_step.py`` times to isolate the amplifier's own cost.

**Networks, WGAN-GP rows** (Table 1: ``lga4``, ``lga4_zero``, ``lga8``, and the ablations ``lga8_literal``,
``lga4_zero_literal``). The suite's WGAN-GP network family (``ganrepro.methods.baselines.dcgan.build``, as ``wgan_gp`` and ``geogan``,
the other LGA Table 1 rows): the DCGAN pair without normalisation in D (``d_norm: none``), D's trunk stopping at
n x n (``d_head: map``, ``d_map_size`` 4 or 8) and ending in a 1x1 conv with one filter (``d_head_kernel: 1``, "If
the last layer of discriminator is a 1 x 1 convolution layer with a single filter, output will be a single n x n
feature map"), raw logits, DCGAN initialisation. G is the DCGAN generator (BatchNorm + ReLU, Tanh), z in R^100.
Every D conv is (4, 2, 1) + LeakyReLU(0.2); full-scale widths 64 (receptive field of one map position in brackets):

    32 px  G: 100->256 (4x4), 128 (8), 64 (16), 3 Tanh (32)                       [BN-ReLU between]
           D lga4: 3->64 (16x16), 128 (8), 256 (4), head 1x1 256->1 (4x4)           [22 px]
           D lga8: 3->64 (16x16), 128 (8), head 1x1 128->1 (8x8)                    [10 px]
    64 px  G: 100->512 (4x4), 256 (8), 128 (16), 64 (32), 3 Tanh (64)
           D lga4: 3->64 (32x32), 128 (16), 256 (8), 512 (4), head 1x1 512->1 (4x4) [46 px]
           D lga8: 3->64 (32x32), 128 (16), 256 (8), head 1x1 256->1 (8x8)          [22 px]

(WGAN-GP's own score head is the same trunk down to 4x4 with DCGAN's Conv(4, 1, 0) -> 1x1.) At 32 px an 8x8 map
leaves only 2 trunk units: D is a two-layer network whose positions see 10 x 10 pixels (at 16 px, smoke scale,
``lga8``'s D has one trunk unit, 3->8 at 8x8, then the head). Losses: Eq. 12's hinge plus
the gradient penalty (``ganrepro.methods.nn.losses.gradient_penalty``: per image, on the mean of its map) with lambda = 1
(lga.txt 4.1: "The hyperparameter lambda of gradient penalty was set to 10 in default WGAN-GP only, and 1 for other
experiments"). ``n_critic`` 5: the suite's choice (the paper does not state it), the WGAN-GP rows' value.

**Network, SNGAN row** (Table 2: ``sngan_lga4``). Miyato et al.'s ResNet as ``ganrepro.methods.baselines.sngan`` builds it
(``ganrepro.methods.nn.resnet``, the CIFAR layout at <= 48 px: D features 128 channels at R/4 x R/4), with D's global sum
pooling + linear replaced (lga.txt 4.1: "We apply 2 x 2 average pooling with stride 2 to apply LGA, maintaining the
role of global sum pooling of SNGAN. To maintain the role of global sum pooling of SNGAN, we multiply the output of
average pooling by 64."): ``features(x)`` (B, C, h, w) -> 2x2 average pooling, stride 2 -> times s -> SNGAN's
linear layer applied at every position (= a 1x1 conv with one filter; the same spectrally normalised ``linear``
module, same parameter names and initial weights as SNGAN's D) -> (B, h/2, w/2). The factor s is the number of
positions the global sum pooling adds up, s = h x w: on a constant feature map c, global sum pooling gives h w c and
every pooled-and-scaled position gives s c = h w c, the same scale, and the mean of the LGA map is exactly SNGAN's
score on the same weights (the linear layer commutes with the mean). At 32 px h = w = 8: s = 64, the paper's number,
and the map is 4x4 (LGA 4x4: "For spectral normalization, we experiment only LGA 4 x 4"); at 48 px (SNGAN's STL-10
size) h = w = 12: s = 144 and the map is 6x6 (the stated 2x2 pooling kept, so not 4x4); at 16 px (smoke) 4x4
features, s = 16, a 2x2 map; at 64 px the imagenet layout's 4x4 features give s = 16 and a 2x2 map. Settings as
Table 2's SNGAN row (``ganrepro.methods.baselines.sngan``): hinge, spectral norm on every D layer, none in G, n_critic 5, z in R^128,
and **no gradient penalty** (``gp_lambda`` 0): lga.txt 4.1's "We use gradient penalty and spectral normalization to
satisfy Lipschitz constraint" names the two families' constraints, 4.4 "incorporate[s] LGA 4 x 4 to the networks"
of SNGAN, and the SNGAN row it is compared with is plain SNGAN without GP, so the fair reading changes only the head.
Its optimiser (Adam 2e-4, (0, 0.9)) comes from the experiments ``lga_*_sngan``; ``train_defaults`` below are
WGAN-GP's Algorithm 1 values (1e-4, (0, 0.9)) for the Table 1 rows, which the LGA experiments also state.

**Not stated in the paper, chosen here**: the reading of Eq. 15 (above); n_critic 5 for the WGAN-GP rows; the hinge
of L_D taken per map position (mean over images and positions), not on each image's mean; the GP on each image's
mean score (the suite's rule for maps); the SNGAN scale factor as h x w at other resolutions; A detached (Eq. 15's
gradient treats A as a constant; "duplicating" Y); no GP on the SNGAN variant.

Parameters: ``lga_reading`` (magnitude / literal / none), ``lga_cap`` (1.0; 0.0 = zero LGA), ``gp_lambda``,
``arch`` (``dcgan``: the WGAN-GP family above, or ``resnet``: the SNGAN ResNet), the DCGAN family's network options
(``ganrepro.methods.nn.nets.NET_PARAMS``) and the ResNet's (``ganrepro.methods.nn.resnet.RESNET_PARAMS``).

Statistics per log interval: ``d_real``, ``d_fake`` (mean map values in the D step), ``gp`` (when gp_lambda > 0),
``lga_unrealistic`` (share of the G step's map positions with Y < 0), ``lga_amp`` (mean |A| = mean |w|: how much the
amplifier scales the plain hinge gradient on average), ``lga_amp_max`` (largest |A| of the interval).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ganrepro.methods.baselines.dcgan import NET_PARAMS as DCGAN_PARAMS
from ganrepro.methods.baselines.dcgan import build as build_dcgan
from ganrepro.methods.nn import losses
from ganrepro.methods.nn.nets import param_count
from ganrepro.methods.nn.resnet import RESNET_PARAMS, ResNetDiscriminator, _sn_label
from ganrepro.methods.nn.resnet import build as build_resnet
from ganrepro.methods.registry import Method

READINGS = ("magnitude", "literal", "none")
ARCHS = ("dcgan", "resnet")


# --------------------------------------------------------------------------------------------- the amplifier
def amplification_map(y: torch.Tensor, cap: float = 1.0) -> torch.Tensor:
    """Eq. 13: A = min(Y, cap), a detached copy of Y (cap 1; zero LGA: cap 0)."""
    return torch.clamp(y.detach(), max=float(cap))


def local_gradient_amplifier(y: torch.Tensor, reading: str = "magnitude", cap: float = 1.0):
    """(Y^, w): Eq. 14's Y^ = Y ⊙ w with w = A (``literal``), |A| (``magnitude``) or 1 (``none``), A of Eq. 13
    detached, so dY^/dY = w. ``y`` of any shape (a (B, n, n) map)."""
    if reading == "none":
        return y, torch.ones_like(y.detach())
    a = amplification_map(y, cap)
    if reading == "magnitude":
        w = a.abs()
    elif reading == "literal":
        w = a
    else:
        raise ValueError(f"lga_reading must be one of {', '.join(READINGS)}, got {reading!r}")
    return y * w, w


def as_map(y: torch.Tensor) -> torch.Tensor:
    """D's output as (B, h, w): a score per image is a 1x1 map."""
    return y.reshape(y.shape[0], 1, 1) if y.dim() == 1 else y


# --------------------------------------------------------------------------------------------- SNGAN + LGA
class LGAResNetDiscriminator(ResNetDiscriminator):
    """SNGAN's ResNet D with LGA's head (lga.txt 4.1): ``features(x)`` (B, C, h, w), 2x2 average pooling with
    stride 2, times ``pool_scale`` = h * w (64 at 32 px), then SNGAN's (spectrally normalised) ``linear`` at every
    position = a 1x1 conv with one filter; output (B, h/2, w/2). Same modules, parameter names and initial draws as
    ``ResNetDiscriminator`` (only the pooling differs)."""

    def __init__(self, resolution: int = 32, width: int = 64, layout: str = "auto", spectral_norm=True,
                 attention_side: int | None = None):
        super().__init__(resolution, width, layout, spectral_norm, attention_side)
        s = self.feature_side
        if s % 2:
            raise ValueError(f"LGA's 2x2 average pooling needs an even feature side, got {s}x{s} at {resolution} px")
        self.pool_scale = float(s * s)  # the positions global sum pooling adds up (8 x 8 = 64 at 32 px)
        self.map_size = s // 2
        self.output_shape = f"(B, {self.map_size}, {self.map_size})"

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, C, h/2, w/2): 2x2 average pooling, stride 2, times h * w."""
        return F.avg_pool2d(h, 2, 2) * self.pool_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pool(self.features(x))
        return self.linear(p.permute(0, 2, 3, 1))[..., 0]  # the linear layer at every position: (B, n, n)

    def _head_rows(self, idx: str) -> list[tuple]:
        c, n = self.channels, self.map_size
        return [("-", "pool", f"AvgPool2d(2, 2) x {self.pool_scale:g}", f"{c}->{c}", f"{n}x{n}", "-", "0"),
                (idx, "linear", "Linear per position (1x1 conv)", f"{c}->1", f"{n}x{n}", _sn_label(self.linear),
                 str(param_count(self.linear)))]


def build(p: dict):
    """(G, D): the WGAN-GP family with the 1x1-conv map head (``arch: dcgan``) or SNGAN's ResNet with LGA's
    pooled head (``arch: resnet``; G's draws first, then D's, as ``ganrepro.methods.nn.resnet.build``)."""
    arch = p.get("arch") or "dcgan"
    if arch not in ARCHS:
        raise ValueError(f"LGA's arch must be one of {', '.join(ARCHS)} (a 1x1-conv map head), got {arch!r}")
    if arch == "dcgan":
        if p.get("d_head") != "map" or int(p.get("d_head_kernel") or 1) != 1:
            raise ValueError("LGA's WGAN-GP networks end in a 1x1 conv with one filter: d_head map, d_head_kernel 1")
        return build_dcgan(p)
    return build_resnet(p, discriminator=LGAResNetDiscriminator)


# --------------------------------------------------------------------------------------------- losses
def d_loss(D, real, fake, p, ctx):
    """Eq. 12's L_D: the hinge over every map position, plus gp_lambda * GP (skipped when gp_lambda is 0)."""
    loss, stats = losses.adversarial_d_loss(D, real, fake, {"loss": "hinge"}, ctx)
    lam = float(p["gp_lambda"])
    if lam:
        gp = losses.gradient_penalty(D, real, fake, generator=ctx.rng)
        loss = loss + lam * gp
        stats["gp"] = gp.detach()
    return loss, stats


def g_loss(D, fake, p, ctx):
    """Eq. 12's L_G = -E[Y^] with Y^ of Eq. 14 (``local_gradient_amplifier``)."""
    y = as_map(D(fake))
    y_hat, w = local_gradient_amplifier(y, p["lga_reading"], p["lga_cap"])
    amp = w.abs()
    stats = {"lga_unrealistic": (y.detach() < 0).float().mean(), "lga_amp": amp.mean(), "lga_amp_max": amp.max()}
    return -y_hat.mean(), stats


def log_keys(p: dict) -> dict:
    keys = {**losses.ADVERSARIAL_LOG_KEYS, "lga_unrealistic": "mean", "lga_amp": "mean", "lga_amp_max": "max"}
    if float(p.get("gp_lambda") or 0):
        keys["gp"] = "mean"
    return keys


_WGAN_GP_NET = {"arch": "dcgan", "d_norm": "none", "d_head": "map", "d_head_kernel": 1}
_SNGAN_NET = {"arch": "resnet", "z_dim": 128, "resnet_layout": "auto", "g_spectral_norm": False,
              "d_spectral_norm": True, "attention_side": None, "gp_lambda": 0.0}

METHOD = Method(
    name="lga",
    paper="LGA (anonymous, ICLR submission under double-blind review)",
    build=build,
    d_loss=d_loss,
    g_loss=g_loss,
    log_keys=log_keys,
    extra_params=frozenset(DCGAN_PARAMS) | RESNET_PARAMS | {"lga_reading", "lga_cap", "gp_lambda"},
    defaults={"n_critic": 5, "gp_lambda": 1.0, "lga_reading": "magnitude", "lga_cap": 1.0},
    # Gulrajani et al. 2017, Algorithm 1 (the WGAN-GP rows); the LGA experiments state lr and betas for every row
    train_defaults={"lr_g": 1e-4, "lr_d": 1e-4, "betas": [0.0, 0.9]},
    variants={
        "lga4": {**_WGAN_GP_NET, "d_map_size": 4},
        "lga4_zero": {**_WGAN_GP_NET, "d_map_size": 4, "lga_cap": 0.0},
        "lga8": {**_WGAN_GP_NET, "d_map_size": 8},
        # the literal reading of Eq. 15 as printed (w = A), a twin of every LGA row
        "lga4_literal": {**_WGAN_GP_NET, "d_map_size": 4, "lga_reading": "literal"},
        "lga8_literal": {**_WGAN_GP_NET, "d_map_size": 8, "lga_reading": "literal"},
        "lga4_zero_literal": {**_WGAN_GP_NET, "d_map_size": 4, "lga_cap": 0.0, "lga_reading": "literal"},
        "sngan_lga4": dict(_SNGAN_NET),
        "sngan_lga4_literal": {**_SNGAN_NET, "lga_reading": "literal"},
    },
    # lga.txt Tables 1-2: LGA on WGAN-GP's network against WGAN-GP; on SNGAN's against SNGAN
    baselines={"sngan_lga4": ("sngan", "default"), "sngan_lga4_literal": ("sngan", "default"),
               "*": ("wgan_gp", "default")},
)
