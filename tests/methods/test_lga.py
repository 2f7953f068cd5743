"""LGA (ganrepro/methods/papers/lga.py): the amplifier's gradient (Eqs. 13-15) under both readings, the sign table that settles the
reading, zero LGA's blocking, SNGAN's pooled head keeping global sum pooling's scale, the D hinge + GP against a
hand computation, shapes, layer lists and gradient flow of every variant."""
import importlib.util
import math

import pytest
import torch

from ganrepro.methods.nn.resnet import ResNetDiscriminator
from conftest import ROOT
from ganrepro.methods import registry
from ganrepro.train.loop import Context, make_nets, train_step
from ganrepro.methods.papers import lga
from ganrepro.methods.papers.lga import METHOD

SMALL = {"z_dim": 16, "g_width": 8, "d_width": 8}
WGAN_GP_VARIANTS = ["lga4", "lga4_zero", "lga8", "lga4_literal", "lga8_literal", "lga4_zero_literal"]


def _ctx(seed=0):
    return Context(rng=torch.Generator().manual_seed(seed), device="cpu")


def _params(variant, res, **extra):
    return METHOD.params(variant, {**SMALL, "resolution": res, **extra})


# ------------------------------------------------------------------------------------------ the amplifier
def test_amplification_map_is_eq13_and_detached():
    y = torch.tensor([[[-2.0, 0.5], [1.0, 3.0]]], requires_grad=True)
    a = lga.amplification_map(y, 1.0)
    assert a.tolist() == [[[-2.0, 0.5], [1.0, 1.0]]] and not a.requires_grad
    assert lga.amplification_map(y, 0.0).tolist() == [[[-2.0, 0.0], [0.0, 0.0]]]


@pytest.mark.parametrize("reading", ["magnitude", "literal", "none"])
@pytest.mark.parametrize("cap", [1.0, 0.0])
def test_gradient_to_y_is_minus_w_over_the_mean(reading, cap):
    """Eq. 15: dL_G/dY = -w(A) / (B n^2) (w = |A|, A or 1), and dY^/dY applied to any upstream g is g ⊙ w."""
    y = (torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(0)) * 2).requires_grad_(True)
    y_hat, w = lga.local_gradient_amplifier(y, reading, cap)
    a = torch.clamp(y.detach(), max=cap)
    expected_w = {"magnitude": a.abs(), "literal": a, "none": torch.ones_like(a)}[reading]
    torch.testing.assert_close(w, expected_w)
    (g,) = torch.autograd.grad(-y_hat.mean(), y, retain_graph=True)
    torch.testing.assert_close(g, -expected_w / (3 * 4 * 4))
    up = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(1))
    (g2,) = torch.autograd.grad(y_hat, y, grad_outputs=up)
    torch.testing.assert_close(g2, up * expected_w)
    # through a layer below Y (Y = k x): the chain rule with the amplified upstream
    x = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    k = 1.7
    y2 = k * x
    y2_hat, w2 = lga.local_gradient_amplifier(y2, reading, cap)
    (gx,) = torch.autograd.grad(-y2_hat.mean(), x)
    torch.testing.assert_close(gx, -k * w2 / 48)


def test_zero_lga_blocks_realistic_regions_exactly():
    """Default reading, zero LGA: the gradient is exactly 0 wherever Y >= 0, and pushes every Y < 0 up."""
    y = torch.randn(4, 8, 8, generator=torch.Generator().manual_seed(3)).requires_grad_(True)
    p = METHOD.params("lga4_zero")
    assert (p["lga_reading"], p["lga_cap"]) == ("magnitude", 0.0)
    y_hat, _ = lga.local_gradient_amplifier(y, p["lga_reading"], p["lga_cap"])
    (g,) = torch.autograd.grad(-y_hat.mean(), y)
    real = y.detach() >= 0
    assert 0 < real.sum() < real.numel()
    assert torch.equal(g[real], torch.zeros_like(g[real]))
    assert (g[~real] < 0).all()  # descent moves Y by -g > 0: up


