"""The bill before launching: ``python -m ganrepro cost TARGET`` (issues 19, 33).

TARGET is a table id (``glgan_table1``: the rule of that name), a paper (``glgan``: its tables) or ``all``. The
runs are the ones the DAG would train for it (the tables' cells, the config's methods and seeds, as ``planned_runs``)
less those already finished (a ``train.json`` with status ``finished`` in the run's folder). Each run's steps come
from its resolved settings (``steps``, or ``epochs`` x images / batch / n_critic as the training loop counts them;
one step = n_critic discriminator updates + one generator update), and the FLOPs of one step are counted on meta
tensors (``ganrepro.tools.stepflops``). Seconds per step = FLOPs / achieved FLOP/s, as a low-high range, where the
achieved rate comes from the first of these sources that answers:

1. ``run``: finished runs of the same (experiment, method, variant) on that GPU model (``train.json``:
   train_seconds / total_steps; the range is the seeds' min-max);
2. ``benchmark``: the benchmark JSONs measured on that GPU model (``--bench FILE``; by default
   ``report/benchmarks.json`` and the GPU checks committed as ``benchmarks/results/benchmarks_<gpu>.json``,
   ``ganrepro.tools.gpucheck``): the same method, variant, resolution, batch and fast path (the run's ``train.fast``;
   a row timed with ``cudnn_benchmark`` on stands in, flagged), its step time from the measured one up to that times
   the training loop's overhead over the timed step (the check's ``train_resume`` section: the loop's ms per step
   over the timed step of the same run, at least 1); else the achieved TFLOP/s of the method's other rows on that
   GPU and path (their min-max, the loop's overhead on top), flagged;
3. ``paper``: calibrated on the papers' own hours. GL-GAN Tables 1-2 print single-GPU training hours of WGAN-GP,
   SNDCGAN, SAGAN, WGAN-QC and GL-GAN (V100; WGAN-QC 64 px on a TITAN Xp, glgan.txt Sec. 4.2): each anchor's FLOPs
   (steps x FLOPs per step) over its hours is that GPU's achieved rate for that network; a run uses the min-max rate
   of its own method's anchors on that GPU, else of all anchors on it. A GPU without anchors gets the V100's rates
   scaled by the ratio of stated peaks (the fp32 ratio and the 16-bit tensor ratio bound it), flagged;
4. ``old rule``: the last resort, for a run whose FLOPs could not be counted or a GPU with no stated peak: GL-GAN
   Table 1's V100 hours per image-pixel-update scaled by batch x resolution^2 x (n_critic + 1) (issue 19's rule; it
   ignores the networks, so it is flagged and given no range).

MoG runs (BRC's toy mixtures) train on a CPU: their seconds come from the committed reference runs
(``report/reference/brc/runs``), reported as CPU-hours.

The floor of a run is its FLOPs at the chip's stated peak (``ganrepro.util.flops.PEAKS``: the 16-bit tensor peak,
else fp32): no run on that chip can be faster. Where the seconds are measured (``run``, ``benchmark``), the share of
that peak the suite reaches is floor / measured.
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ganrepro import ROOT, paths
from ganrepro.config import config as C
from ganrepro.spec import tables as T
from ganrepro.util.flops import PEAKS, peak_tflops, peaks_of

ANCHOR_TABLES = ("glgan_table1", "glgan_table2")   # the tables that print single-GPU training hours
ANCHOR_TABLE = "glgan_table1"                      # the old rule's anchors (V100 only)
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
    seconds_per_step: float | None    # the range's geometric middle
    source: str
    device: str            # "gpu" or "cpu"
    sps_low: float | None = None
    sps_high: float | None = None
    flops: int | None = None          # of one step (None: not counted)
    floor_sps: float | None = None    # FLOPs at the chip's stated peak
    measured: bool = False            # the seconds are measured on that GPU (run, benchmark)
    old_sps: float | None = None      # the old rule's figure (issue 19), for comparison

    def _h(self, sps: float | None) -> float | None:
        return None if sps is None else sps * self.steps * len(self.seeds) / 3600

    @property
    def hours(self) -> float | None:
        return self._h(self.seconds_per_step)

    @property
    def hours_low(self) -> float | None:
        return self._h(self.sps_low)

    @property
    def hours_high(self) -> float | None:
        return self._h(self.sps_high)

    @property
    def floor_hours(self) -> float | None:
        return self._h(self.floor_sps)

    @property
    def old_hours(self) -> float | None:
        return self._h(self.old_sps)

    @property
    def paper(self) -> str:
        return self.experiment.split("_")[0]


@dataclass
class Price:
    low: float | None
    high: float | None
    source: str
    device: str = "gpu"
    measured: bool = False
    median: float | None = None   # the middle where the range is a set of measurements (else the geometric middle)

    @property
    def mid(self) -> float | None:
        if self.median is not None:
            return self.median
        return None if self.low is None else math.sqrt(self.low * self.high)


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


# ------------------------------------------------------------------------------------------------ the papers' hours
@dataclass
class Anchor:
    """One published training time of a run the suite trains: its GPU, hours, steps and FLOPs per step."""
    table: str
    method: str
    run: tuple[str, str, str]
    gpu: str          # a ``PEAKS`` key
    hours: float
    steps: int
    flops: int | None

    @property
    def rate(self) -> float | None:
        """The achieved FLOP/s: the run's FLOPs over its published seconds."""
        return None if not self.flops else self.flops * self.steps / (self.hours * 3600)

    @property
    def plausible(self) -> bool:
        """At most the GPU's stated fp32 peak (the papers trained in fp32): above it, the paper's run cannot have
        done the suite's FLOPs in its hours (a different network or schedule), and the anchor calibrates nothing."""
        return bool(self.rate) and self.rate <= PEAKS[self.gpu]["fp32"] * 1e12


