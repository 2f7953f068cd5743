"""DCGAN-style convolutional generator and discriminator for square images of side 2**k >= 8, with the options the
papers' variants need.

Radford et al. 2016 (DCGAN): the generator is a stack of ConvTranspose(4, 2, 1)-BatchNorm-ReLU units that double
the side from a 4x4 seed (first unit ConvTranspose(4, 1, 0) on the 1x1 latent) and ends in Tanh; the discriminator
mirrors it with Conv(4, 2, 1)-[norm]-LeakyReLU(0.2) units down to 4x4 and a final Conv(4, 1, 0) to one logit.
The same shape is GL-GAN's Fig. 3 backbone (glgan.txt Section 4.2) and HDCGAN's starting point.

Options (all default to the DCGAN networks above, bit-identical to this module's earlier version: same state_dict
names, same order of random draws, same outputs):

* **Units and indices.** A *unit* is one (transposed) convolution with what follows it (norm, activation, an
  optional inserted block). Units are numbered from 0 in forward order; the discriminator's head is its last unit.
  ``G.layer_lines()`` / ``D.layer_lines()`` (or ``layer_lines(net)``) print them, with their module names
  (``net.0``, ``features.3``, ``head``).
* **Discriminator head** (``head``, ``head_kernel``, ``map_size``): ``"score"`` is DCGAN's Conv(4, 1, 0) on the 4x4
  map, one logit per image, shape (B,). ``"map"`` stops the trunk's downsampling at ``map_size`` x ``map_size`` and
  ends in a 1-channel Conv(k, 1, k // 2) (odd k: GL-GAN's 3x3, glgan.txt 4.2; LGA's 1x1, lga.txt 3), returned as
  (B, map_size, map_size). GL-GAN's Fig. 3 caption lists a LeakyReLU after that layer; the head here returns the
  raw conv output (logits), as LGA's ``D_{i,j}`` and every loss in ``ganrepro.methods.nn.losses`` expect.
* **Spectral norm** (``spectral_norm``, see ``sn_units``): ``False``/``"none"``, ``True``/``"all"``, ``"last:K"``
  (the last K units, counting the head), ``"first:K"``, or a list of unit indices (negative counts from the end),
  module names (``"net.3"``, ``"features.0"``, ``"head"``) or ``"head"``. torch's hook-based ``spectral_norm``
  (``weight_orig``, ``weight_u``, ``weight_v``), applied as each conv is built.
* **Activation** (``activation``): ``"relu"``, ``"leaky_relu"`` (slope 0.2) or ``"leaky_relu:SLOPE"``
  (``"leaky_relu:0.02"`` is GL-GAN's public code), ``"selu"``. G's default is relu, D's leaky_relu:0.2. G's output
  unit always ends in Tanh and D's head has no activation.
* **Norm per unit** (``norm``, ``norm_units``): ``norm`` is ``"batch"``, ``"layer"`` or ``"none"``; ``norm_units``
  lists the units that get it: ``None`` is DCGAN's choice (every G unit but the output; every D trunk unit but the
  input one), ``"all"`` every unit that has an activation (HDCGAN's "BS" units replace every DCGAN ReLU/LeakyReLU by
  BatchNorm + SELU, hdcgan.txt 4.1, so ``norm_units="all", activation="selu"``), or a list of unit indices. A conv
  followed by a norm has no bias, as in DCGAN.
* **Input noise** (``input_noise``): a float std adds an ``InputNoise`` module (``net.input_noise``) in front of
  D's image input / G's latent (HDCGAN 4.1: "additive noise is added to both the inputs of D and G"); ``None``: none.
* **Blocks at a feature size** (``block_at``): ``{side: factory}`` inserts ``factory(channels)`` right after the
  (activation of the) unit whose output has that spatial side; ``factory`` may be a callable or a name in
  ``BLOCKS`` (``"self_attention"``: SAGAN's ``SelfAttention``).

``network_kwargs(p)`` maps method parameters (``NET_PARAMS``: ``g_spectral_norm``, ``d_head``, ``d_map_size``,
``g_max_channels`` / ``d_max_channels`` (the channel cap, 512 by default; HDCGAN lifts it), ...) to these
constructor arguments for a baseline's ``build``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn.utils import spectral_norm as _sn

ACTIVATIONS = ("relu", "leaky_relu", "selu")
NORMS = ("batch", "layer", "none")


def _n_stages(resolution: int) -> int:
    k = math.log2(resolution)
    if resolution < 8 or k != int(k):
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return int(k) - 2  # number of x2 stages between 4x4 and the image


def _maybe_sn(layer: nn.Module, use: bool) -> nn.Module:
    return _sn(layer) if use else layer


def has_spectral_norm(m: nn.Module) -> bool:
    """True if ``m``'s weight is spectrally normalised (hook-based ``weight_orig`` or a parametrization)."""
    if hasattr(m, "weight_orig"):
        return True
    params = getattr(m, "parametrizations", None)
    return params is not None and "weight" in params


