"""The ResNet generator and discriminator of WGAN-QC (Liu, Gu, Samaras, ICCV 2019), as in the authors' public code
(github.com/harryliew/WGAN-QC, ``models/resnet2.py`` and ``models/resnet1.py``; after the ResNets of Mescheder et
al. 2018, "Which training methods for GANs do actually converge?"), for square images of side R = 2**k >= 16.

Both networks are built from one residual block (``QCBlock``, the code's ``ResNetBlock``): with fh = min(fin, fout),

    dx  = conv_1(act(conv_0(x)))     conv_0: Conv3x3 fin -> fh, conv_1: Conv3x3 fh -> fout (padding 1, stride 1)
    x_s = conv_s(x) if fin != fout else x                           conv_s: Conv1x1 fin -> fout, no bias
    out = act(x_s + res_ratio * dx)                                 act = LeakyReLU(0.2), res_ratio = 0.1

In G every conv of a block is followed by BatchNorm2d (``bn2d_0``, ``bn2d_1``, ``bn2d_s``) and has no bias; in D
there is no normalisation at all (the convs conv_0 / conv_1 have a bias, conv_s none). D has no batch coupling, so
the gradient of the batch sum of D's scores is every sample's own input gradient (WGAN-QC's regulariser needs it).

Channels, with nf = the width (``g_width`` / ``d_width``: the code's ``nfilter`` = 64 at full scale, 8 at smoke
scale), nf_max = ``nfilter_max`` (512) and n = log2(R / 4) stages; ``blocks_per_stage`` b is 2 for the code's
``resnet2.py`` (the network of the authors' 64 px CelebA / LSUN and 128 px ImageNet-dog commands) and 1 for its
``resnet1.py`` (their 256 px CelebA-HQ command):

* **G**: z (B, z_dim) -> ``fc`` Linear(z_dim, C0 * 4 * 4), ``bn1d`` BatchNorm1d, LeakyReLU(0.2), reshape to
  (C0, 4, 4) with C0 = min(nf_max, nf * 2**(n+1)); then for i = n .. 1: a block min(nf * 2**(i+1), nf_max) ->
  min(nf * 2**i, nf_max), b - 1 blocks keeping that width, Upsample(x2, nearest); then the blocks 2nf -> nf and
  nf -> nf at R x R; ``conv_img`` Conv3x3 nf -> 3 (bias), tanh. Output (B, 3, R, R) in [-1, 1].
* **D**: x (B, 3, R, R) -> ``conv_img`` Conv3x3 3 -> nf (bias), LeakyReLU(0.2); the blocks nf -> nf and nf -> 2nf at
  R x R; then for i = 1 .. n: AvgPool2d(3, stride 2, padding 1) (halves the side), b - 1 blocks keeping
  min(nf * 2**i, nf_max), a block min(nf * 2**i, nf_max) -> min(nf * 2**(i+1), nf_max); flatten the 4 x 4 map;
  ``fc`` Linear(C_last * 16, 1). Output one score per image, shape (B,) (the code's (B, 1) flattened).

Module names are the code's (``fc``, ``bn1d``, ``resnet.<i>``, ``conv_img``, ``conv_0`` ...), so a state_dict of the
authors' networks loads here unchanged (apart from D's score shape, which is not a parameter).

Layer lists (``layer_lines()``; b = 2, the default, at full scale nf = 64, side of each output in brackets)::

     64 px G: fc 128 -> 512x4x4 (4) | 512->512, 512->512 (4) | up (8) | 512->512, 512->512 (8) | up (16) |
              512->256, 256->256 (16) | up (32) | 256->128, 128->128 (32) | up (64) | 128->64, 64->64 (64) |
              conv_img 64->3 (64), tanh
     64 px D: conv_img 3->64 (64) | 64->64, 64->128 (64) | pool (32) | 128->128, 128->256 (32) | pool (16) |
              256->256, 256->512 (16) | pool (8) | 512->512, 512->512 (8) | pool (4) | 512->512, 512->512 (4) |
              fc 8192 -> 1
    128 px G: fc 128 -> 512x4x4 (4) | 512->512 x2 (4) | up | 512->512 x2 (8) | up | 512->512 x2 (16) | up |
              512->256, 256->256 (32) | up | 256->128, 128->128 (64) | up | 128->64, 64->64 (128) | conv_img 64->3
    128 px D: conv_img 3->64 (128) | 64->64, 64->128 (128) | pool | 128->128, 128->256 (64) | pool |
              256->256, 256->512 (32) | pool | 512->512 x2 (16) | pool | 512->512 x2 (8) | pool | 512->512 x2 (4) |
              fc 8192 -> 1

With b = 1 (``resnet1.py``) each stage keeps only its channel-changing block (in G the first of the pair before
each ``up``, in D the second after each ``pool``); G's two blocks at R x R and D's two at R x R stay. At smoke
scale (16 px, nf 8, z_dim 16) G is fc 16 -> 64x4x4 | 64->32, 32->32 (4) | up | 32->16, 16->16 (8) | up | 16->8,
8->8 (16) | conv_img 8->3, and D conv_img 3->8 | 8->8, 8->16 (16) | pool | 16->16, 16->32 (8) | pool | 32->32,
32->64 (4) | fc 1024 -> 1.

One reading: the code sizes D's ``fc`` by min(nf_max, nf * 2**n) * 16 inputs while its last block outputs
min(nf_max, nf * 2**(n+1)) channels; the two agree only when both are capped at nf_max (true at 64 and 128 px with
nf = 64, the authors' settings) and the code fails otherwise (e.g. 16 px). Here ``fc`` takes the last block's
actual channels, which is the code's network wherever the code runs.

Initialisation (the training scripts' ``weights_init_G`` / ``weights_init_D``, applied once after construction):
every Conv2d weight ~ kaiming_normal_(mode="fan_in" in G, "fan_out" in D, nonlinearity="leaky_relu", a = 0, i.e.
gain sqrt(2)); BatchNorm weight 1, bias 0; conv biases and both Linear layers keep PyTorch's default init (the code
initialises modules whose class name contains "Conv" or "BatchNorm" only).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ganrepro.methods.nn.nets import param_count


def _stages(resolution: int) -> int:
    k = math.log2(resolution) if resolution > 0 else 0.5
    if resolution < 16 or k != int(k):
        raise ValueError(f"WGAN-QC's ResNet needs a resolution that is a power of two >= 16, got {resolution}")
    return int(k) - 2  # x2 stages between the 4 x 4 map and the image


def _table(rows: list[tuple]) -> list[str]:
    rows = [("module", "layer", "channels", "out", "params")] + rows
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


class QCBlock(nn.Module):
    """The code's ``ResNetBlock``: act(x_s + res_ratio * conv_1(act(conv_0(x)))), BatchNorm after every conv when
    ``bn`` (G), none otherwise (D); learned 1x1 shortcut when the channels change (module docstring)."""

    def __init__(self, fin: int, fout: int, bn: bool, res_ratio: float = 0.1):
        super().__init__()
        self.fin, self.fout, self.bn, self.res_ratio = fin, fout, bn, float(res_ratio)
        self.learned_shortcut = fin != fout
        self.fhidden = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, self.fhidden, 3, 1, 1, bias=not bn)
        if bn:
            self.bn2d_0 = nn.BatchNorm2d(self.fhidden)
        self.conv_1 = nn.Conv2d(self.fhidden, fout, 3, 1, 1, bias=not bn)
        if bn:
            self.bn2d_1 = nn.BatchNorm2d(fout)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, 1, 0, bias=False)
            if bn:
                self.bn2d_s = nn.BatchNorm2d(fout)
        self.relu = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_s = x
        if self.learned_shortcut:
            x_s = self.conv_s(x)
            if self.bn:
                x_s = self.bn2d_s(x_s)
        dx = self.conv_0(x)
        if self.bn:
            dx = self.bn2d_0(dx)
        dx = self.conv_1(self.relu(dx))
        if self.bn:
            dx = self.bn2d_1(dx)
        return self.relu(x_s + self.res_ratio * dx)

    def label(self) -> str:
        sc = ("conv1x1" + ("+BN" if self.bn else "")) if self.learned_shortcut else "identity"
        return f"ResBlock(3x3 {self.fin}->{self.fhidden}->{self.fout}{', BN' if self.bn else ''}, shortcut {sc})"


def _init(net: nn.Module, mode: str) -> None:
    """The authors' weights_init_G (mode fan_in) / weights_init_D (mode fan_out): Conv2d weights Kaiming-normal
    with the leaky_relu gain at a = 0 (sqrt 2), BatchNorm weight 1 and bias 0; everything else as PyTorch inits it."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, a=0, mode=mode, nonlinearity="leaky_relu")
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.constant_(m.weight, 1.0)
            nn.init.constant_(m.bias, 0.0)


