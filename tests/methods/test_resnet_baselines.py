"""ganrepro.methods.nn.resnet (Miyato et al.'s ResNets), ganrepro.methods.baselines.sngan and ganrepro.methods.baselines.sagan: shapes at every resolution served,
D's pooling by hand, spectral norm and self-attention placement, residual blocks, hinge losses by hand, gradient
flow (plain, BRC, SAGAN), the width mapping and the optimiser defaults."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganrepro.methods.nn.nets import SelfAttention, has_spectral_norm
from ganrepro.methods.nn.resnet import (DBlock, GBlock, OptimizedDBlock, ResNetDiscriminator, ResNetGenerator,
                              discriminator_plan, generator_plan, resolve_layout)
from ganrepro.methods.baselines.sagan import METHOD as SAGAN
from ganrepro.methods.baselines.sngan import METHOD as SNGAN
from ganrepro.train.loop import Context

TINY = {"z_dim": 8, "g_width": 2, "d_width": 2}


def _build(method, variant, res, **extra):
    p = method.params(variant, {**TINY, "resolution": res, **extra})
    torch.manual_seed(0)
    return (*method.build(p), p)


def _layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _attention(net):
    return [m for m in net.modules() if isinstance(m, SelfAttention)]


# ------------------------------------------------------------------ shapes and layouts
@pytest.mark.parametrize("method,res,layout,feat", [
    (SNGAN, 16, "cifar", 4), (SNGAN, 32, "cifar", 8), (SNGAN, 48, "cifar", 12), (SNGAN, 64, "imagenet", 4),
    (SNGAN, 128, "imagenet", 4), (SNGAN, 256, "imagenet", 4),
    (SAGAN, 16, "imagenet", 4), (SAGAN, 64, "imagenet", 4), (SAGAN, 128, "imagenet", 4)])
def test_shapes_at_every_resolution(method, res, layout, feat):
    G, D, p = _build(method, "default", res)
    assert G.layout == D.layout == layout
    z = torch.randn(2, 8)
    x = G(z)
    assert x.shape == (2, 3, res, res) and x.abs().max() <= 1
    torch.testing.assert_close(G.eval()(z.view(2, 8, 1, 1)), G(z))  # (B, z_dim, 1, 1) accepted too
    h = D.features(x)
    assert h.shape == (2, D.channels, feat, feat) and (h >= 0).all()  # after the final ReLU
    assert D(x).shape == (2,)
    assert G.output_shape == f"(B, 3, {res}, {res})" and D.output_shape == "(B,)"
    assert len(G.layer_lines()) >= 5 and len(D.layer_lines()) >= 5


def test_layout_rules():
    assert resolve_layout("auto", 48) == "cifar" and resolve_layout("auto", 64) == "imagenet"
    with pytest.raises(ValueError, match="divisible by 8"):
        resolve_layout("cifar", 36)
    with pytest.raises(ValueError, match="power of two"):
        resolve_layout("imagenet", 48)
    with pytest.raises(ValueError, match="unknown ResNet layout"):
        resolve_layout("big", 32)
    assert generator_plan(48, 64, "cifar")["bottom"] == 6  # STL-10 at 48 px: M_g = 6


def test_imagenet_channel_lists():
    """The docstring's lists (multiples of ch): Miyato Table 6 at 128 px, one block per doubling elsewhere."""
    ch = 1
    g = {r: [(a, b, s) for a, b, s in generator_plan(r, ch, "imagenet")["blocks"]] for r in (64, 128, 256)}
    assert g[128] == [(16, 16, 8), (16, 8, 16), (8, 4, 32), (4, 2, 64), (2, 1, 128)]
    assert g[64] == [(16, 8, 8), (8, 4, 16), (4, 2, 32), (2, 1, 64)]
    assert g[256] == [(16, 16, 8), (16, 16, 16), (16, 8, 32), (8, 4, 64), (4, 2, 128), (2, 1, 256)]
    d = {r: discriminator_plan(r, ch, "imagenet")["blocks"] for r in (64, 128, 256)}
    assert d[128] == [("optimized", 3, 1, 64), ("down", 1, 2, 32), ("down", 2, 4, 16), ("down", 4, 8, 8),
                      ("down", 8, 16, 4), ("plain", 16, 16, 4)]
    assert d[64] == [("optimized", 3, 1, 32), ("down", 1, 2, 16), ("down", 2, 4, 8), ("down", 4, 8, 4),
                     ("plain", 8, 16, 4)]
    assert d[256] == [("optimized", 3, 1, 128), ("down", 1, 2, 64), ("down", 2, 4, 32), ("down", 4, 8, 16),
                      ("down", 8, 16, 8), ("down", 16, 16, 4), ("plain", 16, 16, 4)]


