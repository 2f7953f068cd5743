"""The "standard CNN" generator and discriminator of Miyato et al. 2018 (Spectral Normalization for GANs, Appendix
B.4, Table 3), the network of SNDCGAN and of StudioGAN's ``deep_conv`` backbone (Kang et al. 2021) that BRC's
CIFAR DCGAN and LSGAN rows use.

Miyato et al.'s Table 3 (CIFAR-10 / STL-10: M = 32 / 48, M_g = M / 8)::

    G: z in R^128 ~ N(0, I) -> dense -> M_g x M_g x 512
       4x4, stride 2 deconv. BN 256 ReLU
       4x4, stride 2 deconv. BN 128 ReLU
       4x4, stride 2 deconv. BN 64 ReLU
       3x3, stride 1 conv. 3 Tanh
    D: RGB image x in R^{M x M x 3}
       3x3 stride 1 conv 64 lReLU;  4x4 stride 2 conv 64 lReLU
       3x3 stride 1 conv 128 lReLU; 4x4 stride 2 conv 128 lReLU
       3x3 stride 1 conv 256 lReLU; 4x4 stride 2 conv 256 lReLU
       3x3 stride 1 conv 512 lReLU
       dense -> 1                                   (lReLU slope 0.1)

The same rule, M_g = resolution / 8, serves every side divisible by 8: 8x8 at 64 px and 16x16 at 128 px (as the
SNDCGAN of Kurach et al.'s compare_gan does at 128 px), 2x2 at the smoke scale's 16 px. Channels scale with the
suite's widths: G's 512/256/128/64 are ``g_width`` * (8, 4, 2, 1) and D's 64 ... 512 are ``d_width`` * (1, 1, 2, 2,
4, 4, 8), so ``g_width = d_width = 64`` (the full scale) gives the table exactly.

Options, each a method parameter (``ganrepro.methods.baselines.dcgan.build`` with ``arch: standard_cnn``):

* ``d_spectral_norm`` (bool): spectral norm on every conv and the dense layer of D (SNDCGAN).
* ``d_norm``: ``"none"`` (Miyato's D) or ``"batch"`` (BatchNorm after every conv of D, StudioGAN's ``deep_conv``
  without spectral norm).
* ``d_activation``: ``"leaky_relu:0.1"`` (Miyato) or ``"relu"`` (StudioGAN's default ``d_act_fn``).
* ``d_pool``: ``"flatten"`` (Miyato's dense layer on the flattened M_g x M_g x 512 map) or ``"sum"`` (StudioGAN's
  global sum pooling, then a dense 512 -> 1).
* ``g_dense_norm`` (bool): BatchNorm + ReLU after G's dense layer (Miyato's Chainer code) or nothing (StudioGAN's
  ``deep_conv`` feeds the reshaped dense output straight to the first deconvolution).

Initialisation: DCGAN's N(0, 0.02) on conv/dense weights, BatchNorm weight N(1, 0.02) (``init_dcgan_weights``) -
Miyato et al. do not state theirs for this network, so the suite keeps the DCGAN family's.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm as _sn

from ganrepro.methods.nn.nets import has_spectral_norm, make_activation, parse_activation

D_MULT = (1, 1, 2, 2, 4, 4, 8)   # D's seven convs: 64, 64, 128, 128, 256, 256, 512 at d_width 64
D_KSP = ((3, 1, 1), (4, 2, 1), (3, 1, 1), (4, 2, 1), (3, 1, 1), (4, 2, 1), (3, 1, 1))
G_MULT = (8, 4, 2, 1)            # G: dense -> 512, deconvs to 256, 128, 64 at g_width 64


def _check_resolution(resolution: int) -> int:
    if resolution < 8 or resolution % 8:
        raise ValueError(f"the standard CNN needs a resolution divisible by 8 (M_g = M / 8), got {resolution}")
    return resolution // 8


def _lines(rows) -> list[str]:
    rows = [("module", "layer", "channels", "k/s/p", "out", "sn", "norm", "act")] + rows
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _act_label(m) -> str:
    if m is None:
        return "-"
    if isinstance(m, nn.LeakyReLU):
        return f"leaky_relu:{m.negative_slope:g}"
    return {nn.ReLU: "relu", nn.Tanh: "tanh"}.get(type(m), type(m).__name__)


class StandardCNNGenerator(nn.Module):
    """z (B, z_dim) -> images (B, 3, resolution, resolution) in [-1, 1] (Miyato et al. Table 3's G)."""

    def __init__(self, z_dim: int = 128, resolution: int = 32, width: int = 64, dense_norm: bool = True):
        super().__init__()
        self.z_dim, self.resolution = z_dim, resolution
        self.bottom = _check_resolution(resolution)
        c = [width * m for m in G_MULT]
        self.dense = nn.Linear(z_dim, self.bottom * self.bottom * c[0])
        self.dense_norm = nn.BatchNorm2d(c[0]) if dense_norm else None
        self.dense_act = nn.ReLU(True) if dense_norm else None
        self.deconvs = nn.ModuleList(nn.ConvTranspose2d(c[i], c[i + 1], 4, 2, 1, bias=False) for i in range(3))
        self.norms = nn.ModuleList(nn.BatchNorm2d(c[i + 1]) for i in range(3))
        self.act = nn.ReLU(True)
        self.out = nn.Conv2d(c[3], 3, 3, 1, 1)
        self.channels = c
        self.output_shape = f"(B, 3, {resolution}, {resolution})"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z.reshape(z.shape[0], self.z_dim)).view(z.shape[0], self.channels[0], self.bottom, self.bottom)
        if self.dense_norm is not None:
            h = self.dense_act(self.dense_norm(h))
        for deconv, norm in zip(self.deconvs, self.norms):
            h = self.act(norm(deconv(h)))
        return torch.tanh(self.out(h))

    def layer_lines(self) -> list[str]:
        b, c = self.bottom, self.channels
        rows = [("dense", "Linear", f"{self.z_dim}->{b}x{b}x{c[0]}", "-", f"{b}x{b}", "no",
                 "BatchNorm2d" if self.dense_norm is not None else "-", _act_label(self.dense_act))]
        side = b
        for i, deconv in enumerate(self.deconvs):
            side *= 2
            rows.append((f"deconvs.{i}", "ConvTranspose2d", f"{deconv.in_channels}->{deconv.out_channels}",
                         "4/2/1", f"{side}x{side}", "no", "BatchNorm2d", "relu"))
        rows.append(("out", "Conv2d", f"{c[3]}->3", "3/1/1", f"{side}x{side}", "no", "-", "tanh"))
        return _lines(rows)