Y_REGIONS = [-2.0, -0.5, 0.0, 0.5, 1.0, 3.0]
SIGN_TABLE = {  # the sign of -dL_G/dY per region: which way a generator step moves that region's score
    ("magnitude", 1.0): ["up", "up", "none", "up", "up", "up"],
    ("literal", 1.0): ["down", "down", "none", "up", "up", "up"],
    ("magnitude", 0.0): ["up", "up", "none", "none", "none", "none"],
    ("literal", 0.0): ["down", "down", "none", "none", "none", "none"],
    ("none", 1.0): ["up", "up", "up", "up", "up", "up"],
}


@pytest.mark.parametrize("reading,cap", sorted(SIGN_TABLE))
def test_sign_table(reading, cap):
    """Regions D calls unrealistic (Y < 0) are pushed up under the magnitude reading (the paper's "gradient of
    unrealistic region is amplified") and down under the literal one; Y >= 1 keeps the plain gradient; zero LGA
    blocks Y >= 0. The strength is |w|: amplified (> 1) for Y = -2."""
    y = torch.tensor(Y_REGIONS).view(1, 2, 3).requires_grad_(True)
    y_hat, w = lga.local_gradient_amplifier(y, reading, cap)
    (g,) = torch.autograd.grad(-y_hat.mean(), y)
    push = -g.flatten() * y.numel()  # = w
    signs = ["up" if v > 0 else "down" if v < 0 else "none" for v in push.tolist()]
    assert signs == SIGN_TABLE[(reading, cap)]
    torch.testing.assert_close(push, w.flatten())
    if reading == "magnitude":
        assert push[0].item() == 2.0 and push[-1].item() == (1.0 if cap == 1.0 else 0.0)


def test_readings_agree_where_every_region_is_realistic():
    """Y >= 0 everywhere: magnitude and literal give the same loss and gradient; with some Y < 0 the gradients
    differ exactly there (opposite signs) and agree elsewhere."""
    pos = (torch.rand(2, 4, 4, generator=torch.Generator().manual_seed(4)) * 3).requires_grad_(True)
    out = {}
    for r in ("magnitude", "literal"):
        loss = -lga.local_gradient_amplifier(pos, r, 1.0)[0].mean()
        out[r] = (loss.detach(), torch.autograd.grad(loss, pos)[0])
    assert out["magnitude"][0].item() == out["literal"][0].item()
    assert torch.equal(out["magnitude"][1], out["literal"][1])
    mixed = (torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(5)) * 2).requires_grad_(True)
    g = {r: torch.autograd.grad(-lga.local_gradient_amplifier(mixed, r, 1.0)[0].mean(), mixed)[0]
         for r in ("magnitude", "literal")}
    neg = mixed.detach() < 0
    assert neg.any() and (~neg).any()
    torch.testing.assert_close(g["magnitude"][neg], -g["literal"][neg])
    assert (g["magnitude"][neg] < 0).all()
    assert torch.equal(g["magnitude"][~neg], g["literal"][~neg])


def test_g_loss_value_and_statistics_with_a_stub_d():
    y = torch.tensor([[[-2.0, -0.5], [0.5, 3.0]]])
    D = lambda x: y  # noqa: E731
    p = METHOD.params("lga4")
    loss, st = METHOD.g_loss(D, None, p, _ctx())
    # -mean(Y |min(Y, 1)|) = -(-4 - 0.25 + 0.25 + 3) / 4
    assert loss.item() == pytest.approx(1.0 / 4)
    assert st["lga_unrealistic"].item() == 0.5
    assert st["lga_amp"].item() == pytest.approx((2 + 0.5 + 0.5 + 1) / 4) and st["lga_amp_max"].item() == 2.0
    lit, _ = METHOD.g_loss(D, None, METHOD.params("lga8_literal"), _ctx())
    assert lit.item() == pytest.approx(-(4 + 0.25 + 0.25 + 3) / 4)
    assert set(st) | {"d_real", "d_fake"} == set(METHOD.stat_keys(p)) - {"gp"}


