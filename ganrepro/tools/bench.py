"""The benchmark target (issue 19): ``snakemake --cores 2 benchmarks`` or ``python -m ganrepro bench``.

Writes ``report/benchmarks.md`` and ``report/benchmarks.json`` (the JSON ``python -m ganrepro cost`` reads):

* **one training step of every registered method and variant** (the training loop's own ``train_step``:
  ``n_critic`` discriminator updates and one generator update, Adam included), each with its full-scale settings
  from the first experiment that trains it. On a CPU at a CPU-feasible size (image resolution at most
  ``cpu_resolution`` = 32, batch at most ``cpu_batch`` = 8, the papers' widths; the mixtures at their own size);
  on a GPU at the paper's resolution and batch. Each step's **ratio to its baseline on the same network**
  (``baseline_of``: BRC variants vs the same method without BRC, GL-GAN's patch-D and Ada-OP variants vs ``base``,
  LGA vs WGAN-GP (SNGAN for ``sngan_lga4``), a method's other variants vs its first, UnrolledGAN / ProxGAN vs
  VGAN). Steps of one experiment are timed interleaved in one process (each repeat times one step of every
  member in turn, so load changes hit all alike), the median over repeats after warm-up; on CUDA the clock is read
  after ``torch.cuda.synchronize()``;
* the BRC solvers per generator update (IGA vs CG, Neumann, RHG, BDA: ``ganrepro/tools/brc_step.py``'s measurement);
* metric throughput: MS-SSIM pairs/s at 128 px and feature extraction images/s (``ganrepro/tools/metrics_bench.py``);
* the loader's images/s from a prepared memmap (``ganrepro.data.loader.BatchSampler``, uint8 batches);
* the full-scale DAG build time (``snakemake -n all --config scale=full`` as a subprocess).

The device, torch version, thread count and load average are recorded. Timings are reported, never asserted.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ganrepro import ROOT
from ganrepro.config import config as C

@dataclass
class Case:
    experiment: str
    method: str
    variant: str
    baseline: tuple[str, str] | None = None
    times: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


def baseline_of(method: str, variant: str) -> tuple[str, str] | None:
    """The (method, variant) a step is compared with: the method's own declaration (``Method.baseline_of``)."""
    from ganrepro.methods import registry

    return registry.get(method).baseline_of(variant)


def step_cases(cfg: dict) -> tuple[list[Case], list[str]]:
    """Every registered (method, variant) with the first full-scale experiment that trains it, and its baseline
    (added to the same experiment's cases when not trained there itself); variants in no table are listed."""
    from ganrepro.methods import registry

    full = {**cfg, "scale": "full"}
    planned = C.planned_runs(full)
    first_exp: dict = {}
    for exp, m, v in planned:
        first_exp.setdefault((m, v), exp)
    cases: dict = {}
    skipped = []
    for m in registry.registered():
        for v in registry.get(m).variants:
            exp = first_exp.get((m, v))
            if exp is None:
                skipped.append(f"{m}/{v}")
                continue
            base = baseline_of(m, v)
            cases.setdefault((exp, m, v), Case(exp, m, v, base))
            if base is not None and (exp, *base) not in cases:
                cases[(exp, *base)] = Case(exp, *base, baseline_of(*base))
    return sorted(cases.values(), key=lambda c: (c.experiment, c.method, c.variant)), skipped


# Each comparison group's timed rounds go on (beyond ``repeats``, up to 40) until they add up to this many seconds.
MIN_SECONDS = 12.0


