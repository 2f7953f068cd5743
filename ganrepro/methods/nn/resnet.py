"""ResNet generator and discriminator of Miyato et al. 2018 (SNGAN, "Spectral Normalization for Generative
Adversarial Networks", Appendix B.4: Tables 4-6 and the ResBlock of Fig. 8), shared by ``ganrepro.methods.baselines.sngan`` and
``ganrepro.methods.baselines.sagan`` (SAGAN, Zhang et al. 2019, uses the 128 px ImageNet family with self-attention).

Two layouts (``layout``; ``"auto"``: ``"cifar"`` when resolution <= 48, else ``"imagenet"``):

**"cifar"** (Miyato Table 4, the CIFAR-10 / STL-10 ResNet). The resolution must be a multiple of 8; G's bottom side
is resolution / 8 (32 -> 4 as CIFAR-10, 48 -> 6 as SNGAN's STL-10, 16 -> 2 at smoke scale). Channels: C_g = 4 *
``width`` in G and C_d = 2 * ``width`` in D, so the suite's full-scale ``g_width = d_width = 64`` gives the paper's
exact 256 / 128 (and smoke's 8 gives 32 / 16)::

    G: z -> Linear -> (R/8) x (R/8) x C_g
       GBlock up C_g -> C_g (R/4), GBlock up C_g -> C_g (R/2), GBlock up C_g -> C_g (R)
       BN, ReLU, Conv3x3 C_g -> 3, Tanh
    D: OptimizedDBlock down 3 -> C_d (R/2), DBlock down C_d -> C_d (R/4),
       DBlock C_d -> C_d (R/4), DBlock C_d -> C_d (R/4)      (no downsampling, identity shortcuts)
       ReLU, global sum pooling, Linear C_d -> 1

**"imagenet"** (Miyato Table 6, the 128 px ImageNet ResNet; SAGAN's network family). The resolution must be a power
of two >= 8; ch = ``width`` (``g_width`` for G, ``d_width`` for D; 64 at full scale, Miyato's and SAGAN's ch).
G: Linear -> 4 x 4 x 16ch, then n = log2(R/4) up blocks, block i (0-based) with ch * min(16, 2**(n-1-i)) output
channels, then BN, ReLU, Conv3x3 -> 3, Tanh. D: an optimized down block 3 -> ch, down blocks doubling the channels
(capped at 16ch) until the map is 4 x 4, then one block without downsampling to 16ch, ReLU, global sum pooling,
Linear 16ch -> 1. Miyato's largest ResNet is 128 px; other resolutions add or remove one up/down block per doubling
(the same rule). In multiples of ch (side of each block's output in brackets)::

     64 px  G: Linear 16 (4) | up 16->8 (8), 8->4 (16), 4->2 (32), 2->1 (64)
            D: opt 3->1 (32) | down 1->2 (16), 2->4 (8), 4->8 (4) | block 8->16 (4)
    128 px  G: Linear 16 (4) | up 16->16 (8), 16->8 (16), 8->4 (32), 4->2 (64), 2->1 (128)       (Miyato Table 6)
            D: opt 3->1 (64) | down 1->2 (32), 2->4 (16), 4->8 (8), 8->16 (4) | block 16->16 (4)
    256 px  G: Linear 16 (4) | up 16->16 (8), 16->16 (16), 16->8 (32), 8->4 (64), 4->2 (128), 2->1 (256)
            D: opt 3->1 (128) | down 1->2 (64), 2->4 (32), 4->8 (16), 8->16 (8), 16->16 (4) | block 16->16 (4)

(At 16 px, smoke scale: G 16 (4) | 16->2 (8), 2->1 (16); D opt 3->1 (8) | down 1->2 (4) | block 2->16 (4).
BigGAN's 256 px D instead repeats 8ch once, 1, 2, 4, 8, 8, 16 | 16; the rule above is Miyato's doubling, capped at
16ch.)

Blocks, as SNGAN's public code (pfnet-research/sngan_projection, ``gen_models/resblocks.py``,
``dis_models/resblocks.py``):

* ``GBlock`` (up): residual BN - ReLU - Upsample(nearest, x2) - Conv3x3 (cin -> cout) - BN - ReLU - Conv3x3
  (cout -> cout); shortcut Upsample(nearest, x2) - Conv1x1 (cin -> cout). The shortcut conv exists when the channels
  change or the block upsamples (the code's ``learnable_sc``): every G block upsamples, so every G block has it.
  The first Conv3x3 has no bias: the BatchNorm right after it cancels any per-channel constant (in training and, via
  its running mean, in eval mode), so a bias would be a parameter without effect (the code keeps one).
* ``DBlock``: residual ReLU - Conv3x3 (cin -> cin: the code's hidden channels = the input channels) - ReLU - Conv3x3
  (cin -> cout) - [AvgPool2]; shortcut Conv1x1 (cin -> cout) - [AvgPool2] when the channels change or the block
  downsamples, else the identity (the cifar layout's last two blocks and the imagenet layout's last block at
  >= 128 px).
* ``OptimizedDBlock`` (D's first block, on the image: no ReLU in front): residual Conv3x3 (3 -> cout) - ReLU -
  Conv3x3 - AvgPool2; shortcut AvgPool2 - Conv1x1 (3 -> cout).

Initialisation (SNGAN's code): Xavier-uniform with gain sqrt(2) on the residual convs (``c1``, ``c2``), gain 1 on
the shortcut convs, the linear layers, G's output conv and the self-attention 1x1 convs (SAGAN's code initialises
those with Xavier too); biases 0; BatchNorm weight 1, bias 0 (PyTorch's BatchNorm2d: eps 1e-5, momentum 0.1; the
Chainer code's eps is 2e-5). Initialised before spectral norm is attached, in forward order under the caller's seed.

Spectral norm: ``torch.nn.utils.spectral_norm`` (hook-based, one power iteration per training forward, as
``ganrepro.methods.nn.nets``) on every conv and linear layer of D when ``spectral_norm`` is true for D, of G when it is for G
(BatchNorm is never normalised). ``ganrepro.methods.nn.nets.has_spectral_norm`` reports it.

Self-attention (``attention_side``): ``ganrepro.methods.nn.nets.SelfAttention(channels, spectral_norm=<that network's flag>)``
right after the block whose output has side ``attention_side`` (in D's cifar layout three blocks end at R/4: it goes
after the first of them); None: no attention. ``resolve_attention_side("auto", R)`` = min(32, R // 2): SAGAN's
32 x 32 feature map ("feat32"), or the largest map below the image at images under 64 px.

D exposes ``D.features(x)`` (the (B, C, h, w) map after the final ReLU, before pooling) and ``D.pool(h)`` (global sum
over positions, (B, C)); ``D(x) = D.linear(D.pool(D.features(x))).flatten()``, shape (B,). G takes z of shape
(B, z_dim) or (B, z_dim, 1, 1) and returns (B, 3, R, R) in [-1, 1]. Both have ``layer_lines()`` (one line per
block / layer: module name, type, channels, output side, spectral norm, parameters) and ``output_shape``, which
``python -m ganrepro describe`` prints.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm as _sn

from ganrepro.methods.nn.nets import SelfAttention, has_spectral_norm, param_count

LAYOUTS = ("auto", "cifar", "imagenet")
# method parameters ``build`` reads beyond the shared z_dim / widths / resolution
RESNET_PARAMS = frozenset({"resnet_layout", "g_spectral_norm", "d_spectral_norm", "attention_side"})


# --------------------------------------------------------------------------------------------- options
def resolve_layout(layout: str, resolution: int) -> str:
    """``"auto"`` -> ``"cifar"`` at resolution <= 48, else ``"imagenet"``; checks the resolution fits the layout."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown ResNet layout {layout!r}; known: {', '.join(LAYOUTS)}")
    if layout == "auto":
        layout = "cifar" if resolution <= 48 else "imagenet"
    if layout == "cifar":
        if resolution < 8 or resolution % 8:
            raise ValueError(f"the cifar ResNet layout needs a resolution divisible by 8 (bottom side = "
                             f"resolution / 8), got {resolution}")
    else:
        k = math.log2(resolution) if resolution > 0 else -1
        if resolution < 8 or k != int(k):
            raise ValueError(f"the imagenet ResNet layout needs a resolution that is a power of two >= 8, "
                             f"got {resolution}")
    return layout