# --------------------------------------------------------------------------------------------- option parsing
def parse_activation(spec) -> tuple[str, float | None]:
    """``"relu"`` -> ("relu", None); ``"leaky_relu"`` -> ("leaky_relu", 0.2); ``"leaky_relu:0.02"`` -> (.., 0.02);
    ``"selu"`` -> ("selu", None)."""
    if not isinstance(spec, str):
        raise ValueError(f"activation must be a string such as 'relu', 'leaky_relu:0.2', 'selu'; got {spec!r}")
    name, _, arg = spec.strip().lower().partition(":")
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {spec!r}; known: {', '.join(ACTIVATIONS)} (leaky_relu:SLOPE)")
    if name == "leaky_relu":
        try:
            return name, float(arg) if arg else 0.2
        except ValueError:
            raise ValueError(f"bad leaky_relu slope in {spec!r}") from None
    if arg:
        raise ValueError(f"activation {name!r} takes no argument, got {spec!r}")
    return name, None


def make_activation(spec) -> nn.Module:
    name, slope = parse_activation(spec)
    if name == "relu":
        return nn.ReLU(True)
    if name == "leaky_relu":
        return nn.LeakyReLU(slope, True)
    return nn.SELU(True)


def _activation_label(m: nn.Module) -> str:
    if isinstance(m, nn.LeakyReLU):
        return f"leaky_relu:{m.negative_slope:g}"
    return {nn.ReLU: "relu", nn.SELU: "selu", nn.Tanh: "tanh"}.get(type(m), type(m).__name__)


def sn_units(spec, names: list[str]) -> set[int]:
    """The unit indices that ``spec`` names, for a network whose units' conv modules are called ``names`` (in
    order). ``spec``: False/None/"none", True/"all", "last:K", "first:K", or a list/tuple of indices (int, or a
    string of digits), module names (``"net.3"``) and ``"head"``. Raises ValueError on anything else."""
    n = len(names)
    if spec is None or spec is False or spec == "none":
        return set()
    if spec is True or spec == "all":
        return set(range(n))
    if isinstance(spec, str):
        kind, _, k = spec.partition(":")
        if kind in ("last", "first") and k.strip().isdigit():
            k = int(k)
            if not 0 <= k <= n:
                raise ValueError(f"spectral_norm {spec!r}: this network has {n} conv layers")
            return set(range(n - k, n)) if kind == "last" else set(range(k))
        raise ValueError(f"unknown spectral_norm {spec!r}: use none, all, last:K, first:K or a list of layers")
    if isinstance(spec, (list, tuple)):
        out = set()
        for item in spec:
            if isinstance(item, bool):
                raise ValueError(f"spectral_norm list items are layer indices or names, got {item!r}")
            if isinstance(item, str) and item.lstrip("-").isdigit():
                item = int(item)
            if isinstance(item, int):
                if not -n <= item < n:
                    raise ValueError(f"spectral_norm layer {item} out of range: this network has {n} conv layers")
                out.add(item % n)
            elif isinstance(item, str) and item in names:
                out.add(names.index(item))
            else:
                raise ValueError(f"spectral_norm layer {item!r} is not one of 0..{n - 1} or {names}")
        return out
    raise ValueError(f"spectral_norm must be a bool, a string or a list, got {spec!r}")


def _norm_units(norm: str, norm_units, candidates: list[int], default: list[int]) -> set[int]:
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; known: {', '.join(NORMS)}")
    if norm == "none":
        return set()
    if norm_units is None:
        return set(default)
    if norm_units == "all":
        return set(candidates)
    if isinstance(norm_units, (list, tuple)) and all(isinstance(i, int) and not isinstance(i, bool)
                                                     for i in norm_units):
        bad = sorted(set(norm_units) - set(candidates))
        if bad:
            raise ValueError(f"norm_units {bad}: only units {candidates} (those with an activation) can have a norm")
        return set(norm_units)
    raise ValueError(f"norm_units must be None, 'all' or a list of unit indices, got {norm_units!r}")


