"""GL-GAN (ganrepro/methods/papers/glgan.py): mask, Objects 1-2, sigma_g / sigma_l, Ada-OP's branches, threshold calibration and its
resume, map sizes and spectral-norm variants."""
import copy
import json

import pytest
import torch

from ganrepro.config import config as C
from ganrepro.methods import registry
from ganrepro.train.loop import Context, train
from ganrepro.methods.papers import glgan


def test_mask_is_its_definition():
    y = torch.tensor([[[0.5, -1.0], [2.0, 0.1]], [[-0.3, 0.3], [0.0, 1.5]]])
    m = glgan.local_mask(y, torch.tensor(0.2))
    assert m.tolist() == [[[0, 1], [0, 1]], [[1, 0], [1, 0]]]
    per_image = glgan.local_mask(y, torch.tensor([1.0, -0.5]))  # alpha per image
    assert per_image.tolist() == [[[1, 1], [0, 1]], [[0, 0], [0, 0]]]
    # the mask is the inner level's argmax: it maximises sum m * (alpha - y) over all 0/1 matrices
    assert (m * (0.2 - y)).sum() == torch.clamp(0.2 - y, min=0).sum()


def test_object1_gradient_zero_outside_the_mask_and_hinge_inside():
    y = torch.tensor([[[0.5, -1.0], [2.0, 0.1]]], requires_grad=True)
    mask = glgan.local_mask(y.detach(), torch.tensor(0.6))  # masks 0.5, -1.0, 0.1
    loss = glgan.object1(y, mask)
    # value: mean of max(0, 1 - m*y) = (0.5 + 2.0 + 1 (unmasked: constant 1) + 0.9) / 4
    assert loss.item() == pytest.approx((0.5 + 2.0 + 1.0 + 0.9) / 4)
    (g,) = torch.autograd.grad(loss, y)
    assert g.tolist() == [[[-0.25, -0.25], [0.0, -0.25]]]
    y2 = torch.tensor([[[1.5]]], requires_grad=True)  # masked but above the margin: hinge gradient 0
    (g2,) = torch.autograd.grad(glgan.object1(y2, torch.ones(1, 1, 1)), y2)
    assert g2.item() == 0.0


def test_sigmas_equal_eqs_6_and_7():
    y = torch.tensor([[[1.0, 3.0], [1.0, 3.0]], [[0.0, 0.0], [0.0, 4.0]]])
    # mu_k = 2, 1; mu = 1.5; sigma_g = sqrt(((0.5)^2 + (0.5)^2) / 2) = 0.5
    # sigma_k (squared deviations, as printed): image 0: mean(1,1,1,1) = 1; image 1: mean(1,1,1,9) = 3 -> sqrt(2)
    sg, sl = glgan.global_local_std(y)
    assert sg.item() == pytest.approx(0.5) and sl.item() == pytest.approx(2 ** 0.5)


def test_quantiles_match_torch_quantile():
    x = torch.randn(5, 37, generator=torch.Generator().manual_seed(0))
    q = [0.2, 0.4, 0.5, 0.7, 0.8]
    torch.testing.assert_close(glgan.quantiles(x, q), torch.quantile(x, torch.tensor(q), dim=-1))


def _y_with(sigma_g_big: bool, spread: float):
    """4 images of 4x4: mean offsets decide sigma_g; 16 distinct values with population std ``spread`` give
    sigma_l = spread."""
    v = torch.arange(16.0) - 7.5
    board = (v / v.pow(2).mean().sqrt() * spread).view(4, 4)
    offsets = torch.tensor([-1.0, 1.0, -1.0, 1.0]) * (1.0 if sigma_g_big else 0.0)
    return board.expand(4, 4, 4) + offsets[:, None, None]


