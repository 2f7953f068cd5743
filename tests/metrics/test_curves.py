"""Metrics over training: eval points, generator snapshots, ``load_generator``, and curve.csv (ganrepro/metrics/curves.py)
whose last point repeats the final metrics.json exactly, resumable point by point."""
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganrepro.config import config as C
from ganrepro.metrics import curves
from ganrepro.runs import snapshots
from ganrepro.metrics import images as M
from ganrepro.metrics import mog_metrics as MM
from ganrepro.runs.snapshots import EvalPointsError, eval_steps, load_generator

ROOT = Path(__file__).resolve().parents[2]
EV = {"features": "standin", "fid_mode": "clean", "sample_batch": 8, "is_samples": 20, "is_splits": 10,
      "kid_subsets": 5, "ms_ssim_pairs": 6, "ms_ssim_resolution": None}


# ---------------------------------------------------------------------------------------------------- eval points
@pytest.mark.parametrize("ep,total,spe,expected", [
    (None, 20, 8.0, []),
    ({"every_steps": 5}, 20, None, [5, 10, 15, 20]),
    ({"every_steps": 5}, 22, None, [5, 10, 15, 20, 22]),  # the last step is always a point
    ({"every_steps": 50}, 20, None, [20]),
    ({"every_epochs": 1}, 20, 8.0, [8, 16, 20]),
    ({"every_epochs": 0.5}, 7, 3.0, [2, 3, 5, 6, 7]),  # epoch k/2 is done at step ceil(1.5 k)
    ({"every_epochs": 0.1}, 5, 10.0, [1, 2, 3, 4, 5]),  # 3 * 0.1 * 10 = 3.0000000000000004 is step 3, not 4
    ({"every_epochs": 2}, 100, 781.25, [100]),
    ({"steps": [30, 5, 5, 12]}, 20, None, [5, 12, 20]),  # beyond the end: dropped
])
def test_eval_steps_forms(ep, total, spe, expected):
    assert eval_steps({"eval_points": ep}, total, spe) == expected
    assert eval_steps({}, total, spe) == []


def test_eval_points_count_replaces_a_schedule_only_where_there_is_one():
    # the smoke scale's eval_points_count: K points spread over the shrunk run, the last at its end
    assert eval_steps({"eval_points": {"every_steps": 1000}, "eval_points_count": 3}, 20, 8.0) == [7, 14, 20]
    assert eval_steps({"eval_points": {"every_epochs": 10}, "eval_points_count": 3}, 20, 8.0) == [7, 14, 20]
    assert eval_steps({"eval_points": {"steps": [1, 2]}, "eval_points_count": 2}, 6, None) == [3, 6]
    assert eval_steps({"eval_points": {"every_steps": 1}, "eval_points_count": 5}, 2, None) == [1, 2]
    assert eval_steps({"eval_points": None, "eval_points_count": 3}, 20, 8.0) == []  # no schedule: no points


@pytest.mark.parametrize("tcfg,spe,needle", [
    ({"eval_points": {"every_epochs": 1}}, None, "no epochs"),
    ({"eval_points": {"every_epochs": 0}}, 8.0, "every_epochs must be a number > 0"),
    ({"eval_points": {"every_steps": 0}}, None, "every_steps must be an integer >= 1"),
    ({"eval_points": {"every_steps": 2.5}}, None, "every_steps must be an integer >= 1"),
    ({"eval_points": {"every_steps": True}}, None, "every_steps must be an integer >= 1"),
    ({"eval_points": {"steps": []}}, None, "steps must be a non-empty list"),
    ({"eval_points": {"steps": [3, 0]}}, None, "steps must be a non-empty list"),
    ({"eval_points": {"every": 3}}, None, "must be null or one of"),
    ({"eval_points": {"every_steps": 3, "steps": [1]}}, None, "must be null or one of"),
    ({"eval_points": 10}, None, "must be null or one of"),
    ({"eval_points": {"every_steps": 3}, "eval_points_count": 0}, None, "eval_points_count"),
])
def test_eval_points_errors(tcfg, spe, needle):
    with pytest.raises(EvalPointsError, match=needle):
        eval_steps(tcfg, 20, spe)


