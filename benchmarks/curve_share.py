"""Benchmark: the share of each full-scale run's compute that its curve over training (rule ``curve``) takes.

    .venv/bin/python benchmarks/curve_share.py [--threads 2] [--repeats 2] [--fractions 0.002 0.006]
                                               [--width-scale 1] [--experiments E ...]
                                               [--detector inception|standin] [--max-resolution 128]
                                               [--out FILE]

For every full-scale run that trains with ``train.eval_points`` (LGA Fig. 2, BRC Fig. 4; registered methods only):

* **training** = steps x one step of ``ganrepro.train.loop.train_step`` (``n_critic`` D updates + one G update, Adam
  included) with the run's resolved full-scale networks, widths, batch and ``n_critic``, timed on this machine
  (median of ``--repeats`` after one warm-up; runs with the same networks and batch share one measurement);
* **one evaluation** = ``ganrepro.metrics.images.image_metrics`` (the function rules ``evaluate`` and ``curve`` both call)
  on the run's own protocol (FID/KID counts, IS samples, MS-SSIM pairs, clean-fid's ``clean`` resize), with an
  Inception-v3 network of the real one's architecture and random weights standing in for the TorchScript file
  (``data/weights/inception-2015-12-05.pt``, not on this machine; the work per image is the same). It is timed at
  two fractions of the protocol's counts and extrapolated linearly to the whole protocol
  (``t = a + b * fraction``: ``a`` holds the count-independent work such as the 2048-d matrix square root);
* the curve = ``points`` evaluations (``ganrepro.runs.snapshots.eval_steps``: the paper's points plus the last step) under
  the curve's protocol (``config.curve_protocol``: the experiment's ``curve_metrics`` at the tables' counts), timed
  the same way; the run's own evaluation (``metrics.json``) = one of the whole protocol. The share the curve would
  take with the whole protocol at every point is reported beside it.

Share = curve / (training + evaluation + curve), twice: in CPU time measured on this machine, and in FLOPs counted
by PyTorch's ``FlopCounterMode`` (one training step, double backward of the gradient penalty included; one image
through G and through the detector, times the protocol's counts). A GPU changes both sides of the time share
(large-batch Inception runs near a GPU's peak, small-batch GAN steps at 32-64 px do not), so neither is the GPU
share: the FLOP share is what it would be at equal utilisation, the CPU share what this machine shows. Timings and
counts are reported, never asserted.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline_step import _setup  # noqa: E402
from ganrepro.methods import registry
from ganrepro.runs import snapshots  # noqa: E402
from ganrepro.tools.bench import interleave  # noqa: E402
from ganrepro.config.config import (curve_protocol, dataset_count, eval_protocol, load_config, planned_runs,  # noqa: E402
                             resolve_run)
from ganrepro.util.env import hardware, with_threads  # noqa: E402
from ganrepro.util.flops import count_flops  # noqa: E402
from ganrepro.util.io import write_json  # noqa: E402
from ganrepro.train.loop import _total_steps, train_step  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "curve_share.json"


def _detector(kind: str):
    """The stand-in detector of ``kind`` in place of the TorchScript file (``ganrepro.metrics.inception.detector_stand_in``)."""
    from ganrepro.metrics.features import InceptionSized, StandInInception
    from ganrepro.metrics.inception import detector_stand_in

    return detector_stand_in(InceptionSized() if kind == "inception" else StandInInception())


_flops = count_flops


def _scaled(ev: dict, fraction: float) -> tuple[dict, list[int]]:
    """The protocol with every sample count scaled by ``fraction`` (at least 4)."""
    ev = copy.deepcopy(ev)
    s = lambda n: max(4, int(round(int(n) * fraction)))  # noqa: E731
    counts = [s(n) for n in ev["fid_counts"]]
    for k in ("is_samples", "ms_ssim_pairs"):
        if ev.get(k):
            ev[k] = s(ev[k])
    if ev.get("kid_subset_size"):
        ev["kid_subset_size"] = s(ev["kid_subset_size"])
    return ev, counts


def time_evaluation(G, z_dim: int, ev: dict, fractions, ref: dict) -> dict:
    """Seconds of one whole-protocol evaluation, from ``image_metrics`` timed at two fractions of its counts."""
    from ganrepro.metrics.images import image_metrics

    G.eval()
    image_metrics(G, z_dim, "cpu", 0, *_scaled(ev, fractions[0]), ref)  # warm-up
    ts = []
    for f in fractions:
        ev_f, counts = _scaled(ev, f)
        t = time.perf_counter()
        image_metrics(G, z_dim, "cpu", 0, ev_f, counts, ref)
        ts.append(time.perf_counter() - t)
    (f1, f2), (t1, t2) = fractions, ts
    b = max((t2 - t1) / (f2 - f1), 0.0)  # noise at tiny fractions can tilt the line below zero: clamp both parts
    a = max(t1 - b * f1, 0.0)
    return {"fractions": list(fractions), "seconds_at_fractions": [round(t, 3) for t in ts],
            "fixed_seconds": round(a, 3), "seconds": round(a + b, 2)}


def _evaluation_flops(G, z_dim: int, det, ev: dict, res: int) -> dict:
    """FLOPs of one whole-protocol evaluation (PyTorch's FlopCounterMode: convolutions and matrix products):
    generating the images, the feature pass (FID/KID) and the IS pass, each counted on one image and multiplied
    by the protocol's counts; MS-SSIM and the statistics are left out (not network work)."""
    wanted = set(ev.get("metrics", ()))
    n_feat = max(int(n) for n in ev["fid_counts"]) if wanted & {"fid", "kid"} else 0
    n_is = int(ev.get("is_samples") or n_feat) if "is" in wanted else 0
    pairs = int(ev.get("ms_ssim_pairs") or 0) if "ms_ssim" in wanted else 0
    n_gen = max(n_feat, n_is, 2 * pairs)
    with torch.no_grad():
        g = _flops(lambda: G(torch.zeros(1, z_dim)))
        x = torch.full((1, 3, res, res), 128.0)
        d = _flops(lambda: det(x))
    return {"generator_per_image": g, "detector_per_image": d, "images": n_gen, "detector_passes": n_feat + n_is,
            "total": n_gen * g + (n_feat + n_is) * d}


def _reference(dim: int, n: int = 1000) -> dict:
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((n, dim)).astype(np.float32)
    return {"mu": feats.mean(0), "sigma": np.cov(feats, rowvar=False), "feats": feats, "count": n,
            "path": "random reference (timing only)"}


def curve_runs(cfg, experiments=None, max_resolution: int | None = None) -> list[dict]:
    """The full-scale runs that keep snapshots, with their steps and points (one entry per experiment/method/
    variant: seeds train alike); only ``experiments`` when given, none above ``max_resolution``."""
    out = []
    for e, m, v in planned_runs(cfg):
        if experiments and e not in experiments or not registry.is_runnable(m, v):
            continue
        if max_resolution and int(cfg["experiments"][e]["resolution"]) > max_resolution:
            print(f"skipped {e}/{m}/{v}: {cfg['experiments'][e]['resolution']} px > --max-resolution "
                  f"{max_resolution}", flush=True)
            continue
        rc = resolve_run(cfg, e, m, v, 0)
        t = rc["train"]
        if not t.get("eval_points") or "mog" in rc:
            continue
        ds = cfg["experiments"][e]["dataset"]
        n_images = int(dataset_count(cfg, ds))
        n_critic = int(rc["method_params"].get("n_critic", 1))
        total = _total_steps({**t, "n_critic": n_critic}, n_images)
        points = snapshots.eval_steps(t, total, n_images / (t["batch_size"] * n_critic))
        out.append({"experiment": e, "method": m, "variant": v, "dataset": ds, "images": n_images,
                    "resolution": int(cfg["experiments"][e]["resolution"]), "steps": total, "points": len(points),
                    "seeds": len(cfg["scales"]["full"]["seeds"])})
    return out


def _net_key(cfg, r, width_scale) -> str:
    rc = resolve_run(cfg, r["experiment"], r["method"], r["variant"], 0)
    return json.dumps({"m": r["method"], "p": rc["method_params"], "bs": rc["train"]["batch_size"],
                       "w": width_scale, "res": r["resolution"]}, sort_keys=True, default=str)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--fractions", type=float, nargs=2, default=(0.002, 0.006))
    ap.add_argument("--width-scale", type=float, default=1.0)
    ap.add_argument("--experiments", nargs="*", default=None)
    ap.add_argument("--max-resolution", type=int, default=128,
                    help="skip runs above this resolution (HDCGAN's 512 px steps take minutes each on a CPU); 0: none")
    ap.add_argument("--detector", choices=("inception", "standin"), default="inception",
                    help="standin: the smoke scale's tiny network (tests); inception: Inception-v3-sized")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    with _detector(args.detector) as det:
        return with_threads(args.threads, _run, args, det)


def _run(args, det) -> int:
    cfg = load_config(overrides={"scale": "full"})
    load_before, t0 = os.getloadavg(), time.perf_counter()
    ref = _reference(2048 if args.detector == "inception" else det.trunk.dim)
    runs = curve_runs(cfg, args.experiments, args.max_resolution)
    step_s, step_flops, eval_s, ekey_of = {}, {}, {}, {}
    for r in runs:
        key = _net_key(cfg, r, args.width_scale)
        if key not in step_s:
            method, nets, params, ctx, bs = _setup(cfg, r["experiment"], r["method"], r["variant"], args.width_scale)
            res = r["resolution"]
            real = torch.rand(bs, 3, res, res, generator=torch.Generator().manual_seed(0)) * 2 - 1
            times = []  # one warm-up step, then --repeats, through the benchmark target's step timer
            interleave([(method, nets, (lambda i, real=real: (lambda: real)), params, ctx, times, None, None)],
                        "cpu", args.repeats, 1)
            step_s[key] = statistics.median(times)
            step_flops[key] = _flops(lambda: train_step(method, nets, lambda: real, params, ctx))
            ev_run = eval_protocol(cfg, r["experiment"], r["method"], r["variant"])
            ev_curve = curve_protocol(cfg, r["experiment"], r["method"], r["variant"])
            for which, ev in (("run", ev_run), ("point", ev_curve)):
                ekey = json.dumps({"ev": ev, "res": res}, sort_keys=True, default=str)
                if ekey not in eval_s:
                    e = time_evaluation(nets.G, params["z_dim"], ev, args.fractions, ref)
                    e["protocol"] = {k: ev.get(k) for k in ("metrics", "fid_counts", "is_samples", "ms_ssim_pairs",
                                                            "fid_mode", "sample_batch")}
                    e["flops"] = _evaluation_flops(nets.G, params["z_dim"], det, ev, res)
                    eval_s[ekey] = e
                ekey_of[key, which] = ekey
        r["step_seconds"] = round(step_s[key], 4)
        ev, pt = eval_s[ekey_of[key, "run"]], eval_s[ekey_of[key, "point"]]
        r["evaluation_seconds"], r["point_seconds"] = ev["seconds"], pt["seconds"]
        train, curve, whole = r["steps"] * step_s[key], r["points"] * pt["seconds"], r["points"] * ev["seconds"]
        r["training_hours"], r["curve_hours"] = round(train / 3600, 2), round(curve / 3600, 2)
        r["evaluation_hours"] = round(ev["seconds"] / 3600, 3)
        r["curve_share"] = round(curve / (train + ev["seconds"] + curve), 4)
        r["curve_share_whole_protocol"] = round(whole / (train + ev["seconds"] + whole), 4)
        r["step_gflops"] = round(step_flops[key] / 1e9, 3)
        f_train, f_eval, f_point = r["steps"] * step_flops[key], ev["flops"]["total"], pt["flops"]["total"]
        r["training_flops"], r["evaluation_flops"], r["point_flops"] = int(f_train), int(f_eval), int(f_point)
        r["curve_share_flops"] = round(r["points"] * f_point / (f_train + f_eval + r["points"] * f_point), 4)
        print(f"{r['experiment']:<18} {r['method']:<7} {r['variant']:<17} {r['steps']:>7} steps x "
              f"{r['step_seconds']:.3f} s + {r['points']:>3} points x {pt['seconds']:.0f} s: curve "
              f"{100 * r['curve_share']:.1f} % of the run's CPU time ({100 * r['curve_share_whole_protocol']:.1f} % "
              f"with the whole protocol per point), {100 * r['curve_share_flops']:.1f} % of its FLOPs", flush=True)
    total = {k: round(sum(r[k] * r["seeds"] for r in runs), 1) for k in ("training_hours", "curve_hours")}
    total["evaluation_hours"] = round(sum(r["evaluation_hours"] * r["seeds"] for r in runs), 1)
    spent = sum(total.values())
    total["curve_share"] = round(total["curve_hours"] / spent, 4) if spent else None
    f_curve = sum(r["points"] * r["point_flops"] * r["seeds"] for r in runs)
    f_all = sum((r["training_flops"] + r["evaluation_flops"] + r["points"] * r["point_flops"]) * r["seeds"]
                for r in runs)
    total["curve_share_flops"] = round(f_curve / f_all, 4) if f_all else None
    print(f"all {sum(r['seeds'] for r in runs)} runs with curves (CPU-hours on this machine): training "
          f"{total['training_hours']}, evaluation {total['evaluation_hours']}, curves {total['curve_hours']} "
          f"= {100 * (total['curve_share'] or 0):.1f} % in curves; {100 * (total['curve_share_flops'] or 0):.1f} % "
          f"of the FLOPs")
    out = {"benchmark": "curve_share", "threads": args.threads, "hardware": hardware("cpu"),
           "torch": torch.__version__, "width_scale": args.width_scale, "repeats": args.repeats,
           "inception": "torchvision inception_v3 architecture, random weights (timing stand-in)",
           "loadavg_1min": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
           "wall_seconds": round(time.perf_counter() - t0, 1), "evaluations": list(eval_s.values()),
           "runs": runs, "total": total}
    if args.out:
        write_json(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