# ------------------------------------------------------------------------------------------ the D loss
def _linear_map_critic():
    """D(x)_ij = <w, x_:ij> with w = (1, 2, 2): a (B, 2, 2) map. Each image's mean score has gradient w / 4 at
    each of the 4 positions, norm sqrt(4 * 9) / 4 = 1.5 everywhere: GP = (1.5 - 1)^2 = 0.25 exactly."""
    w = torch.tensor([1.0, 2.0, 2.0]).view(1, 3, 1, 1)
    return lambda x: (x * w).sum(1)


def _images(ch0):
    x = torch.zeros(len(ch0), 3, 2, 2)
    x[:, 0] = torch.tensor(ch0).view(-1, 2, 2)
    return x


@pytest.mark.parametrize("variant,lam", [("lga4", 1.0), ("lga8", 1.0), ("lga4_zero", 1.0), ("sngan_lga4", 0.0)])
def test_d_loss_is_the_hinge_plus_lambda_gp(variant, lam):
    real = _images([[2.0, 0.5, -1.0, 1.0], [0.0, 0.0, 0.0, 3.0]])
    fake = _images([[-2.0, 0.0, 0.5, -0.5], [-1.0, -1.0, -1.0, -1.0]])
    # hinge per position: real max(0, 1 - Y): 0, .5, 2, 0 | 1, 1, 1, 0 -> 5.5 / 8; fake max(0, 1 + Y): 0, 1, 1.5, .5
    # | 0, 0, 0, 0 -> 3 / 8
    hinge = 5.5 / 8 + 3 / 8
    p = METHOD.params(variant)
    assert p["gp_lambda"] == lam
    loss, st = METHOD.d_loss(_linear_map_critic(), real, fake, p, _ctx())
    assert loss.item() == pytest.approx(hinge + lam * 0.25, rel=1e-6)
    assert st["d_real"].item() == pytest.approx((2.5 + 3) / 8) and st["d_fake"].item() == pytest.approx(-6.0 / 8)
    assert ("gp" in st) == (lam > 0) == ("gp" in METHOD.stat_keys(p))
    if lam:
        assert st["gp"].item() == pytest.approx(0.25, rel=1e-5)
        assert not st["gp"].requires_grad


