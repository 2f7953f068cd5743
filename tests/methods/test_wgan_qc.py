"""WGAN-QC (ganrepro/methods/baselines/wgan_qc.py, ganrepro/methods/nn/resnet_qc.py): the exact batch OT against brute force and a closed form,
the potentials' normalisation, the discriminator / generator losses against hand computations, gradient flow,
network shapes, the one host synchronisation per D step, and the error when POT is missing."""
import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganrepro.methods.baselines import wgan_qc as Q
from ganrepro.methods.nn.resnet_qc import QCDiscriminator, QCGenerator
from ganrepro.methods.baselines.wgan_qc import METHOD
from ganrepro.methods import registry
from tests.train.test_train import _syncs_per_step


class Ctx:
    rng = torch.Generator().manual_seed(0)


def _brute_force(C: np.ndarray):
    """(min over permutations of mean_j C[s(j), j], the minimising s): the exact OT for n = m uniform weights
    (Birkhoff: an optimal plan is a permutation / n)."""
    n = C.shape[0]
    best = min(itertools.permutations(range(n)), key=lambda s: sum(C[s[j], j] for j in range(n)))
    return sum(C[best[j], j] for j in range(n)) / n, list(best)


@pytest.mark.parametrize("n,seed", [(3, 0), (4, 1), (4, 2)])
def test_ot_against_brute_force(n, seed):
    g = torch.Generator().manual_seed(seed)
    real, fake = torch.rand(n, 3, 2, 2, generator=g) * 2 - 1, torch.rand(n, 3, 2, 2, generator=g) * 2 - 1
    K = 1.0 / 12
    C = Q.transport_cost(real, fake, K)
    hand = np.array([[K / 2 * float(((real[i] - fake[j]) ** 2).sum()) for j in range(n)] for i in range(n)])
    assert C.dtype == torch.float64 and np.allclose(C.numpy(), hand, rtol=1e-6, atol=1e-9)
    sol = Q.solve_ot(C)
    cost, best = _brute_force(C.numpy())
    phi, psi, M = sol.phi.numpy(), sol.psi.numpy(), C.numpy()
    assert sol.cost.item() == pytest.approx(cost, rel=1e-10)
    assert sol.match.tolist() == best                                  # the plan is the optimal permutation
    assert (phi[:, None] - psi[None, :] <= M + 1e-12).all()            # dual feasibility: phi_i - psi_j <= C_ij
    assert phi.mean() - psi.mean() == pytest.approx(cost, rel=1e-10)   # strong duality
    j = np.arange(n)
    assert np.allclose(phi[best] - psi, M[best, j], atol=1e-12)        # complementary slackness on the matching
    assert phi.sum() + psi.sum() == pytest.approx(0.0, abs=1e-12)      # the normalisation


def test_ot_one_dimensional_is_the_sorted_matching():
    """In 1-D a convex cost is minimised by the monotone matching: the k-th smallest fake goes to the k-th smallest
    real, W_c = K/2 mean_k (x_(k) - y_(k))^2 (K = 1 / dim = 1 here)."""
    x = torch.tensor([0.3, -1.2, 2.0, 0.9, -0.4, 1.5], dtype=torch.float64)
    y = torch.tensor([1.1, -0.2, -2.5, 0.4, 3.0, 0.0], dtype=torch.float64)
    real, fake = x.view(-1, 1, 1, 1), y.view(-1, 1, 1, 1)
    K = Q.cost_k({"cost_K": None}, real)
    assert K == 1.0
    sol = Q.solve_ot(Q.transport_cost(real, fake, K))
    rx, ry = torch.argsort(x), torch.argsort(y)
    expected = torch.empty(6, dtype=torch.long)
    expected[ry] = rx
    assert sol.match.tolist() == expected.tolist()
    closed = 0.5 * ((x.sort().values - y.sort().values) ** 2).mean().item()
    assert sol.cost.item() == pytest.approx(closed, rel=1e-12)