def comparison_groups(cases: list[Case]) -> list[list[Case]]:
    """The cases timed together: those of one experiment linked by baseline relations (a case, its baseline, the
    baseline's baseline, ...), each group interleaved on its own, so a group's rounds (and ``min_seconds``) are not
    dominated by unrelated slow steps of the same experiment (GL-GAN's variants beside WGAN-QC's exact OT)."""
    parent = {}

    def root(k):
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    keys = {(c.experiment, c.method, c.variant) for c in cases}
    for c in cases:
        k = (c.experiment, c.method, c.variant)
        if c.baseline is not None and (c.experiment, *c.baseline) in keys:
            parent[root(k)] = root((c.experiment, *c.baseline))
    groups: dict = {}
    for c in cases:
        groups.setdefault(root((c.experiment, c.method, c.variant)), []).append(c)
    return list(groups.values())


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def time_steps(cfg: dict, cases: list[Case], device: str, repeats: int, warmup: int, cpu_resolution: int = 32,
               cpu_batch: int = 8, width_scale: float = 1.0, before=None, after=None, min_seconds: float = 0.0) -> None:
    """Fill each case's ``times`` (seconds per training step) and ``info``; the cases of each ``comparison_groups``
    group interleaved.

    On a CPU image runs are capped at ``cpu_resolution`` px and ``cpu_batch`` (pass large caps for the paper's
    size); ``width_scale`` multiplies g_width / d_width; ``before(case)`` / ``after(case, seconds)`` are called
    around every timed step (e.g. a clock inside the step: ``benchmarks/baseline_step.py``'s OT solve);
    ``min_seconds``: each group's timed rounds go on (beyond ``repeats``) until they add up to this. Each
    context starts at the run's last epoch with the method's ``bench_state`` (its costliest steady phase: GL-GAN's
    paper rule calibrated, on Ada-OP's local branch), so a method is timed doing its own work, not a warm-up."""
    import torch

    from ganrepro.methods import registry
    from ganrepro.train.loop import Context, make_nets

    full = {**cfg, "scale": "full"}
    for group in comparison_groups(cases):
        exp = group[0].experiment
        setups = []
        for c in group:
            rc = C.resolve_run(full, exp, c.method, c.variant, 0)
            params = dict(rc["method_params"])
            for k in ("g_width", "d_width"):
                if k in params and width_scale != 1.0:
                    params[k] = max(1, int(round(params[k] * width_scale)))
            res, batch = rc["resolution"], int(rc["train"]["batch_size"])
            if not device.startswith("cuda") and res:
                res, batch = min(res, cpu_resolution), min(batch, cpu_batch)
                params["resolution"] = res
            method = registry.get(c.method)
            torch.manual_seed(0)
            nets = make_nets(method, params, rc["train"], device)
            ctx = Context(rng=torch.Generator().manual_seed(1), device=device,
                          epoch=int(rc["train"].get("epochs") or 0))
            if method.bench_state is not None:
                ctx.state.update(method.bench_state(params))
            g = torch.Generator().manual_seed(2)
            if rc.get("mog"):
                from ganrepro.data.mog import MoGSampler

                reals = [MoGSampler(rc["mog"], batch, k).next().to(device) for k in range(2)]
            else:
                reals = [(torch.rand(batch, 3, res, res, generator=g) * 2 - 1).to(device) for _ in range(2)]
            c.info = {"resolution": res, "batch_size": batch, "n_critic": int(params.get("n_critic", 1)),
                      **{k: params[k] for k in ("g_width", "d_width") if k in params}}
            setups.append((c, method, nets, params, ctx, reals))
        members = [(method, nets, (lambda i, reals=reals: (lambda: reals[i % 2])), params, ctx, c.times,
                    (lambda c=c: before(c)) if before else None,
                    (lambda dt, stats, c=c: after(c, dt)) if after else None)
                   for c, method, nets, params, ctx, reals in setups]
        interleave(members, device, repeats, warmup, min_seconds)


