"""Benchmark: one generator update with and without BRC (IGA, Eq. 9) for each baseline, on the CPU.

    .venv/bin/python benchmarks/brc_step.py  (or python -m ganrepro.tools.brc_step) [--repeats 30] [--threads 2] [--out FILE]

brc.txt Sec. 2.2 claims the implicit gradient approximation costs about as much as a plain first-order update
("only first-order gradients"). For every baseline this times, in one process and interleaved, the generator update
of its plain variant and of its BRC variant on the same networks and batches:

* MoG nets (brc_ring8: 3-layer MLPs of width 256, batch 512): VGAN, WGAN, LCGAN, ProxGAN;
* CIFAR-size nets (brc_cifar10: the suite's 32 px DCGAN pair, batch 64): DCGAN (ns vs ns_brc), LSGAN, SNGAN.

A generator update is the training loop's own ``ganrepro.train.loop.g_step``: sample z, G(z), the method's generator loss
(for BRC: the surrogate, i.e. three first-order gradients and the dot products of Eq. 9), backward, Adam step. Discriminator steps are not timed (the same for both).
The median over ``repeats`` updates is reported with the ratio BRC / plain, measured in the same run.

``--solvers`` times instead, for the solver table (Sec. 3.1), one VGAN generator update with each best-response
solver (RHG, BDA, CG, Neumann, IGA; K = 5) and the plain update, interleaved in one process on the 2D ring (8) and
3D cube (27) nets, and reports each as a multiple of IGA. The solver table's T is a whole training run's wall-clock,
and the grid runs two jobs at a time on two cores, so its T ratios carry the load of whatever ran beside each job;
these per-update ratios do not.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from ganrepro.config.config import load_config, resolve_run
from ganrepro.methods import registry
from ganrepro.train.loop import Context, g_step, make_nets
from ganrepro.util.env import hardware, with_threads
from ganrepro.util.io import write_json

# (label, experiment, method, plain variant, BRC variant)
CASES = [
    ("VGAN (MoG)", "brc_ring8", "vgan", "plain", "brc"),
    ("WGAN (MoG)", "brc_ring8", "wgan", "plain", "brc"),
    ("LCGAN (MoG)", "brc_ring8", "lcgan", "plain", "brc"),
    ("ProxGAN (MoG)", "brc_ring8", "proxgan", "plain", "brc"),
    ("DCGAN (CIFAR 32 px)", "brc_cifar10", "dcgan", "ns", "ns_brc"),
    ("LSGAN (CIFAR 32 px)", "brc_cifar10", "lsgan", "plain", "brc"),
    ("SNGAN (CIFAR 32 px)", "brc_cifar10", "sngan", "default", "brc"),
]

# solver table: (label, experiment, method, variants); the first variant is the reference (IGA)
# (the K = 10 variants: the solver table's reading of the unstated unroll length, config/tables/brc_table_solver.yaml)
SOLVER_VARIANTS = ["brc", "brc_rhg", "brc_bda", "brc_cg", "brc_neumann", "brc_rhg_k10", "brc_bda_k10", "plain"]
SOLVER_CASES = [
    ("2D MoG (ring 8)", "brc_ring8", "vgan", SOLVER_VARIANTS),
    ("3D MoG (cube 27)", "brc_cube27", "vgan", SOLVER_VARIANTS),
]


def _setup(cfg, experiment, method_name, variant, seed=0):
    rc = resolve_run(cfg, experiment, method_name, variant, seed)
    method = registry.get(method_name)
    params = dict(rc["method_params"])
    torch.manual_seed(seed)
    nets = make_nets(method, params, rc["train"])
    bs = int(rc["train"]["batch_size"])
    if rc.get("mog"):
        from ganrepro.data.mog import MoGSampler

        real = MoGSampler(rc["mog"], bs, seed).next()
    else:
        res = params["resolution"]
        real = torch.rand(bs, 3, res, res) * 2 - 1
    ctx = Context(rng=torch.Generator().manual_seed(seed + 1), device="cpu", real=real)
    return method, nets, params, ctx, bs


def _g_update(method, nets, params, ctx, bs) -> float:
    """The training loop's own generator update (``ganrepro.train.loop.g_step``), timed."""
    t = time.perf_counter()
    g_step(method, nets, bs, params, ctx)
    return time.perf_counter() - t


