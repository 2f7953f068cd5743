"""The bill before launching: ``python -m ganrepro cost TARGET`` (issue 19).

TARGET is a table id (``glgan_table1``: the rule of that name), a paper (``glgan``: its tables) or ``all``. The
runs are the ones the DAG would train for it (the tables' cells, the config's methods and seeds, as ``planned_runs``)
less those already finished (a ``train.json`` with status ``finished`` in the run's folder). Each run's steps come
from its resolved settings (``steps``, or ``epochs`` x images / batch / n_critic as the training loop counts them;
one step = n_critic discriminator updates + one generator update). Its seconds per step come from, in order:

1. ``run``: finished runs of the same (experiment, method, variant) on that GPU model (``train.json``:
   train_seconds / total_steps, the median over seeds);
2. ``benchmark``: the benchmark JSONs measured on that GPU model (``--bench FILE``; by default
   ``report/benchmarks.json`` and the GPU checks committed as ``benchmarks/results/benchmarks_<gpu>.json``,
   ``ganrepro.tools.gpucheck``) for the same method, variant, resolution, batch and fast-path switches (the run's
   ``train.fast``; a row without switches is the default path), else for another variant of the same method at that
   size and path (flagged);
3. ``paper``: scaled from the papers' own hours. GL-GAN Table 1 prints V100 training hours for WGAN-GP, SNDCGAN,
   SAGAN, WGAN-QC and GL-GAN at 64 and 128 px (batch 64, 30 epochs of CelebA). Each gives a V100 cost per step per
   image-pixel and network update, u = seconds / step / (batch x resolution^2 x (n_critic + 1)); a run uses its own
   method's u from the anchor nearest in resolution, else the median u of all anchors, times its own batch x
   resolution^2 x (n_critic + 1). It is an order-of-magnitude figure: the networks differ in width and depth per
   pixel; the cell WGAN-QC 64 px (a TITAN Xp) is left out. Other GPU models get the V100 figure, flagged.
   MoG runs (BRC's toy mixtures) train on a CPU: their seconds come from the committed reference runs
   (``report/reference/brc/runs``), reported as CPU-hours.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from ganrepro import ROOT, paths
from ganrepro.config import config as C
from ganrepro.spec import tables as T

ANCHOR_TABLE = "glgan_table1"   # the only table that prints training hours on one named GPU (V100)
ANCHOR_GPU = "V100"


@dataclass
class RunCost:
    experiment: str
    method: str
    variant: str
    seeds: list[int]
    steps: int
    resolution: int
    batch: int
    n_critic: int
    seconds_per_step: float | None
    source: str
    device: str            # "gpu" or "cpu"

    @property
    def hours(self) -> float | None:
        if self.seconds_per_step is None:
            return None
        return self.seconds_per_step * self.steps * len(self.seeds) / 3600


def runs_of_target(cfg: dict, target: str) -> list[tuple[str, str, str, list[int]]]:
    """(experiment, method, variant, seeds) the target's tables need and the config's methods can train."""
    specs = T.load_all()
    if target == "all":
        chosen = C.selected_tables(cfg)
    elif target in {s.id for s in specs}:
        chosen = [s for s in specs if s.id == target]
    elif target in {s.paper for s in specs}:
        chosen = [s for s in specs if s.paper == target]
    else:
        raise C.ConfigError(f"cost: unknown target {target!r}; give a table id ({', '.join(T.table_ids())}), "
                            f"a paper ({', '.join(sorted({s.paper for s in specs}))}) or all")
    from ganrepro.methods import registry

    runs: dict = {}
    for _, cell in C.cells_of_run(cfg, specs=chosen):
        r = cell.run
        if r["method"] in cfg["methods"] and registry.is_runnable(r["method"], r["variant"]):
            key = (r["experiment"], r["method"], r["variant"])
            runs.setdefault(key, set()).update(C.cell_seeds(cfg, r))
    return [(*k, sorted(v)) for k, v in sorted(runs.items())]


def _finished(path: Path) -> dict | None:
    try:
        d = json.loads((path / "train.json").read_text())
    except (OSError, ValueError):
        return None
    return d if d.get("status") == "finished" else None


def run_steps(cfg: dict, rc: dict) -> int:
    """Training steps of a resolved run, counted as the training loop does (``ganrepro.train.loop._total_steps``)."""
    tr = rc["train"]
    if tr.get("steps"):
        return int(tr["steps"])
    count = C.dataset_count(cfg, rc["dataset"])
    if not count:
        raise C.ConfigError(f"cost: datasets.{rc['dataset']} has no count (needed for an epochs-based run)")
    per_epoch = count // int(tr["batch_size"])
    n_critic = int(rc["method_params"].get("n_critic", 1))
    return int(-(-tr["epochs"] * per_epoch // n_critic))


def _u(seconds: float, batch: int, res: int, n_critic: int) -> float:
    return seconds / (batch * res * res * (n_critic + 1))


def paper_anchors(cfg: dict) -> dict[str, list[tuple[int, float]]]:
    """method -> [(resolution, V100 seconds per step per image-pixel-update)] from GL-GAN Table 1's hours."""
    spec = T.get_spec(ANCHOR_TABLE)
    out: dict = {}
    for cell in spec.cells():
        if cell.metric != "train_hours" or cell.published is None or cell.run is None:
            continue
        if cell.published.note and "TITAN" in cell.published.note:
            continue
        r = cell.run
        rc = C.resolve_run(cfg, r["experiment"], r["method"], r["variant"], 0)
        steps = run_steps(cfg, rc)
        n_critic = int(rc["method_params"].get("n_critic", 1))
        u = _u(cell.published.mean * 3600 / steps, int(rc["train"]["batch_size"]), rc["resolution"], n_critic)
        out.setdefault(r["method"], []).append((rc["resolution"], u))
    return out