def interleave(members, device: str, repeats: int, warmup: int, min_seconds: float = 0.0,
                max_repeats: int = 40) -> int:
    """Time ``warmup`` rounds, then at least ``repeats`` rounds of one ``train_step`` per member, members in turn
    within a round (so load changes hit all alike), and more rounds (up to ``max_repeats``) until the timed rounds
    add up to ``min_seconds``: cheap steps get more repeats, so their medians and paired ratios settle. Each member
    is (method, nets, batches, params, ctx, times, before, after): ``batches(round)`` gives the step's
    ``next_real``, the timed seconds after warm-up go to ``times`` (round k of every member at index k, so ratios
    can be paired per round); ``before()`` (optional) runs before every step, ``after(seconds, stats)`` (optional)
    after every timed one, off the clock (``stats``: the step's statistics as ``train_step`` returns them); the
    clock is read after ``torch.cuda.synchronize()`` on CUDA. Returns the number of timed rounds. This is the one
    step timer: the target's steps and fast-path switches and ``benchmarks/*_step.py`` all time through it."""
    from ganrepro.train.loop import train_step

    i, timed, spent = 0, 0, 0.0
    while i < warmup or timed < repeats or (spent < min_seconds and timed < max_repeats):
        for method, nets, batches, params, ctx, times, before, after in members:
            next_real = batches(i)
            if before is not None:
                before()
            _sync(device)
            t = time.perf_counter()
            stats = train_step(method, nets, next_real, params, ctx)
            _sync(device)
            dt = time.perf_counter() - t
            ctx.step += 1
            if i >= warmup:
                times.append(dt)
                spent += dt
                if after is not None:
                    after(dt, stats)
        timed += i >= warmup
        i += 1
    return timed


def step_rows(cases: list[Case]) -> list[dict]:
    """One row per timed case: the median step and, against its baseline, ``ratio`` = the median over rounds of
    the paired ratio step / baseline step of the same round (interleaved: a load change inside a round hits both),
    beside ``ratio_of_medians``."""
    by_key = {(c.experiment, c.method, c.variant): c for c in cases if c.times}
    rows = []
    for c in cases:
        key = (c.experiment, c.method, c.variant)
        if key not in by_key:
            continue
        row = {"experiment": c.experiment, "method": c.method, "variant": c.variant, **c.info,
               "step_s": round(statistics.median(c.times), 5), "repeats": len(c.times)}
        base = by_key.get((c.experiment, *c.baseline)) if c.baseline is not None else None
        if base is not None:
            row["baseline"] = "/".join(c.baseline)
            row["ratio"] = round(statistics.median(t / b for t, b in zip(c.times, base.times, strict=True)), 3)
            row["ratio_of_medians"] = round(statistics.median(c.times) / statistics.median(base.times), 3)
        rows.append(row)
    return rows


def random_memmap(path: Path, n: int, res: int):
    """A prepared-format array (uint8 (n, res, res, 3) .npy) of random images at ``path``, memory-mapped."""
    import numpy as np

    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, res, res, 3))
    arr[:] = np.random.default_rng(0).integers(0, 256, size=arr.shape, dtype=np.uint8)
    arr.flush()
    del arr
    return np.load(path, mmap_mode="r")


FAST_CASE = ("lga_cifar10", "wgan_gp", "default")   # the fast-path switches are timed on this run's step