# ------------------------------------------------------------------------------------------ SNGAN's pooled head
@pytest.mark.parametrize("res,side,scale", [(16, 4, 16.0), (32, 8, 64.0), (48, 12, 144.0)])
def test_sngan_pooling_keeps_the_scale_of_global_sum_pooling(res, side, scale):
    """A constant feature map c: global sum pooling gives h w c; every 2x2-averaged position times h w gives the
    same; the factor is 64 at 32 px (the paper's) and 144 at 48 px."""
    torch.manual_seed(0)
    D = lga.LGAResNetDiscriminator(res, 8)
    assert (D.feature_side, D.pool_scale, D.map_size) == (side, scale, side // 2)
    c = torch.arange(1.0, 17.0).view(1, 16, 1, 1) * 0.1  # one constant per channel
    h = c.expand(2, 16, side, side)
    pooled = D.pool(h)
    assert pooled.shape == (2, 16, side // 2, side // 2)
    torch.testing.assert_close(pooled, ResNetDiscriminator.pool(h)[:, :, None, None].expand_as(pooled))


@pytest.mark.parametrize("res", [32, 48])
def test_sngan_lga_map_mean_is_sngans_score(res):
    """Same weights (same names, same initial draws under one seed): the mean of the LGA map is SNGAN's score."""
    p = METHOD.params("sngan_lga4", {**SMALL, "resolution": res})
    ps = registry.get("sngan").params("default", {**SMALL, "resolution": res})
    torch.manual_seed(0)
    _, D = METHOD.build(p)
    torch.manual_seed(0)
    _, Ds = registry.get("sngan").build(ps)
    sd, sds = D.state_dict(), Ds.state_dict()
    assert list(sd) == list(sds) and all(torch.equal(sd[k], sds[k]) for k in sd)
    D.eval(), Ds.eval()
    x = torch.rand(3, 3, res, res, generator=torch.Generator().manual_seed(6)) * 2 - 1
    y = D(x)
    assert y.shape == (3, res // 8, res // 8)
    torch.testing.assert_close(y.mean(dim=(1, 2)), Ds(x), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------ networks
MAP_SIDE = {"lga4": 4, "lga4_zero": 4, "lga8": 8, "lga4_literal": 4, "lga8_literal": 8, "lga4_zero_literal": 4}


@pytest.mark.parametrize("res", [16, 32, 64])
@pytest.mark.parametrize("variant", sorted(METHOD.variants))
def test_shapes(variant, res):
    torch.manual_seed(0)
    G, D = METHOD.build(_params(variant, res))
    x = G(torch.randn(2, 16))
    assert x.shape == (2, 3, res, res)
    n = MAP_SIDE[variant] if variant in MAP_SIDE else {16: 2, 32: 4, 64: 2}[res]  # SNGAN: feature side / 2
    assert D(x).shape == (2, n, n) and D.output_shape == f"(B, {n}, {n})"


@pytest.mark.parametrize("res,n,trunk,head_in", [(32, 4, [64, 128, 256], 256), (32, 8, [64, 128], 128),
                                                 (64, 4, [64, 128, 256, 512], 512), (64, 8, [64, 128, 256], 256)])
def test_wgan_gp_family_layer_lists(res, n, trunk, head_in):
    """Full-scale widths: Conv(4, 2, 1) + LeakyReLU(0.2) units without norm down to n x n, then one 1x1 conv with
    one filter; at 32 px an 8x8 map leaves 2 trunk units."""
    p = METHOD.params(f"lga{n}", {"z_dim": 100, "g_width": 64, "d_width": 64, "resolution": res})
    _, D = METHOD.build(p)
    convs = [m for m in D.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == trunk
    assert all((c.kernel_size, c.stride, c.padding) == ((4, 4), (2, 2), (1, 1)) for c in convs)
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.LayerNorm)) for m in D.modules())
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, torch.nn.LeakyReLU))
    assert (D.head.in_channels, D.head.out_channels, D.head.kernel_size) == (head_in, 1, (1, 1))
    assert D.layer_lines()[-1].split()[:5] == [str(len(trunk)), "head", "Conv2d", f"{head_in}->1", "1/1/0"]


def test_sngan_variant_settings_and_layer_list():
    p = METHOD.params("sngan_lga4", {"g_width": 64, "d_width": 64, "resolution": 32})
    assert (p["z_dim"], p["n_critic"], p["gp_lambda"], p["d_spectral_norm"]) == (128, 5, 0.0, True)
    _, D = METHOD.build(p)
    assert D.channels == 128 and D.pool_scale == 64.0 and D.map_size == 4
    lines = D.layer_lines()
    assert "AvgPool2d(2, 2) x 64" in lines[-2] and "4x4" in lines[-2]
    assert "128->1" in lines[-1] and lines[-1].split()[-2:] == ["yes", "129"]  # spectral norm, 128 weights + bias


def test_builds_reject_a_head_without_a_map():
    with pytest.raises(ValueError, match="1x1 conv"):
        METHOD.build({**_params("lga4", 16), "d_head_kernel": 3})
    with pytest.raises(ValueError, match="arch"):
        METHOD.build({**_params("lga4", 16), "arch": "standard_cnn"})
    with pytest.raises(ValueError, match="lga_reading"):
        lga.local_gradient_amplifier(torch.zeros(1, 2, 2), "sign")


@pytest.mark.parametrize("variant", sorted(METHOD.variants))
def test_gradient_flow(variant):
    p = _params(variant, 16)
    torch.manual_seed(0)
    G, D = METHOD.build(p)
    real = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fake = G(torch.randn(4, 16, generator=torch.Generator().manual_seed(1)))
    d_loss, _ = METHOD.d_loss(D, real, fake.detach(), p, _ctx())
    d_loss.backward()
    assert all(q.grad is not None and torch.isfinite(q.grad).all() for q in D.parameters())
    assert all(q.grad is None for q in G.parameters())  # the D step does not touch G
    D.zero_grad()
    g_loss, st = METHOD.g_loss(D, fake, p, _ctx())
    assert 0 < st["lga_unrealistic"].item() < 1  # some regions of each kind, so every reading has a gradient
    g_loss.backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in G.parameters())


