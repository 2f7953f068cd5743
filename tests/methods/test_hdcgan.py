"""HDCGAN (ganrepro/methods/papers/hdcgan.py): the 512 px layer list of its docstring, BatchNorm + SELU units, input noise in
training mode only, the variants' readings, the loss, gradient flow."""
import pytest
import torch
from torch import nn

from ganrepro.methods import registry
from ganrepro.train.loop import Context, make_nets, train_step
from ganrepro.methods.papers import hdcgan

M = registry.get("hdcgan")


def _params(variant, resolution=512, width=64, z_dim=100):
    return M.params(variant, {"resolution": resolution, "g_width": width, "d_width": width, "z_dim": z_dim})


def _build_meta(variant, **kw):
    with torch.device("meta"):  # shapes and parameter counts of the 185 M + 179 M parameter nets, no memory
        return hdcgan.build(_params(variant, **kw))


def _convs(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


def test_512px_layer_list_and_parameter_counts_of_the_docstring():
    G, D = _build_meta("default")
    g = [(c.in_channels, c.out_channels) for c in _convs(G)]
    d = [(c.in_channels, c.out_channels) for c in _convs(D)]
    assert g == [(100, 4096), (4096, 2048), (2048, 1024), (1024, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    assert d == [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1024), (1024, 2048), (2048, 4096), (4096, 1)]
    # by hand: 4x4 kernels; convs followed by BatchNorm have no bias, BatchNorm has 2 parameters per channel
    g_count = sum(i * o * 16 + 2 * o for i, o in g[:-1]) + 64 * 3 * 16 + 3
    d_count = sum(i * o * 16 + 2 * o for i, o in d[:-1]) + 4096 * 16 + 1
    assert (sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters())) == \
        (g_count, d_count) == (185_486_211, 178_998_145)
    z = torch.empty(2, 100, device="meta")
    assert tuple(G(z).shape) == (2, 3, 512, 512) and tuple(D(G(z)).shape) == (2,)


def test_cap8_keeps_dcgans_64px_maximum():
    G, D = _build_meta("cap8")
    assert max(c.out_channels for c in _convs(G)) == max(c.out_channels for c in _convs(D)) == 512
    assert hdcgan.max_channels(64, 512, None) == 4096 and hdcgan.max_channels(64, 64, None) == 512


def _units(net):
    """(conv, next module, the one after) for every conv of the trunk."""
    mods = list((net.net if hasattr(net, "net") else net.features).children())
    return [(m, mods[i + 1] if i + 1 < len(mods) else None, mods[i + 2] if i + 2 < len(mods) else None)
            for i, m in enumerate(mods) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


@pytest.mark.parametrize("variant,d_first_bn", [("default", True), ("dcgan_norms", False)])
def test_every_unit_is_batchnorm_plus_selu_where_the_docstring_says(variant, d_first_bn):
    G, D = hdcgan.build(_params(variant, resolution=64, width=4, z_dim=8))
    g_units, d_units = _units(G), _units(D)
    for conv, a, b in g_units[:-1]:  # every G unit but the output: BN + SELU
        assert isinstance(a, nn.BatchNorm2d) and isinstance(b, nn.SELU) and conv.bias is None
    assert isinstance(g_units[-1][1], nn.Tanh)  # no BN at G's output (DCGAN)
    first = d_units[0]
    if d_first_bn:
        assert isinstance(first[1], nn.BatchNorm2d) and isinstance(first[2], nn.SELU)
    else:  # DCGAN's placement: SELU but no BatchNorm on D's input unit
        assert isinstance(first[1], nn.SELU) and first[0].bias is not None
    for conv, a, b in d_units[1:]:
        assert isinstance(a, nn.BatchNorm2d) and isinstance(b, nn.SELU)
    assert isinstance(D.head, nn.Conv2d) and not any(isinstance(m, nn.LeakyReLU | nn.ReLU) for m in D.modules())


def test_input_noise_in_training_mode_only():
    torch.manual_seed(0)
    G, D = hdcgan.build(_params("default", resolution=16, width=4, z_dim=8))
    assert G.input_noise.std.item() == D.input_noise.std.item() == pytest.approx(0.1)
    z, x = torch.randn(4, 8), torch.rand(4, 3, 16, 16) * 2 - 1
    G.eval(), D.eval()
    with torch.no_grad():
        assert torch.equal(G(z), G.net(z.view(4, 8, 1, 1))) and torch.equal(D(x), D.head(D.features(x)).flatten())
        assert torch.equal(G(z), G(z))
        D.train()  # BatchNorm in train mode sees noisy inputs: two calls differ, and the noise has the stated std
        assert not torch.equal(D(x), D(x))
        noisy = D.input_noise(torch.zeros(20000))
    assert abs(noisy.std().item() - 0.1) < 0.005 and abs(noisy.mean().item()) < 0.005


def test_sampling_uses_eval_mode(tmp_path):
    """The generator the metrics and sample grids use is built in eval mode: no input noise at sampling."""
    from ganrepro.runs import snapshots

    p = _params("default", resolution=16, width=4, z_dim=8)
    G, _ = hdcgan.build(p)
    run_cfg = {"method": "hdcgan", "variant": "default", "method_params": p}
    G2 = snapshots.build_generator(run_cfg, {"G": G.state_dict()}, "cpu")
    assert not G2.training and not G2.input_noise.training


def test_standard_gan_loss_by_hand():
    """Eq. 1 with the non-saturating G loss: L_D = softplus(-D(x)) + softplus(D(G(z))), L_G = softplus(-D(G(z)))."""
    class Const(nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, 0]

    real, fake = torch.tensor([[2.0], [0.0]]), torch.tensor([[-1.0], [1.0]])
    p = _params("default", resolution=16, width=4, z_dim=8)
    ld, _ = M.d_loss(Const(), real, fake, p, Context(rng=torch.Generator(), device="cpu"))
    lg, _ = M.g_loss(Const(), fake, p, Context(rng=torch.Generator(), device="cpu"))
    sp = nn.functional.softplus
    want_d = (sp(torch.tensor([-2.0, 0.0])).mean() + sp(torch.tensor([-1.0, 1.0])).mean())
    assert ld.item() == pytest.approx(want_d.item()) and lg.item() == pytest.approx(sp(torch.tensor([1.0, -1.0])).mean().item())


@pytest.mark.parametrize("variant", sorted(M.variants))
def test_one_training_step_moves_every_parameter(variant):
    torch.manual_seed(0)
    p = _params(variant, resolution=32, width=4, z_dim=8)
    nets = make_nets(M, p, {"lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999]})
    before = {n: q.detach().clone() for n, q in [*nets.G.named_parameters(), *nets.D.named_parameters()]}
    real = torch.rand(8, 3, 32, 32) * 2 - 1
    train_step(M, nets, lambda: real, p, Context(rng=torch.Generator().manual_seed(1), device="cpu"))
    after = dict([*nets.G.named_parameters(), *nets.D.named_parameters()])
    assert all(not torch.equal(before[n], after[n]) for n in before)
