"""The shared training loop: runs, checkpoints, resumes to identical weights, records divergence."""
import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from ganrepro.methods import registry
from ganrepro.methods.registry import Method
from ganrepro.train.loop import train

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _weights(path):
    s = torch.load(path, weights_only=False)
    return {**{f"G.{k}": v for k, v in s["G"].items()}, **{f"D.{k}": v for k, v in s["D"].items()}}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_train_writes_run_folder(smoke_run_cfg, tmp_path):
    out = tmp_path / "run"
    res = train(smoke_run_cfg, out)
    assert res["status"] == "finished" and res["step"] == 6 and res["train_seconds"] > 0
    for f in ("config.json", "log.csv", "final.pt", "samples.png", "train.json"):
        assert (out / f).exists(), f
    assert sorted(p.name for p in (out / "ckpt").iterdir()) == ["step00000004.pt", "step00000006.pt"]
    log = (out / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,wall_seconds,d_loss,g_loss,gp,wdist") and len(log) == 7
    info = json.loads((out / "train.json").read_text())
    assert info["hardware"]["device"] == "cpu" and "commit" in info["code"]


def test_resume_gives_same_weights(smoke_run_cfg, tmp_path):
    train(smoke_run_cfg, tmp_path / "straight")
    r = train(smoke_run_cfg, tmp_path / "resumed", on_step=lambda s: s >= 3)  # stops after step 3; last ckpt: 2
    assert r["status"] == "interrupted" and not (tmp_path / "resumed" / "train.json").exists()
    train(smoke_run_cfg, tmp_path / "resumed")
    _assert_same(_weights(tmp_path / "straight" / "final.pt"), _weights(tmp_path / "resumed" / "final.pt"))
    steps = [int(line.split(",")[0]) for line in (tmp_path / "resumed" / "log.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4, 5, 6]  # the re-done step 3 is logged once


def test_resume_after_sigkill(smoke_run_cfg, tmp_path):
    """A process killed with SIGKILL mid-run (like a preempted job) restarts from its newest checkpoint."""
    train(smoke_run_cfg, tmp_path / "straight")
    cfg_path = tmp_path / "run.json"
    cfg_path.write_text(json.dumps(smoke_run_cfg))
    code = ("import json, os, signal, sys; sys.path.insert(0, %r); from ganrepro.train.loop import train; "
            "kill = int(sys.argv[1]); "
            "train(json.load(open(%r)), %r, on_step=lambda s: s == kill and os.kill(os.getpid(), signal.SIGKILL))"
            % (ROOT, str(cfg_path), str(tmp_path / "killed")))
    p = subprocess.run([sys.executable, "-c", code, "5"], capture_output=True, text=True)
    assert p.returncode == -9, p.stderr
    assert not (tmp_path / "killed" / "final.pt").exists()
    p = subprocess.run([sys.executable, "-c", code, "0"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "resumed from step00000004.pt at step 4/6" in p.stderr
    _assert_same(_weights(tmp_path / "straight" / "final.pt"), _weights(tmp_path / "killed" / "final.pt"))


def test_divergence_is_recorded(smoke_run_cfg, tmp_path, monkeypatch):
    base = registry.get("wgan_gp")

    def nan_after_3(D, fake, p, ctx):
        loss, stats = base.g_loss(D, fake, p, ctx)
        return (loss * float("nan") if ctx.step >= 3 else loss), stats

    monkeypatch.setitem(registry._CACHE, "wgan_gp", Method(**{**base.__dict__, "g_loss": nan_after_3}))
    res = train(smoke_run_cfg, tmp_path / "run")
    assert res["status"] == "diverged" and res["diverged_at"] == 4
    assert not (tmp_path / "run" / "final.pt").exists()
    assert json.loads((tmp_path / "run" / "train.json").read_text())["status"] == "diverged"


def test_seeds_differ(smoke_run_cfg, tmp_path):
    train(smoke_run_cfg, tmp_path / "s0")
    smoke_run_cfg["seed"] = 1
    train(smoke_run_cfg, tmp_path / "s1")
    a, b = _weights(tmp_path / "s0" / "final.pt"), _weights(tmp_path / "s1" / "final.pt")
    assert not torch.equal(a["G.net.0.weight"], b["G.net.0.weight"])


# ------------------------------------------------------------------ divergence, device-side statistics, state, EMA
def _patched(monkeypatch, name="wgan_gp", **changes):
    base = registry.get(name)
    m = Method(**{**base.__dict__, **changes})
    monkeypatch.setitem(registry._CACHE, name, m)
    return base


def test_nan_at_a_non_log_step_is_recorded_with_its_step(smoke_run_cfg, tmp_path, monkeypatch):
    """The first non-finite loss is found on the device and read at the next log/checkpoint step."""
    base = registry.get("wgan_gp")

    def nan_at_step_3(D, fake, p, ctx):
        loss, stats = base.g_loss(D, fake, p, ctx)
        return (loss * float("nan") if ctx.step == 2 else loss), stats  # ctx.step = steps done before this one

    _patched(monkeypatch, g_loss=nan_at_step_3)
    smoke_run_cfg["train"].update(log_every=5, ckpt_every=5)
    res = train(smoke_run_cfg, tmp_path / "run")
    assert res["status"] == "diverged" and res["diverged_at"] == 3
    assert not (tmp_path / "run" / "final.pt").exists()
    assert not list((tmp_path / "run" / "ckpt").glob("*.pt"))  # nothing saved after the NaN


def test_log_rows_hold_the_interval_reduction(smoke_run_cfg, tmp_path, monkeypatch):
    base = registry.get("wgan_gp")

    def g_loss(D, fake, p, ctx):
        loss, stats = base.g_loss(D, fake, p, ctx)
        k = torch.tensor(float(ctx.step))
        return loss, {**stats, "k_mean": k, "k_max": k, "k_last": k}

    _patched(monkeypatch, g_loss=g_loss, log_keys={**base.log_keys, "k_mean": "mean", "k_max": "max",
                                                    "k_last": "last"})
    smoke_run_cfg["train"].update(steps=6, log_every=3, ckpt_every=6)
    train(smoke_run_cfg, tmp_path / "run")
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert [r["step"] for r in rows] == ["3", "6"]
    # steps 1-3 see ctx.step 0, 1, 2; steps 4-6 see 3, 4, 5
    assert [float(r["k_mean"]) for r in rows] == [1.0, 4.0]
    assert [float(r["k_max"]) for r in rows] == [2.0, 5.0]
    assert [float(r["k_last"]) for r in rows] == [2.0, 5.0]


def test_undeclared_or_missing_statistic_is_an_error(smoke_run_cfg, tmp_path, monkeypatch):
    _patched(monkeypatch, log_keys={"gp": "mean"})  # wdist undeclared
    with pytest.raises(KeyError, match="'wdist'.*do not declare"):
        train(smoke_run_cfg, tmp_path / "a")
    _patched(monkeypatch, log_keys={"gp": "mean", "wdist": "mean", "never": "mean"})
    with pytest.raises(KeyError, match="never"):
        train(smoke_run_cfg, tmp_path / "b")


# (.numpy() is left out: the image sampler indexes its CPU permutation with it, which never touches the device)
SYNC_METHODS = ("item", "cpu", "tolist", "__bool__", "__float__", "__int__", "__index__")


def _count_syncs(monkeypatch):
    """Patch the tensor methods that copy a device value to the host; count calls made from the suite's own code
    (ganrepro/, baselines/, models/), not from torch internals (e.g. Adam's CPU step counter)."""
    calls = [0]
    roots = tuple(os.path.join(ROOT, d) + os.sep for d in ("ganrepro", "baselines", "models"))
    for name in SYNC_METHODS:
        orig = getattr(torch.Tensor, name)

        def wrapper(self, *a, _orig=orig, **k):
            if sys._getframe(1).f_code.co_filename.startswith(roots) and self.device.type != "meta":
                calls[0] += 1
            return _orig(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, wrapper)
    return calls


def _syncs_per_step(run_cfg, out, monkeypatch):
    calls, per_step, last = _count_syncs(monkeypatch), {}, [0]

    def on_step(step):
        per_step[step], last[0] = calls[0] - last[0], calls[0]
        return False

    res = train(run_cfg, out, on_step=on_step)
    monkeypatch.undo()
    assert res["status"] == "finished"
    return per_step


@pytest.mark.parametrize("case", ["wgan_gp", "sngan", "dcgan_brc", "vgan_brc_mog"])
def test_no_host_sync_between_log_steps(case, cfg, smoke_run_cfg, tmp_path, monkeypatch):
    from ganrepro.config import config as C

    if case == "vgan_brc_mog":
        run = C.resolve_run(cfg, "brc_ring8", "vgan", "brc", 0)
        run["train"].update(steps=8, batch_size=16, monitor_every=None)
        run["method_params"].update(g_width=8, d_width=8, z_dim=4)
    else:
        method, variant = {"wgan_gp": ("wgan_gp", "default"), "sngan": ("sngan", "default"),
                           "dcgan_brc": ("dcgan", "ns_brc")}[case]
        run = C.resolve_run(cfg, "lga_cifar10", method, variant, 0)
        run["data_dir"], run["train"] = smoke_run_cfg["data_dir"], dict(smoke_run_cfg["train"])
        run["train"]["steps"] = 8
    run["device"] = "cpu"
    run["train"].update(log_every=4, ckpt_every=8, eval_points=None)  # snapshot steps also read the device
    per_step = _syncs_per_step(run, tmp_path / "run", monkeypatch)
    assert sorted(per_step) == list(range(1, 9))
    for step, n in per_step.items():
        if step % 4:
            assert n == 0, f"{case}: {n} host synchronisation(s) at step {step}, which is not a log step"
    assert per_step[4] > 0  # the log step does read the device (the counter works)


def _calibrating_method(monkeypatch):
    """wgan_gp whose generator loss is scaled by a running statistic filled during the first 3 steps."""
    base = registry.get("wgan_gp")

    def g_loss(D, fake, p, ctx):
        loss, stats = base.g_loss(D, fake, p, ctx)
        st = ctx.state
        if ctx.step < 3:  # calibration phase: collect the mean fake score
            st["calib"] = torch.cat([st.get("calib", torch.zeros(0)), loss.detach().reshape(1)])
            return loss, stats
        return loss * (1 + st["calib"].mean().abs()), stats

    _patched(monkeypatch, g_loss=g_loss)


def test_method_state_survives_resume(smoke_run_cfg, tmp_path, monkeypatch):
    _calibrating_method(monkeypatch)
    train(smoke_run_cfg, tmp_path / "straight")
    train(smoke_run_cfg, tmp_path / "resumed", on_step=lambda s: s >= 3)  # last checkpoint at step 2: mid-calibration
    train(smoke_run_cfg, tmp_path / "resumed")
    _assert_same(_weights(tmp_path / "straight" / "final.pt"), _weights(tmp_path / "resumed" / "final.pt"))
    ck = torch.load(sorted((tmp_path / "resumed" / "ckpt").glob("*.pt"))[-1], weights_only=False)
    assert ck["method_state"]["calib"].shape == (3,)


def test_method_state_matters(smoke_run_cfg, tmp_path, monkeypatch):
    """Control for the test above: losing the state on resume changes the weights."""
    import ganrepro.train.loop as T

    _calibrating_method(monkeypatch)
    train(smoke_run_cfg, tmp_path / "straight")
    train(smoke_run_cfg, tmp_path / "lost", on_step=lambda s: s >= 3)
    load = T._load_newest

    def forget(ckpt_dir, device):
        state, path = load(ckpt_dir, device)
        return ({**state, "method_state": {"calib": torch.zeros(1)}} if state else state), path

    monkeypatch.setattr(T, "_load_newest", forget)
    train(smoke_run_cfg, tmp_path / "lost")
    a, b = _weights(tmp_path / "straight" / "final.pt"), _weights(tmp_path / "lost" / "final.pt")
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_generator_ema_survives_resume(smoke_run_cfg, tmp_path):
    smoke_run_cfg["train"]["ema_decay"] = 0.9
    train(smoke_run_cfg, tmp_path / "straight")
    train(smoke_run_cfg, tmp_path / "resumed", on_step=lambda s: s >= 3)
    train(smoke_run_cfg, tmp_path / "resumed")
    a = torch.load(tmp_path / "straight" / "final.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed" / "final.pt", weights_only=False)
    _assert_same(a["G_ema"], b["G_ema"])
    _assert_same(a["G"], b["G"])
    assert not torch.equal(a["G_ema"]["net.0.weight"], a["G"]["net.0.weight"])


def test_update_ema_formula():
    from ganrepro.train.loop import update_ema

    m, e = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        m.weight.fill_(1.0); e.weight.fill_(3.0)
    update_ema(e, m, 0.75)  # 0.75 * 3 + 0.25 * 1 = 2.5
    assert torch.allclose(e.weight, torch.full_like(e.weight, 2.5))
    update_ema(e, m, 0.0)
    assert torch.equal(e.weight, m.weight)


def test_sample_grid_matches_torchvision_save_image(tmp_path):
    """samples.png is written without torchvision (ganrepro.util.io.write_image_grid), pixel for pixel as
    ``torchvision.utils.save_image(x, nrow=8, normalize=True, value_range=(-1, 1))`` lays it out."""
    import numpy as np
    from PIL import Image
    from torchvision.utils import save_image

    from ganrepro.train.loop import _save_samples

    x = torch.rand(13, 3, 6, 5, generator=torch.Generator().manual_seed(0)) * 2.2 - 1.1  # outside [-1, 1] too

    class Fixed(torch.nn.Module):
        def forward(self, z):
            return x[: len(z)]

    save_image(x, tmp_path / "tv.png", nrow=8, normalize=True, value_range=(-1, 1))
    _save_samples(Fixed(), tmp_path / "ours.png", z_dim=4, device="cpu", seed=0, n=13)
    a, b = np.asarray(Image.open(tmp_path / "tv.png")), np.asarray(Image.open(tmp_path / "ours.png"))
    assert a.shape == b.shape == (2 * 8 + 2, 8 * 7 + 2, 3) and np.array_equal(a, b)