class QCGenerator(nn.Module):
    """z (B, z_dim) or (B, z_dim, 1, 1) -> images (B, 3, R, R) in [-1, 1]; layout in the module docstring."""

    def __init__(self, z_dim: int = 128, resolution: int = 64, nfilter: int = 64, nfilter_max: int = 512,
                 res_ratio: float = 0.1, blocks_per_stage: int = 2):
        super().__init__()
        n = _stages(resolution)
        if blocks_per_stage not in (1, 2):
            raise ValueError(f"blocks_per_stage must be 1 (resnet1.py) or 2 (resnet2.py), got {blocks_per_stage}")
        nf, top = nfilter, nfilter_max
        self.z_dim, self.resolution, self.s0 = z_dim, resolution, 4
        self.nf0 = min(top, nf * 2 ** (n + 1))
        self.fc = nn.Linear(z_dim, self.nf0 * 16)
        self.bn1d = nn.BatchNorm1d(self.nf0 * 16)
        self.relu = nn.LeakyReLU(0.2)
        blocks, sides, side = [], [], 4
        for i in range(n, 0, -1):
            c0, c1 = min(nf * 2 ** (i + 1), top), min(nf * 2 ** i, top)
            blocks.append(QCBlock(c0, c1, True, res_ratio))
            blocks += [QCBlock(c1, c1, True, res_ratio) for _ in range(blocks_per_stage - 1)]
            blocks.append(nn.Upsample(scale_factor=2))
            sides += [side] * blocks_per_stage + [2 * side]
            side *= 2
        blocks += [QCBlock(min(2 * nf, top), min(nf, top), True, res_ratio),
                   QCBlock(min(nf, top), min(nf, top), True, res_ratio)]
        sides += [side, side]
        self.resnet = nn.Sequential(*blocks)
        self._sides = sides
        self.conv_img = nn.Conv2d(min(nf, top), 3, 3, padding=1)
        _init(self, "fan_in")
        self.output_shape = f"(B, 3, {resolution}, {resolution})"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        out = self.relu(self.bn1d(self.fc(z.reshape(b, -1))))
        out = self.resnet(out.view(b, self.nf0, self.s0, self.s0))
        return torch.tanh(self.conv_img(out))

    def layer_lines(self) -> list[str]:
        rows = [("fc", "Linear", f"{self.z_dim}->{self.nf0}x4x4", "4x4", str(param_count(self.fc))),
                ("bn1d", "BatchNorm1d+LeakyReLU(0.2)", f"{self.nf0 * 16}->{self.nf0 * 16}", "4x4",
                 str(param_count(self.bn1d)))]
        c = self.nf0
        for j, (m, side) in enumerate(zip(self.resnet, self._sides)):
            if isinstance(m, QCBlock):
                rows.append((f"resnet.{j}", m.label(), f"{m.fin}->{m.fout}", f"{side}x{side}", str(param_count(m))))
                c = m.fout
            else:
                rows.append((f"resnet.{j}", "Upsample(x2, nearest)", f"{c}->{c}", f"{side}x{side}", "0"))
        r = self.resolution
        rows.append(("conv_img", "Conv2d(3x3)+Tanh", f"{self.conv_img.in_channels}->3", f"{r}x{r}",
                     str(param_count(self.conv_img))))
        return _table(rows)