def bench_fast(cfg: dict, device: str, repeats: int, warmup: int, cpu_resolution: int = 32, cpu_batch: int = 8,
               n_images: int = 1024, with_all: bool = False) -> dict:
    """Each fast-path switch (``ganrepro.train.fastpath``) on its own against the default path, interleaved: one training
    step of ``FAST_CASE`` with its batches drawn from a prepared-format memmap through the default sampler, the
    prefetch thread or the device copy (data switches), or with the switch's networks / autocast / latents
    (compute switches). ``compile`` is timed on CUDA only (on a CPU it needs a C++ toolchain and minutes).
    ``with_all``: also every switch together (``all``: the data on the device, which supersedes prefetch, and every
    compute switch)."""
    import torch

    from ganrepro.data.loader import BatchSampler
    from ganrepro.methods import registry
    from ganrepro.train import fastpath
    from ganrepro.train.loop import Context, make_nets

    full = {**cfg, "scale": "full"}
    exp, m, v = FAST_CASE
    rc = C.resolve_run(full, exp, m, v, 0)
    params, tcfg = dict(rc["method_params"]), dict(rc["train"])
    res, batch = rc["resolution"], int(tcfg["batch_size"])
    if not device.startswith("cuda"):
        res, batch = min(res, cpu_resolution), min(batch, cpu_batch)
        params["resolution"] = res
    method = registry.get(m)
    switches = ["default", "prefetch", "data_on_device", "z_on_device", "fused_adam", "bf16", "channels_last"]
    if device.startswith("cuda"):
        switches += ["pin_memory", "compile"]
    every = {"data_on_device": True, "z_on_device": True, "fused_adam": True, "bf16": True, "channels_last": True,
             **({"compile": True} if device.startswith("cuda") else {})}
    if with_all:
        switches.append("all")
    with tempfile.TemporaryDirectory() as d:
        images = random_memmap(Path(d) / "images.npy", n_images, res)
        setups = {}
        for sw in switches:
            fast = {} if sw == "default" else {"prefetch": 2, "pin_memory": True} if sw == "pin_memory" else \
                {"prefetch": 2} if sw == "prefetch" else every if sw == "all" else {sw: True}
            fo = fastpath.fast_options({"fast": fast})
            torch.manual_seed(0)
            nets = make_nets(method, params, {**tcfg, "fast": fast}, device)
            if fo["compile"]:
                fastpath.compile_generator(nets.G, params["z_dim"], device)
            ctx = Context(rng=torch.Generator().manual_seed(1), device=device, bf16=fo["bf16"])
            if fo["z_on_device"]:
                ctx.z_rng = torch.Generator(device=device).manual_seed(2)
            sampler = BatchSampler(images, batch, 0)
            src = fastpath.DeviceData(sampler, device, fo["data_on_device_max_gb"]) if fo["data_on_device"] else \
                fastpath.Prefetcher(sampler, fo["prefetch"], device, fo["pin_memory"]) if fo["prefetch"] else None
            mf = torch.channels_last if fo["channels_last"] else torch.contiguous_format

            def next_real(src=src, sampler=sampler, mf=mf):
                b = sampler.next().to(device, non_blocking=True) if src is None else src.next()
                return b.contiguous(memory_format=mf)

            setups[sw] = (nets, ctx, next_real, src, [])
        try:
            interleave([(method, nets, (lambda i, nr=next_real: nr), params, ctx, times, None, None)
                         for nets, ctx, next_real, src, times in setups.values()], device, repeats, warmup)
        finally:
            for nets, ctx, next_real, src, times in setups.values():
                if src is not None:
                    src.close()
    med = {sw: statistics.median(s[4]) for sw, s in setups.items()}
    return {"case": "/".join(FAST_CASE), "resolution": res, "batch_size": batch, "repeats": repeats,
            "switches": {sw: {"step_s": round(t, 5), "ratio_to_default": round(t / med["default"], 3)}
                         for sw, t in med.items()}, **({"all_switches": every} if with_all else {})}


def bench_loader(n: int = 2048, res: int = 64, batch: int = 64, batches: int = 64) -> dict:
    """Random uint8 batches from a prepared-format memmap (``BatchSampler``, as training reads them)."""
    from ganrepro.data.loader import BatchSampler

    with tempfile.TemporaryDirectory() as d:
        images = random_memmap(Path(d) / "images.npy", n, res)
        s = BatchSampler(images, batch, seed=0)
        s.next()
        t = time.perf_counter()
        for _ in range(batches):
            s.next()
        dt = time.perf_counter() - t
    return {"resolution": res, "batch_size": batch, "images": n, "images_per_s": round(batches * batch / dt, 1),
            "note": "file just written: page cache, not disk"}


def bench_metrics(device: str) -> dict:
    """MS-SSIM pairs/s at 128 px and stand-in feature extraction images/s (``ganrepro/tools/metrics_bench.py``)."""
    from ganrepro.tools import metrics_bench

    return {"ms_ssim": metrics_bench.bench_msssim(200, 128, device),
            "features_standin": metrics_bench.bench_features(256, 64, "clean", device)}