def benchmark_files(bench: Path | None) -> list[Path]:
    """``[bench]`` when given, else the benchmark target's JSON and every committed full-size GPU check."""
    if bench is not None:
        return [Path(bench)]
    return [ROOT / paths.benchmark_json(),
            *sorted(p for p in paths.BENCHMARK_RESULTS.glob("benchmarks_*.json")
                    if not p.stem.endswith("_tiny"))]


def _benchmark_rows(path: Path | None) -> list[dict]:
    if path is None or not path.exists():
        return []
    try:
        d = json.loads(path.read_text())
    except ValueError as e:
        raise C.ConfigError(f"{path}: not valid JSON ({e})") from None
    if not d.get("device_name"):
        return []
    return [dict(r, device_name=d["device_name"]) for r in d.get("steps", []) if r.get("step_s")]


def fast_key(fast: dict | None) -> tuple:
    """The switches of a ``train.fast`` section that differ from the defaults, as a comparable key."""
    from ganrepro.train.fastpath import FAST_DEFAULTS

    return tuple(sorted((k, v) for k, v in (fast or {}).items() if FAST_DEFAULTS.get(k) != v))


def bench_step(rows: list[dict], gpu: str, method: str, variant: str, res: int, batch: int,
               fast: dict | None) -> tuple[float, str] | None:
    """Measured seconds per step on ``gpu`` for the run and its source, or None: the same variant first, else the
    median over the method's other variants measured at that size and fast path."""
    key = fast_key(fast)
    same = [r for r in rows if gpu.lower() in r["device_name"].lower() and r.get("method") == method
            and r.get("resolution") == res and r.get("batch_size") == batch and fast_key(r.get("fast")) == key]
    exact = [r for r in same if r.get("variant") == variant]
    if exact:
        return float(statistics.median(r["step_s"] for r in exact)), f"benchmark ({exact[0]['device_name']})"
    if same:
        return (float(statistics.median(r["step_s"] for r in same)),
                f"benchmark ({same[0]['device_name']}; other variants of {method})")
    return None


@dataclass
class Pricing:
    """What a pricing function sees of one (experiment, method, variant): the resolved run, the finished seeds'
    ``train.json`` (or None), the GPU model asked for, the benchmark rows and GL-GAN Table 1's anchors."""

    cfg: dict
    rc: dict
    done: dict
    gpu: str
    bench_rows: list
    anchors: dict

    @property
    def key(self) -> tuple[str, str, str]:
        return self.rc["experiment"], self.rc["method"], self.rc["variant"]


def _per_step(train_jsons) -> list[float]:
    return [d["train_seconds"] / d["total_steps"] for d in train_jsons if d and d.get("total_steps")]


def price_mixture(p: Pricing):
    """BRC's mixtures train on a CPU: the committed reference runs of the setting (else its other variants)."""
    if not C.is_mog(p.cfg, p.rc["experiment"]):
        return None
    exp, m, v = p.key
    for pattern, source in ((f"*/runs/{exp}/{m}/{v}/seed*/train.json", "run (committed CPU reference)"),
                            (f"*/runs/{exp}/{m}/*/seed*/train.json", "run (committed CPU reference, other variants)")):
        secs = _per_step(_finished(f.parent) for f in paths.REFERENCE_ROOT.glob(pattern))
        if secs:
            return statistics.median(secs), source, "cpu"
    return None, "none", "cpu"