# ---------------------------------------------------------------------------------------------------- snapshots
def test_snapshot_save_and_list_atomic(tmp_path, monkeypatch):
    G, E = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    for step in (10, 2, 100):
        p = snapshots.save(tmp_path, step=step, epoch=step / 8, train_seconds=1.5 * step, G=G,
                           G_ema=E if step == 100 else None)
        assert p == tmp_path / "snapshots" / f"step{step:08d}.pt"
    assert [p.name for p in snapshots.list_snapshots(tmp_path)] == \
        ["step00000002.pt", "step00000010.pt", "step00000100.pt"]
    s = torch.load(tmp_path / "snapshots" / "step00000010.pt", weights_only=False)
    assert set(s) == {"G", "step", "epoch", "train_seconds"} and s["step"] == 10 and s["epoch"] == 1.25
    assert s["train_seconds"] == 15.0 and torch.equal(s["G"]["weight"], G.weight)
    assert "G_ema" in torch.load(tmp_path / "snapshots" / "step00000100.pt", weights_only=False)
    # a write that dies half way leaves neither the snapshot nor its temporary file
    def dying_save(obj, f):
        Path(f).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        snapshots.save(tmp_path, step=7, epoch=None, train_seconds=0.0, G=G)
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == \
        ["step00000002.pt", "step00000010.pt", "step00000100.pt"]
    assert snapshots.list_snapshots(tmp_path / "nowhere") == []


# ------------------------------------------------------------------------------------------------- trained runs
@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A 6-step smoke run (CIFAR fixture, 16 px) with eval points at steps 3 and 6, its reference stats and
    metrics.json values."""
    from ganrepro.data.fixtures import write_fixture
    from ganrepro.data.loader import load_prepared
    from ganrepro.data.prepare import prepare
    from ganrepro.train.loop import train

    tmp = tmp_path_factory.mktemp("image_run")
    src = write_fixture("cifar_pickle", tmp / "raw" / "cifar.tar.gz", n=32, size=(32, 32))
    prepare("cifar_pickle", src, tmp / "prepared", resolution=16)
    run = C.resolve_run(C.load_config(), "lga_cifar10", "wgan_gp", "default", 0)
    run["data_dir"], run["device"] = str(tmp / "prepared"), "cpu"
    run["train"].update(steps=6, batch_size=8, ckpt_every=2, log_every=1, eval_points={"every_steps": 3},
                        eval_points_count=None)
    train(run, tmp / "run")
    M.reference_stats(load_prepared(run["data_dir"]), tmp / "ref.npz", "standin", "clean", "cpu", None)
    m = M.evaluate_run(tmp / "run", str(tmp / "ref.npz"), [8, 16], EV, "smoke")
    return {"dir": tmp / "run", "ref": str(tmp / "ref.npz"), "metrics": m, "cfg": run}


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_training_keeps_the_snapshots(image_run):
    snaps = snapshots.list_snapshots(image_run["dir"])
    assert [snapshots.snapshot_step(p) for p in snaps] == [3, 6]
    s = torch.load(snaps[-1], weights_only=False)
    final = torch.load(image_run["dir"] / "final.pt", weights_only=False)
    assert all(torch.equal(s["G"][k], final["G"][k]) for k in final["G"])  # the last snapshot is the final G
    assert s["step"] == 6 and s["train_seconds"] > 0


def test_image_curve_last_point_equals_metrics_json(image_run):
    out = curves.evaluate_curve(image_run["dir"], EV, image_run["ref"], [8, 16])
    assert out == image_run["dir"] / "curve.csv"
    rows = _rows(out)
    assert list(rows[0]) == ["step", "epoch", "train_seconds", "metric", "value"]
    assert sorted({int(r["step"]) for r in rows}) == [3, 6]
    last = {r["metric"]: float(r["value"]) for r in rows if r["step"] == "6"}
    assert set(last) == {"fid@8", "fid@16", "kid@8", "kid@16", "is", "is_std", "ms_ssim", "ms_ssim_std"}
    final = image_run["metrics"]["values"]
    assert {k: final[k] for k in last} == last  # every shared key, exactly
    first = {r["metric"]: float(r["value"]) for r in rows if r["step"] == "3"}
    assert first != last and set(first) == set(last)
    assert all(float(r["epoch"]) > 0 and float(r["train_seconds"]) > 0 for r in rows)
    assert not list(out.parent.glob(".*tmp*")) and not list((out.parent / "curve").glob(".*tmp*"))


def test_curve_protocol_keeps_only_the_curve_metrics_at_the_tables_counts(image_run, tmp_path):
    """config.curve_protocol: LGA's curves compute FID at the table's 10k only (Fig. 2), BRC's CIFAR curve FID and
    IS; an experiment without curve_metrics keeps the whole protocol. The kept numbers are metrics.json's."""
    full = C.load_config(overrides={"scale": "full"})
    lga = C.curve_protocol(full, "lga_celeba64", "lga", "lga8")
    assert lga["metrics"] == ["fid"] and lga["fid_counts"] == [10000]
    assert C.eval_protocol(full, "lga_celeba64", "lga", "lga8")["fid_counts"] == [10000, 50000]
    brc = C.curve_protocol(full, "brc_cifar10", "lsgan", "plain")
    assert brc["metrics"] == ["fid", "is"] and brc["fid_counts"] == [50000]
    assert C.curve_protocol(full, "glgan_celeba64", "glgan", "patch4_adaop") == \
        C.eval_protocol(full, "glgan_celeba64", "glgan", "patch4_adaop")
    # a restricted curve on the same snapshots: the kept keys only, with metrics.json's values at the last step
    import shutil

    run = tmp_path / "run"
    shutil.copytree(image_run["dir"], run)
    shutil.rmtree(run / "curve", ignore_errors=True)
    out = curves.evaluate_curve(run, {**EV, "metrics": ["fid"]}, image_run["ref"], [16])
    last = {r["metric"]: float(r["value"]) for r in _rows(out) if r["step"] == "6"}
    assert last == {"fid@16": image_run["metrics"]["values"]["fid@16"]}