def calibrated_rates(anchors: list[Anchor], gpu: str, method: str) -> tuple[list[float], str]:
    """The achieved FLOP/s on ``gpu`` to price ``method`` with: its own anchors on that GPU, else all anchors on it
    (implausible anchors left out)."""
    on = [a for a in anchors if a.gpu == gpu and a.plausible]
    own = [a.rate for a in on if a.method == method]
    return (own, "own") if own else ([a.rate for a in on], "all")


def paper_anchors(cfg: dict, flops: dict | None = None) -> list[Anchor]:
    """The training hours printed in ``ANCHOR_TABLES`` for runs the suite trains, on one GPU of a ``PEAKS`` model
    (``protocol.time_hardware``, per cell ``time_hardware_by_cell``; a '2x' GPU count is left out)."""
    from ganrepro.verdicts.cells import paper_hardware

    out = []
    for tid in ANCHOR_TABLES:
        spec = T.get_spec(tid)
        for cell in spec.cells():
            if cell.metric != "train_hours" or cell.published is None or cell.run is None:
                continue
            hw = paper_hardware(spec, cell) or ""
            peaks = peaks_of(hw)
            if peaks is None or hw.strip().lower().startswith(("2x", "4x", "8x")):
                continue
            r = cell.run
            key = (r["experiment"], r["method"], r["variant"])
            rc = C.resolve_run(cfg, *key, 0)
            f = (flops or {}).get(key)
            out.append(Anchor(tid, r["method"], key, peaks["model"], float(cell.published.mean), run_steps(cfg, rc),
                              f if isinstance(f, int) else None))
    return out


def _u(seconds: float, batch: int, res: int, n_critic: int) -> float:
    return seconds / (batch * res * res * (n_critic + 1))


def old_rule_units(cfg: dict) -> dict[str, list[tuple[int, float]]]:
    """method -> [(resolution, V100 seconds per step per image-pixel-update)] from GL-GAN Table 1's V100 hours: the
    old rule (issue 19)."""
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


def old_rule(units: dict, rc: dict) -> tuple[float, str] | None:
    """The old rule's V100 seconds per step of ``rc``: the method's own unit nearest in resolution, else the median."""
    all_u = [u for v in units.values() for _, u in v]
    m, res = rc["method"], rc.get("resolution")
    if not res or not all_u:
        return None
    own = min(units[m], key=lambda a: abs(a[0] - res))[1] if m in units else statistics.median(all_u)
    n_critic = int(rc["method_params"].get("n_critic", 1))
    return (own * int(rc["train"]["batch_size"]) * res * res * (n_critic + 1),
            "own V100 hours" if m in units else "median V100 anchor")


# ------------------------------------------------------------------------------------------------ the GPU checks
def benchmark_files(bench: Path | None) -> list[Path]:
    """``[bench]`` when given, else the benchmark target's JSON and every committed full-size GPU check."""
    if bench is not None:
        return [Path(bench)]
    return [ROOT / paths.benchmark_json(),
            *sorted(p for p in paths.BENCHMARK_RESULTS.glob("benchmarks_*.json")
                    if not p.stem.endswith("_tiny"))]


