"""Benchmark: one LGA training step (n_critic = 5 D updates with GP + one G update) against WGAN-GP + hinge, at 32
and 64 px, on the CPU.

    .venv/bin/python benchmarks/lga_step.py [--repeats N] [--warmup N] [--threads 2] [--only 32|64]
                                            [--batch N] [--out benchmarks/results/lga_step.json]

Defaults: 2 warm-up steps and 8 timed repeats at 32 px, 1 and 4 at 64 px; ``--repeats`` and ``--warmup`` set both.
On a loaded machine the ratios become noise (the JSON records the 1-minute load average and every repeat's time).

What is timed: the training loop's own ``ganrepro.train.loop.train_step`` (5 discriminator updates, each hinge + GP with
lambda = 1, i.e. a double backward, then one generator update; Adam steps included) on the experiments
``lga_cifar10`` (32 px) and ``lga_celeba64`` (64 px) resolved at scale ``full`` (widths 64, z 100, Adam 1e-4
(0, 0.9); batch 64 unless ``--batch``). ``wgan_gp/hinge`` is resolved with ``ganrepro.config.config.resolve_run``; the LGA
method (``ganrepro.methods.papers.lga.METHOD``, the registry's ``lga``, taken from its module) gets ``METHOD.params(variant, ...)``
with the same resolution, widths and z_dim, and the same optimiser settings.

Two comparisons, because the LGA rows change two things at once:

* **against WGAN-GP + hinge** (Table 1's "WGAN-GP + hinge loss" row: DCGAN's Conv(4, 1, 0) score head on the 4x4
  map): what an LGA run costs relative to the baseline it is compared with. The map head changes the network
  (a 1x1 conv on the n x n map; at n = 8 D also loses its last trunk unit), so this ratio mostly measures the head.
* **against the same map-head network with the plain hinge generator loss** (``map4_hinge`` / ``map8_hinge``: the
  LGA variant with ``lga_reading: none``, L_G = -E[Y]): the amplifier's own cost (a clamp, an abs and a product on
  a B x n x n map in the G step), the number that says whether LGA itself is cheap.

The real batches are random tensors in [-1, 1], drawn once with a fixed seed and fed identically to every variant
(the same batch to each of a step's critic updates); each setup gets the same seed (same initial G weights and latent
stream). After ``--warmup`` steps of every setup, each repeat times one step of every setup in turn (interleaved, so
load changes hit all alike); medians over repeats are reported, the ratios of the medians, and the medians of the
per-repeat paired ratios. The G step's statistics (share of map positions with Y < 0, mean |A|) of the timed steps
are read afterwards, outside the clock. Timings are reported, never asserted.
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
from ganrepro.config.config import load_config, resolve_run  # noqa: E402
from ganrepro.util.env import hardware, with_threads  # noqa: E402
from ganrepro.util.io import write_json  # noqa: E402
from ganrepro.train.loop import Context, make_nets  # noqa: E402
from ganrepro.methods.papers.lga import METHOD as LGA  # noqa: E402

EXPERIMENTS = {32: "lga_cifar10", 64: "lga_celeba64"}
BASELINE = ("wgan_gp", "hinge")
# setup name -> (LGA variant, extra parameters); the baseline is resolved from the registry
LGA_SETUPS = {
    "map4_hinge": ("lga4", {"lga_reading": "none"}),
    "lga4": ("lga4", {}),
    "lga4_zero": ("lga4_zero", {}),
    "map8_hinge": ("lga8", {"lga_reading": "none"}),
    "lga8": ("lga8", {}),
}
SETUPS = ["wgan_gp_hinge", *LGA_SETUPS]
# (ratio name, numerator, denominator)
RATIOS = [("lga4/wgan_gp_hinge", "lga4", "wgan_gp_hinge"), ("lga4_zero/wgan_gp_hinge", "lga4_zero", "wgan_gp_hinge"),
          ("lga8/wgan_gp_hinge", "lga8", "wgan_gp_hinge"), ("map4_hinge/wgan_gp_hinge", "map4_hinge", "wgan_gp_hinge"),
          ("map8_hinge/wgan_gp_hinge", "map8_hinge", "wgan_gp_hinge"), ("lga4/map4_hinge", "lga4", "map4_hinge"),
          ("lga4_zero/map4_hinge", "lga4_zero", "map4_hinge"), ("lga8/map8_hinge", "lga8", "map8_hinge")]
N_BATCHES = 4
DEFAULTS = {32: {"warmup": 2, "repeats": 8}, 64: {"warmup": 1, "repeats": 4}}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "lga_step.json"


def _setups(cfg, experiment: str, batch=None, seed: int = 0) -> tuple[dict, int]:
    rc = resolve_run(cfg, experiment, *BASELINE, seed)
    base_params = dict(rc["method_params"])
    shared = {k: base_params[k] for k in ("z_dim", "g_width", "d_width", "resolution")}
    cases = {"wgan_gp_hinge": (registry.get(BASELINE[0]), base_params)}
    for name, (variant, extra) in LGA_SETUPS.items():
        cases[name] = (LGA, LGA.params(variant, {**shared, **extra}, base=cfg.get("method_defaults", {})))
    bs = int(batch or rc["train"]["batch_size"])
    out = {}
    for name, (method, params) in cases.items():
        torch.manual_seed(seed)
        nets = make_nets(method, params, rc["train"])
        out[name] = (method, nets, params, Context(rng=torch.Generator().manual_seed(seed + 1), device="cpu"))
    return out, bs


def bench_resolution(cfg, res: int, repeats: int, warmup: int, batch=None) -> dict:
    """The setups' steps interleaved through the benchmark target's step timer (``ganrepro.tools.bench.interleave``); the
    LGA setups' generator statistics read off the clock."""
    from ganrepro.tools.bench import interleave

    experiment = EXPERIMENTS[res]
    load_before = os.getloadavg()[0]
    setups, bs = _setups(cfg, experiment, batch)
    g = torch.Generator().manual_seed(0)
    reals = [torch.rand(bs, 3, res, res, generator=g) * 2 - 1 for _ in range(N_BATCHES)]
    times = {k: [] for k in SETUPS}
    g_stats = {k: {"lga_unrealistic": 0.0, "lga_amp": 0.0} for k in LGA_SETUPS}

    def tally(k):
        def after(dt, st):
            for s in g_stats[k]:
                g_stats[k][s] += float(st[s]) / repeats
        return after if k in g_stats else None

    interleave([(*setups[k][:2], (lambda i: (lambda r=reals[i % N_BATCHES]: r)), *setups[k][2:], times[k], None,
                  tally(k)) for k in SETUPS], "cpu", repeats, warmup)
    med = {k: statistics.median(t) for k, t in times.items()}
    paired = {name: round(statistics.median(x / y for x, y in zip(times[a], times[b])), 4) for name, a, b in RATIOS}
    with torch.no_grad():
        heads = {k: tuple(setups[k][1].D(reals[0][:1]).shape[1:]) or (1,) for k in SETUPS}
    return {"experiment": experiment, "resolution": res, "batch_size": bs, "repeats": repeats, "warmup": warmup,
            "n_critic": {k: int(setups[k][2]["n_critic"]) for k in SETUPS},
            "d_output": {k: "x".join(map(str, v)) for k, v in heads.items()},
            "seconds": {k: round(med[k], 4) for k in SETUPS},
            "per_repeat_seconds": {k: [round(t, 4) for t in times[k]] for k in SETUPS},
            "ratios": {name: round(med[a] / med[b], 4) for name, a, b in RATIOS},
            "paired_ratios": paired,
            "g_step_stats": {k: {s: round(v, 4) for s, v in d.items()} for k, d in g_stats.items()},
            "loadavg_1min": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=None, help="timed steps per setup (default: 8 at 32 px, 4 at 64)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps of every setup first (default: 2, 1)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", type=int, choices=sorted(EXPERIMENTS), default=None, help="one resolution only")
    ap.add_argument("--batch", type=int, default=None, help="override the experiments' batch size (64)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="write the results as JSON here")
    args = ap.parse_args(argv)
    return with_threads(args.threads, _run, args)


def _run(args) -> int:
    cfg = load_config(overrides={"scale": "full"})
    rows, load_before, t0 = {}, os.getloadavg(), time.perf_counter()
    for res in sorted(EXPERIMENTS):
        if args.only and args.only != res:
            continue
        repeats = DEFAULTS[res]["repeats"] if args.repeats is None else args.repeats
        warmup = DEFAULTS[res]["warmup"] if args.warmup is None else args.warmup
        r = bench_resolution(cfg, res, repeats, warmup, args.batch)
        rows[f"{res} px"] = r
        print(f"{res} px ({r['experiment']}, batch {r['batch_size']}, median of {r['repeats']} steps, "
              f"n_critic {r['n_critic']['lga4']}):")
        for k in SETUPS:
            print(f"  {k:<14} D out {r['d_output'][k]:<4} {r['seconds'][k]:>8.4f} s/step")
        for name, _, _ in RATIOS:
            print(f"  {name:<26} {r['ratios'][name]:>6.3f}  (paired {r['paired_ratios'][name]:.3f})")
        print(f"  G-step stats: {r['g_step_stats']}; load average {r['loadavg_1min']}", flush=True)
    out = {"benchmark": "lga_step", "method": "lga", "baseline": "/".join(BASELINE), "threads": args.threads,
           "hardware": hardware("cpu"),
           "loadavg_1min": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
           "wall_seconds": round(time.perf_counter() - t0, 1), "results": rows}
    if args.out:
        write_json(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