@pytest.mark.parametrize("big_g,spread,branch", [(True, 0.5, 0), (False, 0.1, 1), (False, 0.5, 2), (False, 2.0, 3)])
def test_ada_op_picks_each_branch(big_g, spread, branch):
    th = torch.tensor([0.5, 0.2, 1.0])  # beta, delta_1, delta_2; sigma_l = spread here
    y = _y_with(big_g, spread).requires_grad_(True)
    loss, onehot, masked = glgan.ada_op(y, *glgan.global_local_std(y.detach()), th, "image")
    assert onehot.tolist() == [float(i == branch) for i in range(4)]
    if branch == 0:
        assert loss.item() == pytest.approx(glgan.object2(y).item()) and masked.item() == 0
    else:
        a = glgan.alphas(y, "image")[branch - 1]
        assert loss.item() == pytest.approx(glgan.object1(y, glgan.local_mask(y, a)).item())
        assert 0 < masked.item() < 1


def test_ada_op_code_rule_constants():
    """Levels and loss of the code reading. The loss is train.py's ``(-x).sum()/x.size(0)`` with the unkept positions
    zeroed: the kept scores summed over positions and divided by B (it was the mean of the kept scores before, a scale
    the public code does not have). y3's image means are +-1: variance 1 > 0.07, global under either test."""
    y = _y_with(False, 0.1)  # sigma_g 0, local variance 0.01 < 0.03: keep the 6 lowest of 16 per image
    loss, onehot, masked = glgan.ada_op_code(y, *glgan.global_local_std(y))
    assert onehot.tolist() == [0, 1, 0, 0] and masked.item() == pytest.approx(6 / 16)
    lowest6 = y[0].flatten().sort().values[:6]
    assert loss.item() == pytest.approx(-lowest6.sum().item())  # 4 equal images: -(4 * sum) / 4
    y2 = _y_with(False, 0.19)  # variance 0.0361: between 0.03 and 0.04
    _, onehot, _ = glgan.ada_op_code(y2, *glgan.global_local_std(y2))
    assert onehot.tolist() == [0, 0, 1, 0]
    y3 = _y_with(True, 0.1)
    loss, onehot, _ = glgan.ada_op_code(y3, *glgan.global_local_std(y3))
    assert onehot.tolist() == [1, 0, 0, 0]
    assert loss.item() == pytest.approx(torch.relu(1 - y3).sum().item() / 4)  # train.py adv_loss_whole: sum / B


def _board(step: float) -> torch.Tensor:
    """One 4x4 feature matrix of 16 distinct scores (i - 7.5) * step, i = 0..15: mean 0, population variance
    21.25 * step^2 (the mean of (i - 7.5)^2 is 21.25)."""
    return ((torch.arange(16.0) - 7.5) * step).view(4, 4)


def _train_py_g_loss(r_out: torch.Tensor) -> torch.Tensor:
    """The generator loss of the public code (github.com/summar6/GL-GAN train.py lines 189-200 with
    ``adv_loss_whole`` lines 80-86 and ``adv_loss_part`` lines 99-130) transcribed for a (B, 16) score matrix, with
    the batch's own B where the code writes its batch, 64, and ``x.clone()`` for ``x.cpu()`` (a no-op on the CPU)."""
    B = r_out.size(0)
    mean = r_out.mean(-1, keepdim=True)
    me = torch.mean(mean)
    st = ((mean - me) ** 2 / B).sum()
    if st > 0.07:
        return torch.clamp(1 - r_out, 0).sum() / r_out.size(0)
    x = r_out
    s = (((x - x.mean(-1, keepdim=True)) ** 2 / 16).sum(-1)).mean()
    for cond, k in ((s > 0 and s < 0.03, 6), (s > 0.03 and s < 0.04, 10), (s > 0.04, 12)):
        if cond:
            x = x.clone()
            b = x.kthvalue(k, dim=-1, keepdim=True)[0]
            for i in range(x.size(0)):
                for j in range(x.size(1)):
                    if x[i][j] > b[i]:
                        x[i][j] = 0
    return (-x).sum() / x.size(0)