def _read_json(path: Path | None) -> dict:
    if path is None or not path.exists():
        return {}
    try:
        d = json.loads(path.read_text())
    except ValueError as e:
        raise C.ConfigError(f"{path}: not valid JSON ({e})") from None
    return d if isinstance(d, dict) and d.get("device_name") else {}


def _benchmark_rows(d: dict) -> list[dict]:
    return [dict(r, device_name=d["device_name"]) for r in d.get("steps", []) if r.get("step_s")]


def loop_overhead(d: dict) -> float | None:
    """The training loop's ms per step over the timed step of the same run and path, from a GPU check's
    ``train_resume`` section (the default path's steady ms per step, log.csv; the step timed in ``steps``)."""
    tr = (d.get("sections") or {}).get("train_resume") or {}
    loop_ms = (tr.get("default_deterministic") or {}).get("ms_per_step")
    if not loop_ms or not tr.get("run"):
        return None
    exp, m, v = tr["run"].split("/")
    timed = [r["step_s"] for r in d.get("steps", []) if (r.get("experiment"), r.get("method"), r.get("variant"))
             == (exp, m, v) and r.get("path") == "default" and r.get("step_s")]
    return max(1.0, loop_ms / 1000 / min(timed)) if timed else None


def fast_key(fast: dict | None, ignore: tuple = ()) -> tuple:
    """The switches of a ``train.fast`` section that differ from the defaults, as a comparable key."""
    from ganrepro.train.fastpath import FAST_DEFAULTS

    return tuple(sorted((k, v) for k, v in (fast or {}).items() if FAST_DEFAULTS.get(k) != v and k not in ignore))


def bench_step(rows: list[dict], gpu: str, method: str, variant: str, res: int, batch: int,
               fast: dict | None) -> tuple[float, str] | None:
    """Measured seconds per step on ``gpu`` for the same run and fast path, and its source, or None (a row timed
    with ``cudnn_benchmark`` on stands in for one without, flagged)."""
    same = [r for r in rows if gpu.lower() in r["device_name"].lower() and r.get("method") == method
            and r.get("variant") == variant and r.get("resolution") == res and r.get("batch_size") == batch]
    for ignore, flag in (((), ""), (("cudnn_benchmark",), "; timed with cudnn.benchmark on")):
        exact = [r for r in same if fast_key(r.get("fast"), ignore) == fast_key(fast, ignore)]
        if exact:
            return float(statistics.median(r["step_s"] for r in exact)), f"benchmark ({exact[0]['device_name']}{flag})"
    return None


def bench_rates(rows: list[dict], gpu: str, method: str, fast: dict | None) -> list[float]:
    """Achieved FLOP/s of the method's rows timed on ``gpu`` on the run's fast path (cudnn.benchmark aside)."""
    ig = ("cudnn_benchmark",)
    return [r["flops"] / r["step_s"] for r in rows if gpu.lower() in r["device_name"].lower()
            and r.get("method") == method and r.get("flops") and fast_key(r.get("fast"), ig) == fast_key(fast, ig)]


# ------------------------------------------------------------------------------------------------ pricing
@dataclass
class Pricing:
    """What a pricing function sees of one (experiment, method, variant): the resolved run, the finished seeds'
    ``train.json`` (or None), the GPU model asked for, the FLOPs of one step (None: not counted), the benchmark rows
    and the loop overhead measured on that GPU, the papers' anchors and the old rule's units."""

    cfg: dict
    rc: dict
    done: dict
    gpu: str
    flops: int | None = None
    bench_rows: list = field(default_factory=list)
    overhead: float | None = None
    anchors: list = field(default_factory=list)
    units: dict = field(default_factory=dict)

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
            return Price(min(secs), max(secs), source, "cpu", True, statistics.median(secs))
    return Price(None, None, "none", "cpu")


def price_finished_run(p: Pricing):
    """Finished seeds of the same run on that GPU model (their min-max)."""
    same = _per_step(d for d in p.done.values() if d and p.gpu.lower() in str((d.get("hardware") or {}).get("gpu")
                                                                                 or "").lower())
    return Price(min(same), max(same), f"run ({p.gpu})", measured=True, median=statistics.median(same)) if same else None