def _interleaved_medians(setups: dict, repeats: int, warmup: int) -> dict:
    """Median seconds of one generator update per setup: ``warmup`` rounds, then ``repeats`` rounds, each timing
    every setup in turn (so load changes hit all alike)."""
    times = {v: [] for v in setups}
    for i in range(warmup + repeats):
        for v, s in setups.items():
            dt = _g_update(*s)
            if i >= warmup:
                times[v].append(dt)
    return {v: statistics.median(t) for v, t in times.items()}


def bench_case(cfg, experiment, method_name, plain, brc, repeats: int) -> dict:
    """One baseline: its plain and its BRC generator update, interleaved; ratio = BRC / plain."""
    r = bench_variants(cfg, experiment, method_name, [plain, brc], repeats)
    return {"plain_ms": r[plain]["ms"], "brc_ms": r[brc]["ms"], "ratio": r[brc]["ratio_to_" + plain],
            "plain_variant": plain, "brc_variant": brc, "experiment": experiment, "repeats": repeats}


def bench_variants(cfg, experiment, method_name, variants, repeats: int) -> dict:
    """Median ms of one generator update per variant, interleaved (so load changes hit all alike), and each as a
    multiple of ``variants[0]``."""
    med = _interleaved_medians({v: _setup(cfg, experiment, method_name, v) for v in variants}, repeats, warmup=3)
    ref = med[variants[0]]
    return {v: {"ms": round(1000 * med[v], 3), "ratio_to_" + variants[0]: round(med[v] / ref, 3)} for v in variants} | {
        "experiment": experiment, "method": method_name, "repeats": repeats}


UNROLL_KS = (5, 10, 20)   # K of the unrolled solvers; brc.txt does not state it (the suite's default is 5)


def bench_unroll_k(cfg, experiment: str = "brc_ring8", method_name: str = "vgan", ks=UNROLL_KS,
                   repeats: int = 5) -> dict:
    """One VGAN generator update of RHG and BDA at each unroll length K in ``ks``, interleaved with IGA's, as
    multiples of IGA: brc.txt's Table 3.1 gives RHG and BDA 10x and 14x IGA's time without stating K, so this shows
    which K those ratios correspond to (the unrolled solvers cost about linearly in K; IGA does not depend on it)."""
    setups = {"brc": _setup(cfg, experiment, method_name, "brc")}
    for solver in ("brc_rhg", "brc_bda"):
        for k in ks:
            method, nets, params, ctx, bs = _setup(cfg, experiment, method_name, solver)
            setups[f"{solver} K={k}"] = (method, nets, {**params, "brc_steps": int(k)}, ctx, bs)
    med = _interleaved_medians(setups, repeats, warmup=2)
    return {"experiment": experiment, "method": method_name, "repeats": repeats, "iga_ms": round(1000 * med["brc"], 3),
            "ratio_to_iga": {v: round(med[v] / med["brc"], 3) for v in setups if v != "brc"}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default=None, help="run only cases whose label contains this text")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    ap.add_argument("--phases", action="store_true", help="where one IGA update's time goes, phase by phase")
    ap.add_argument("--solvers", action="store_true",
                    help="time one VGAN generator update per best-response solver (solver table) instead")
    args = ap.parse_args(argv)
    return with_threads(args.threads, _run, args)


def _run(args) -> int:
    cfg = load_config(overrides={"scale": "full"})
    rows = {}
    if args.phases:
        r = iga_phases(cfg, repeats=args.repeats)
        for k, v in r["phases_ms"].items():
            print(f"  {k:<40} {v:>8.3f} ms")
        print(f"  plain {r['plain_ms']:.2f} ms, IGA {r['iga_ms']:.2f} ms, ratio {r['ratio']:.2f}")
        if args.out:
            write_json(args.out, {"benchmark": "brc_iga_phases", "threads": args.threads,
                                  "hardware": hardware("cpu"), **r})
        return 0
    if args.solvers:
        for label, exp, m, variants in SOLVER_CASES:
            if args.only and args.only.lower() not in label.lower():
                continue
            r = bench_variants(cfg, exp, m, variants, args.repeats)
            rows[label] = r
            print(f"{label}:")
            for v in variants:
                print(f"  {v:<12} {r[v]['ms']:>9.2f} ms  {r[v]['ratio_to_' + variants[0]]:>6.2f}x IGA", flush=True)
    else:
        print(f"{'baseline':<22} {'plain ms':>9} {'BRC ms':>9} {'ratio':>6}")
        for label, exp, m, plain, brc in CASES:
            if args.only and args.only.lower() not in label.lower():
                continue
            r = bench_case(cfg, exp, m, plain, brc, args.repeats)
            rows[label] = r
            print(f"{label:<22} {r['plain_ms']:>9.2f} {r['brc_ms']:>9.2f} {r['ratio']:>6.2f}", flush=True)
    out = {"benchmark": "brc_solvers" if args.solvers else "brc_step", "threads": args.threads,
           "hardware": hardware("cpu"), "results": rows}
    if args.out:
        write_json(args.out, out)
    return 0