def test_code_rule_global_test_is_the_variance_of_the_image_means():
    """train.py lines 189, 192-194: ``st = ((mean - me) ** 2 / 64).sum()`` over the batch's 64 per-image means, then
    ``if st>0.07`` global: st is the variance sigma_g^2, not the std sigma_g. Two images with means +0.1 / -0.1:
    st = (0.1^2 + 0.1^2) / 2 = 0.01 < 0.07, local (level I: within-image variance 21.25 * 0.02^2 = 0.0085 < 0.03),
    although sigma_g = 0.1 > 0.07 (the std test, the suite's earlier reading, trained globally here). Means +-0.3:
    st = 0.09 > 0.07, global."""
    y = torch.stack([_board(0.02) + 0.1, _board(0.02) - 0.1])
    r_out = y.flatten(1)
    mean = r_out.mean(-1, keepdim=True)
    st = ((mean - mean.mean()) ** 2 / r_out.size(0)).sum()
    assert st.item() == pytest.approx(0.01)
    sg, sl = glgan.global_local_std(y)
    assert sg.item() == pytest.approx(0.1) and sl.item() ** 2 == pytest.approx(0.0085)
    loss, onehot, masked = glgan.ada_op_code(y, sg, sl)
    assert onehot.tolist() == [0, 1, 0, 0] and masked.item() == pytest.approx(6 / 16)
    # the 6 lowest of each image: sum_{i<6} (i - 7.5) * 0.02 = -0.6, plus 6 * (+-0.1): 0.0 and -1.2; -(sum) / B
    assert loss.item() == pytest.approx(0.6)
    y2 = torch.stack([_board(0.02) + 0.3, _board(0.02) - 0.3])
    loss2, onehot2, masked2 = glgan.ada_op_code(y2, *glgan.global_local_std(y2))
    assert onehot2.tolist() == [1, 0, 0, 0] and masked2.item() == 0
    assert loss2.item() == pytest.approx(16.0)  # sum of (1 - y) over 32 scores below 1 (they sum to 0), / B = 2
    for t in (y, y2):
        assert glgan.ada_op_code(t, *glgan.global_local_std(t))[0].item() == pytest.approx(_train_py_g_loss(
            t.flatten(1)).item())


@pytest.mark.parametrize("step,level,keep", [(0.02, 1, 6), (0.04, 2, 10), (0.05, 3, 12)])
def test_code_rule_gives_every_position_the_global_gradient(step, level, keep):
    """train.py sums both losses over the positions and divides by the batch (line 85: ``loss.sum() / x.size(0)``;
    line 129: ``(-x).sum()/x.size(0)``): d loss / d score = -1/B at every kept position of the local branch and at
    every position below the margin in the global one (before, the suite averaged the global branch over h x w and
    the local one over the kept positions: -1/(B*16) against -1/(B*keep)). Within-image variances 21.25 * step^2 =
    0.0085, 0.034, 0.053 give levels I, II, III (keep 6, 10, 12 of 16); image means +-0.05: st = 0.0025, local;
    +-0.5: st = 0.25, global. Checked with autograd, and against the transcribed train.py loss."""
    B = 2
    y = torch.stack([_board(step) + 0.05, _board(step).flip(0, 1) - 0.05]).requires_grad_(True)
    loss, onehot, _ = glgan.ada_op_code(y, *glgan.global_local_std(y.detach()))
    assert onehot.tolist() == [float(i == level) for i in range(4)]
    (g,) = torch.autograd.grad(loss, y)
    kept = torch.zeros(B, 16)
    for k in range(B):
        kept[k, y.detach()[k].flatten().argsort()[:keep]] = 1.0
    assert torch.equal(g.flatten(1), -kept / B)  # -1/B where kept, 0 elsewhere
    y_ref = y.detach().flatten(1).requires_grad_(True)
    (g_ref,) = torch.autograd.grad(_train_py_g_loss(y_ref), y_ref)
    torch.testing.assert_close(g.flatten(1), g_ref)

    yg = torch.stack([_board(step) + 0.5, _board(step) - 0.5]).requires_grad_(True)  # all scores below 1
    loss_g, onehot_g, _ = glgan.ada_op_code(yg, *glgan.global_local_std(yg.detach()))
    assert onehot_g.tolist() == [1, 0, 0, 0]
    (gg,) = torch.autograd.grad(loss_g, yg)
    assert torch.equal(gg, torch.full_like(yg, -1.0 / B))  # the same -1/B at every position
    yg_ref = yg.detach().flatten(1).requires_grad_(True)
    (gg_ref,) = torch.autograd.grad(_train_py_g_loss(yg_ref), yg_ref)
    torch.testing.assert_close(gg.flatten(1), gg_ref)