def test_cifar_width_mapping():
    """C_g = 4 g_width, C_d = 2 d_width: full scale (64) gives Miyato Table 4's 256 / 128."""
    G, D = ResNetGenerator(128, 32, 64), ResNetDiscriminator(32, 64)
    assert G.channels == 256 and G.linear.out_features == 4 * 4 * 256
    assert all(b.in_channels == b.out_channels == 256 for b in G.blocks)
    assert [(b.in_channels, b.out_channels) for b in D.blocks] == [(3, 128)] + [(128, 128)] * 3
    assert D.linear.in_features == 128
    assert [type(b) for b in D.blocks] == [OptimizedDBlock, DBlock, DBlock, DBlock]
    assert [b.downsample for b in D.blocks] == [True, True, False, False]
    G8, D8 = ResNetGenerator(16, 16, 8), ResNetDiscriminator(16, 8)
    assert G8.channels == 32 and G8.bottom == 2 and D8.channels == 16


# ------------------------------------------------------------------ D's pooling and output
@pytest.mark.parametrize("method,res", [(SNGAN, 32), (SNGAN, 64), (SAGAN, 16)])
def test_d_is_linear_of_summed_features(method, res):
    _, D, _ = _build(method, "default", res)
    D.eval()  # no power iteration between the calls: the same normalised weights
    x = torch.rand(3, 3, res, res) * 2 - 1
    out = D(x)  # (also sets the hook-based spectral norm's normalised D.linear.weight read below)
    h = D.features(x)
    summed = torch.stack([sum(h[b, :, i, j] for i in range(h.shape[2]) for j in range(h.shape[3]))
                          for b in range(h.shape[0])])  # brute-force sum pooling
    hand = summed @ D.linear.weight.t() + D.linear.bias
    torch.testing.assert_close(out, hand.flatten(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(D.pool(h), summed, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ spectral norm and attention
def test_sngan_spectral_norm_on_every_d_layer_none_in_g():
    G, D, _ = _build(SNGAN, "plain", 32)
    assert len(_layers(D)) == 4 * 2 + 2 + 1 and all(has_spectral_norm(m) for m in _layers(D))
    assert not any(has_spectral_norm(m) for m in _layers(G))
    assert not _attention(G) and not _attention(D)  # SNGAN has no self-attention


def test_sagan_spectral_norm_everywhere_and_attention_at_32():
    G, D, _ = _build(SAGAN, "default", 128)
    for net in (G, D):
        assert all(has_spectral_norm(m) for m in _layers(net))
        (a,) = _attention(net)
        assert a.gamma.detach().item() == 0.0 and all(has_spectral_norm(c) for c in (a.f, a.g, a.h))
    # G: the attention follows the up block that outputs 32x32 (8ch -> 4ch); D: the block that outputs 32x32
    gi = [i for i, m in enumerate(G.blocks) if isinstance(m, SelfAttention)][0]
    assert G._sides[gi - 1] == 32 and G.blocks[gi - 1].out_channels == 4 * 2 == G.blocks[gi].channels
    di = [i for i, m in enumerate(D.blocks) if isinstance(m, SelfAttention)][0]
    assert di == 2 and D._sides[1] == 32 and D.blocks[1].out_channels == 2 * 2 == D.blocks[di].channels
    # the attention map really is 32x32: record its input
    seen = {}

    def record(key):
        def hook(module, inputs, output):
            seen[key] = inputs[0].shape  # returns None: the output is left as is
        return hook

    G.blocks[gi].register_forward_hook(record("g"))
    D.blocks[di].register_forward_hook(record("d"))
    D(G(torch.randn(2, 8)))
    assert seen["g"][-2:] == (32, 32) and seen["d"][-2:] == (32, 32)
    assert any("SelfAttention" in line and "32x32" in line for line in G.layer_lines())


@pytest.mark.parametrize("res,side", [(16, 8), (32, 16), (64, 32)])
def test_sagan_attention_side_below_64_px(res, side):
    G, D, _ = _build(SAGAN, "default", res)
    assert G.attention_side == D.attention_side == side
    assert len(_attention(G)) == len(_attention(D)) == 1


def test_attention_side_option_and_errors():
    G, D, _ = _build(SNGAN, "plain", 32, attention_side=16)
    (ga,), (da,) = _attention(G), _attention(D)
    assert not has_spectral_norm(ga.f) and has_spectral_norm(da.f)  # each network's own spectral-norm flag
    with pytest.raises(ValueError, match="no generator block outputs that side"):
        _build(SNGAN, "plain", 32, attention_side=4)
    with pytest.raises(ValueError, match="every layer or none"):
        _build(SNGAN, "plain", 32, d_spectral_norm="last:2")


def test_layer_lines_at_full_width():
    G, D = ResNetGenerator(128, 32, 64), ResNetDiscriminator(32, 64)
    g, d = G.layer_lines(), D.layer_lines()
    assert g[0].split()[:4] == ["idx", "module", "layer", "channels"]
    assert "128->256x4x4" in g[1] and g[1].split()[-2] == "no"
    assert sum("GBlock" in line for line in g) == 3
    assert "OptimizedDBlock" in d[1] and "3->128" in d[1] and "16x16" in d[1] and d[1].split()[-2] == "yes"
    assert "global sum pooling" in d[-2] and "128->1" in d[-1]


# ------------------------------------------------------------------ residual blocks
def _zero_residual(block):
    with torch.no_grad():
        block.c2.weight.zero_()
        block.c2.bias.zero_()


def test_gblock_with_zero_residual_is_upsample_conv1x1():
    torch.manual_seed(0)
    b = GBlock(4, 6)
    _zero_residual(b)
    x = torch.randn(2, 4, 5, 5)
    hand = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), b.c_sc.weight, b.c_sc.bias)
    torch.testing.assert_close(b(x), hand)
    assert b.c1.bias is None  # BatchNorm follows it


def test_dblocks_with_zero_residual_are_their_shortcuts():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8)
    down = DBlock(4, 6, downsample=True)
    _zero_residual(down)
    torch.testing.assert_close(down(x), F.avg_pool2d(F.conv2d(x, down.c_sc.weight, down.c_sc.bias), 2))
    plain = DBlock(4, 4, downsample=False)
    assert plain.c_sc is None
    _zero_residual(plain)
    torch.testing.assert_close(plain(x), x)
    opt = OptimizedDBlock(3, 6)
    _zero_residual(opt)
    img = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(opt(img), F.conv2d(F.avg_pool2d(img, 2), opt.c_sc.weight, opt.c_sc.bias))


