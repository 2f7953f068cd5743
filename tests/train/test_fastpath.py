"""The fast path of the shared loop (ganrepro.train.fastpath): each switch gives the default path's batches and results
(exactly where the arithmetic is the same, within a stated tolerance where it is not), and resume stays exact."""
import copy

import numpy as np
import pytest
import torch

from ganrepro.train import fastpath
from ganrepro.methods import registry
from ganrepro.data.loader import BatchSampler
from ganrepro.train.loop import Context, make_nets, train


def _weights(path):
    s = torch.load(path, weights_only=False)
    return {**{f"G.{k}": v for k, v in s["G"].items()}, **{f"D.{k}": v for k, v in s["D"].items()}}


def _same(a, b):
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _close(a, b, tol):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k].float(), b[k].float(), rtol=tol, atol=tol, msg=k)


def _with_fast(run, **fast):
    run = copy.deepcopy(run)
    run["train"]["fast"] = fast
    return run


def test_prefetch_gives_the_samplers_batches_and_its_state_after_the_consumed_ones():
    images = np.random.default_rng(0).integers(0, 256, size=(20, 4, 4, 3), dtype=np.uint8)
    plain, ahead = BatchSampler(images, 6, seed=3), BatchSampler(images, 6, seed=3)
    pre = fastpath.Prefetcher(ahead, depth=3, device="cpu")
    try:
        for k in range(10):  # three epochs and a bit (3 batches of 6 per epoch of 20)
            torch.testing.assert_close(pre.next(), plain.next(), rtol=0, atol=0)
            s, p = pre.state_dict(), plain.state_dict()
            assert (s["epoch"], s["pos"]) == (p["epoch"], p["pos"]) and torch.equal(s["perm"], p["perm"])
            assert torch.equal(s["gen"], p["gen"]), k
    finally:
        pre.close()


def test_prefetch_and_data_on_device_train_to_identical_weights(smoke_run_cfg, tmp_path):
    train(smoke_run_cfg, tmp_path / "plain")
    for name, fast in [("prefetch", {"prefetch": 2}), ("device", {"data_on_device": True}),
                       ("pinned", {"prefetch": 1, "pin_memory": True})]:
        train(_with_fast(smoke_run_cfg, **fast), tmp_path / name)
        _same(_weights(tmp_path / "plain" / "final.pt"), _weights(tmp_path / name / "final.pt"))


def test_prefetch_resume_is_bit_identical(smoke_run_cfg, tmp_path):
    run = _with_fast(smoke_run_cfg, prefetch=3)
    train(run, tmp_path / "straight")
    assert train(run, tmp_path / "resumed", on_step=lambda s: s >= 3)["status"] == "interrupted"
    train(run, tmp_path / "resumed")
    _same(_weights(tmp_path / "straight" / "final.pt"), _weights(tmp_path / "resumed" / "final.pt"))


def test_default_resume_stays_bit_identical_with_every_switch_at_its_default(smoke_run_cfg, tmp_path):
    run = _with_fast(smoke_run_cfg, **fastpath.FAST_DEFAULTS)
    train(run, tmp_path / "straight")
    train(run, tmp_path / "resumed", on_step=lambda s: s >= 3)
    train(run, tmp_path / "resumed")
    _same(_weights(tmp_path / "straight" / "final.pt"), _weights(tmp_path / "resumed" / "final.pt"))


def test_channels_last_and_fused_adam_match_the_default_path(smoke_run_cfg, tmp_path):
    train(smoke_run_cfg, tmp_path / "plain")
    for name, fast in [("cl", {"channels_last": True}), ("fused", {"fused_adam": True})]:
        train(_with_fast(smoke_run_cfg, **fast), tmp_path / name)
        _close(_weights(tmp_path / "plain" / "final.pt"), _weights(tmp_path / name / "final.pt"), 1e-4)


def test_z_on_device_trains_and_resumes_exactly(smoke_run_cfg, tmp_path):
    run = _with_fast(smoke_run_cfg, z_on_device=True)
    train(run, tmp_path / "straight")
    train(run, tmp_path / "resumed", on_step=lambda s: s >= 3)
    train(run, tmp_path / "resumed")
    _same(_weights(tmp_path / "straight" / "final.pt"), _weights(tmp_path / "resumed" / "final.pt"))