class QCDiscriminator(nn.Module):
    """Images (B, 3, R, R) -> one score per image (B,); layout in the module docstring (no normalisation)."""

    def __init__(self, resolution: int = 64, nfilter: int = 64, nfilter_max: int = 512, res_ratio: float = 0.1,
                 blocks_per_stage: int = 2):
        super().__init__()
        n = _stages(resolution)
        if blocks_per_stage not in (1, 2):
            raise ValueError(f"blocks_per_stage must be 1 (resnet1.py) or 2 (resnet2.py), got {blocks_per_stage}")
        nf, top = nfilter, nfilter_max
        self.resolution = resolution
        self.conv_img = nn.Conv2d(3, nf, 3, padding=1)
        self.relu = nn.LeakyReLU(0.2)
        c0, c1 = min(nf, top), min(2 * nf, top)
        blocks = [QCBlock(c0, c0, False, res_ratio), QCBlock(c0, c1, False, res_ratio)]
        side = resolution
        sides = [side, side]
        for i in range(1, n + 1):
            c0, c1 = min(nf * 2 ** i, top), min(nf * 2 ** (i + 1), top)
            side //= 2
            blocks.append(nn.AvgPool2d(3, stride=2, padding=1))
            blocks += [QCBlock(c0, c0, False, res_ratio) for _ in range(blocks_per_stage - 1)]
            blocks.append(QCBlock(c0, c1, False, res_ratio))
            sides += [side] * (blocks_per_stage + 1)
        self.resnet = nn.Sequential(*blocks)
        self._sides = sides
        self.channels = c1  # the last block's output channels (the code's nf0 where it runs; module docstring)
        self.fc = nn.Linear(self.channels * 16, 1)
        _init(self, "fan_out")
        self.output_shape = "(B,)"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.resnet(self.relu(self.conv_img(x)))
        return self.fc(out.flatten(1)).flatten()

    def layer_lines(self) -> list[str]:
        r = self.resolution
        rows = [("conv_img", "Conv2d(3x3)+LeakyReLU(0.2)", f"3->{self.conv_img.out_channels}", f"{r}x{r}",
                 str(param_count(self.conv_img)))]
        c = self.conv_img.out_channels
        for j, (m, side) in enumerate(zip(self.resnet, self._sides)):
            if isinstance(m, QCBlock):
                rows.append((f"resnet.{j}", m.label(), f"{m.fin}->{m.fout}", f"{side}x{side}", str(param_count(m))))
                c = m.fout
            else:
                rows.append((f"resnet.{j}", "AvgPool2d(3, 2, 1)", f"{c}->{c}", f"{side}x{side}", "0"))
        rows.append(("fc", "flatten+Linear", f"{self.channels}x4x4->1", "1", str(param_count(self.fc))))
        return _table(rows)