def _make_norm(norm: str, channels: int, side: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if norm == "batch" else nn.LayerNorm([channels, side, side])


def _block_factories(block_at, sides: dict[int, int], where: str) -> dict[int, Callable]:
    """{side: factory} -> {unit index: factory}; ``sides`` maps each unit that may take a block to its output side."""
    out = {}
    by_side = {s: i for i, s in sides.items()}
    for side, factory in (block_at or {}).items():
        side = int(side)
        if side not in by_side:
            raise ValueError(f"{where} block_at {side}: no unit outputs a {side}x{side} map here; "
                             f"sides: {sorted(by_side)}")
        if isinstance(factory, str):
            if factory not in BLOCKS:
                raise ValueError(f"unknown block {factory!r}; known: {sorted(BLOCKS)}")
            factory = BLOCKS[factory]
        if not callable(factory):
            raise ValueError(f"{where} block_at {side}: expected a callable(channels) -> nn.Module, got {factory!r}")
        out[by_side[side]] = factory
    return out


# --------------------------------------------------------------------------------------------- building blocks
class InputNoise(nn.Module):
    """Adds N(0, std^2) noise to its input in training mode; the identity in eval mode (HDCGAN 4.1's additive input
    noise). ``std`` is a (persistent, so checkpointed) 0-dim buffer: a method may decay it during training with
    ``set_std(value)``. Noise comes from the global torch RNG and is drawn on every training forward, std 0 included
    (so the random stream does not depend on the std's value)."""

    def __init__(self, std: float = 0.1):
        super().__init__()
        self.register_buffer("std", torch.tensor(float(std)))

    def set_std(self, value: float) -> None:
        self.std.fill_(float(value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        return x + torch.randn_like(x) * self.std.to(x.dtype)

    def extra_repr(self) -> str:
        return f"std={float(self.std):g}"


class SelfAttention(nn.Module):
    """SAGAN self-attention block (Zhang et al. 2019, Section 3), for a (B, C, H, W) feature map.

    f(x) = W_f x and g(x) = W_g x are 1x1 convs to C/8 channels (at least 1), h(x) = W_h x a 1x1 conv to C channels
    (the arXiv v1 formulation, "W_h in R^{C x C}"; SAGAN's released code and the ICML version instead use C/2 (resp.
    C/8) value channels and a 1x1 conv W_v back to C, plus a 2x2 max-pool on the keys: not done here).
    s_ij = f(x_i)^T g(x_j) over the N = H*W positions; beta_{j,i} = softmax_i(s_ij) (position j attends to i);
    o_j = sum_i beta_{j,i} h(x_i); the output is gamma * o + x with the learnable scalar gamma initialised to 0, so
    the block starts as the identity. ``spectral_norm=True`` wraps the three convs (SAGAN normalises every layer).
    """

    def __init__(self, channels: int, spectral_norm: bool = False):
        super().__init__()
        self.channels = channels
        inner = max(1, channels // 8)
        self.f = _maybe_sn(nn.Conv2d(channels, inner, 1), spectral_norm)
        self.g = _maybe_sn(nn.Conv2d(channels, inner, 1), spectral_norm)
        self.h = _maybe_sn(nn.Conv2d(channels, channels, 1), spectral_norm)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = x.shape
        f = self.f(x).flatten(2)                               # (B, C', N): positions i
        g = self.g(x).flatten(2)                               # (B, C', N): positions j
        h = self.h(x).flatten(2)                               # (B, C, N)
        s = torch.bmm(g.transpose(1, 2), f)                    # (B, N_j, N_i) = f(x_i)^T g(x_j)
        beta = torch.softmax(s, dim=-1)                        # softmax over i
        o = torch.bmm(h, beta.transpose(1, 2)).view(b, c, hh, ww)  # o_j = sum_i beta_{j,i} h(x_i)
        return self.gamma * o + x


def self_attention_sn(channels: int) -> SelfAttention:
    return SelfAttention(channels, spectral_norm=True)


BLOCKS: dict[str, Callable[[int], nn.Module]] = {"self_attention": SelfAttention,
                                                  "self_attention_sn": self_attention_sn}


class _Described(nn.Module):
    """Shared layer listing: ``self._units`` holds, per unit, its index, conv module name, norm/activation/block
    module names and output side; the line contents are read off the actual modules."""

    _units: list[dict]
    _input: dict | None
    output_shape: str  # e.g. "(B, 3, 64, 64)", "(B,)", "(B, 8, 8)"

    def unit_names(self) -> list[str]:
        """Each unit's conv module name, in unit order (what ``spectral_norm`` lists may name)."""
        return [u["conv"] for u in self._units]

    def layer_lines(self) -> list[str]:
        rows = [("idx", "module", "layer", "channels", "k/s/p", "out", "sn", "norm", "act")]
        if self._input is not None:
            m = self.get_submodule(self._input["name"])
            c = self._input["channels"]
            rows.append(("-", self._input["name"], f"InputNoise(std={float(m.std):g})", f"{c}->{c}", "-",
                         self._input["out"], "-", "-", "-"))
        for u in self._units:
            conv = self.get_submodule(u["conv"])
            side = u["side"]
            norm = type(self.get_submodule(u["norm"])).__name__ if u["norm"] else "-"
            act = _activation_label(self.get_submodule(u["act"])) if u["act"] else "-"
            rows.append((str(u["index"]), u["conv"], type(conv).__name__,
                         f"{conv.in_channels}->{conv.out_channels}",
                         f"{conv.kernel_size[0]}/{conv.stride[0]}/{conv.padding[0]}", f"{side}x{side}",
                         "yes" if has_spectral_norm(conv) else "no", norm, act))
            if u["block"]:
                blk = self.get_submodule(u["block"])
                convs = [m for m in blk.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
                n_sn = sum(has_spectral_norm(m) for m in convs)
                sn = "-" if not convs else "yes" if n_sn == len(convs) else "no" if n_sn == 0 else "part"
                rows.append(("-", u["block"], type(blk).__name__, f"{u['channels']}->{u['channels']}", "-",
                             f"{side}x{side}", sn, "-", "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _build_units(specs: list[dict], sn: set[int], norm: str, seq_name: str, head: bool):
    """Instantiate ``specs`` in order (conv, its spectral norm, norm, activation, block) - the order of random draws
    of the original DCGAN classes. Returns (sequential layers, head module or None, unit records)."""
    layers: list[nn.Module] = []
    records = []
    head_mod = None
    for i, s in enumerate(specs):
        conv_cls = nn.ConvTranspose2d if s["transposed"] else nn.Conv2d
        conv = _maybe_sn(conv_cls(s["cin"], s["cout"], s["k"], s["s"], s["p"], bias=s["bias"]), i in sn)
        rec = {"index": i, "side": s["side"], "channels": s["cout"], "norm": None, "act": None, "block": None}
        if head and i == len(specs) - 1:
            head_mod = conv
            rec["conv"] = "head"
            records.append(rec)
            break
        rec["conv"] = f"{seq_name}.{len(layers)}"
        layers.append(conv)
        if s["norm"]:
            rec["norm"] = f"{seq_name}.{len(layers)}"
            layers.append(_make_norm(norm, s["cout"], s["side"]))
        if s["act"] is not None:
            rec["act"] = f"{seq_name}.{len(layers)}"
            layers.append(nn.Tanh() if s["act"] == "tanh" else make_activation(s["act"]))
        if s["block"] is not None:
            rec["block"] = f"{seq_name}.{len(layers)}"
            layers.append(s["block"](s["cout"]))
        records.append(rec)
    return layers, head_mod, records


class DCGANGenerator(_Described):
    """z (B, z_dim) or (B, z_dim, 1, 1) -> images (B, 3, resolution, resolution) in [-1, 1].

    Units 0..n-1 (n = log2(resolution) - 2): ConvTranspose(4, 1, 0) then (4, 2, 1), channels
    min(width * 2**(n-1-i), max_channels), each followed by [norm] and the activation; unit n: ConvTranspose(4, 2, 1)
    to 3 channels, Tanh. ``spectral_norm`` / ``norm`` / ``norm_units`` / ``activation`` / ``input_noise`` /
    ``block_at``: see the module docstring. E.g. ``DCGANGenerator(16, 16, 8).layer_lines()``::

        idx  module  layer            channels  k/s/p  out    sn  norm         act
        0    net.0   ConvTranspose2d  16->16    4/1/0  4x4    no  BatchNorm2d  relu
        1    net.3   ConvTranspose2d  16->8     4/2/1  8x8    no  BatchNorm2d  relu
        2    net.6   ConvTranspose2d  8->3      4/2/1  16x16  no  -            tanh
    """

    def __init__(self, z_dim: int = 100, resolution: int = 64, width: int = 64, max_channels: int = 512,
                 spectral_norm=False, norm: str = "batch", norm_units=None, activation: str = "relu",
                 input_noise: float | None = None, block_at: dict | None = None):
        super().__init__()
        self.z_dim = z_dim
        self.resolution = resolution
        n = _n_stages(resolution)
        chans = [min(width * 2 ** (n - 1 - i), max_channels) for i in range(n)]  # 4x4 ... res/2
        parse_activation(activation)
        sides = {i: 4 * 2 ** i for i in range(n)}
        normed = _norm_units(norm, norm_units, list(range(n)), list(range(n)))
        blocks = _block_factories(block_at, sides, "generator")
        specs = []
        for i in range(n):
            specs.append({"transposed": True, "cin": z_dim if i == 0 else chans[i - 1], "cout": chans[i], "k": 4,
                          "s": 1 if i == 0 else 2, "p": 0 if i == 0 else 1, "bias": i not in normed,
                          "side": sides[i], "norm": i in normed, "act": activation, "block": blocks.get(i)})
        specs.append({"transposed": True, "cin": chans[-1], "cout": 3, "k": 4, "s": 2, "p": 1, "bias": True,
                      "side": resolution, "norm": False, "act": "tanh", "block": None})
        sn = sn_units(spectral_norm, [f"net.{j}" for j in self._conv_positions(specs)])
        if input_noise is not None:
            self.input_noise = InputNoise(input_noise)
        layers, _, self._units = _build_units(specs, sn, norm, "net", head=False)
        self.net = nn.Sequential(*layers)
        self._input = None if input_noise is None else {"name": "input_noise", "channels": z_dim, "out": "z"}
        self.output_shape = f"(B, 3, {resolution}, {resolution})"

    @staticmethod
    def _conv_positions(specs) -> list[int]:
        pos, out = 0, []
        for s in specs:
            out.append(pos)
            pos += 1 + bool(s["norm"]) + (s["act"] is not None) + (s["block"] is not None)
        return out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self._input is not None:
            z = self.input_noise(z)
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(_Described):
    """Images (B, 3, resolution, resolution) -> one logit per image (B,) (``head="score"``) or a logit map
    (B, map_size, map_size) (``head="map"``).

    Trunk units 0..m-1 (m = log2(resolution / map_size); map_size is 4 for the score head): Conv(4, 2, 1), channels
    min(width * 2**i, max_channels), [norm], activation; ``norm`` is 'batch', 'layer' or 'none' (WGAN-GP critics
    use none), on units 1..m-1 by default (``norm_units``). Head (unit m): Conv(4, 1, 0) for "score", Conv(k, 1,
    k // 2) with odd ``head_kernel`` k (default 1) for "map". E.g.
    ``DCGANDiscriminator(16, 8, norm="none", head="map", head_kernel=3, map_size=4,
    spectral_norm="last:2").layer_lines()``::

        idx  module      layer   channels  k/s/p  out  sn   norm  act
        0    features.0  Conv2d  3->8      4/2/1  8x8  no   -     leaky_relu:0.2
        1    features.2  Conv2d  8->16     4/2/1  4x4  yes  -     leaky_relu:0.2
        2    head        Conv2d  16->1     3/1/1  4x4  yes  -     -
    """

    def __init__(self, resolution: int = 64, width: int = 64, max_channels: int = 512, norm: str = "batch",
                 spectral_norm=False, head: str = "score", head_kernel: int | None = None, map_size: int = 4,
                 norm_units=None, activation: str = "leaky_relu:0.2", input_noise: float | None = None,
                 block_at: dict | None = None):
        super().__init__()
        _n_stages(resolution)
        self.resolution = resolution
        if head not in ("score", "map"):
            raise ValueError(f"unknown discriminator head {head!r}; known: score, map")
        if head == "score":
            if map_size != 4:
                raise ValueError(f"the score head is DCGAN's Conv(4, 1, 0) on a 4x4 map; map_size={map_size} "
                                 "needs head='map'")
            if head_kernel not in (None, 4):
                raise ValueError(f"the score head's kernel is 4, got head_kernel={head_kernel}")
            k, s, p = 4, 1, 0
        else:
            k = 1 if head_kernel is None else int(head_kernel)
            if k < 1 or k % 2 == 0:
                raise ValueError(f"the map head needs an odd kernel (1: LGA, 3: GL-GAN), got {head_kernel}")
            s, p = 1, k // 2
            mk = math.log2(map_size) if map_size >= 1 else -1
            if mk != int(mk) or not 1 <= map_size <= resolution // 2:
                raise ValueError(f"map_size must be a power of two between 1 and resolution/2 = {resolution // 2}, "
                                 f"got {map_size}")
        self.head_kind = head
        m = int(math.log2(resolution // map_size))
        chans = [min(width * 2 ** i, max_channels) for i in range(m)]  # res/2 ... map_size
        parse_activation(activation)
        sides = {i: resolution // 2 ** (i + 1) for i in range(m)}
        normed = _norm_units(norm, norm_units, list(range(m)), list(range(1, m)))
        blocks = _block_factories(block_at, sides, "discriminator")
        specs = []
        for i in range(m):
            specs.append({"transposed": False, "cin": 3 if i == 0 else chans[i - 1], "cout": chans[i], "k": 4,
                          "s": 2, "p": 1, "bias": i not in normed, "side": sides[i], "norm": i in normed,
                          "act": activation, "block": blocks.get(i)})
        specs.append({"transposed": False, "cin": chans[-1], "cout": 1, "k": k, "s": s, "p": p, "bias": True,
                      "side": 1 if head == "score" else map_size, "norm": False, "act": None, "block": None})
        names = [f"features.{j}" for j in DCGANGenerator._conv_positions(specs[:-1])] + ["head"]
        sn = sn_units(spectral_norm, names)
        if input_noise is not None:
            self.input_noise = InputNoise(input_noise)
        layers, head_mod, self._units = _build_units(specs, sn, norm, "features", head=True)
        self.features = nn.Sequential(*layers)
        self.head = head_mod
        self._input = (None if input_noise is None
                       else {"name": "input_noise", "channels": 3, "out": f"{resolution}x{resolution}"})
        self.output_shape = "(B,)" if head == "score" else f"(B, {map_size}, {map_size})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._input is not None:
            x = self.input_noise(x)
        y = self.head(self.features(x))
        return y.flatten() if self.head_kind == "score" else y[:, 0]


# Method parameters (config names) -> (network, constructor argument) for ``network_kwargs``.
NET_PARAMS: dict[str, tuple[str, str]] = {
    "g_spectral_norm": ("G", "spectral_norm"), "g_norm": ("G", "norm"), "g_norm_units": ("G", "norm_units"),
    "g_activation": ("G", "activation"), "g_input_noise": ("G", "input_noise"), "g_attention_at": ("G", "block_at"),
    "d_spectral_norm": ("D", "spectral_norm"), "d_norm": ("D", "norm"), "d_norm_units": ("D", "norm_units"),
    "d_activation": ("D", "activation"), "d_input_noise": ("D", "input_noise"), "d_attention_at": ("D", "block_at"),
    "d_head": ("D", "head"), "d_head_kernel": ("D", "head_kernel"), "d_map_size": ("D", "map_size"),
    "g_max_channels": ("G", "max_channels"), "d_max_channels": ("D", "max_channels"),
}


def network_kwargs(p: dict) -> tuple[dict, dict]:
    """(generator kwargs, discriminator kwargs) from a method's parameters: every ``NET_PARAMS`` name present in
    ``p`` (and not None) becomes the constructor argument it maps to; absent names keep the constructor's default,
    so a config that sets none of them gets today's networks. ``*_attention_at`` is a side or a list of sides: a
    ``SelfAttention`` after the unit with that output side, with spectral norm when that network's
    ``spectral_norm`` is True / "all" (SAGAN normalises every layer)."""
    out = {"G": {}, "D": {}}
    for name, (net, arg) in NET_PARAMS.items():
        if p.get(name) is not None:
            out[net][arg] = p[name]
    for kw in out.values():
        if "block_at" in kw:
            sides = kw["block_at"] if isinstance(kw["block_at"], (list, tuple)) else [kw["block_at"]]
            block = "self_attention_sn" if kw.get("spectral_norm") in (True, "all") else "self_attention"
            kw["block_at"] = {int(s): block for s in sides}
    return out["G"], out["D"]


def param_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def layer_lines(net: nn.Module) -> list[str]:
    """One line per layer: ``net.layer_lines()`` for this module's networks; for any other network, one line per
    leaf module (name, type, parameter count)."""
    if hasattr(net, "layer_lines"):
        return net.layer_lines()
    rows = [("module", "layer", "params")]
    for name, m in net.named_modules():
        if name and not list(m.children()):
            rows.append((name, repr(m), str(sum(p.numel() for p in m.parameters(recurse=False)))))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def init_dcgan_weights(m: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
        nn.init.normal_(w, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
