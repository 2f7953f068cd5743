"""The shared training loop: runs, checkpoints, resumes to identical weights, records divergence."""
import json
import os
import subprocess
import sys

import pytest
import torch

from ganrepro import registry
from ganrepro.registry import Method
from ganrepro.train import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    r = train(smoke_run_cfg, tmp_path / "resumed", stop_after=3)  # stops after step 3; last checkpoint: step 2
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
    code = ("import json,sys; sys.path.insert(0, %r); from ganrepro.train import train; "
            "train(json.load(open(%r)), %r)" % (ROOT, str(cfg_path), str(tmp_path / "killed")))
    env = {**os.environ, "GANREPRO_TEST_KILL_AT_STEP": "5"}
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert p.returncode == -9, p.stderr
    assert not (tmp_path / "killed" / "final.pt").exists()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
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