def test_every_parameter_is_declared():
    names = METHOD.param_names()
    assert set(METHOD.defaults) <= names and all(set(v) <= names for v in METHOD.variants.values())
    assert {"lga_reading", "lga_cap", "gp_lambda", "d_map_size", "d_head", "resnet_layout"} <= names
    assert METHOD.params("lga8")["lga_reading"] == "magnitude"  # the default reading


@pytest.mark.parametrize("variant", ["lga4", "sngan_lga4"])
def test_train_step_reports_the_declared_statistics_without_host_syncs(variant):
    """The loop's own step (n_critic 5 D updates, one G update): statistics are exactly the declared log keys,
    0-dim device tensors, and the losses make no host synchronisation (benchmarks/host_syncs.py's counter)."""
    spec = importlib.util.spec_from_file_location("host_syncs", ROOT / "benchmarks" / "host_syncs.py")
    hs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hs)
    p = _params(variant, 16)
    torch.manual_seed(0)
    nets = make_nets(METHOD, p, {"lr_g": 1e-4, "lr_d": 1e-4, "betas": [0.0, 0.9]})
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    with hs.SyncCounter() as c:
        st = train_step(METHOD, nets, lambda: real, p, _ctx())
    assert c.n == 0
    assert set(st) - {"d_loss", "g_loss"} == set(METHOD.stat_keys(p))
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and math.isfinite(v.item()) for v in st.values())


def test_step_benchmark_structure(tmp_path):
    """benchmarks/lga_step.py: every setup timed, each ratio the quotient of its medians, thread count restored
    (one tiny repeat; timings are never asserted)."""
    import json

    spec = importlib.util.spec_from_file_location("lga_step", ROOT / "benchmarks" / "lga_step.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "lga.json"
    before = torch.get_num_threads()
    assert bench.main(["--repeats", "1", "--warmup", "0", "--threads", "1", "--only", "32", "--batch", "2",
                       "--out", str(out)]) == 0
    assert torch.get_num_threads() == before
    res = json.loads(out.read_text())
    assert res["benchmark"] == "lga_step" and list(res["results"]) == ["32 px"]
    r = res["results"]["32 px"]
    assert (r["experiment"], r["resolution"], r["batch_size"]) == ("lga_cifar10", 32, 2)
    assert r["d_output"] == {"wgan_gp_hinge": "1", "map4_hinge": "4x4", "lga4": "4x4", "lga4_zero": "4x4",
                             "map8_hinge": "8x8", "lga8": "8x8"}
    assert set(r["n_critic"].values()) == {5}
    for name, a, b in bench.RATIOS:
        assert r["ratios"][name] == pytest.approx(r["seconds"][a] / r["seconds"][b], rel=0.01, abs=1e-3)
    assert r["g_step_stats"]["map4_hinge"]["lga_amp"] == 1.0  # the control has no amplifier


def test_every_lga_row_has_a_literal_twin():
    """Issue 31, finding 10: the literal Eq. 15 reading is a twin of every LGA variant of the tables (the default
    lga4 of Table 1 and sngan_lga4 of Table 2 included), differing only in ``lga_reading``."""
    base = [v for v in METHOD.variants if not v.endswith("_literal")]
    assert set(base) == {"lga4", "lga4_zero", "lga8", "sngan_lga4"}
    for v in base:
        twin, own = dict(METHOD.variants[f"{v}_literal"]), dict(METHOD.variants[v])
        assert twin.pop("lga_reading") == "literal" and own.get("lga_reading", "magnitude") == "magnitude"
        assert twin == {k: x for k, x in own.items() if k != "lga_reading"}
    assert METHOD.baseline_of("sngan_lga4_literal") == ("sngan", "default")