def price_benchmark(p: Pricing):
    """The benchmark JSONs measured on that GPU model: the run's own row (``bench_step``), else the method's achieved
    rates; the loop's overhead (``loop_overhead``) on the high side."""
    fast = p.rc["train"].get("fast")
    hit = bench_step(p.bench_rows, p.gpu, p.rc["method"], p.rc["variant"], p.rc["resolution"],
                     int(p.rc["train"]["batch_size"]), fast)
    over = p.overhead or 1.0
    if hit:
        return Price(hit[0], hit[0] * over, hit[1], measured=True)
    rates = bench_rates(p.bench_rows, p.gpu, p.rc["method"], fast) if p.flops else []
    if rates:
        return Price(p.flops / max(rates), p.flops / min(rates) * over,
                     f"benchmark rate ({p.gpu}; {len(rates)} other rows of {p.rc['method']})")
    return None


def price_paper(p: Pricing):
    """FLOPs over the achieved rates calibrated on the papers' hours (``calibrated_rates``); a GPU without anchors
    of its own gets the V100's scaled by the ratio of stated peaks (fp32 and 16-bit tensor ratios bound it)."""
    target = peaks_of(p.gpu)
    if not p.flops or target is None:
        return None
    rates, which = calibrated_rates(p.anchors, target["model"], p.rc["method"])
    label = f"paper ({'own' if which == 'own' else 'all'} {target['model']} hours"
    if rates:
        return Price(p.flops / max(rates), p.flops / min(rates), label + f", {len(rates)} anchors)")
    rates, which = calibrated_rates(p.anchors, ANCHOR_GPU, p.rc["method"])
    base = PEAKS[ANCHOR_GPU]
    ratios = [target[k] / base[k] for k in ("fp32", "tensor16") if target.get(k) and base.get(k)]
    if not rates or not ratios:
        return None
    return Price(p.flops / (max(rates) * max(ratios)), p.flops / (min(rates) * min(ratios)),
                 f"paper ({which} V100 hours x stated-peak ratio {min(ratios):.2g}-{max(ratios):.2g}; no "
                 f"{target['model']} measurement)")


def price_old_rule(p: Pricing):
    """The last resort (issue 19's rule), flagged: GL-GAN Table 1's V100 hours scaled by pixels, no range."""
    hit = old_rule(p.units, p.rc)
    if hit is None:
        return None
    flag = "" if p.gpu.upper() == ANCHOR_GPU else f"; V100 figure, no {p.gpu} measurement"
    return Price(hit[0], hit[0], f"OLD RULE (pixel-scaled {hit[1]}{flag}): no FLOPs count or calibration")


# the sources of a run's seconds per step, in order: the first that answers prices it
PRICERS = (price_mixture, price_finished_run, price_benchmark, price_paper, price_old_rule)


def estimate(cfg: dict, target: str, gpu: str = ANCHOR_GPU, bench: Path | None = None,
             include_finished: bool = False) -> tuple[list[RunCost], list[str]]:
    """The target's unfinished runs with their estimated hours on ``gpu`` (seed counts per run), and notes."""
    from ganrepro.tools.stepflops import step_flops_many

    cfg = {**cfg, "scale": "full"} if cfg.get("scale") != "full" else cfg
    runs = runs_of_target(cfg, target)
    image = [(e, m, v) for e, m, v, _ in runs if not C.is_mog(cfg, e)]
    anchors_keys = [a.run for a in paper_anchors(cfg)]
    flops = step_flops_many(cfg, sorted(set(image) | set(anchors_keys)))
    anchors, units = paper_anchors(cfg, flops), old_rule_units(cfg)
    docs = [_read_json(f) for f in benchmark_files(bench)]
    bench_rows = [r for d in docs for r in _benchmark_rows(d)]
    overheads = [loop_overhead(d) for d in docs if gpu.lower() in d.get("device_name", "").lower()]
    overhead = max([o for o in overheads if o] or [1.0])
    peak = peak_tflops(gpu)
    out, notes = [], []
    for exp, m, v, seeds in runs:
        done = {s: _finished(Path(C.run_dir(cfg, exp, m, v, s))) for s in seeds}  # train.json of each seed, once
        todo = [s for s in seeds if include_finished or done[s] is None]
        if not todo:
            continue
        rc = C.resolve_run(cfg, exp, m, v, todo[0])
        f = flops.get((exp, m, v))
        f = f if isinstance(f, int) else None
        pricing = Pricing(cfg, rc, done, gpu, f, bench_rows, overhead, anchors, units)
        pr = next((r for r in (fn(pricing) for fn in PRICERS) if r is not None), Price(None, None, "none"))
        gpu_run = pr.device == "gpu"
        old = old_rule(units, rc) if gpu_run else None
        out.append(RunCost(exp, m, v, todo, run_steps(cfg, rc), rc["resolution"], int(rc["train"]["batch_size"]),
                           int(rc["method_params"].get("n_critic", 1)), pr.mid, pr.source, pr.device, pr.low,
                           pr.high, f, f / (peak * 1e12) if f and peak and gpu_run else None, pr.measured,
                           old[0] if old else None))
    if any(r.seconds_per_step is None for r in out):
        notes.append("runs without any source are listed with no hours")
    if any(r.source.startswith("OLD RULE") for r in out):
        notes.append("OLD RULE rows: no FLOPs count or calibration reached them; the figure ignores the networks")
    for a in anchors:
        if a.rate and not a.plausible:
            notes.append(f"{a.table} {'/'.join(a.run)}: {a.hours:g} h on a {a.gpu} would be {a.rate / 1e12:.3g} "
                         f"TFLOP/s, above its fp32 peak ({PEAKS[a.gpu]['fp32']:g}): the paper's run did less work than "
                         f"the suite's; left out of the calibration")
    if peak is None:
        notes.append(f"no stated peak for {gpu!r} (ganrepro/util/flops.py PEAKS): no floor")
    return out, notes