def test_calibration_thresholds_are_the_stated_percentiles():
    ctx = Context(rng=torch.Generator(), device="cpu")
    hist = torch.tensor([[0.1 * i, 0.05 * i] for i in range(1, 11)])
    for sg, sl in hist:
        assert glgan.calibrate(ctx, sg, sl, epochs=1) is None  # epoch 0: recording
    ctx.epoch = 1
    th = glgan.calibrate(ctx, torch.tensor(9.0), torch.tensor(9.0), epochs=1)
    expected = [torch.quantile(hist[:, 0], 0.7), torch.quantile(hist[:, 1], 0.4), torch.quantile(hist[:, 1], 0.7)]
    torch.testing.assert_close(th, torch.stack(expected))
    assert len(ctx.state["history"]) == 10  # the step after the phase is not recorded
    assert glgan.calibrate(ctx, torch.tensor(0.0), torch.tensor(0.0), epochs=1) is th  # fixed from then on


@pytest.mark.parametrize("res", [64, 128, 256])
@pytest.mark.parametrize("variant,side", [("patch4", 4), ("patch8", 8), ("base", None)])
def test_map_sizes(res, variant, side):
    p = registry.get("glgan").params(variant, {"z_dim": 8, "g_width": 4, "d_width": 4, "resolution": res})
    G, D = glgan.build(p)
    out = D(torch.zeros(2, 3, res, res))
    assert out.shape == ((2, side, side) if side else (2,))
    assert G(torch.randn(2, 8)).shape == (2, 3, res, res)
    assert len([m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]) == {64: 5, 128: 6, 256: 7}[res]


@pytest.mark.parametrize("variant,g_all,d_sn", [("patch8", True, 3), ("patch8_nonorm", False, 0),
                                                  ("patch8_globalnorm", True, "all")])
def test_spectral_norm_variants_wrap_the_named_layers(variant, g_all, d_sn):
    p = registry.get("glgan").params(variant, {"z_dim": 8, "g_width": 4, "d_width": 4, "resolution": 64})
    G, D = glgan.build(p)
    g_convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    d_convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(hasattr(m, "weight_orig") == g_all for m in g_convs)
    flags = [hasattr(m, "weight_orig") for m in d_convs]
    n = len(d_convs) if d_sn == "all" else d_sn
    assert flags == [False] * (len(d_convs) - n) + [True] * n


def _glgan_run(cfg, smoke_run_cfg, variant):
    run = C.resolve_run(cfg, "glgan_celeba64", "glgan", variant, 0)
    run["data_dir"], run["device"] = smoke_run_cfg["data_dir"], "cpu"
    run["train"] = {**smoke_run_cfg["train"], "steps": 10, "ckpt_every": 3, "log_every": 2, "eval_points": None}
    return run  # 32 images, batch 8: 4 steps per epoch, so the calibration phase is steps 1-4


@pytest.mark.parametrize("variant", ["patch8_adaop", "patch4_adaop_code", "base"])
def test_glgan_trains_and_logs_its_statistics(cfg, smoke_run_cfg, tmp_path, variant):
    res = train(_glgan_run(cfg, smoke_run_cfg, variant), tmp_path)
    assert res["status"] == "finished"
    header = (tmp_path / "log.csv").read_text().splitlines()[0]
    assert "glgan_sigma_g" in header and ("glgan_level3" in header) == ("adaop" in variant)


def test_calibration_survives_kill_and_resume(cfg, smoke_run_cfg, tmp_path):
    """Killed during the calibration phase (last checkpoint at step 3) and after it (step 6): same weights."""
    run = _glgan_run(cfg, smoke_run_cfg, "patch8_adaop")
    train(copy.deepcopy(run), tmp_path / "straight")
    for stop in (4, 7):
        out = tmp_path / f"killed{stop}"
        train(copy.deepcopy(run), out, on_step=lambda s, stop=stop: s >= stop)
        train(copy.deepcopy(run), out)
        a = torch.load(tmp_path / "straight" / "final.pt", weights_only=False)
        b = torch.load(out / "final.pt", weights_only=False)
        for net in ("G", "D"):
            for k in a[net]:
                assert torch.equal(a[net][k], b[net][k]), (stop, net, k)
    ck = torch.load(sorted((tmp_path / "straight" / "ckpt").glob("*.pt"))[-1], weights_only=False)
    assert ck["method_state"]["history"].shape == (4, 2) and ck["method_state"]["thresholds"].shape == (3,)