def price_finished_run(p: Pricing):
    """Finished seeds of the same run on that GPU model."""
    same = _per_step(d for d in p.done.values() if d and p.gpu.lower() in str((d.get("hardware") or {}).get("gpu")
                                                                                 or "").lower())
    return (statistics.median(same), f"run ({p.gpu})", "gpu") if same else None


def price_benchmark(p: Pricing):
    """The benchmark JSONs measured on that GPU model (``bench_step``)."""
    hit = bench_step(p.bench_rows, p.gpu, p.rc["method"], p.rc["variant"], p.rc["resolution"],
                     int(p.rc["train"]["batch_size"]), p.rc["train"].get("fast"))
    return (*hit, "gpu") if hit else None


def price_paper(p: Pricing):
    """GL-GAN Table 1's V100 hours per image-pixel-update, the method's own anchor or the median of all."""
    all_u = [u for v in p.anchors.values() for _, u in v]
    m, res = p.rc["method"], p.rc["resolution"]
    if m not in p.anchors and not all_u:
        return None
    own = min(p.anchors[m], key=lambda a: abs(a[0] - res))[1] if m in p.anchors else statistics.median(all_u)
    n_critic = int(p.rc["method_params"].get("n_critic", 1))
    source = ("paper (own V100 hours)" if m in p.anchors else "paper (median V100 anchor)") + (
        "" if p.gpu.upper() == ANCHOR_GPU else f"; V100 figure, no {p.gpu} measurement")
    return own * int(p.rc["train"]["batch_size"]) * res * res * (n_critic + 1), source, "gpu"


# the sources of a run's seconds per step, in order: the first that answers prices it
PRICERS = (price_mixture, price_finished_run, price_benchmark, price_paper)


def estimate(cfg: dict, target: str, gpu: str = ANCHOR_GPU, bench: Path | None = None,
             include_finished: bool = False) -> tuple[list[RunCost], list[str]]:
    """The target's unfinished runs with their estimated hours on ``gpu`` (seed counts per run), and notes."""
    cfg = {**cfg, "scale": "full"} if cfg.get("scale") != "full" else cfg
    anchors = paper_anchors(cfg)
    bench_rows = [r for f in benchmark_files(bench) for r in _benchmark_rows(f)]
    out, notes = [], []
    for exp, m, v, seeds in runs_of_target(cfg, target):
        done = {s: _finished(Path(C.run_dir(cfg, exp, m, v, s))) for s in seeds}  # train.json of each seed, once
        todo = [s for s in seeds if include_finished or done[s] is None]
        if not todo:
            continue
        rc = C.resolve_run(cfg, exp, m, v, todo[0])
        pricing = Pricing(cfg, rc, done, gpu, bench_rows, anchors)
        sps, source, device = next((r for r in (f(pricing) for f in PRICERS) if r is not None), (None, "none", "gpu"))
        out.append(RunCost(exp, m, v, todo, run_steps(cfg, rc), rc["resolution"], int(rc["train"]["batch_size"]),
                           int(rc["method_params"].get("n_critic", 1)), sps, source, device))
    if any(r.seconds_per_step is None for r in out):
        notes.append("runs without any source are listed with no hours")
    return out, notes


def render(rows: list[RunCost], notes: list[str], target: str, gpu: str) -> str:
    lines = [f"cost of {target!r} (runs not yet finished; GPU model {gpu}; sources: ganrepro/tools/cost.py)", "",
             f"{'run (experiment/method/variant)':<58} {'seeds':>5} {'steps':>8} {'px':>4} {'batch':>5} "
             f"{'s/step':>8} {'hours':>9}  source"]
    tot = {"gpu": 0.0, "cpu": 0.0}
    for r in rows:
        h = r.hours
        if h is not None:
            tot[r.device] += h
        sps = "-" if r.seconds_per_step is None else f"{r.seconds_per_step:.3g}"
        hrs = "-" if h is None else f"{h:.1f}"
        lines.append(f"{r.experiment + '/' + r.method + '/' + r.variant:<58} {len(r.seeds):>5} {r.steps:>8} "
                     f"{r.resolution:>4} {r.batch:>5} {sps:>8} {hrs:>9}  {r.source}" + (" [cpu]" if r.device == "cpu"
                                                                                         else ""))
    n_runs = sum(len(r.seeds) for r in rows)
    lines += ["", f"total: {n_runs} runs, {tot['gpu']:.0f} GPU-hours ({gpu}) + {tot['cpu']:.1f} CPU-hours"]
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)