def test_potentials_are_pot_duals_shifted_to_sum_zero():
    """phi = u - t, psi = -v - t for POT's duals (u_i + v_j <= C_ij), with t making sum phi + sum psi = 0; also for
    unequal batch sizes."""
    import ot

    g = torch.Generator().manual_seed(3)
    for n, m in [(5, 5), (4, 6)]:
        C = torch.rand(n, m, generator=g, dtype=torch.float64)
        sol = Q.solve_ot(C)
        _, log = ot.emd(np.full(n, 1 / n), np.full(m, 1 / m), C.numpy(), log=True)
        t = (log["u"].sum() - log["v"].sum()) / (n + m)
        assert np.allclose(sol.phi.numpy(), log["u"] - t) and np.allclose(sol.psi.numpy(), -log["v"] - t)
        assert sol.phi.sum().item() + sol.psi.sum().item() == pytest.approx(0.0, abs=1e-12)
        assert sol.phi.mean().item() - sol.psi.mean().item() == pytest.approx(log["cost"], rel=1e-10)
        if n == m:  # sum zero with n = m: mean phi = W_c / 2 = -mean psi
            assert sol.phi.mean().item() == pytest.approx(log["cost"] / 2, rel=1e-10)


def _linear_d(w, b=0.0):
    return lambda x: (x * w).flatten(1).sum(1) + b


def _batches(n=4, side=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, side, side, generator=g) * 2 - 1, torch.rand(n, 3, side, side, generator=g) * 2 - 1)


def test_d_regression_loss_hand_computed():
    """gamma 0: L_D = 1/2 (mean D(x) - mean phi)^2 + 1/2 mean_j (D(y_j) - psi_j)^2, with a stub D."""
    real, fake = _batches()
    w = torch.linspace(-1, 1, 12).view(1, 3, 2, 2)
    D = _linear_d(w, 0.3)
    p = {"otr_gamma": 0.0, "cost_K": None}
    loss, stats = Q.d_loss(D, real, fake, p, Ctx)
    sol = Q.solve_ot(Q.transport_cost(real, fake, 1 / 12))
    dr = [float((real[i] * w).sum()) + 0.3 for i in range(4)]
    df = [float((fake[j] * w).sum()) + 0.3 for j in range(4)]
    phi, psi = sol.phi.tolist(), sol.psi.tolist()
    hand = 0.5 * (sum(dr) / 4 - sum(phi) / 4) ** 2 + 0.5 * sum((df[j] - psi[j]) ** 2 for j in range(4)) / 4
    assert loss.item() == pytest.approx(hand, rel=1e-5)
    assert stats["d_regression"].item() == pytest.approx(hand, rel=1e-5)
    assert stats["wdist"].item() == pytest.approx(sum(dr) / 4 - sum(df) / 4, rel=1e-5)
    assert stats["ot_cost"].item() == pytest.approx(_brute_force(Q.transport_cost(real, fake, 1 / 12).numpy())[0],
                                                    rel=1e-6)
    assert set(stats) == set(METHOD.stat_keys({}))
    assert all(not v.requires_grad for v in stats.values())


@pytest.mark.parametrize("cost_K", [None, 0.5])
def test_otr_hand_computed_with_a_linear_critic(cost_K):
    """D(x) = <w, x>: grad_y D = w at every fake, so R = 1/2 mean_j (||w|| / (2 sqrt K) - sqrt K / 2 ||x_m(j) -
    y_j||)^2 with m the brute-force optimal matching; L_D = L_reg + 4 gamma sqrt K R."""
    real, fake = _batches(seed=4)
    w = torch.full((1, 3, 2, 2), 0.25)
    gamma, K = 0.1, (1 / 12 if cost_K is None else cost_K)
    p = {"otr_gamma": gamma, "cost_K": cost_K}
    loss, stats = Q.d_loss(_linear_d(w), real, fake, p, Ctx)
    _, best = _brute_force(Q.transport_cost(real, fake, K).numpy())
    wn = math.sqrt(12 * 0.25 ** 2)
    hand = 0.5 * sum((wn / (2 * math.sqrt(K)) - math.sqrt(K) / 2 * float((real[best[j]] - fake[j]).norm())) ** 2
                     for j in range(4)) / 4
    assert stats["otr"].item() == pytest.approx(hand, rel=1e-5)
    lam = 4 * gamma * math.sqrt(K)
    assert loss.item() == pytest.approx(stats["d_regression"].item() + lam * hand, rel=1e-5)
    # the same as 1/(8K) mean (||grad|| - K ||x - y||)^2
    alt = sum((wn - K * float((real[best[j]] - fake[j]).norm())) ** 2 for j in range(4)) / 4 / (8 * K)
    assert stats["otr"].item() == pytest.approx(alt, rel=1e-5)