def iga_phases(cfg, experiment="brc_ring8", method_name="vgan", repeats: int = 30) -> dict:
    """Where one IGA generator update's time goes, phase by phase (medians over ``repeats``, ms), beside the plain
    update's phases on the same networks: G forward; D forward (plain: the fake batch; IGA: the real and the fake
    batch, shared by f and F); the phi-gradients of f and of F (IGA only; each also returns d/d fake); the
    generator's backward (plain: through D and G; IGA: through G only, from the batch's cotangent); Adam."""
    from ganrepro.methods import brc as B
    from ganrepro.methods.baselines.vgan import d_loss as vgan_d_loss
    from ganrepro.methods.baselines.vgan import g_loss as vgan_g_loss

    method, nets, params, ctx, bs = _setup(cfg, experiment, method_name, "plain")
    G, D = nets.G, nets.D
    d_loss = registry.get(method_name).d_loss if method_name != "vgan" else vgan_d_loss
    g_loss = vgan_g_loss if method_name == "vgan" else registry.get(method_name).g_loss
    names, phi = zip(*[(n, q) for n, q in D.named_parameters()])
    phi = list(phi)
    z = torch.randn(bs, params["z_dim"], generator=torch.Generator().manual_seed(3))
    T = {k: [] for k in ("plain: G forward", "plain: D forward", "plain: backward (D and G)", "plain: Adam",
                         "IGA: G forward", "IGA: D forward (real + fake, shared)", "IGA: d_phi f (+ d/d fake)",
                         "IGA: d_phi F (+ d/d fake)", "IGA: kappa", "IGA: backward (G only)", "IGA: Adam")}

    def clock(key, fn):
        t = time.perf_counter()
        out = fn()
        T[key].append(time.perf_counter() - t)
        return out

    for i in range(repeats + 3):
        fake = clock("plain: G forward", lambda: G(z))
        loss = clock("plain: D forward", lambda: g_loss(D, fake, params, ctx)[0])
        nets.opt_g.zero_grad(set_to_none=True)
        clock("plain: backward (D and G)", loss.backward)
        clock("plain: Adam", nets.opt_g.step)
        fake = clock("IGA: G forward", lambda: G(z))
        shared = {}
        fd = B.functional_discriminator(D, names, phi, shared)
        fv, Fv = clock("IGA: D forward (real + fake, shared)",
                       lambda: (-d_loss(fd, ctx.real, fake, params, ctx)[0], g_loss(fd, fake, params, ctx)[0]))
        gf = clock("IGA: d_phi f (+ d/d fake)", lambda: B._grad(fv, phi + [fake]))
        gF = clock("IGA: d_phi F (+ d/d fake)", lambda: B._grad(Fv, phi + [fake]))
        kappa = clock("IGA: kappa", lambda: B.implicit_gradient_coefficient(gf[:-1], gF[:-1], 1e-8).detach())
        surrogate = (gF[-1] - kappa * gf[-1]).detach().mul(fake).sum()
        nets.opt_g.zero_grad(set_to_none=True)
        clock("IGA: backward (G only)", surrogate.backward)
        clock("IGA: Adam", nets.opt_g.step)
        if i < 3:
            for v in T.values():
                v.clear()
    med = {k: round(1000 * statistics.median(v), 3) for k, v in T.items()}
    plain = sum(v for k, v in med.items() if k.startswith("plain"))
    iga = sum(v for k, v in med.items() if k.startswith("IGA"))
    return {"experiment": experiment, "method": method_name, "repeats": repeats, "phases_ms": med,
            "plain_ms": round(plain, 3), "iga_ms": round(iga, 3), "ratio": round(iga / plain, 3)}


if __name__ == "__main__":
    raise SystemExit(main())
