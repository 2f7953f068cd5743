"""Miyato et al.'s standard CNN (ganrepro/methods/nn/standard_cnn.py) and the baselines built on it or on the WGAN-GP family:
SNDCGAN, GeoGAN and StudioGAN's deep_conv DCGAN / LSGAN of BRC's CIFAR table."""
import pytest
import torch

from ganrepro.methods.nn.nets import has_spectral_norm
from ganrepro.methods.nn.standard_cnn import StandardCNNDiscriminator, StandardCNNGenerator, build_standard_cnn
from ganrepro.methods import registry

MIYATO_D_32 = [  # Miyato et al. 2018, Appendix B.4 Table 3(b): (in, out, kernel, stride) of the seven convs at M = 32
    (3, 64, 3, 1), (64, 64, 4, 2), (64, 128, 3, 1), (128, 128, 4, 2), (128, 256, 3, 1), (256, 256, 4, 2),
    (256, 512, 3, 1)]


class Ctx:
    rng = torch.Generator().manual_seed(0)
    device = "cpu"


def _params(name, variant, res=16, **extra):
    return registry.get(name).params(variant, {"z_dim": 8, "g_width": 4, "d_width": 4, "resolution": res, **extra})


@pytest.mark.parametrize("res", [16, 32, 48, 64, 128])
def test_standard_cnn_shapes(res):
    G = StandardCNNGenerator(8, res, 4)
    D = StandardCNNDiscriminator(res, 4, spectral_norm=True)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 3, res, res) and x.abs().max() <= 1
    assert D.features(x).shape == (3, 32, res // 8, res // 8)
    assert D(x).shape == (3,)


def test_standard_cnn_bad_resolution():
    with pytest.raises(ValueError, match="divisible by 8"):
        StandardCNNGenerator(8, 20, 4)


def test_standard_cnn_matches_miyato_table3_at_full_width():
    G = StandardCNNGenerator(128, 32, 64)
    D = StandardCNNDiscriminator(32, 64)
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in D.convs] == MIYATO_D_32
    assert D.dense.in_features == 4 * 4 * 512 and isinstance(D.act, torch.nn.LeakyReLU) and D.act.negative_slope == 0.1
    assert G.dense.out_features == 4 * 4 * 512
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in G.deconvs] == \
        [(512, 256, 4, 2), (256, 128, 4, 2), (128, 64, 4, 2)]
    assert (G.out.in_channels, G.out.out_channels, G.out.kernel_size[0]) == (64, 3, 3)
    lines = D.layer_lines()
    assert len(lines) == 1 + 7 + 1 and "8192->1" in lines[-1]


@pytest.mark.parametrize("pool", ["flatten", "sum"])
def test_discriminator_head_brute_force(pool):
    torch.manual_seed(0)
    D = StandardCNNDiscriminator(16, 4, pool=pool)
    x = torch.randn(2, 3, 16, 16)
    h = D.features(x)
    w, b = D.dense.weight[0], D.dense.bias[0]
    for i in range(2):
        if pool == "flatten":
            expected = sum(h[i].reshape(-1)[j] * w[j] for j in range(h[i].numel())) + b
        else:  # global sum pooling: one sum per channel, then the dense layer
            expected = sum(h[i, c].sum() * w[c] for c in range(h.shape[1])) + b
        assert D(x)[i].item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)


