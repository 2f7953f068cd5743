"""Networks and losses of the baselines: shapes, hand-computed loss values, gradient flow."""
import math

import pytest
import torch

from ganrepro.methods.nn import losses
from ganrepro.methods.nn.nets import DCGANDiscriminator, DCGANGenerator
from ganrepro.methods import registry


@pytest.mark.parametrize("res", [8, 16, 32, 64])
def test_shapes(res):
    G, D = DCGANGenerator(16, res, 8), DCGANDiscriminator(res, 8, norm="none")
    x = G(torch.randn(3, 16))
    assert x.shape == (3, 3, res, res) and x.abs().max() <= 1
    assert D(x).shape == (3,)


def test_bad_resolution():
    with pytest.raises(ValueError, match="power of two"):
        DCGANGenerator(16, 48, 8)


def test_losses_hand_computed():
    d_real, d_fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    assert losses.ns_d_loss(d_real, d_fake).item() == pytest.approx((sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(-3)) / 2)
    assert losses.ns_g_loss(d_fake).item() == pytest.approx((sp(-0.5) + sp(3)) / 2)
    # hinge: relu(1-2)=0, relu(1+1)=2 -> 1; relu(1+0.5)=1.5, relu(1-3)=0 -> 0.75
    assert losses.hinge_d_loss(d_real, d_fake).item() == pytest.approx(1.75)
    assert losses.hinge_g_loss(d_fake).item() == pytest.approx(1.25)
    assert losses.wasserstein_d_loss(d_real, d_fake).item() == pytest.approx(-1.25 - 0.5)


def test_gradient_penalty_linear_critic():
    """D(x) = <w, x>: grad norm = ||w|| everywhere, so GP = (||w|| - 1)^2 exactly."""
    w = torch.full((1, 3, 2, 2), 0.5)  # ||w|| = sqrt(12 * 0.25) = sqrt(3)
    D = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    gp = losses.gradient_penalty(D, real, fake, torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx((math.sqrt(3) - 1) ** 2, rel=1e-5)


@pytest.mark.parametrize("name,variant", [("dcgan", "ns"), ("dcgan", "hinge"), ("wgan_gp", "default"),
                                          ("wgan_gp", "hinge")])
def test_gradient_flow(name, variant):
    m = registry.get(name)
    p = m.params(variant, {"z_dim": 8, "g_width": 4, "d_width": 4, "resolution": 16})
    torch.manual_seed(0)
    G, D = m.build(p)

    class Ctx:
        rng = torch.Generator().manual_seed(0)

    real = torch.rand(4, 3, 16, 16) * 2 - 1
    fake = G(torch.randn(4, 8))
    d_loss, _ = m.d_loss(D, real, fake.detach(), p, Ctx)
    d_loss.backward()
    assert all(q.grad is not None and torch.isfinite(q.grad).all() for q in D.parameters())
    assert all(q.grad is None for q in G.parameters())  # D step must not touch G
    D.zero_grad()
    g_loss, _ = m.g_loss(D, fake, p, Ctx)
    g_loss.backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in G.parameters() if q.requires_grad)


def test_registry_unknown():
    with pytest.raises(KeyError, match="unknown method"):
        registry.get("nope")
    with pytest.raises(KeyError, match="no variant"):
        registry.get("dcgan").params("wasserstein")


# ------------------------------------------------------------------ the loss table and map-shaped discriminators
def test_margin_hinge_generator_loss_hand_computed():
    d_fake = torch.tensor([0.5, -3.0, 2.0])  # max(0, 1 - D): 0.5, 4, 0 -> 1.5
    assert losses.hinge_margin_g_loss(d_fake).item() == pytest.approx(1.5)
    assert losses.loss_pair("hinge_margin").d is losses.hinge_d_loss


def test_unknown_loss_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown loss 'hinj'.*hinge"):
        losses.loss_pair("hinj")


def _map_d(res=16, map_size=4, kernel=3):
    torch.manual_seed(0)
    return DCGANDiscriminator(res, 8, norm="none", head="map", head_kernel=kernel, map_size=map_size)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