def test_otr_trains_the_critic_through_its_input_gradient():
    """R depends on D's weights only through D's input gradient (taken with create_graph): with gamma > 0 the weight
    gradients differ from those of gamma = 0."""
    torch.manual_seed(0)
    D = QCDiscriminator(16, 4)
    real, fake = _batches(n=4, side=16, seed=5)
    grads = []
    for gamma in (0.0, 0.1):
        D.zero_grad()
        loss, _ = Q.d_loss(D, real, fake, {"otr_gamma": gamma, "cost_K": None}, Ctx)
        loss.backward()
        grads.append(torch.cat([q.grad.flatten() for q in D.parameters()]))
    assert not torch.allclose(grads[0], grads[1])


def test_g_loss_hand_computed():
    _, fake = _batches(seed=6)
    w = torch.linspace(0, 1, 12).view(1, 3, 2, 2)
    loss, stats = Q.g_loss(_linear_d(w, -0.1), fake, {}, Ctx)
    assert loss.item() == pytest.approx(-sum(float((fake[j] * w).sum()) - 0.1 for j in range(4)) / 4, rel=1e-6)
    assert stats == {}


@pytest.mark.parametrize("variant", sorted(METHOD.variants))
def test_gradient_flow(variant):
    p = METHOD.params(variant, {"z_dim": 8, "g_width": 4, "d_width": 4, "resolution": 16})
    torch.manual_seed(0)
    G, D = METHOD.build(p)
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    fake = G(torch.randn(4, 8))
    d_loss, _ = METHOD.d_loss(D, real, fake.detach(), p, Ctx)
    d_loss.backward()
    assert all(q.grad is not None and torch.isfinite(q.grad).all() for q in D.parameters())
    assert all(q.grad is None for q in G.parameters())  # the D step touches only D
    D.zero_grad()
    g_loss, _ = METHOD.g_loss(D, fake, p, Ctx)
    g_loss.backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in G.parameters())


@pytest.mark.parametrize("res", [16, 64, 128])
@pytest.mark.parametrize("blocks", [1, 2])
def test_shapes(res, blocks):
    """Full-scale widths (64, cap 512) on the meta device (shapes without compute); a real forward at width 4."""
    with torch.device("meta"):
        G, D = QCGenerator(128, res, 64, blocks_per_stage=blocks), QCDiscriminator(res, 64, blocks_per_stage=blocks)
        x = G(torch.randn(2, 128))
        assert x.shape == (2, 3, res, res) and D(x).shape == (2,)
    assert G.output_shape == f"(B, 3, {res}, {res})" and D.output_shape == "(B,)"
    n = int(math.log2(res)) - 2
    assert sum(isinstance(m, torch.nn.Upsample) for m in G.resnet) == n
    assert sum(isinstance(m, torch.nn.AvgPool2d) for m in D.resnet) == n
    assert len(G.layer_lines()) == 1 + 2 + len(G.resnet) + 1 and len(D.layer_lines()) == 1 + 1 + len(D.resnet) + 1
    if res == 16:
        torch.manual_seed(0)
        G, D = QCGenerator(8, res, 4, blocks_per_stage=blocks), QCDiscriminator(res, 4, blocks_per_stage=blocks)
        x = G(torch.randn(3, 8))
        assert x.shape == (3, 3, res, res) and x.abs().max() <= 1 and D(x).shape == (3,)