# ------------------------------------------------------------------------------------------------ rendering
def _rng(lo: float | None, hi: float | None, fmt: str = "{:.0f}") -> str:
    if lo is None:
        return "-"
    a, b = fmt.format(lo), fmt.format(hi)
    return a if a == b else f"{a}-{b}"


def _sum(rows, attr) -> float:
    return sum(getattr(r, attr) or 0.0 for r in rows)


def total_line(rows: list[RunCost], gpu: str) -> str:
    gpu_rows = [r for r in rows if r.device == "gpu"]
    return (f"total: {sum(len(r.seeds) for r in rows)} runs, "
            f"{_rng(_sum(gpu_rows, 'hours_low'), _sum(gpu_rows, 'hours_high'))} GPU-hours ({gpu}) + "
            f"{_sum([r for r in rows if r.device == 'cpu'], 'hours'):.1f} CPU-hours")


def render(rows: list[RunCost], notes: list[str], target: str, gpu: str) -> str:
    peaks = peaks_of(gpu)
    lines = [f"cost of {target!r} (runs not yet finished; GPU model {gpu}; sources: ganrepro/tools/cost.py)", "",
             f"{'run (experiment/method/variant)':<58} {'seeds':>5} {'steps':>7} {'px':>4} {'batch':>5} "
             f"{'TFLOP/step':>10} {'s/step':>13} {'hours':>11} {'floor h':>8}  source"]
    for r in rows:
        tf = "-" if r.flops is None else f"{r.flops / 1e12:.3g}"
        fl = "-" if r.floor_hours is None else f"{r.floor_hours:.2g}"
        lines.append(f"{r.experiment + '/' + r.method + '/' + r.variant:<58} {len(r.seeds):>5} {r.steps:>7} "
                     f"{r.resolution or '-':>4} {r.batch:>5} {tf:>10} {_rng(r.sps_low, r.sps_high, '{:.3g}'):>13} "
                     f"{_rng(r.hours_low, r.hours_high, '{:.1f}'):>11} {fl:>8}  {r.source}"
                     + (" [cpu]" if r.device == "cpu" else ""))
    gpu_rows = [r for r in rows if r.device == "gpu"]
    lines += ["", "by paper (GPU-hours: the range; the floor at the stated peak; issue 19's old pixel-scaled rule):"]
    for paper in sorted({r.paper for r in gpu_rows}):
        pr = [r for r in gpu_rows if r.paper == paper]
        lines.append(f"  {paper:<7} {sum(len(r.seeds) for r in pr):>4} runs  "
                     f"{_rng(_sum(pr, 'hours_low'), _sum(pr, 'hours_high')):>13}  floor {_sum(pr, 'floor_hours'):.1f}"
                     f"  old rule {_sum(pr, 'old_hours'):.0f}")
    if peaks:
        meas = [r for r in gpu_rows if r.measured and r.floor_hours and r.hours_low]
        share = (f"; the measured runs reach {100 * _sum(meas, 'floor_hours') / _sum(meas, 'hours_low'):.2g} % "
                 f"of it at best" if meas else "")
        lines.append(f"floor: {_sum(gpu_rows, 'floor_hours'):.1f} GPU-hours at the {peaks['model']}'s stated peak "
                     f"({peak_tflops(gpu):g} TFLOP/s; {peaks['source']}){share}")
    lines += [f"note: {n}" for n in notes]
    lines += ["", total_line(rows, gpu)]
    return "\n".join(lines)
