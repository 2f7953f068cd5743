"""Metrics over training: the run's own metric protocol at each of its snapshots (``ganrepro.runs.snapshots``).

Each point is evaluated exactly as the final model is for ``metrics.json``: the same metrics, sample counts,
reference statistics, feature network and latent seed, through the same function (``metrics.generator_metrics`` for
image runs, ``mog_metrics.generator_metrics`` for BRC's mixtures). So the curve's point at the run's last step (the
final weights) repeats the ``metrics.json`` values exactly.

Output: ``run_dir/curve.csv`` (atomic), tidy: ``step, epoch, train_seconds, metric, value``, one row per point and
value key (``fid@N``, ``kid@N``, ``is``, ``is_std``, ``ms_ssim``, ``ms_ssim_std``; MoG: ``fid@N``, ``js``, ``modes``,
``hq_share``). ``train_seconds`` is the training clock at the snapshot; ``epoch`` is empty for MoG runs.

Resumable point by point: each point's result is cached in ``run_dir/curve/step{N:08d}.json`` (atomic) and reused
when it is readable, was made with the same protocol and is not older than its snapshot; a killed curve job redoes
at most the point it was on.

A diverged run's curve holds the snapshots it kept before its loss became non-finite (its metrics.json has no
values); a run trained without eval points gets a header-only CSV.
"""
from __future__ import annotations

import csv
import hashlib
import json
import sys
import time
from pathlib import Path

from ganrepro.runs import snapshots
from ganrepro.util.io import atomic_path, read_json, write_json

CURVE_CSV = "curve.csv"
CACHE_DIR = "curve"
COLUMNS = ("step", "epoch", "train_seconds", "metric", "value")


def cache_path(run_dir, step: int) -> Path:
    return Path(run_dir) / CACHE_DIR / f"step{int(step):08d}.json"


def protocol_key(run_cfg: dict, cfg_eval: dict, counts, ref_stats, weights) -> str:
    """Digest of everything a point's values depend on besides its weights (a changed protocol redoes the points)."""
    what = {"run_id": run_cfg.get("run_id"), "seed": run_cfg.get("seed"), "mog": "mog" in run_cfg,
            "eval": cfg_eval, "counts": sorted(int(c) for c in counts or []),
            "ref": None if ref_stats is None else str(ref_stats), "weights": None if weights is None else str(weights)}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _cached(path: Path, snap: Path, key: str) -> dict | None:
    """The cached point when it is readable, made with ``key`` and not older than its snapshot; else None."""
    try:
        point = read_json(path)
        if point.get("key") != key or not isinstance(point.get("values"), dict):
            return None
        if path.stat().st_mtime_ns < snap.stat().st_mtime_ns:  # the run was retrained since
            return None
        return point
    except (OSError, ValueError):  # absent, half-written elsewhere, not JSON
        return None


def evaluate_point(snap: Path, run_cfg: dict, cfg_eval: dict, counts=None, ref: dict | None = None,
                   weights=None, device: str = "cpu") -> dict:
    """One point: the generator of snapshot ``snap`` (EMA when kept) under the run's protocol."""
    state = snapshots.load_state(snap)[0]
    t0 = time.perf_counter()
    if "mog" in run_cfg:
        from ganrepro.metrics import mog_metrics

        G = snapshots.build_generator(run_cfg, state, "cpu")
        values, protocol = mog_metrics.generator_metrics(G, run_cfg, int(cfg_eval["fid_samples"]))
    else:
        from ganrepro.metrics import images as metrics

        G = snapshots.build_generator(run_cfg, state, device)
        values, protocol = metrics.generator_metrics(G, run_cfg, device, cfg_eval, counts, ref, weights)
    return {"step": int(state.get("step", snapshots.snapshot_step(snap))), "epoch": state.get("epoch"),
            "train_seconds": state.get("train_seconds"), "snapshot": snap.name, "values": values,
            "protocol": protocol, "ema": state.get("G_ema") is not None,
            "eval_seconds": round(time.perf_counter() - t0, 3)}


def evaluate_curve(run_dir, cfg_eval: dict, ref_stats=None, counts=None, weights=None) -> Path:
    """Evaluate every kept snapshot of a run (cached points reused) and write ``run_dir/curve.csv``.

    Arguments as ``metrics.evaluate_run`` takes them (image runs: the reference statistics file, the FID/KID
    counts, the eval settings and the Inception weights) or ``mog_metrics.evaluate_run`` (MoG runs: the eval
    settings; ``ref_stats``, ``counts`` and ``weights`` unused). A run without snapshots gets a header-only CSV.
    """
    from ganrepro.util.env import pick_device

    run_dir = Path(run_dir)
    run_cfg = read_json(run_dir / "config.json")
    mog = "mog" in run_cfg
    if not mog and (ref_stats is None or not counts):
        raise ValueError(f"{run_dir}: an image run's curve needs the reference statistics file and the FID counts")
    key = protocol_key(run_cfg, cfg_eval, None if mog else counts, None if mog else ref_stats,
                       None if mog else weights)
    device = "cpu" if mog else pick_device(run_cfg.get("device", "auto"))
    snaps = snapshots.list_snapshots(run_dir)
    if not snaps:
        print(f"[curve] {run_cfg['run_id']}: no snapshots in {run_dir / snapshots.SNAPSHOT_DIR} (train.eval_points "
              f"unset, or trained before snapshots existed): header-only {CURVE_CSV}", file=sys.stderr)
    ref = None
    points = []
    for i, snap in enumerate(snaps, 1):
        cache = cache_path(run_dir, snapshots.snapshot_step(snap))
        point = _cached(cache, snap, key)
        if point is None:
            if not mog and ref is None:
                from ganrepro.metrics.images import load_reference

                ref = load_reference(ref_stats)
            point = {**evaluate_point(snap, run_cfg, cfg_eval, counts, ref, weights, device), "key": key}
            write_json(cache, point)
            point = read_json(cache)  # fresh and cached points give the same CSV text (JSON-normalised numbers)
            print(f"[curve] {run_cfg['run_id']} point {i}/{len(snaps)} step {point['step']}: "
                  f"{_short(point['values'])} ({point['eval_seconds']} s)", file=sys.stderr, flush=True)
        points.append(point)
    out = run_dir / CURVE_CSV
    with atomic_path(out, suffix=".csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for p in sorted(points, key=lambda p: p["step"]):
            for metric, value in p["values"].items():
                w.writerow([p["step"], "" if p.get("epoch") is None else p["epoch"],
                            "" if p.get("train_seconds") is None else p["train_seconds"], metric, value])
    return out


def read_curve(path) -> list[dict]:
    """curve.csv rows with numbers parsed (``epoch`` / ``train_seconds`` None when empty)."""
    def num(s):
        return None if s == "" else float(s)

    with open(path, newline="") as f:
        return [{"step": int(r["step"]), "epoch": num(r["epoch"]), "train_seconds": num(r["train_seconds"]),
                 "metric": r["metric"], "value": float(r["value"])} for r in csv.DictReader(f)]


def _short(values: dict) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