def test_curve_resumes_point_by_point(image_run, monkeypatch):
    out = curves.evaluate_curve(image_run["dir"], EV, image_run["ref"], [8, 16])
    before = out.read_text()
    calls = []
    real = M.image_metrics

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(M, "image_metrics", counting)
    curves.evaluate_curve(image_run["dir"], EV, image_run["ref"], [8, 16])
    assert calls == []  # every point cached
    curves.cache_path(image_run["dir"], 3).unlink()  # a job killed while evaluating step 3
    curves.evaluate_curve(image_run["dir"], EV, image_run["ref"], [8, 16])
    assert len(calls) == 1 and out.read_text() == before
    curves.cache_path(image_run["dir"], 6).write_text('{"key": ')  # unreadable: redone
    curves.evaluate_curve(image_run["dir"], EV, image_run["ref"], [8, 16])
    assert len(calls) == 2 and out.read_text() == before
    # another protocol (counts) redoes every point instead of mixing protocols
    curves.evaluate_curve(image_run["dir"], EV, image_run["ref"], [8])
    assert len(calls) == 4 and {r["metric"] for r in _rows(out)} == {"fid@8", "kid@8", "is", "is_std", "ms_ssim",
                                                                      "ms_ssim_std"}
    curves.evaluate_curve(image_run["dir"], EV, image_run["ref"], [8, 16])  # back: redone again
    assert len(calls) == 6 and out.read_text() == before