def test_residual_path_by_hand():
    """DBlock residual = AvgPool(Conv(ReLU(Conv(ReLU(x))))) with hidden channels = input channels."""
    torch.manual_seed(0)
    b = DBlock(4, 6)
    assert b.c1.out_channels == 4
    x = torch.randn(2, 4, 8, 8)
    r = F.conv2d(F.relu(F.conv2d(F.relu(x), b.c1.weight, b.c1.bias, padding=1)), b.c2.weight, b.c2.bias, padding=1)
    torch.testing.assert_close(b.residual(x), F.avg_pool2d(r, 2))


def test_initialisation_xavier_gains():
    """Residual convs Xavier-uniform gain sqrt(2), shortcuts and linear gain 1: the bound is gain*sqrt(6/(fi+fo))."""
    torch.manual_seed(0)
    b = DBlock(64, 64, downsample=True)
    bound = lambda m, gain: gain * (6 / ((m.in_channels + m.out_channels) * m.kernel_size[0] ** 2)) ** 0.5  # noqa
    for conv, gain in ((b.c1, 2 ** 0.5), (b.c2, 2 ** 0.5), (b.c_sc, 1.0)):
        w = conv.weight
        assert w.abs().max() <= bound(conv, gain) and w.abs().max() > 0.9 * bound(conv, gain)
        assert conv.bias.abs().max() == 0