def test_layer_list_at_64px_is_the_docstrings():
    """The 64 px, width-64 channel sequence of the module docstring (the authors' resnet2.py)."""
    with torch.device("meta"):
        G, D = QCGenerator(128, 64, 64), QCDiscriminator(64, 64)
    g = [(m.fin, m.fout) for m in G.resnet if hasattr(m, "fin")]
    assert G.nf0 == 512 and g == [(512, 512)] * 4 + [(512, 256), (256, 256), (256, 128), (128, 128), (128, 64),
                                                    (64, 64)]
    d = [(m.fin, m.fout) for m in D.resnet if hasattr(m, "fin")]
    assert d == [(64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512)] + [(512, 512)] * 4
    assert D.fc.in_features == 512 * 16
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    with torch.device("meta"):
        G1 = QCGenerator(128, 64, 64, blocks_per_stage=1)
    assert [(m.fin, m.fout) for m in G1.resnet if hasattr(m, "fin")] == [
        (512, 512), (512, 512), (512, 256), (256, 128), (128, 64), (64, 64)]


def test_bad_resolution():
    with pytest.raises(ValueError, match="power of two >= 16"):
        QCGenerator(8, 48, 4)
    with pytest.raises(ValueError, match="power of two >= 16"):
        QCDiscriminator(8, 4)


def test_method_declarations():
    """Every parameter build / the losses read is declared; train_defaults are keys of the schema's train section;
    the declared host synchronisation."""
    import yaml

    schema = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "schema" / "config.schema.yaml")
                            .read_text())
    assert set(METHOD.train_defaults) <= set(schema["$defs"]["train"]["properties"])
    assert {"otr_gamma", "cost_K", "nfilter_max", "res_ratio", "blocks_per_stage", "z_dim"} <= METHOD.param_names()
    assert METHOD.defaults["z_dim"] == 128 and METHOD.host_syncs_per_d_step == 1 and "host" in METHOD.host_sync_reason


def test_importing_the_module_does_not_need_pot():
    code = "import sys; sys.modules['ot'] = None; import ganrepro.methods.baselines.wgan_qc as m; print(m.METHOD.name)"
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "wgan_qc", out.stderr


@pytest.mark.parametrize("n_critic", [1, 2])
def test_one_host_sync_per_d_step(n_critic, cfg, smoke_run_cfg, tmp_path, monkeypatch):
    """A non-log training step makes exactly the OT transfers (one per D update) and no other host sync (the
    counting technique of tests/test_train.py::test_no_host_sync_between_log_steps)."""
    from ganrepro.config import config as C

    assert registry.get("wgan_qc") is METHOD
    run = C.resolve_run(cfg, "glgan_celeba64", "wgan_qc", "default", 0)
    assert run["train"]["lr_g"] == 1e-4 and run["train"]["betas"] == [0.5, 0.999]
    assert run["train"]["ema_decay"] == 0.999 and run["train"]["ema_start"] == 80000
    run["data_dir"], run["device"] = smoke_run_cfg["data_dir"], "cpu"
    run["method_params"].update(resolution=16, g_width=4, d_width=4, z_dim=8, n_critic=n_critic)
    run["train"].update(steps=8, batch_size=8, log_every=4, ckpt_every=8, eval_points=None, ema_start=2)
    per_step = _syncs_per_step(run, tmp_path / "run", monkeypatch)
    assert sorted(per_step) == list(range(1, 9))
    for step, n in per_step.items():
        if step % 4:
            assert n == n_critic * METHOD.host_syncs_per_d_step, f"{n} host syncs at step {step}"
    assert per_step[4] > n_critic  # the log step reads the statistics too (the counter works)


def test_missing_pot_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ot", None)  # `import ot` now raises ImportError
    real, fake = _batches()
    with pytest.raises(ImportError, match=r"POT.*pip install POT==0\.9\.7\.post1"):
        Q.d_loss(_linear_d(torch.ones(1, 3, 2, 2)), real, fake, {"otr_gamma": 0.1, "cost_K": None}, Ctx)