def test_load_generator_prefers_ema(image_run, tmp_path):
    run_dir = image_run["dir"]
    G, cfg = load_generator(run_dir)
    assert cfg["run_id"] == image_run["cfg"]["run_id"] and not G.training
    final = torch.load(run_dir / "final.pt", weights_only=False)
    assert all(torch.equal(v, final["G"][k]) for k, v in G.state_dict().items())
    # a snapshot (and a final.pt) with an EMA generator: that is what gets loaded
    ema = {k: v + 1.0 if v.is_floating_point() else v for k, v in final["G"].items()}
    snap = snapshots.save(tmp_path / "elsewhere", step=1, epoch=0.1, train_seconds=0.0, G=G)  # no config: error
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_generator(snap)
    E, _ = load_generator(run_dir)
    E.load_state_dict(ema)
    snap = snapshots.save(run_dir, step=99, epoch=9.9, train_seconds=1.0, G=G, G_ema=E)
    try:
        got, _ = load_generator(snap)
        assert all(torch.equal(v, ema[k]) for k, v in got.state_dict().items())
        torch.save({**final, "G_ema": ema}, tmp_path / "final.pt")
        (tmp_path / "config.json").write_text((run_dir / "config.json").read_text())
        got, _ = load_generator(tmp_path)
        assert all(torch.equal(v, ema[k]) for k, v in got.state_dict().items())
        got, _ = load_generator(tmp_path / "final.pt")
        assert all(torch.equal(v, ema[k]) for k, v in got.state_dict().items())
        # an AveragedModel's state dict (module. prefix, n_averaged) is unwrapped
        wrapped = {**{f"module.{k}": v for k, v in ema.items()}, "n_averaged": torch.tensor(3)}
        assert snapshots.generator_state({"G": final["G"], "G_ema": wrapped}).keys() == ema.keys()
    finally:
        snap.unlink()


def test_run_without_snapshots_gets_a_header_only_curve(image_run, tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "config.json").write_text((image_run["dir"] / "config.json").read_text())
    out = curves.evaluate_curve(d, EV, image_run["ref"], [8, 16])
    assert out.read_text().strip() == "step,epoch,train_seconds,metric,value"
    with pytest.raises(ValueError, match="reference statistics"):
        curves.evaluate_curve(d, EV)


def test_mog_curve_last_point_equals_metrics_json(cfg, tmp_path):
    from ganrepro.train.loop import train

    run = C.resolve_run(cfg, "brc_ring5", "vgan", "plain", 0)
    run["device"] = "cpu"
    run["train"].update(steps=6, batch_size=64, ckpt_every=3, log_every=1, monitor_every=None,
                        eval_points={"steps": [2]}, eval_points_count=None)
    train(run, tmp_path / "run")
    assert [snapshots.snapshot_step(p) for p in snapshots.list_snapshots(tmp_path / "run")] == [2, 6]
    ev = {**C.eval_protocol(cfg, "brc_ring5", "vgan", "plain"), "fid_samples": 128}
    m = MM.evaluate_run(tmp_path / "run", ev, "smoke")
    rows = _rows(curves.evaluate_curve(tmp_path / "run", ev))
    last = {r["metric"]: float(r["value"]) for r in rows if r["step"] == "6"}
    assert set(last) == {"fid@128", "js", "modes", "hq_share"}
    assert {k: m["values"][k] for k in last} == last
    assert {r["epoch"] for r in rows} == {""} and sorted({int(r["step"]) for r in rows}) == [2, 6]
    rows2 = _rows(curves.evaluate_curve(tmp_path / "run", ev))  # cached: same CSV
    assert rows2 == rows


# ---------------------------------------------------------------------------------------------------- workflow
def test_dry_run_lists_one_curve_job_per_run_with_eval_points(tmp_path):
    """``snakemake -n curves``: one curve job per planned run (and seed) whose train config sets eval_points."""
    cfg = C.load_config()
    expected = sorted(C.run_dir(cfg, e, m, v, s) for e, m, v in C.planned_runs(cfg)
                      for s in C.run_seeds(cfg, e, m, v)
                      if C.resolve_run(cfg, e, m, v, s)["train"].get("eval_points") is not None)
    if not expected:
        pytest.skip("no experiment sets train.eval_points")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    p = subprocess.run([str(Path(sys.executable).with_name("snakemake")), "-n", "curves", "--cores", "1",
                        "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile",
                        str(ROOT / "config" / "config.yaml")], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    block = (p.stdout + p.stderr).split("Job stats:")[-1]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", block, re.M)}
    assert counts.get("curve") == len(expected) and counts.get("curves") == 1, block
    for d in expected:
        assert f"{d}/curve.csv" in p.stdout + p.stderr


def test_a_corrupt_weights_file_is_named(tmp_path):
    from ganrepro.runs.snapshots import load_generator

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "final.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(RuntimeError, match=re.escape(str(run / "final.pt")) + ": cannot load the weights"):
        load_generator(run)