# ------------------------------------------------------------------ losses and gradient flow
def test_hinge_losses_through_the_methods():
    """Stub D returns x[:, 0, 0, 0]: real scores (2, -1, 0.5), fake (0.5, -3, 1)."""
    real = torch.zeros(3, 3, 4, 4)
    real[:, 0, 0, 0] = torch.tensor([2.0, -1.0, 0.5])
    fake = torch.zeros(3, 3, 4, 4)
    fake[:, 0, 0, 0] = torch.tensor([0.5, -3.0, 1.0])
    D = lambda x: x[:, 0, 0, 0]  # noqa: E731
    for method, variant in ((SNGAN, "plain"), (SNGAN, "default"), (SAGAN, "default")):
        p = method.params(variant)
        d, stats = method.d_loss(D, real, fake, p, None)
        # real: relu(1-2)=0, relu(1+1)=2, relu(0.5)=0.5 -> 2.5/3; fake: relu(1.5)=1.5, relu(-2)=0, relu(2)=2 -> 3.5/3
        assert d.item() == pytest.approx(2.0)
        assert stats["d_real"].item() == pytest.approx(0.5) and stats["d_fake"].item() == pytest.approx(-0.5)
        g, _ = method.g_loss(D, fake, p, None)
        assert g.item() == pytest.approx(0.5)  # -(0.5 - 3 + 1) / 3


@pytest.mark.parametrize("method,variant", [(SNGAN, "plain"), (SNGAN, "brc"), (SAGAN, "default")])
def test_gradient_flow(method, variant):
    G, D, p = _build(method, variant, 16)
    for a in _attention(G):  # gamma = 0 at init would give f, g, h exactly zero gradient
        with torch.no_grad():
            a.gamma.fill_(0.5)
    g = torch.Generator().manual_seed(0)
    ctx = Context(rng=g, device="cpu")
    ctx.real, ctx.z = torch.rand(4, 3, 16, 16, generator=g) * 2 - 1, torch.randn(4, 8, generator=g)
    fake = G(ctx.z)
    d_loss, stats = method.d_loss(D, ctx.real, fake.detach(), p, ctx)
    d_loss.backward()
    assert torch.isfinite(d_loss) and set(stats) == {"d_real", "d_fake"}
    assert all(q.grad is not None and torch.isfinite(q.grad).all() for q in D.parameters())
    assert all(q.grad is None for q in G.parameters())  # the D step touches only D
    D.zero_grad()
    if variant == "brc":
        # at this initialisation D(x) > 1 on every real image, so the hinge's real term is inactive and f = -L_D and
        # F = L_G have the same phi-gradient: Eq. 9's kappa is exactly 1 and the IGA update d(F - kappa f) is exactly
        # 0 (it was not before D's forward was shared by f and F only because spectral norm's power iteration moved
        # between the two forwards). Damping makes kappa small, so the flow through the surrogate is visible.
        p = {**p, "brc_damping": 1e4}
    g_loss, g_stats = method.g_loss(D, fake, p, ctx)
    g_loss.backward()
    for name, q in G.named_parameters():
        assert q.grad is not None and q.grad.abs().sum() > 0, name
    assert ("brc_kappa" in g_stats) == (variant == "brc")


def test_spectrally_normalised_g_deep_copies_after_build():
    """The training loop's EMA generator is ``copy.deepcopy(G)`` right after ``build``."""
    import copy

    G, _, _ = _build(SAGAN, "default", 16)
    E = copy.deepcopy(G).requires_grad_(False).eval()
    G.eval()
    z = torch.randn(2, 8)
    torch.testing.assert_close(E(z), G(z))


def test_method_settings():
    assert SNGAN.train_defaults == {"lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.0, 0.9]}
    assert SAGAN.train_defaults == {"lr_g": 1e-4, "lr_d": 4e-4, "betas": [0.0, 0.9]}
    assert set(SNGAN.variants) == {"plain", "default", "brc"} and set(SAGAN.variants) == {"default"}
    assert SNGAN.variants["brc"]["brc"] is True
    sn, sa = SNGAN.params("plain"), SAGAN.params("default")
    assert (sn["loss"], sn["n_critic"], sn["g_spectral_norm"], sn["d_spectral_norm"]) == ("hinge", 5, False, True)
    assert (sa["loss"], sa["n_critic"], sa["g_spectral_norm"], sa["d_spectral_norm"]) == ("hinge", 1, True, True)
    assert sa["resnet_layout"] == "imagenet" and sn["resnet_layout"] == "auto"
    for m in (SNGAN, SAGAN):  # every parameter build reads is declared
        assert {"resnet_layout", "g_spectral_norm", "d_spectral_norm", "attention_side"} <= m.param_names()