@pytest.mark.parametrize("map_size", [4, 8])
def test_map_outputs_flow_through_every_loss(name, map_size):
    """(B, h, w) outputs: each loss is the mean of the per-position losses, and gradients reach D and the fakes."""
    D = _map_d(map_size=map_size)
    real = torch.rand(3, 3, 16, 16) * 2 - 1
    fake = (torch.rand(3, 3, 16, 16) * 2 - 1).requires_grad_(True)
    pair = losses.loss_pair(name)
    d_real, d_fake = D(real), D(fake)
    assert d_real.shape == (3, map_size, map_size)
    d = pair.d(d_real, d_fake)
    assert d.item() == pytest.approx(pair.d(d_real.flatten(), d_fake.flatten()).item(), rel=1e-6)
    d.backward(retain_graph=True)
    assert all(q.grad is not None and torch.isfinite(q.grad).all() for q in D.parameters())
    g = pair.g(D(fake))
    (gf,) = torch.autograd.grad(g, fake)
    assert gf.abs().sum() > 0


@pytest.mark.parametrize("map_size", [None, 4, 8])
def test_gradient_penalty_is_per_sample(map_size):
    """GP equals a hand loop: for each sample alone, the gradient of its score (a map's mean) at x_hat_i."""
    torch.manual_seed(0)
    D = DCGANDiscriminator(16, 8, norm="none") if map_size is None else _map_d(map_size=map_size)
    real, fake = torch.rand(4, 3, 16, 16) * 2 - 1, torch.rand(4, 3, 16, 16) * 2 - 1
    gp = losses.gradient_penalty(D, real, fake, torch.Generator().manual_seed(5))
    eps = torch.rand(4, 1, 1, 1, generator=torch.Generator().manual_seed(5))
    hand = []
    for i in range(4):
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(D(x).mean(), x)
        hand.append((g.norm() - 1) ** 2)
    assert gp.item() == pytest.approx(torch.stack(hand).mean().item(), rel=1e-5)


def test_gradient_penalty_of_a_map_is_not_the_summed_map():
    """Regression: summing the whole map would scale each sample's gradient by h*w."""
    D = _map_d(map_size=4)
    real, fake = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    gp = losses.gradient_penalty(D, real, fake, torch.Generator().manual_seed(1))
    eps = torch.rand(2, 1, 1, 1, generator=torch.Generator().manual_seed(1))
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x)
    summed = ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert abs(gp.item() - summed.item()) > 1e-3


@pytest.mark.parametrize("name,variant", [("dcgan", "ns"), ("wgan_gp", "hinge"), ("lsgan", "plain")])
def test_methods_train_with_a_map_head(name, variant):
    """A method parameter d_head: map gives a patch discriminator; the method's losses and GP take it as is."""
    m = registry.get(name)
    p = m.params(variant, {"z_dim": 8, "g_width": 4, "d_width": 4, "resolution": 16, "d_head": "map",
                           "d_head_kernel": 1, "d_map_size": 8})
    torch.manual_seed(0)
    G, D = m.build(p)

    class Ctx:
        rng = torch.Generator().manual_seed(0)

    real = torch.rand(4, 3, 16, 16) * 2 - 1
    assert D(real).shape == (4, 8, 8)
    d_loss, stats = m.d_loss(D, real, G(torch.randn(4, 8)).detach(), p, Ctx)
    d_loss.backward()
    assert torch.isfinite(d_loss) and all(v.dim() == 0 for v in stats.values())
    g_loss, _ = m.g_loss(D, G(torch.randn(4, 8)), p, Ctx)
    g_loss.backward()
    assert all(q.grad is not None for q in G.parameters())


def test_every_method_declares_its_parameters():
    """param_names covers every default and variant key, and the network options of the DCGAN family."""
    from ganrepro.methods.nn.nets import NET_PARAMS

    for name in registry.registered():
        m = registry.get(name)
        names = m.param_names()
        assert set(m.defaults) <= names
        for v in m.variants.values():
            assert set(v) <= names
    assert set(NET_PARAMS) <= registry.get("wgan_gp").param_names()
    assert "brc_solver" in registry.get("vgan").param_names() and "brc_solver" not in \
        registry.get("unrolled_gan").param_names()