def sn_flag(spec, what: str) -> bool:
    """Spectral norm on every layer or none: True / "all" or False / None / "none" (per-layer lists are the DCGAN
    family's option, ``ganrepro.methods.nn.nets``)."""
    if spec is True or spec == "all":
        return True
    if spec is False or spec is None or spec == "none":
        return False
    raise ValueError(f"{what}: the ResNet networks take spectral norm on every layer or none "
                     f"(true/'all' or false/'none'), got {spec!r}")


def resolve_attention_side(spec, resolution: int) -> int | None:
    """None -> None; ``"auto"`` -> min(32, resolution // 2) (SAGAN's feat32); an int -> itself."""
    if spec is None or spec == "none":
        return None
    if spec == "auto":
        return min(32, resolution // 2)
    if isinstance(spec, bool) or not isinstance(spec, int) or spec < 1:
        raise ValueError(f"attention_side must be None, 'auto' or a feature-map side (int), got {spec!r}")
    return spec


def _init(m: nn.Module, gain: float) -> nn.Module:
    """Xavier-uniform weight with ``gain`` (on ``weight_orig`` if spectral norm is already attached), zero bias."""
    w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
    nn.init.xavier_uniform_(w, gain)
    if m.bias is not None:
        nn.init.zeros_(m.bias)
    return m


def _layer(layer: nn.Module, gain: float, sn: bool) -> nn.Module:
    _init(layer, gain)
    return _sn(layer) if sn else layer


def _conv(cin: int, cout: int, k: int, gain: float, sn: bool, bias: bool = True) -> nn.Module:
    return _layer(nn.Conv2d(cin, cout, k, 1, k // 2, bias=bias), gain, sn)


def _attention(channels: int, sn: bool) -> SelfAttention:
    a = SelfAttention(channels, spectral_norm=sn)
    for conv in (a.f, a.g, a.h):
        _init(conv, 1.0)
    return a


# --------------------------------------------------------------------------------------------- blocks
_RES_GAIN = math.sqrt(2)


class GBlock(nn.Module):
    """BN - ReLU - Upsample x2 - Conv3x3 - BN - ReLU - Conv3x3, shortcut Upsample x2 - Conv1x1 (see module doc)."""

    def __init__(self, cin: int, cout: int, upsample: bool = True, spectral_norm: bool = False):
        super().__init__()
        self.in_channels, self.out_channels, self.upsample = cin, cout, upsample
        self.b1 = nn.BatchNorm2d(cin)
        self.c1 = _conv(cin, cout, 3, _RES_GAIN, spectral_norm, bias=False)  # BN follows: a bias would cancel
        self.b2 = nn.BatchNorm2d(cout)
        self.c2 = _conv(cout, cout, 3, _RES_GAIN, spectral_norm)
        self.learnable_sc = cin != cout or upsample
        self.c_sc = _conv(cin, cout, 1, 1.0, spectral_norm) if self.learnable_sc else None

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest") if self.upsample else x

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c1(self._up(F.relu(self.b1(x))))
        return self.c2(F.relu(self.b2(h)))

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        x = self._up(x)
        return self.c_sc(x) if self.learnable_sc else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)

    def label(self) -> str:
        sc = ("up+conv1x1" if self.upsample else "conv1x1") if self.learnable_sc else "identity"
        return f"GBlock({'up; ' if self.upsample else ''}sc: {sc})"


class DBlock(nn.Module):
    """ReLU - Conv3x3 (cin -> cin) - ReLU - Conv3x3 (cin -> cout) - [AvgPool2], shortcut Conv1x1 - [AvgPool2]."""

    def __init__(self, cin: int, cout: int, downsample: bool = True, spectral_norm: bool = False):
        super().__init__()
        self.in_channels, self.out_channels, self.downsample = cin, cout, downsample
        self.c1 = _conv(cin, cin, 3, _RES_GAIN, spectral_norm)
        self.c2 = _conv(cin, cout, 3, _RES_GAIN, spectral_norm)
        self.learnable_sc = cin != cout or downsample
        self.c_sc = _conv(cin, cout, 1, 1.0, spectral_norm) if self.learnable_sc else None

    def _down(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c2(F.relu(self.c1(F.relu(x))))
        return self._down(h)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        return self._down(self.c_sc(x)) if self.learnable_sc else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)

    def label(self) -> str:
        sc = ("conv1x1+avgpool" if self.downsample else "conv1x1") if self.learnable_sc else "identity"
        return f"DBlock({'down; ' if self.downsample else ''}sc: {sc})"


class OptimizedDBlock(nn.Module):
    """D's first block: Conv3x3 - ReLU - Conv3x3 - AvgPool2, shortcut AvgPool2 - Conv1x1."""

    downsample = True
    learnable_sc = True

    def __init__(self, cin: int, cout: int, spectral_norm: bool = False):
        super().__init__()
        self.in_channels, self.out_channels = cin, cout
        self.c1 = _conv(cin, cout, 3, _RES_GAIN, spectral_norm)
        self.c2 = _conv(cout, cout, 3, _RES_GAIN, spectral_norm)
        self.c_sc = _conv(cin, cout, 1, 1.0, spectral_norm)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.c2(F.relu(self.c1(x))), 2)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_sc(F.avg_pool2d(x, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)

    def label(self) -> str:
        return "OptimizedDBlock(down; sc: avgpool+conv1x1)"


# --------------------------------------------------------------------------------------------- plans
def generator_plan(resolution: int, width: int, layout: str = "auto") -> dict:
    """{"layout", "bottom": side of the linear layer's map, "channels": its channels, "blocks": [(cin, cout, out
    side)]} for G (see the module docstring's lists)."""
    layout = resolve_layout(layout, resolution)
    if layout == "cifar":
        c, bottom = 4 * width, resolution // 8
        return {"layout": layout, "bottom": bottom, "channels": c,
                "blocks": [(c, c, bottom * 2 ** (i + 1)) for i in range(3)]}
    n = int(math.log2(resolution // 4))
    outs = [width * min(16, 2 ** (n - 1 - i)) for i in range(n)]
    ins = [16 * width] + outs[:-1]
    return {"layout": layout, "bottom": 4, "channels": 16 * width,
            "blocks": [(a, b, 8 * 2 ** i) for i, (a, b) in enumerate(zip(ins, outs))]}


def discriminator_plan(resolution: int, width: int, layout: str = "auto") -> dict:
    """{"layout", "blocks": [(kind, cin, cout, out side)]} for D, kind "optimized", "down" or "plain"."""
    layout = resolve_layout(layout, resolution)
    if layout == "cifar":
        c, s = 2 * width, resolution
        return {"layout": layout, "blocks": [("optimized", 3, c, s // 2), ("down", c, c, s // 4),
                                             ("plain", c, c, s // 4), ("plain", c, c, s // 4)]}
    m = int(math.log2(resolution // 4))
    chans = [width * min(16, 2 ** i) for i in range(m)]
    blocks = [("optimized", 3, chans[0], resolution // 2)]
    blocks += [("down", chans[i - 1], chans[i], resolution // 2 ** (i + 1)) for i in range(1, m)]
    blocks.append(("plain", chans[-1], 16 * width, 4))
    return {"layout": layout, "blocks": blocks}


def _check_side(side: int | None, sides: list[int], where: str) -> None:
    if side is not None and side not in sides:
        raise ValueError(f"attention_side {side}: no {where} block outputs that side; its blocks' output sides "
                         f"are {sorted(set(sides))}")


def _sn_label(m: nn.Module) -> str:
    layers = [x for x in m.modules() if isinstance(x, (nn.Conv2d, nn.Linear))]
    n = sum(has_spectral_norm(x) for x in layers)
    return "-" if not layers else "yes" if n == len(layers) else "no" if n == 0 else "part"


def _table(rows: list[tuple]) -> list[str]:
    rows = [("idx", "module", "layer", "channels", "out", "sn", "params")] + rows
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


# --------------------------------------------------------------------------------------------- networks
class ResNetGenerator(nn.Module):
    """z (B, z_dim) or (B, z_dim, 1, 1) -> images (B, 3, R, R) in [-1, 1]; layouts, blocks, init: module docstring.

    Modules: ``linear`` (z -> bottom x bottom x C), ``blocks`` (GBlocks, with the SelfAttention after the block of
    side ``attention_side``), ``bn`` (+ ReLU), ``conv`` (3x3 -> 3, + Tanh)."""

    def __init__(self, z_dim: int = 128, resolution: int = 32, width: int = 64, layout: str = "auto",
                 spectral_norm=False, attention_side: int | None = None):
        super().__init__()
        sn = sn_flag(spectral_norm, "generator spectral_norm")
        plan = generator_plan(resolution, width, layout)
        self.z_dim, self.resolution, self.layout = z_dim, resolution, plan["layout"]
        self.bottom, self.channels = plan["bottom"], plan["channels"]
        _check_side(attention_side, [s for _, _, s in plan["blocks"]], "generator")
        self.attention_side = attention_side
        self.linear = _layer(nn.Linear(z_dim, self.bottom ** 2 * self.channels), 1.0, sn)
        mods, self._sides = [], []
        for cin, cout, side in plan["blocks"]:
            mods.append(GBlock(cin, cout, upsample=True, spectral_norm=sn))
            self._sides.append(side)
            if side == attention_side:
                mods.append(_attention(cout, sn))
                self._sides.append(side)
        self.blocks = nn.Sequential(*mods)
        c_last = plan["blocks"][-1][1]
        self.bn = nn.BatchNorm2d(c_last)
        self.conv = _conv(c_last, 3, 3, 1.0, sn)
        self.output_shape = f"(B, 3, {resolution}, {resolution})"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.linear(z.reshape(z.shape[0], self.z_dim))
        h = self.blocks(h.view(z.shape[0], self.channels, self.bottom, self.bottom))
        return torch.tanh(self.conv(F.relu(self.bn(h))))

    def layer_lines(self) -> list[str]:
        r, b = self.resolution, self.bottom
        rows = [("0", "linear", "Linear", f"{self.z_dim}->{self.channels}x{b}x{b}", f"{b}x{b}",
                 _sn_label(self.linear), str(param_count(self.linear)))]
        i = 1
        for j, (m, side) in enumerate(zip(self.blocks, self._sides)):
            is_block = isinstance(m, GBlock)
            cin, cout = (m.in_channels, m.out_channels) if is_block else (m.channels, m.channels)
            rows.append((str(i) if is_block else "-", f"blocks.{j}", m.label() if is_block else "SelfAttention",
                         f"{cin}->{cout}", f"{side}x{side}", _sn_label(m), str(param_count(m))))
            i += is_block
        c = self.bn.num_features
        rows.append((str(i), "bn", "BatchNorm2d+ReLU", f"{c}->{c}", f"{r}x{r}", "-", str(param_count(self.bn))))
        rows.append((str(i + 1), "conv", "Conv2d(3x3)+Tanh", f"{c}->3", f"{r}x{r}", _sn_label(self.conv),
                     str(param_count(self.conv))))
        return _table(rows)


class ResNetDiscriminator(nn.Module):
    """Images (B, 3, R, R) -> one logit per image (B,); layouts, blocks, init: module docstring.

    Modules: ``blocks`` (OptimizedDBlock, DBlocks, with the SelfAttention after the first block of side
    ``attention_side``), then ReLU (``features``), global sum pooling (``pool``) and ``linear`` (C -> 1)."""

    def __init__(self, resolution: int = 32, width: int = 64, layout: str = "auto", spectral_norm=True,
                 attention_side: int | None = None):
        super().__init__()
        sn = sn_flag(spectral_norm, "discriminator spectral_norm")
        plan = discriminator_plan(resolution, width, layout)
        self.resolution, self.layout = resolution, plan["layout"]
        _check_side(attention_side, [s for *_, s in plan["blocks"]], "discriminator")
        self.attention_side = attention_side
        mods, self._sides, placed = [], [], False
        for kind, cin, cout, side in plan["blocks"]:
            if kind == "optimized":
                mods.append(OptimizedDBlock(cin, cout, spectral_norm=sn))
            else:
                mods.append(DBlock(cin, cout, downsample=kind == "down", spectral_norm=sn))
            self._sides.append(side)
            if side == attention_side and not placed:
                mods.append(_attention(cout, sn))
                self._sides.append(side)
                placed = True
        self.blocks = nn.Sequential(*mods)
        self.channels = plan["blocks"][-1][2]
        self.feature_side = plan["blocks"][-1][3]
        self.linear = _layer(nn.Linear(self.channels, 1), 1.0, sn)
        self.output_shape = "(B,)"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w): the last block's output after the final ReLU, before pooling."""
        return F.relu(self.blocks(x))

    @staticmethod
    def pool(h: torch.Tensor) -> torch.Tensor:
        """Global sum pooling over positions: (B, C, h, w) -> (B, C)."""
        return h.sum(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.pool(self.features(x))).flatten()

    def layer_lines(self) -> list[str]:
        rows, i = [], 0
        for j, (m, side) in enumerate(zip(self.blocks, self._sides)):
            is_block = not isinstance(m, SelfAttention)
            cin, cout = (m.in_channels, m.out_channels) if is_block else (m.channels, m.channels)
            rows.append((str(i) if is_block else "-", f"blocks.{j}", m.label() if is_block else "SelfAttention",
                         f"{cin}->{cout}", f"{side}x{side}", _sn_label(m), str(param_count(m))))
            i += is_block
        c, s = self.channels, self.feature_side
        rows.append(("-", "features", "ReLU", f"{c}->{c}", f"{s}x{s}", "-", "0"))
        return _table(rows + self._head_rows(str(i)))

    def _head_rows(self, idx: str) -> list[tuple]:
        """The layer-list rows after the features: the pooling and the linear layer (a subclass's own head)."""
        c = self.channels
        return [("-", "pool", "global sum pooling", f"{c}->{c}", "1x1", "-", "0"),
                (idx, "linear", "Linear", f"{c}->1", "1", _sn_label(self.linear), str(param_count(self.linear)))]


def build(p: dict, discriminator=None):
    """(G, D) from method parameters: ``z_dim``, ``resolution``, ``g_width``, ``d_width``, ``resnet_layout``
    ("auto"), ``g_spectral_norm`` / ``d_spectral_norm`` (every layer or none), ``attention_side`` (None, "auto" or
    a side; the same side in G and D). Initialised as the module docstring says (G's draws first, then D's).
    ``discriminator``: a ``ResNetDiscriminator`` subclass with another head (LGA's pooled map), else the plain D."""
    res = p["resolution"]
    layout = p.get("resnet_layout", "auto")
    side = resolve_attention_side(p.get("attention_side"), res)
    G = ResNetGenerator(p["z_dim"], res, p["g_width"], layout, p.get("g_spectral_norm", False), side)
    D = (discriminator or ResNetDiscriminator)(res, p["d_width"], layout, p.get("d_spectral_norm", True), side)
    return G, D