class StandardCNNDiscriminator(nn.Module):
    """Images (B, 3, resolution, resolution) -> one logit per image (B,) (Miyato et al. Table 3's D).

    ``features(x)`` is the (B, 8 * width, M/8, M/8) map after the last conv's activation; ``forward`` flattens it
    into the dense layer (``pool="flatten"``) or sums it over positions first (``pool="sum"``)."""

    def __init__(self, resolution: int = 32, width: int = 64, spectral_norm: bool = False, norm: str = "none",
                 activation: str = "leaky_relu:0.1", pool: str = "flatten"):
        super().__init__()
        self.resolution = resolution
        self.bottom = _check_resolution(resolution)
        if norm not in ("none", "batch"):
            raise ValueError(f"standard CNN d_norm must be 'none' or 'batch', got {norm!r}")
        if pool not in ("flatten", "sum"):
            raise ValueError(f"standard CNN d_pool must be 'flatten' or 'sum', got {pool!r}")
        parse_activation(activation)
        self.pool_kind = pool
        sn = (lambda m: _sn(m)) if spectral_norm else (lambda m: m)
        c = [width * m for m in D_MULT]
        convs, norms = [], []
        for i, (k, s, p) in enumerate(D_KSP):
            convs.append(sn(nn.Conv2d(3 if i == 0 else c[i - 1], c[i], k, s, p, bias=norm == "none")))
            norms.append(nn.BatchNorm2d(c[i]) if norm == "batch" else nn.Identity())
        self.convs, self.norms = nn.ModuleList(convs), nn.ModuleList(norms)
        self.act = make_activation(activation)
        dense_in = c[-1] * (self.bottom ** 2 if pool == "flatten" else 1)
        self.dense = sn(nn.Linear(dense_in, 1))
        self.channels = c
        self.output_shape = "(B,)"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv, norm in zip(self.convs, self.norms):
            h = self.act(norm(conv(h)))
        return h

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        return h.flatten(1) if self.pool_kind == "flatten" else h.sum(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.pool(self.features(x))).flatten()

    def layer_lines(self) -> list[str]:
        rows, side = [], self.resolution
        for i, conv in enumerate(self.convs):
            side //= conv.stride[0]
            norm = "-" if isinstance(self.norms[i], nn.Identity) else "BatchNorm2d"
            rows.append((f"convs.{i}", "Conv2d", f"{conv.in_channels}->{conv.out_channels}",
                         f"{conv.kernel_size[0]}/{conv.stride[0]}/{conv.padding[0]}", f"{side}x{side}",
                         "yes" if has_spectral_norm(conv) else "no", norm, _act_label(self.act)))
        pooled = "flatten" if self.pool_kind == "flatten" else "global sum pool"
        rows.append(("dense", f"Linear ({pooled})", f"{self.dense.in_features}->1", "-", "1",
                     "yes" if has_spectral_norm(self.dense) else "no", "-", "-"))
        return _lines(rows)


# method parameters this network reads (beyond z_dim / widths / resolution), with their defaults (Miyato's D)
PARAMS = {"d_spectral_norm": False, "d_norm": "none", "d_activation": "leaky_relu:0.1", "d_pool": "flatten",
          "g_dense_norm": True}


def build_standard_cnn(p: dict):
    """(G, D) of the standard CNN from method parameters ``p`` (``PARAMS`` keys; absent or None: the default)."""
    from ganrepro.methods.nn.nets import init_dcgan_weights

    o = {k: (p[k] if p.get(k) is not None else v) for k, v in PARAMS.items()}
    if o["d_spectral_norm"] not in (True, False):
        raise ValueError(f"standard CNN d_spectral_norm must be true or false (every D layer or none), "
                         f"got {o['d_spectral_norm']!r}")
    G = StandardCNNGenerator(p["z_dim"], p["resolution"], p["g_width"], dense_norm=bool(o["g_dense_norm"]))
    D = StandardCNNDiscriminator(p["resolution"], p["d_width"], spectral_norm=o["d_spectral_norm"], norm=o["d_norm"],
                                 activation=o["d_activation"], pool=o["d_pool"])
    G.apply(init_dcgan_weights)
    D.apply(_init_linear)
    D.apply(init_dcgan_weights)
    G.apply(_init_linear)
    return G, D


def _init_linear(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
        nn.init.normal_(w, 0.0, 0.02)
        nn.init.zeros_(m.bias)