def test_train_json_records_the_calibrated_thresholds(cfg, smoke_run_cfg, tmp_path):
    """metrics.json's method_summary (via train.json): the thresholds are the P = 0.7 / 0.4 / 0.7 quantiles of the
    (sigma_g, sigma_l) history kept in the run's state, which holds the calibration phase's 4 steps."""
    res = train(_glgan_run(cfg, smoke_run_cfg, "patch8_adaop"), tmp_path)
    s = res["method_summary"]
    ck = torch.load(sorted((tmp_path / "ckpt").glob("*.pt"))[-1], weights_only=False)["method_state"]
    h = ck["history"]
    assert s["glgan_rule"] == "paper" and s["calibration_steps"] == 4 == h.shape[0] and s["alpha_scope"] == "image"
    assert s["beta"] == pytest.approx(torch.quantile(h[:, 0], 0.7).item(), rel=1e-6)
    assert s["delta_1"] == pytest.approx(torch.quantile(h[:, 1], 0.4).item(), rel=1e-6)
    assert s["delta_2"] == pytest.approx(torch.quantile(h[:, 1], 0.7).item(), rel=1e-6)
    assert json.loads((tmp_path / "train.json").read_text())["method_summary"] == s


def test_summary_of_the_other_rules_and_of_an_unfinished_calibration():
    code = glgan.summary({}, {"glgan_rule": "code"})
    # the global constant is on sigma_g^2 (train.py's st, a variance), no longer named as a bound on sigma_g
    assert code["global_if_sigma_g_squared_above"] == 0.07 and code["variance_levels"] == [0.03, 0.04]
    assert glgan.summary({}, {"glgan_rule": None}) == {"glgan_rule": "global only"}
    p = {"glgan_rule": "paper", "glgan_alpha_scope": "batch", "glgan_calibration_epochs": 1}
    s = glgan.summary({"history": torch.zeros(3, 2)}, p)
    assert s["calibration_steps"] == 3 and s["thresholds"].startswith("not calibrated") and "beta" not in s


def test_batch_alpha_reading_masks_against_the_batch_quantile():
    """alpha over the whole batch: an image whose scores all lie above the batch's P = 0.2 quantile has no masked
    position; with per-image alpha each image keeps its own lowest positions."""
    y = torch.stack([torch.full((4, 4), 5.0), torch.arange(16.0).view(4, 4)])  # image 0 scores high everywhere
    th = torch.tensor([1e9, 1e9, 1e9])  # sigma_g < beta (local), sigma_l <= delta_1: level I, alpha = P 0.2
    sg, sl = glgan.global_local_std(y)
    _, _, masked_b = glgan.ada_op(y, sg, sl, th, scope="batch")
    a = torch.quantile(y.flatten(), 0.2)
    assert masked_b.item() == pytest.approx((y < a).float().mean().item())
    _, _, masked_i = glgan.ada_op(y, sg, sl, th, scope="image")
    per_image = [(y[k] < torch.quantile(y[k].flatten(), 0.2)).float().mean().item() for k in range(2)]
    assert masked_i.item() == pytest.approx(sum(per_image) / 2)
    assert (y[0] < a).sum() == 0 and masked_b.item() != masked_i.item()


def test_feature_map_figure_reads_the_runs_discriminator(cfg, smoke_run_cfg, tmp_path):
    from ganrepro.report import plots
    from ganrepro.runs.snapshots import load_discriminator

    run = tmp_path / "run"
    train(_glgan_run(cfg, smoke_run_cfg, "patch4_adaop"), run)
    D, rc = load_discriminator(run)
    assert not D.training and rc["variant"] == "patch4_adaop"
    x = torch.zeros(2, 3, rc["method_params"]["resolution"], rc["method_params"]["resolution"])
    assert D(x).shape == (2, 4, 4)
    plots.glgan_feature_maps(run, tmp_path / "fig1.png", n=4)
    plots.glgan_loss_curves({"a": run, "b": None}, tmp_path / "fig8.png")
    plots.glgan_sigma_curves({"a": run, "b": None}, tmp_path / "fig10.png")
    plots.glgan_feature_maps(None, tmp_path / "none.png")  # a run the config does not train: a "not run" panel
    for f in ("fig1", "fig8", "fig10", "none"):
        assert (tmp_path / f"{f}.png").read_bytes()[:4] == b"\x89PNG"
    r = plots.sigma_ranges(run)
    assert r["s_in"]["range"] >= 0 and r["s_out"]["std"] >= 0


