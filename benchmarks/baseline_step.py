"""Benchmark: one training step of every comparison baseline at its table's resolution and batch, on the CPU.

    .venv/bin/python benchmarks/baseline_step.py [--repeats N] [--warmup N] [--threads 2] [--only 32|64|128]
                                                 [--width-scale F] [--out benchmarks/results/baseline_step.json]

The step timer is the benchmark target's (``ganrepro.tools.bench.time_steps``, ``python -m ganrepro bench``), here at each
table's own resolution and batch instead of the target's CPU cap. A step is the training loop's own
``ganrepro.train.loop.train_step``: ``n_critic`` discriminator updates (each on a real
batch and a fresh fake batch) and one generator update, Adam steps included, with each run's resolved full-scale
settings (networks, widths, batch, n_critic) from ``config/config.yaml``. Groups: the baselines of one table at one
resolution, timed interleaved in one process (each repeat times one step of every member in turn, so load changes
hit all alike), medians after warm-up; each row's ratio is to the group's reference row (WGAN-GP on the same
resolution and batch where the table has one). Real batches are random tensors in [-1, 1], drawn once and shared.

For WGAN-QC the exact optimal-transport solve (cost matrix + POT's ``ot.emd``) is timed inside the step (the
module's ``exact_ot`` is wrapped with a clock) and reported as its share of the step.

``--width-scale`` multiplies ``g_width`` / ``d_width`` (default 1: the papers' widths; 128 px steps of the ResNet
baselines take tens of seconds on 2 cores, so the default repeats there are few). Timings are reported, never
asserted; the JSON records the load average and every repeat's time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganrepro.methods import registry  # noqa: E402
from ganrepro.tools.bench import Case, time_steps  # noqa: E402
from ganrepro.config.config import load_config, resolve_run  # noqa: E402
from ganrepro.util.env import hardware, with_threads  # noqa: E402
from ganrepro.util.io import write_json  # noqa: E402
from ganrepro.train.loop import Context, make_nets  # noqa: E402

# (group name, resolution, [(row label, experiment, method, variant)], reference row label)
GROUPS = [
    ("GL-GAN Table 1, CelebA 64", 64, [("WGAN-GP", "glgan_celeba64", "wgan_gp", "default"),
                                       ("SNDCGAN", "glgan_celeba64", "sndcgan", "default"),
                                       ("SAGAN", "glgan_celeba64", "sagan", "default"),
                                       ("WGAN-QC", "glgan_celeba64", "wgan_qc", "default")], "WGAN-GP"),
    ("GL-GAN Table 1, CelebA 128", 128, [("WGAN-GP", "glgan_celeba128", "wgan_gp", "default"),
                                         ("SNDCGAN", "glgan_celeba128", "sndcgan", "default"),
                                         ("SAGAN", "glgan_celeba128", "sagan", "default"),
                                         ("WGAN-QC", "glgan_celeba128", "wgan_qc", "default")], "WGAN-GP"),
    ("LGA Table 1, CIFAR-10 32", 32, [("WGAN-GP", "lga_cifar10", "wgan_gp", "default"),
                                      ("GeoGAN", "lga_cifar10", "geogan", "default")], "WGAN-GP"),
    ("LGA Table 1, CelebA 64", 64, [("WGAN-GP", "lga_celeba64", "wgan_gp", "default"),
                                    ("GeoGAN", "lga_celeba64", "geogan", "default")], "WGAN-GP"),
    ("LGA Table 2 / BRC CIFAR, 32", 32, [("SNGAN (ResNet, n_dis 5)", "lga_cifar10_sngan", "sngan", "default"),
                                         ("DCGAN (StudioGAN deep_conv, n_dis 2)", "brc_cifar10", "dcgan", "ns"),
                                         ("LSGAN (StudioGAN deep_conv, n_dis 2)", "brc_cifar10", "lsgan", "plain")],
     "SNGAN (ResNet, n_dis 5)"),
]
DEFAULTS = {32: {"warmup": 2, "repeats": 8}, 64: {"warmup": 1, "repeats": 5}, 128: {"warmup": 1, "repeats": 3}}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "baseline_step.json"


class _OTClock:
    """Wraps ``ganrepro.methods.baselines.wgan_qc.exact_ot`` to add up the seconds spent in it."""

    def __init__(self):
        self.seconds = 0.0
        self._mod = None

    def install(self):
        import ganrepro.methods.baselines.wgan_qc as mod

        self._mod, orig = mod, mod.exact_ot

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t

        mod.exact_ot, self._orig = timed, orig

    def uninstall(self):
        if self._mod is not None:
            self._mod.exact_ot = self._orig


def _setup(cfg, experiment, method_name, variant, width_scale, seed=0):
    """(method, nets, params, ctx, batch) of one run at full-scale settings, widths scaled (``curve_share``)."""
    rc = resolve_run(cfg, experiment, method_name, variant, seed)
    method = registry.get(method_name)
    params = dict(rc["method_params"])
    for k in ("g_width", "d_width"):
        params[k] = max(1, int(round(params[k] * width_scale)))
    torch.manual_seed(seed)
    nets = make_nets(method, params, rc["train"])
    ctx = Context(rng=torch.Generator().manual_seed(seed + 1), device="cpu")
    return method, nets, params, ctx, int(rc["train"]["batch_size"])


def bench_group(cfg, name, res, rows, ref, repeats, warmup, width_scale) -> dict:
    """One group timed by the benchmark target's own step timer (``ganrepro.tools.bench.time_steps``: interleaved, the
    table's resolution and batch, no CPU cap), WGAN-QC's OT solve clocked inside its steps."""
    rows = [r for r in rows if registry.is_runnable(r[2], r[3])]
    cases = {label: Case(exp, m, v) for label, exp, m, v in rows}
    clock = _OTClock()
    ot = {label: [] for label, _, m, _ in rows if m == "wgan_qc"}
    label_of = {id(c): label for label, c in cases.items()}

    def after(case, dt):
        if label_of[id(case)] in ot:
            ot[label_of[id(case)]].append(clock.seconds)

    if ot:
        clock.install()
    try:
        time_steps(cfg, list(cases.values()), "cpu", repeats, warmup, cpu_resolution=res, cpu_batch=10**9,
                   width_scale=width_scale, before=lambda c: setattr(clock, "seconds", 0.0), after=after)
    finally:
        clock.uninstall()
    med = {label: statistics.median(c.times) for label, c in cases.items()}
    out = {"group": name, "resolution": res, "repeats": repeats, "warmup": warmup, "width_scale": width_scale,
           "rows": {}}
    for label, exp, m, v in rows:
        c = cases[label]
        row = {"experiment": exp, "method": m, "variant": v, **c.info, "seconds": round(med[label], 4),
               "per_repeat_seconds": [round(t, 4) for t in c.times]}
        if ref in med:
            row["ratio_to_" + ref] = round(med[label] / med[ref], 3)
        if label in ot:
            row["ot_seconds"] = round(statistics.median(ot[label]), 4)
            row["ot_share"] = round(statistics.median(a / b for a, b in zip(ot[label], c.times)), 4)
        out["rows"][label] = row
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", type=int, choices=sorted(DEFAULTS), default=None, help="only groups at this resolution")
    ap.add_argument("--width-scale", type=float, default=1.0)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    return with_threads(args.threads, _run, args)


def _run(args) -> int:
    cfg = load_config(overrides={"scale": "full"})
    load_before, t0, results = os.getloadavg(), time.perf_counter(), []
    for name, res, rows, ref in GROUPS:
        if args.only and args.only != res:
            continue
        repeats = DEFAULTS[res]["repeats"] if args.repeats is None else args.repeats
        warmup = DEFAULTS[res]["warmup"] if args.warmup is None else args.warmup
        r = bench_group(cfg, name, res, rows, ref, repeats, warmup, args.width_scale)
        results.append(r)
        print(f"{name} ({res} px, median of {repeats} steps, widths x{args.width_scale:g}):")
        for label, row in r["rows"].items():
            extra = f"  ratio to {ref} {row['ratio_to_' + ref]:.2f}" if "ratio_to_" + ref in row else ""
            if "ot_share" in row:
                extra += f"  OT solve {row['ot_seconds']:.3f} s = {100 * row['ot_share']:.1f} % of the step"
            print(f"  {label:<38} batch {row['batch_size']:>3}  n_critic {row['n_critic']}  "
                  f"{row['seconds']:>8.3f} s/step{extra}", flush=True)
    out = {"benchmark": "baseline_step", "threads": args.threads, "hardware": hardware("cpu"),
           "torch": torch.__version__,
           "loadavg_1min": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
           "wall_seconds": round(time.perf_counter() - t0, 1), "results": results}
    if args.out:
        write_json(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