BF16_LOSS_RTOL = 0.05      # bf16 keeps 8 bits of mantissa: ~0.4 % per rounding, a few % through a network
# the parameter gradients point the same way: cosine >= 0.99 without BatchNorm (measured 0.9989-0.9998 for
# WGAN-GP and LGA), >= 0.9 with it (StudioGAN's deep_conv DCGAN, BatchNorm on a batch of 8 in bf16: 0.94 / 0.97)
BF16_GRAD_COSINE = {"wgan_gp": 0.99, "lga": 0.99, "dcgan": 0.9}


@pytest.mark.parametrize("method_name,variant", [("wgan_gp", "default"), ("dcgan", "ns"), ("lga", "lga4")])
def test_bf16_step_matches_fp32_within_tolerance(method_name, variant):
    """The discriminator and generator losses and their parameter gradients of the same networks and batches under
    bf16 autocast on the CPU (as d_step / g_step run them): losses within BF16_LOSS_RTOL of fp32, gradients with
    cosine similarity >= BF16_GRAD_COSINE."""
    from ganrepro.config import config as C

    base = C.load_config()
    exp = "brc_cifar10" if method_name == "dcgan" else "lga_cifar10"
    rc = C.resolve_run(base, exp, method_name, variant, 0)
    params = dict(rc["method_params"], resolution=16)
    method = registry.get(method_name)
    g = torch.Generator().manual_seed(0)
    real, z = torch.rand(8, 3, 16, 16, generator=g) * 2 - 1, torch.randn(8, params["z_dim"], generator=g)
    torch.manual_seed(0)
    nets = make_nets(method, params, rc["train"])
    out = {}
    for bf16 in (False, True):
        ctx = Context(rng=torch.Generator().manual_seed(1), device="cpu", bf16=bf16, real=real, z=z)
        torch.manual_seed(5)  # the gradient penalty's interpolation draws
        with fastpath.autocast("cpu", bf16):
            d_loss, _ = method.d_loss(nets.D, real, nets.G(z).detach(), params, ctx)
        gd = torch.autograd.grad(d_loss, [q for q in nets.D.parameters()], allow_unused=True)
        with fastpath.autocast("cpu", bf16):
            g_loss, _ = method.g_loss(nets.D, nets.G(z), params, ctx)
        gg = torch.autograd.grad(g_loss, list(nets.G.parameters()), allow_unused=True)
        flat = [torch.cat([x.float().flatten() for x in grads if x is not None]) for grads in (gd, gg)]
        out[bf16] = (float(d_loss.detach()), float(g_loss.detach()), *flat)
    (d32, g32, gd32, gg32), (d16, g16, gd16, gg16) = out[False], out[True]
    assert d16 == pytest.approx(d32, rel=BF16_LOSS_RTOL, abs=1e-3)
    assert g16 == pytest.approx(g32, rel=BF16_LOSS_RTOL, abs=1e-3)
    for a, b in ((gd32, gd16), (gg32, gg16)):
        assert float(torch.nn.functional.cosine_similarity(a, b, dim=0)) >= BF16_GRAD_COSINE[method_name]
    assert not torch.equal(gd32, gd16)  # autocast did run in bf16


def test_compile_falls_back_to_eager_with_a_message(monkeypatch, capsys):
    G = torch.nn.Sequential(torch.nn.Linear(4, 3))
    z = torch.randn(2, 4)
    want = G(z)

    def broken(fn, *a, **k):
        def call(*x, **y):
            raise RuntimeError("no C++ compiler found")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    assert fastpath.compile_generator(G, 4, "cpu") is False
    assert "torch.compile is unavailable here (RuntimeError: no C++ compiler found)" in capsys.readouterr().err
    torch.testing.assert_close(G(z), want)


def test_unknown_fast_key_and_oversized_device_data_are_refused():
    with pytest.raises(ValueError, match=r"train.fast: unknown key\(s\) \['prefetchh'\]"):
        fastpath.fast_options({"fast": {"prefetchh": 2}})
    s = BatchSampler(np.zeros((4, 2, 2, 3), np.uint8), 2, 0)
    with pytest.raises(ValueError, match="more than data_on_device_max_gb"):
        fastpath.DeviceData(s, "cpu", max_gb=1e-9)


def test_config_schema_knows_the_fast_keys():
    from ganrepro.config import config as C

    cfg = C.load_config()
    cfg["train_defaults"]["fast"] = {"prefetch": 2, "bf16": True, "channels_last": True}
    C.validate_config(cfg)
    cfg["train_defaults"]["fast"] = {"prefetchh": 2}
    with pytest.raises(C.ConfigError, match=r"train_defaults.fast.*prefetchh"):
        C.validate_config(cfg)