def bench_dag(timeout: int = 300) -> dict:
    """Seconds to build the full-scale DAG (``snakemake -n all``) in a fresh process, and its job count."""
    exe = Path(sys.executable).with_name("snakemake")
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        out = subprocess.run([str(exe), "-s", str(ROOT / "Snakefile"), "-d", d, "--configfile",
                              str(C.CONFIG_PATH), "--config", "scale=full", "--cores", "2", "-n", "--quiet", "all"],
                             capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        dt = time.perf_counter() - t
    from ganrepro.tools.counts import job_stats

    return {"seconds": round(dt, 2), "jobs": job_stats(out.stdout).get("total"), "returncode": out.returncode}


def run(cfg: dict, device: str = "cpu", repeats: int = 5, warmup: int = 2, threads: int | None = None,
        parts: tuple = ("steps", "fast", "brc", "metrics", "loader", "dag"), min_seconds: float = MIN_SECONDS) -> dict:
    """Every part in ``parts``; step timings: at least ``repeats`` rounds after ``warmup``, and per comparison group
    as many more (up to 40) as fit in ``min_seconds`` of timed steps."""
    import torch

    from ganrepro.util.env import hardware

    if threads:
        torch.set_num_threads(threads)
    out = {"benchmark": "ganrepro bench", "device": device, "hardware": hardware(device),
           "device_name": (torch.cuda.get_device_name(0) if device.startswith("cuda") else hardware("cpu")["cpu"]),
           "torch": torch.__version__, "threads": torch.get_num_threads(),
           "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    t0 = time.perf_counter()
    if "steps" in parts:
        cases, skipped = step_cases(cfg)
        time_steps(cfg, cases, device, repeats, warmup, min_seconds=min_seconds)
        out["steps"], out["not_in_any_table"] = step_rows(cases), skipped
    if "fast" in parts:
        out["fast_path"] = bench_fast(cfg, device, max(repeats, 5), warmup)
    if "brc" in parts:
        from ganrepro.tools import brc_step

        full = {**cfg, "scale": "full"}
        out["brc_solvers"] = {label: brc_step.bench_variants(full, exp, m, variants, max(3, repeats))
                              for label, exp, m, variants in brc_step.SOLVER_CASES}
        out["brc_unroll_k"] = brc_step.bench_unroll_k(full, repeats=max(3, repeats))
        out["brc_iga_phases"] = brc_step.iga_phases(full, repeats=max(10, 2 * repeats))
    if "metrics" in parts:
        out["metrics"] = bench_metrics(device)
    if "loader" in parts:
        out["loader"] = bench_loader()
    if "dag" in parts:
        out["dag_build"] = bench_dag()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def render_markdown(res: dict) -> str:
    hw = res["hardware"]
    lines = ["# Benchmarks", "",
             f"Device **{res['device_name']}** ({res['device']}), torch {res['torch']}, {res['threads']} threads, "
             f"load average {res.get('load_average')}; {res.get('seconds')} s in all. Written by "
             "`python -m ganrepro bench` (`ganrepro/tools/bench.py`); timings are medians after warm-up, interleaved per "
             "experiment; they are reported, never asserted.", ""]
    if res.get("steps"):
        lines += ["## One training step per method and variant", "",
                  "n_critic discriminator updates + one generator update at the size given; ratio = the median "
                  "over rounds of step / its baseline's step in the same round, on the same experiment.", "",
                  "| experiment | method/variant | px | batch | n_critic | ms per step | repeats | baseline | ratio |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in res["steps"]:
            lines.append(f"| {r['experiment']} | {r['method']}/{r['variant']} | {r['resolution']} | "
                         f"{r['batch_size']} | {r['n_critic']} | {1000 * r['step_s']:.1f} | {r['repeats']} | {r.get('baseline', '-')} | "
                         f"{r.get('ratio', '-')} |")
        if res.get("not_in_any_table"):
            lines += ["", "Variants no table trains (not timed): " + ", ".join(res["not_in_any_table"])]
        lines.append("")
    if res.get("fast_path"):
        fp = res["fast_path"]
        lines += ["## Fast-path switches, each on its own", "",
                  f"One training step of {fp['case']} at {fp['resolution']} px, batch {fp['batch_size']}, batches "
                  "from a prepared memmap (`ganrepro/train/fastpath.py`; `train.fast` keys).", "",
                  "| switch | ms per step | × default |", "|---|---|---|"]
        lines += [f"| {sw} | {1000 * x['step_s']:.1f} | {x['ratio_to_default']} |" for sw, x in fp["switches"].items()]
        lines.append("")
    if res.get("brc_solvers"):
        lines += ["## BRC: one VGAN generator update per hypergradient solver", "",
                  "Paper × IGA: the solver table's published T as a multiple of IGA's (brc.txt Table 3.1, whole runs; "
                  "K unstated: the K = 10 columns are the suite's reading, config/tables/brc_table_solver.yaml). "
                  "IGA ahead by at least the paper's ratio: × IGA ≥ paper × IGA.", "",
                  "| setting | solver variant | ms | × IGA | paper × IGA | ≥ paper |", "|---|---|---|---|---|---|"]
        for label, r in res["brc_solvers"].items():
            paper = published_solver_ratios(r.get("experiment", ""))
            for v, x in r.items():
                if isinstance(x, dict):
                    pv = paper.get(v)
                    ok = "-" if pv is None or v == "brc" else ("yes" if x["ratio_to_brc"] >= pv else "no")
                    pub = "-" if pv is None else f"{pv:.2f}"
                    lines.append(f"| {label} | {v} | {x['ms']:.2f} | {x['ratio_to_brc']:.2f} | {pub} | {ok} |")
        lines.append("")
    if res.get("brc_unroll_k"):
        uk = res["brc_unroll_k"]
        lines += [f"Unrolled solvers against the unroll length K ({uk['experiment']}, {uk['method']}; brc.txt does not "
                  "state K; Table 3.1's T: RHG 10.1x, BDA 14.0x IGA on the 2D MoG):", "",
                  "| solver, K | × IGA |", "|---|---|"]
        lines += [f"| {v} | {x:.2f} |" for v, x in uk["ratio_to_iga"].items()]
        lines.append("")
    if res.get("brc_iga_phases"):
        ph = res["brc_iga_phases"]
        lines += [f"Where one generator update's time goes ({ph['experiment']}, {ph['method']}; medians, ms; IGA "
                  f"{ph['iga_ms']:.2f} vs plain {ph['plain_ms']:.2f}: {ph['ratio']:.2f}x):", "",
                  "| phase | ms |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in ph["phases_ms"].items()]
        lines.append("")
    if res.get("metrics"):
        ms, ft = res["metrics"]["ms_ssim"], res["metrics"]["features_standin"]
        lines += ["## Metrics", "", f"- MS-SSIM at 128 px: {ms.get('pairs_per_s')} pairs/s",
                  f"- feature extraction (stand-in net, clean resize): {ft.get('images_per_s')} images/s", ""]
    if res.get("loader"):
        ld = res["loader"]
        lines += ["## Loader", "", f"- prepared memmap, {ld['resolution']} px, batch {ld['batch_size']}: "
                  f"{ld['images_per_s']} images/s ({ld['note']})", ""]
    if res.get("dag_build"):
        dg = res["dag_build"]
        lines += ["## DAG", "", f"- full-scale `snakemake -n all`: {dg['seconds']} s, {dg['jobs']} jobs", ""]
    lines += [f"Hardware: {json.dumps(hw)}", ""]
    return "\n".join(lines)


def write(res: dict, out_md: Path) -> list[Path]:
    from ganrepro.util.io import write_json, write_text

    out_md = Path(out_md)
    out_json = out_md.with_suffix(".json")
    write_json(out_json, res)
    write_text(out_md, render_markdown(res))
    return [out_md, out_json]


def published_solver_ratios(experiment: str) -> dict[str, float]:
    """{VGAN variant: the solver table's published T as a multiple of IGA's} for the table row that runs on
    ``experiment`` (brc_table_solver's ``solver_time`` rows; a column the paper prints no T for, e.g. the suite's
    K = 10 reading, takes the published ratio of the solver it reads: RHG K=10 -> RHG's)."""
    from ganrepro.spec.tables import get_spec

    spec = get_spec("brc_table_solver")
    cells = [c for c in spec.cells() if c.metric == "solver_time" and c.run and c.run["experiment"] == experiment]
    pub = {c.col_id: c.published.mean for c in cells if c.published is not None}
    ref = pub.get(spec.protocol.get("ratio_to", "iga"))
    if not ref:
        return {}
    read_as = {b: a for r in spec.readings[1:] for a, b in r.get("replace", {}).items()}
    return {c.run["variant"]: round(pub[src] / ref, 3) for c in cells
            if (src := c.col_id if c.col_id in pub else read_as.get(c.col_id)) in pub}
