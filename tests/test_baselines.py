"""Networks and losses of the baselines: shapes, hand-computed loss values, gradient flow."""
import math

import pytest
import torch

from baselines import losses
from baselines.nets import DCGANDiscriminator, DCGANGenerator
from ganrepro import registry


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
