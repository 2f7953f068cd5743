"""ganrepro.methods.nn.nets: today's DCGAN networks stay bit-identical (frozen copies below); heads, spectral norm per layer,
activations, norm per unit, input noise, inserted blocks (SAGAN self-attention) and the layer listing / describe."""
import math

import pytest
import torch
from torch import nn
from torch.nn.utils import spectral_norm as _sn

from ganrepro.methods.nn.nets import (BLOCKS, DCGANDiscriminator, DCGANGenerator, InputNoise, SelfAttention,
                            NET_PARAMS, has_spectral_norm, init_dcgan_weights, layer_lines, network_kwargs,
                            param_count, sn_units)


# ------------------------------------------------------------------ frozen reference: ganrepro/methods/nn/nets.py before the
# configurable networks (commit of the task), copied verbatim. Do not edit: the defaults must stay bit-identical.
def _ref_n_stages(resolution: int) -> int:
    k = math.log2(resolution)
    if resolution < 8 or k != int(k):
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return int(k) - 2  # number of x2 stages between 4x4 and the image


def _ref_maybe_sn(layer: nn.Module, use: bool) -> nn.Module:
    return _sn(layer) if use else layer


class RefDCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, resolution: int = 64, width: int = 64, max_channels: int = 512,
                 spectral_norm: bool = False):
        super().__init__()
        self.z_dim = z_dim
        n = _ref_n_stages(resolution)
        chans = [min(width * 2 ** (n - 1 - i), max_channels) for i in range(n)]  # 4x4 ... res/2
        layers: list[nn.Module] = [
            _ref_maybe_sn(nn.ConvTranspose2d(z_dim, chans[0], 4, 1, 0, bias=False), spectral_norm),
            nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [_ref_maybe_sn(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), spectral_norm),
                       nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [_ref_maybe_sn(nn.ConvTranspose2d(chans[-1], 3, 4, 2, 1), spectral_norm), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class RefDCGANDiscriminator(nn.Module):
    """Returns one logit per image, shape (B,). ``norm`` is 'batch', 'layer' or 'none' (WGAN-GP critics use none)."""

    def __init__(self, resolution: int = 64, width: int = 64, max_channels: int = 512, norm: str = "batch",
                 spectral_norm: bool = False):
        super().__init__()
        n = _ref_n_stages(resolution)
        chans = [min(width * 2 ** i, max_channels) for i in range(n)]  # res/2 ... 4x4
        layers: list[nn.Module] = [_ref_maybe_sn(nn.Conv2d(3, chans[0], 4, 2, 1), spectral_norm),
                                   nn.LeakyReLU(0.2, True)]
        side = resolution // 2
        for cin, cout in zip(chans[:-1], chans[1:]):
            side //= 2
            layers.append(_ref_maybe_sn(nn.Conv2d(cin, cout, 4, 2, 1, bias=norm == "none"), spectral_norm))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(cout))
            elif norm == "layer":
                layers.append(nn.LayerNorm([cout, side, side]))
            elif norm != "none":
                raise ValueError(f"unknown norm {norm!r}")
            layers.append(nn.LeakyReLU(0.2, True))
        self.features = nn.Sequential(*layers)
        self.head = _ref_maybe_sn(nn.Conv2d(chans[-1], 1, 4, 1, 0), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).flatten()
# ------------------------------------------------------------------ end of the frozen reference


def _build(cls, args, kwargs, init):
    torch.manual_seed(1234)
    net = cls(*args, **kwargs)
    if init:
        net.apply(init_dcgan_weights)
    return net


def _assert_same_state(a: nn.Module, b: nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k


def _assert_same_outputs(a, b, x):
    for train in (True, False):  # batch statistics and spectral-norm power iteration in train mode; running in eval
        a.train(train), b.train(train)
        with torch.no_grad():
            ya, yb = a(x.clone()), b(x.clone())
        assert ya.shape == yb.shape and torch.equal(ya, yb)
    _assert_same_state(a, b)  # running stats and u, v updated identically


# every argument combination the existing callers use (ganrepro/methods/baselines/dcgan.py, wgan_gp.py, sngan.py, test_baselines)
G_CASES = [((16, res, 8), {}) for res in (8, 16, 32, 64)] + [
    ((16, 16, 8), {"spectral_norm": True}), ((16, 32, 8), {"spectral_norm": False}),
    ((8, 16, 4), {"spectral_norm": True}), ((100, 32, 64), {}), ((100, 64, 64), {"spectral_norm": True})]
D_CASES = [((res, 8), {"norm": norm}) for res in (8, 16, 32) for norm in ("batch", "none", "layer")] + [
    ((16, 8), {"norm": "none", "spectral_norm": True}), ((32, 8), {"norm": "batch", "spectral_norm": True}),
    ((16, 4), {"norm": "batch", "spectral_norm": False}), ((64, 64), {}), ((64, 64), {"norm": "none"})]

# the same networks asked for with the new options spelled out at their defaults
G_EXPLICIT = {"norm": "batch", "norm_units": None, "activation": "relu", "input_noise": None, "block_at": None}
D_EXPLICIT = {"head": "score", "head_kernel": 4, "map_size": 4, "norm_units": None, "activation": "leaky_relu:0.2",
              "input_noise": None, "block_at": {}}


@pytest.mark.parametrize("init", [False, True])
@pytest.mark.parametrize("args,kwargs", G_CASES)
def test_generator_bit_identical(args, kwargs, init):
    ref = _build(RefDCGANGenerator, args, kwargs, init)
    new = _build(DCGANGenerator, args, kwargs, init)
    _assert_same_state(ref, new)
    assert repr(ref.net) == repr(new.net)  # same modules, same flags (inplace activations, biases)
    torch.manual_seed(7)
    _assert_same_outputs(ref, new, torch.randn(5, args[0]))
    sn = kwargs.get("spectral_norm", False)
    explicit = _build(DCGANGenerator, args, {**G_EXPLICIT, "spectral_norm": "all" if sn else "none"}, init)
    _assert_same_state(_build(RefDCGANGenerator, args, kwargs, init), explicit)


@pytest.mark.parametrize("init", [False, True])
@pytest.mark.parametrize("args,kwargs", D_CASES)
def test_discriminator_bit_identical(args, kwargs, init):
    ref = _build(RefDCGANDiscriminator, args, kwargs, init)
    new = _build(DCGANDiscriminator, args, kwargs, init)
    _assert_same_state(ref, new)
    assert repr(ref.features) == repr(new.features) and repr(ref.head) == repr(new.head)
    torch.manual_seed(7)
    _assert_same_outputs(ref, new, torch.rand(5, 3, args[0], args[0]) * 2 - 1)
    sn = kwargs.get("spectral_norm", False)
    explicit = _build(DCGANDiscriminator, args, {**kwargs, **D_EXPLICIT, "spectral_norm": "all" if sn else "none"},
                      init)
    _assert_same_state(_build(RefDCGANDiscriminator, args, kwargs, init), explicit)


def test_state_dict_names():
    assert list(DCGANGenerator(16, 16, 8).state_dict())[:2] == ["net.0.weight", "net.1.weight"]
    d = DCGANDiscriminator(16, 8, norm="none", spectral_norm=True).state_dict()
    assert {"features.0.weight_orig", "features.0.weight_u", "head.weight_orig", "head.bias"} <= set(d)


# ------------------------------------------------------------------ heads
@pytest.mark.parametrize("res", [8, 16, 32, 64])
def test_score_head_shape(res):
    D = DCGANDiscriminator(res, 4, norm="batch")
    assert D(torch.randn(3, 3, res, res)).shape == (3,)
    assert D.output_shape == "(B,)"


@pytest.mark.parametrize("res,map_size", [(8, 4), (16, 4), (16, 8), (32, 4), (32, 8), (64, 8), (16, 1), (8, 2)])
@pytest.mark.parametrize("kernel", [1, 3])
def test_map_head_shape(res, map_size, kernel):
    torch.manual_seed(0)
    D = DCGANDiscriminator(res, 4, norm="none", head="map", head_kernel=kernel, map_size=map_size)
    y = D(torch.randn(2, 3, res, res))
    assert y.shape == (2, map_size, map_size) and D.output_shape == f"(B, {map_size}, {map_size})"
    assert (D.head.kernel_size, D.head.stride, D.head.padding, D.head.out_channels) == \
        ((kernel, kernel), (1, 1), (kernel // 2, kernel // 2), 1)
    n_trunk = sum(isinstance(m, nn.Conv2d) for m in D.features)
    assert n_trunk == int(math.log2(res // map_size))  # the trunk stops downsampling at map_size
    # the map is the raw 1-channel conv output: y[b, i, j] = head(features(x))[b, 0, i, j]
    x = torch.randn(2, 3, res, res)
    assert torch.equal(D(x), D.head(D.features(x))[:, 0])


def test_map_head_default_kernel_and_errors():
    assert DCGANDiscriminator(16, 4, head="map").head.kernel_size == (1, 1)
    with pytest.raises(ValueError, match="odd kernel"):
        DCGANDiscriminator(16, 4, head="map", head_kernel=4)
    with pytest.raises(ValueError, match="map_size"):
        DCGANDiscriminator(8, 4, head="map", map_size=8)  # no trunk unit left
    with pytest.raises(ValueError, match="map_size"):
        DCGANDiscriminator(32, 4, head="map", map_size=6)
    with pytest.raises(ValueError, match="needs head='map'"):
        DCGANDiscriminator(32, 4, map_size=8)
    with pytest.raises(ValueError, match="kernel is 4"):
        DCGANDiscriminator(32, 4, head_kernel=3)
    with pytest.raises(ValueError, match="unknown discriminator head"):
        DCGANDiscriminator(32, 4, head="patch")


# ------------------------------------------------------------------ spectral norm per layer
def _sn_flags(net):
    return [has_spectral_norm(net.get_submodule(name)) for name in net.unit_names()]


@pytest.mark.parametrize("spec,expected", [
    (False, [0, 0, 0, 0]), ("none", [0, 0, 0, 0]), (None, [0, 0, 0, 0]), (True, [1, 1, 1, 1]), ("all", [1, 1, 1, 1]),
    ("last:1", [0, 0, 0, 1]), ("last:2", [0, 0, 1, 1]), ("last:4", [1, 1, 1, 1]), ("first:1", [1, 0, 0, 0]),
    ([0, "head"], [1, 0, 0, 1]), (["features.0", 2], [1, 0, 1, 0]), ([-1, -2], [0, 0, 1, 1]), (["1"], [0, 1, 0, 0]),
])
def test_discriminator_spectral_norm_subsets(spec, expected):
    D = DCGANDiscriminator(32, 4, norm="batch", spectral_norm=spec)  # 3 trunk units + head
    assert D.unit_names() == ["features.0", "features.2", "features.5", "head"]
    assert _sn_flags(D) == [bool(e) for e in expected]
    # only the named convs: no other module is wrapped
    n_sn = sum(has_spectral_norm(m) for m in D.modules())
    assert n_sn == sum(expected)
    lines = D.layer_lines()[1:]
    assert [line.split()[6] for line in lines] == ["yes" if e else "no" for e in expected]
    D(torch.randn(2, 3, 32, 32)).sum().backward()


@pytest.mark.parametrize("spec,expected", [
    (True, [1, 1, 1]), ("last:1", [0, 0, 1]), ("first:2", [1, 1, 0]), (["net.3"], [0, 1, 0]), ([0, -1], [1, 0, 1]),
])
def test_generator_spectral_norm_subsets(spec, expected):
    G = DCGANGenerator(8, 16, 4, spectral_norm=spec)
    assert G.unit_names() == ["net.0", "net.3", "net.6"]
    assert _sn_flags(G) == [bool(e) for e in expected]
    G.apply(init_dcgan_weights)  # finds weight_orig on the wrapped layers
    assert G(torch.randn(2, 8)).shape == (2, 3, 16, 16)


def test_spectral_norm_names_shift_with_inserted_blocks():
    D = DCGANDiscriminator(32, 8, norm="none", block_at={16: SelfAttention}, spectral_norm=["features.3"])
    assert D.unit_names() == ["features.0", "features.3", "features.5", "head"]
    assert _sn_flags(D) == [False, True, False, False]


@pytest.mark.parametrize("spec", ["last:5", "some", [4], ["net.1"], [True], "last:x", 3, {"a": 1}])
def test_spectral_norm_bad_specs(spec):
    with pytest.raises(ValueError):
        DCGANDiscriminator(32, 4, spectral_norm=spec)


def test_sn_units_helper():
    names = ["net.0", "net.3", "net.6"]
    assert sn_units("last:0", names) == set() and sn_units("last:3", names) == {0, 1, 2}
    assert sn_units(("net.6", 0), names) == {0, 2}


# ------------------------------------------------------------------ activations
def _acts(net):
    return [m for m in net.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.SELU, nn.Tanh))]


@pytest.mark.parametrize("spec,cls,slope", [("relu", nn.ReLU, None), ("leaky_relu", nn.LeakyReLU, 0.2),
                                            ("leaky_relu:0.02", nn.LeakyReLU, 0.02), ("selu", nn.SELU, None)])
def test_activation_options(spec, cls, slope):
    D = DCGANDiscriminator(32, 4, norm="batch", activation=spec)
    acts = _acts(D)
    assert len(acts) == 3 and all(type(a) is cls for a in acts)  # one per trunk unit, none after the head
    if slope is not None:
        assert all(a.negative_slope == slope for a in acts)
    G = DCGANGenerator(8, 32, 4, activation=spec)
    acts = _acts(G)
    assert [type(a) for a in acts] == [cls, cls, cls, nn.Tanh]  # the output unit keeps Tanh
    x = G(torch.randn(2, 8))
    D(x).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in G.parameters())


def test_default_activations():
    assert [type(a) for a in _acts(DCGANGenerator(8, 16, 4))] == [nn.ReLU, nn.ReLU, nn.Tanh]
    acts = _acts(DCGANDiscriminator(16, 4))
    assert [type(a) for a in acts] == [nn.LeakyReLU] * 2 and {a.negative_slope for a in acts} == {0.2}


@pytest.mark.parametrize("spec", ["gelu", "relu:0.1", "leaky_relu:x", 0.2])
def test_bad_activation(spec):
    with pytest.raises(ValueError):
        DCGANDiscriminator(16, 4, activation=spec)


# ------------------------------------------------------------------ norm per unit
def _unit_norms(net):
    return [type(net.get_submodule(u["norm"])).__name__ if u["norm"] else None for u in net._units]


def _unit_bias(net):
    return [net.get_submodule(n).bias is not None for n in net.unit_names()]


def test_norm_per_unit():
    D = DCGANDiscriminator(32, 4, norm="batch")  # DCGAN: no norm at D's input unit nor the head
    assert _unit_norms(D) == [None, "BatchNorm2d", "BatchNorm2d", None]
    assert _unit_bias(D) == [True, False, False, True]
    D = DCGANDiscriminator(32, 4, norm="batch", norm_units="all", activation="selu")  # HDCGAN's BS units
    assert _unit_norms(D) == ["BatchNorm2d"] * 3 + [None] and _unit_bias(D) == [False, False, False, True]
    assert all(isinstance(D.features[i], nn.SELU) for i in (2, 5, 8))
    D = DCGANDiscriminator(32, 4, norm="layer", norm_units=[0, 2])
    assert _unit_norms(D) == ["LayerNorm", None, "LayerNorm", None]
    assert D.get_submodule(D._units[2]["norm"]).normalized_shape == (16, 4, 4)
    assert D(torch.randn(2, 3, 32, 32)).shape == (2,)
    assert _unit_norms(DCGANDiscriminator(32, 4, norm="none", norm_units="all")) == [None] * 4

    G = DCGANGenerator(8, 32, 4)
    assert _unit_norms(G) == ["BatchNorm2d"] * 3 + [None] and _unit_bias(G) == [False, False, False, True]
    G = DCGANGenerator(8, 32, 4, norm="none")
    assert _unit_norms(G) == [None] * 4 and _unit_bias(G) == [True] * 4
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules())
    G = DCGANGenerator(8, 32, 4, norm_units=[1])
    assert _unit_norms(G) == [None, "BatchNorm2d", None, None]
    assert G(torch.randn(2, 8)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="norm_units"):
        DCGANGenerator(8, 32, 4, norm_units=[3])  # the output unit has no activation
    with pytest.raises(ValueError, match="norm_units"):
        DCGANDiscriminator(32, 4, norm_units=[3])  # nor the head
    with pytest.raises(ValueError, match="unknown norm"):
        DCGANGenerator(8, 32, 4, norm="instance")
    with pytest.raises(ValueError, match="unknown norm"):
        DCGANDiscriminator(32, 4, norm="group")


# ------------------------------------------------------------------ input noise
def test_input_noise_eval_identity_and_train_std():
    noise = InputNoise(0.5)
    x = torch.randn(400, 500)
    noise.eval()
    assert noise(x) is x
    noise.train()
    torch.manual_seed(0)
    d = noise(x) - x
    assert abs(d.mean().item()) < 0.005 and d.std().item() == pytest.approx(0.5, rel=0.01)
    noise.set_std(0.1)
    assert float(noise.state_dict()["std"]) == pytest.approx(0.1)
    assert (noise(x) - x).std().item() == pytest.approx(0.1, rel=0.01)
    noise.set_std(0.0)
    assert torch.equal(noise(x), x)
    xr = torch.randn(8, 3, requires_grad=True)
    InputNoise(1.0)(xr).pow(2).sum().backward()
    assert xr.grad is not None and torch.isfinite(xr.grad).all() and xr.grad.abs().sum() > 0


def test_input_noise_in_networks():
    torch.manual_seed(3)
    D0 = DCGANDiscriminator(16, 4, norm="none")
    torch.manual_seed(3)
    D = DCGANDiscriminator(16, 4, norm="none", input_noise=0.3)
    assert set(D.state_dict()) - set(D0.state_dict()) == {"input_noise.std"}  # no extra draws, same weights
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    D.eval(), D0.eval()
    assert torch.equal(D(x), D0(x))
    D.train(), D0.train()
    assert not torch.equal(D(x), D0(x))
    D(x).sum().backward()
    assert x.grad.abs().sum() > 0
    assert D.layer_lines()[1].split()[:3] == ["-", "input_noise", "InputNoise(std=0.3)"]

    torch.manual_seed(3)
    G0 = DCGANGenerator(8, 16, 4)
    torch.manual_seed(3)
    G = DCGANGenerator(8, 16, 4, input_noise=1.0)
    z = torch.randn(4, 8)
    G.eval(), G0.eval()
    assert torch.equal(G(z), G0(z))
    G.input_noise.set_std(0.0)
    G.train(), G0.train()
    assert torch.equal(G(z), G0(z))
    G.input_noise.set_std(1.0)
    assert not torch.equal(G(z), G0(z))


# ------------------------------------------------------------------ self-attention and inserted blocks
def _naive_attention(m: SelfAttention, x):
    f, g, h = m.f(x).flatten(2), m.g(x).flatten(2), m.h(x).flatten(2)  # (B, C', N), (B, C', N), (B, C, N)
    b, c, n = h.shape
    o = torch.zeros(b, c, n)
    for bi in range(b):
        for j in range(n):
            s = torch.stack([f[bi, :, i] @ g[bi, :, j] for i in range(n)])  # s_ij over i
            beta = torch.softmax(s, 0)
            o[bi, :, j] = (h[bi] * beta).sum(1)
    return m.gamma * o.view_as(x) + x


def test_self_attention_identity_at_zero_gamma_and_gradients():
    torch.manual_seed(0)
    m = SelfAttention(16)
    assert m.f.out_channels == m.g.out_channels == 2 and m.h.out_channels == 16 and float(m.gamma.detach()) == 0
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(m(x), x)
    m(x).pow(2).sum().backward()
    assert m.gamma.grad is not None and m.gamma.grad.abs() > 0  # gradients reach gamma
    with torch.no_grad():
        m.gamma.fill_(0.7)
    assert torch.allclose(m(x), _naive_attention(m, x), atol=1e-5)
    m.zero_grad()
    m(x).pow(2).sum().backward()
    assert all(p.grad.abs().sum() > 0 for p in (m.f.weight, m.g.weight, m.h.weight))
    assert SelfAttention(4).f.out_channels == 1
    sn = BLOCKS["self_attention_sn"](8)
    assert all(has_spectral_norm(c) for c in (sn.f, sn.g, sn.h))


def test_blocks_inserted_at_feature_size():
    torch.manual_seed(0)
    G = DCGANGenerator(8, 32, 8, block_at={16: SelfAttention})
    lines = G.layer_lines()
    assert lines == [
        "idx  module  layer            channels  k/s/p  out    sn  norm         act",
        "0    net.0   ConvTranspose2d  8->32     4/1/0  4x4    no  BatchNorm2d  relu",
        "1    net.3   ConvTranspose2d  32->16    4/2/1  8x8    no  BatchNorm2d  relu",
        "2    net.6   ConvTranspose2d  16->8     4/2/1  16x16  no  BatchNorm2d  relu",
        "-    net.9   SelfAttention    8->8      -      16x16  no  -            -",
        "3    net.10  ConvTranspose2d  8->3      4/2/1  32x32  no  -            tanh",
    ]
    assert isinstance(G.net[9], SelfAttention) and isinstance(G.net[8], nn.ReLU)
    assert G(torch.randn(2, 8)).shape == (2, 3, 32, 32)

    D = DCGANDiscriminator(32, 8, norm="none", head="map", head_kernel=3, map_size=8,
                           block_at={8: "self_attention_sn"}, spectral_norm=True)
    assert D.layer_lines() == [
        "idx  module      layer          channels  k/s/p  out    sn   norm  act",
        "0    features.0  Conv2d         3->8      4/2/1  16x16  yes  -     leaky_relu:0.2",
        "1    features.2  Conv2d         8->16     4/2/1  8x8    yes  -     leaky_relu:0.2",
        "-    features.4  SelfAttention  16->16    -      8x8    yes  -     -",
        "2    head        Conv2d         16->1     3/1/1  8x8    yes  -     -",
    ]
    D.apply(init_dcgan_weights)
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    D(x).sum().backward()
    assert D.features[4].gamma.grad is not None
    with pytest.raises(ValueError, match="no unit outputs a 32x32"):
        DCGANGenerator(8, 32, 8, block_at={32: SelfAttention})  # the output unit (3 channels) takes no block
    with pytest.raises(ValueError, match="no unit outputs a 4x4"):
        DCGANDiscriminator(32, 8, head="map", map_size=8, block_at={4: SelfAttention})
    with pytest.raises(ValueError, match="unknown block"):
        DCGANDiscriminator(32, 8, block_at={8: "attention"})


# ------------------------------------------------------------------ layer lists and describe
def test_layer_lines_docstring_examples():
    assert DCGANGenerator(16, 16, 8).layer_lines() == [
        "idx  module  layer            channels  k/s/p  out    sn  norm         act",
        "0    net.0   ConvTranspose2d  16->16    4/1/0  4x4    no  BatchNorm2d  relu",
        "1    net.3   ConvTranspose2d  16->8     4/2/1  8x8    no  BatchNorm2d  relu",
        "2    net.6   ConvTranspose2d  8->3      4/2/1  16x16  no  -            tanh",
    ]
    D = DCGANDiscriminator(16, 8, norm="none", head="map", head_kernel=3, map_size=4, spectral_norm="last:2")
    assert layer_lines(D) == [
        "idx  module      layer   channels  k/s/p  out  sn   norm  act",
        "0    features.0  Conv2d  3->8      4/2/1  8x8  no   -     leaky_relu:0.2",
        "1    features.2  Conv2d  8->16     4/2/1  4x4  yes  -     leaky_relu:0.2",
        "2    head        Conv2d  16->1     3/1/1  4x4  yes  -     -",
    ]
    for line in (DCGANGenerator.__doc__ + DCGANDiscriminator.__doc__).splitlines():
        if line.strip().startswith(("idx", "0 ", "1 ", "2 ")):
            assert line.strip() in {*DCGANGenerator(16, 16, 8).layer_lines(), *layer_lines(D)}


def test_layer_lines_generic_fallback():
    lines = layer_lines(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert lines[0].split() == ["module", "layer", "params"] and lines[1].startswith("0") and lines[1].endswith("9")


def test_describe_cli(capsys):
    from ganrepro.cli import main

    assert main(["--config", "scale=smoke", "describe", "lga_cifar10", "wgan_gp", "default"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "run lga_cifar10/wgan_gp/default/seed0 (scale smoke, resolution 16)"
    assert out[1].startswith("method params: ") and "resolution=16" in out[1]
    assert out[2:] == [
        "G: DCGANGenerator, 6,579 parameters, output (B, 3, 16, 16)",
        "  idx  module  layer            channels  k/s/p  out    sn  norm         act",
        "  0    net.0   ConvTranspose2d  16->16    4/1/0  4x4    no  BatchNorm2d  relu",
        "  1    net.3   ConvTranspose2d  16->8     4/2/1  8x8    no  BatchNorm2d  relu",
        "  2    net.6   ConvTranspose2d  8->3      4/2/1  16x16  no  -            tanh",
        "D: DCGANDiscriminator, 2,713 parameters, output (B,)",
        "  idx  module      layer   channels  k/s/p  out  sn  norm  act",
        "  0    features.0  Conv2d  3->8      4/2/1  8x8  no  -     leaky_relu:0.2",
        "  1    features.2  Conv2d  8->16     4/2/1  4x4  no  -     leaky_relu:0.2",
        "  2    head        Conv2d  16->1     4/1/0  1x1  no  -     -",
    ]
    # 16->16 convT 4x4 (4096) + BN (32) + 16->8 (2048) + BN (16) + 8->3 (384) + bias 3
    assert 4096 + 32 + 2048 + 16 + 384 + 3 == 6579
    G = DCGANGenerator(16, 16, 8)
    assert param_count(G) == 6579


def test_describe_cli_unknown_run(capsys):
    from ganrepro.cli import main

    assert main(["--config", "scale=smoke", "describe", "lga_cifar10", "wgan_gp", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "describe: error:" in err and "no variant 'nope'" in err


def test_network_kwargs_mapping():
    assert network_kwargs({"z_dim": 8, "d_norm": None, "loss": "ns"}) == ({}, {})  # nothing set: today's nets
    g, d = network_kwargs({"g_spectral_norm": True, "g_activation": "selu", "g_norm": "batch", "g_norm_units": "all",
                           "g_input_noise": 0.1, "g_attention_at": 16, "d_spectral_norm": "last:2",
                           "d_norm": "none", "d_head": "map", "d_head_kernel": 3, "d_map_size": 8,
                           "d_activation": "leaky_relu:0.02", "d_input_noise": 0.2, "d_attention_at": [16],
                           "d_norm_units": [0]})
    assert g == {"spectral_norm": True, "activation": "selu", "norm": "batch", "norm_units": "all",
                 "input_noise": 0.1, "block_at": {16: "self_attention_sn"}}
    assert d == {"spectral_norm": "last:2", "norm": "none", "head": "map", "head_kernel": 3, "map_size": 8,
                 "activation": "leaky_relu:0.02", "input_noise": 0.2, "block_at": {16: "self_attention"},
                 "norm_units": [0]}
    assert set(NET_PARAMS) >= {"d_head", "d_head_kernel", "d_map_size", "g_spectral_norm", "d_spectral_norm"}
    G, D = DCGANGenerator(16, 32, 8, **g), DCGANDiscriminator(32, 8, **d)
    assert G(torch.randn(2, 16)).shape == (2, 3, 32, 32) and D(torch.randn(2, 3, 32, 32)).shape == (2, 8, 8)