def test_epoch_history_is_the_per_epoch_mean_of_the_logged_sigmas(tmp_path):
    """The per-epoch reading (issue 31, finding 4): a log row at step s belongs to epoch (s - 1) // steps_per_epoch."""
    rows = [(2, 0.1, 1.0), (4, 0.3, 3.0), (6, 0.5, 5.0), (8, 0.7, 7.0), (10, 0.9, 9.0)]
    (tmp_path / "log.csv").write_text("step,wall_seconds,glgan_sigma_g,glgan_sigma_l\n"
                                      + "".join(f"{s},0,{g},{l}\n" for s, g, l in rows))
    h = glgan.epoch_history(tmp_path, steps_per_epoch=4)
    torch.testing.assert_close(h, torch.tensor([[0.2, 2.0], [0.6, 6.0], [0.9, 9.0]]))  # epochs {2,4}, {6,8}, {10}
    st = glgan.init_state({"glgan_history": "patch4"}, {"glgan/patch4": tmp_path}, 4)
    expected = [torch.quantile(h[:, 0], 0.7), torch.quantile(h[:, 1], 0.4), torch.quantile(h[:, 1], 0.7)]
    torch.testing.assert_close(st["thresholds"], torch.stack(expected))
    assert glgan.init_state({"glgan_history": None}, {}, 4) == {}
    with pytest.raises(FileNotFoundError, match="nosuch/log.csv"):
        glgan.epoch_history(tmp_path / "nosuch", 4)
    (tmp_path / "log.csv").write_text("step,d_loss\n2,0.5\n")
    with pytest.raises(ValueError, match="no glgan_sigma_g"):
        glgan.epoch_history(tmp_path, 4)


def test_per_epoch_reading_takes_its_thresholds_from_the_patch_run(cfg, smoke_run_cfg, tmp_path):
    """patch4_adaop_epochs depends on glgan/patch4 of its experiment and seed (config and workflow), and starts from
    the thresholds of that run's per-epoch history: no calibration phase of its own."""
    assert registry.get("glgan").depends_on(registry.get("glgan").params("patch4_adaop_epochs")) == [("glgan", "patch4")]
    deps = C.run_dependencies(cfg, "glgan_celeba64", "glgan", "patch4_adaop_epochs", 2)
    assert deps == {"glgan/patch4": C.run_dir(cfg, "glgan_celeba64", "glgan", "patch4", 2)}
    assert C.run_dependencies(cfg, "glgan_celeba64", "glgan", "patch4_adaop", 2) == {}
    patch = _glgan_run(cfg, smoke_run_cfg, "patch4")
    train(patch, tmp_path / "patch4")
    run = _glgan_run(cfg, smoke_run_cfg, "patch4_adaop_epochs")
    run["depends_on"] = {"glgan/patch4": str(tmp_path / "patch4")}
    res = train(run, tmp_path / "epochs")
    s = res["method_summary"]
    h = glgan.epoch_history(tmp_path / "patch4", steps_per_epoch=4)  # 32 images, batch 8
    assert s["calibration_epochs"] == h.shape[0] == 3 and "glgan/patch4" in s["calibration"]  # steps 2-10: 3 epochs
    assert s["beta"] == pytest.approx(torch.quantile(h[:, 0], 0.7).item(), rel=1e-6)
    assert s["delta_2"] == pytest.approx(torch.quantile(h[:, 1], 0.7).item(), rel=1e-6)
    log = (tmp_path / "epochs" / "log.csv").read_text().splitlines()
    head, first = log[0].split(","), log[1].split(",")
    assert float(first[head.index("glgan_global")]) < 1.0 or float(first[head.index("glgan_sigma_g")]) >= s["beta"]