def test_sndcgan_network_and_settings():
    m = registry.get("sndcgan")
    G, D = m.build(_params("sndcgan", "default"))
    assert isinstance(D, StandardCNNDiscriminator) and D.pool_kind == "flatten"
    layers = list(D.convs) + [D.dense]
    assert all(has_spectral_norm(q) for q in layers)                     # every D layer, the dense one included
    assert not any(isinstance(q, torch.nn.BatchNorm2d) for q in D.modules())
    assert not any(has_spectral_norm(q) for q in G.modules())
    assert m.train_defaults == {"lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999]}
    assert m.params("default")["z_dim"] == 128 and m.params("default")["n_critic"] == 1


def test_studiogan_deep_conv_options():
    p = _params("dcgan", "ns", 32, arch="standard_cnn", d_norm="batch", d_activation="relu", d_pool="sum",
                g_dense_norm=False)
    G, D = registry.get("dcgan").build(p)
    assert sum(isinstance(q, torch.nn.BatchNorm2d) for q in D.modules()) == 7
    assert isinstance(D.act, torch.nn.ReLU) and D.pool_kind == "sum" and D.dense.in_features == 32
    assert G.dense_norm is None and not any(has_spectral_norm(q) for q in D.modules())
    with pytest.raises(ValueError, match="unknown arch"):
        registry.get("dcgan").build({**p, "arch": "resnet"})


def _stub(scores_real, scores_fake):
    """A 'discriminator' that returns fixed scores: the real batch is recognised by its first value."""
    def D(x):
        return scores_real if x[0, 0, 0, 0] > 0 else scores_fake
    return D


def test_geogan_and_sndcgan_losses_hand_computed():
    real, fake = torch.ones(2, 3, 16, 16), -torch.ones(2, 3, 16, 16)
    D = _stub(torch.tensor([0.5, 2.0]), torch.tensor([-2.0, 0.25]))
    # GeoGAN, hinge: D = mean(relu(1 - [0.5, 2])) + mean(relu(1 + [-2, 0.25])) = 0.25 + 0.625; G = -mean(fake)
    p = _params("geogan", "default")
    loss, stats = registry.get("geogan").d_loss(D, real, fake, p, Ctx)
    assert loss.item() == pytest.approx(0.875) and stats["d_real"].item() == pytest.approx(1.25)
    assert registry.get("geogan").g_loss(D, fake, p, Ctx)[0].item() == pytest.approx(0.875)
    # SNDCGAN, non-saturating: softplus(-d_real) + softplus(d_fake); G softplus(-d_fake)
    sp = torch.nn.functional.softplus
    p = _params("sndcgan", "default")
    loss, _ = registry.get("sndcgan").d_loss(D, real, fake, p, Ctx)
    expected = (sp(torch.tensor(-0.5)) + sp(torch.tensor(-2.0))) / 2 + (sp(torch.tensor(-2.0)) + sp(torch.tensor(0.25))) / 2
    assert loss.item() == pytest.approx(expected.item())
    g, _ = registry.get("sndcgan").g_loss(D, fake, p, Ctx)
    assert g.item() == pytest.approx(((sp(torch.tensor(2.0)) + sp(torch.tensor(-0.25))) / 2).item())


def test_geogan_weight_clipping_bound():
    m = registry.get("geogan")
    p = _params("geogan", "default")
    assert p["clip"] == 0.01 and m.after_d_step is not None and "gp_lambda" not in p
    torch.manual_seed(0)
    _, D = m.build(p)
    with torch.no_grad():
        for q in D.parameters():
            q.mul_(10)
    scaled = [q.detach().clone() for q in D.parameters()]
    m.after_d_step(D, p)
    for q, s in zip(D.parameters(), scaled):
        assert q.abs().max() <= 0.01 + 1e-12
        inside = s.abs() <= 0.01
        assert torch.equal(q[inside], s[inside])                           # inside the bound: untouched
        assert torch.equal(q[~inside], 0.01 * torch.sign(s[~inside]))      # outside: at the bound, same sign
    assert any((s.abs() > 0.01).any() for s in scaled)                    # some weights did exceed the bound


@pytest.mark.parametrize("name,variant,extra", [
    ("sndcgan", "default", {}), ("sndcgan", "hinge", {}), ("geogan", "default", {}),
    ("dcgan", "ns", {"arch": "standard_cnn", "d_norm": "batch", "d_pool": "sum", "g_dense_norm": False}),
    ("lsgan", "plain", {"arch": "standard_cnn", "d_norm": "batch", "d_pool": "sum"})])
def test_gradient_flow(name, variant, extra):
    m = registry.get(name)
    p = _params(name, variant, **extra)
    torch.manual_seed(0)
    G, D = m.build(p)
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    fake = G(torch.randn(4, 8))
    d_loss, _ = m.d_loss(D, real, fake.detach(), p, Ctx)
    d_loss.backward()
    assert all(q.grad is not None and torch.isfinite(q.grad).all() for q in D.parameters())
    assert all(q.grad is None for q in G.parameters())
    D.zero_grad()
    g_loss, _ = m.g_loss(D, fake, p, Ctx)
    g_loss.backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in G.parameters())


def test_build_rejects_bad_options():
    with pytest.raises(ValueError, match="d_pool"):
        build_standard_cnn({"z_dim": 8, "g_width": 4, "d_width": 4, "resolution": 16, "d_pool": "max"})
    with pytest.raises(ValueError, match="d_spectral_norm"):
        build_standard_cnn({"z_dim": 8, "g_width": 4, "d_width": 4, "resolution": 16, "d_spectral_norm": "last:2"})
