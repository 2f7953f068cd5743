"""Verdicts: each table cell's published value against its runs' metrics (``evaluate_cell``, ``evaluate_table``:
reproduced, not reproduced, not run, diverged, published only, missing, not comparable), and each claim of a table
(``evaluate_claims``) judged on the published and on the reproduced means. ``ganrepro.report.render`` renders the results.
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from ganrepro.config import config as C
from ganrepro.methods import registry
from ganrepro.spec.tables import METRICS, Cell, TableSpec, Verdict, claim_cells


@dataclass
class CellResult:
    cell: Cell
    verdict: str
    mean: float | None = None
    std: float | None = None
    n: int = 0
    delta: float | None = None
    note: str = ""
    devices: tuple = ()              # train_hours cells: the device model(s) the reproduced hours were measured on
    paper_hardware: str | None = None  # train_hours cells: the paper's GPU (table protocol ``time_hardware``)
    ratio_to: str | None = None        # protocol ``ratio_to``: label of the row's reference column (e.g. IGA)
    ratio_published: float | None = None   # published / published of the reference cell in the same row
    ratio_reproduced: float | None = None  # reproduced mean / reproduced mean of that cell (same run, same machine)


def metric_key(spec: TableSpec, cfg: dict, cell: Cell) -> str:
    """The cell's key in a run's metrics.json ``values``: ``fid@N`` / ``kid@N`` at the table's count, else the metric."""
    if cell.metric in ("fid", "kid"):
        return f"{cell.metric}@{C.fid_samples(spec, cfg, cell.run['experiment'])}"
    return cell.metric


class MetricsError(ValueError):
    """A run's metrics.json exists but cannot be read as one (empty, truncated, not a mapping, a non-number value)."""


def _load_metrics(path: Path) -> tuple[dict | None, str | None]:
    """(the metrics.json at ``path``, None) when it is readable; (None, why not) when it is not; (None, None) when
    there is no such file."""
    if not path.exists():
        return None, None
    try:
        m = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"not JSON ({type(e).__name__}: {e})" if path.stat().st_size else "empty file"
    if not isinstance(m, dict):
        return None, f"not a mapping but {type(m).__name__}"
    if m.get("status") not in ("finished", "diverged"):
        return None, f"status is {m.get('status')!r}, not finished or diverged"
    values = m.get("values")
    if not isinstance(values, dict):
        return None, "no 'values' mapping"
    bad = [k for k, v in values.items() if isinstance(v, bool) or not isinstance(v, (int, float))]
    if bad:
        return None, f"values that are not numbers: {bad}"
    return m, None


def metrics_problem(path) -> str | None:
    """Why the file at ``path`` is not a readable metrics.json (None: it is, or it does not exist)."""
    return _load_metrics(Path(path))[1]


def set_aside_unreadable(paths) -> list[tuple[Path, Path, str]]:
    """Rename each unreadable metrics.json among ``paths`` to ``metrics.json.unreadable`` (kept, not deleted), so
    that the pipeline sees the run's metrics as absent and evaluates it again: [(file, new name, why)]."""
    moved = []
    for p in map(Path, paths):
        why = metrics_problem(p)
        if why is not None:
            dest = p.with_name(p.name + ".unreadable")
            p.replace(dest)
            moved.append((p, dest, why))
    return moved


def _read_metrics(path: Path) -> dict | None:
    """A run's metrics.json, or None when it does not exist; an unreadable one raises MetricsError naming it."""
    m, why = _load_metrics(path)
    if why is not None:
        raise MetricsError(f"{path}: unreadable metrics.json ({why}); delete it and re-run `snakemake all` (the "
                           f"pipeline moves such files aside and re-evaluates the run)")
    return m


def evaluate_cell(spec: TableSpec, cfg: dict, cell: Cell) -> CellResult:
    if cell.published_only:
        return CellResult(cell, Verdict.PUBLISHED_ONLY, note="copied by the paper from another article; not re-run")
    if cell.real is not None:  # a real_data row: the training images' own value (ganrepro.metrics.real_data)
        return evaluate_real_cell(spec, cfg, cell)
    run = cell.run
    if run["method"] not in cfg["methods"] or not registry.is_runnable(run["method"], run["variant"]):
        why = "method not implemented yet" if run["method"] not in registry.METHOD_MODULES else \
            "variant not implemented yet" if not registry.is_runnable(run["method"], run["variant"]) else \
            "method not enabled in config"
        return CellResult(cell, Verdict.NOT_RUN, note=f"{run['method']}/{run['variant']}: {why}")
    key = metric_key(spec, cfg, cell)
    values, diverged, missing, comparable, labels, devices = [], [], [], True, [], []
    for seed in C.cell_seeds(cfg, run):
        rdir = Path(C.run_dir(cfg, run["experiment"], run["method"], run["variant"], seed))
        m = _read_metrics(rdir / "metrics.json")
        if m is None:
            missing.append(seed)
            continue
        if m.get("status") == "diverged":
            diverged.append((seed, m.get("diverged_at")))
            continue
        if key not in m.get("values", {}):
            missing.append(seed)
            continue
        values.append(float(m["values"][key]))
        comparable &= bool(m.get("comparable", False))
        if m.get("label"):
            labels.append(m["label"])
        dev = (m.get("wall_clock") or {}).get("device")
        if dev and dev not in devices:
            devices.append(dev)
    notes = []
    if diverged:
        notes.append("diverged: " + ", ".join(f"seed {s} at step {st}" for s, st in diverged))
    if missing:
        notes.append(f"missing: seed(s) {missing} (see the run logs under results/)")
    if not values:
        verdict = Verdict.DIVERGED if diverged else Verdict.MISSING
        return CellResult(cell, verdict, note="; ".join(notes))
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    res = CellResult(cell, "", mean, std, len(values), note="; ".join(notes))
    if cell.metric == "train_hours":
        res.devices = tuple(devices)
    if cell.published is None:
        res.verdict = Verdict.NO_PUBLISHED_VALUE
        return res
    res.delta = mean - cell.published.mean
    why_not = spec.protocol.get("not_comparable", {}).get(cell.metric)
    if why_not and comparable:  # the paper's number cannot be compared as such (e.g. unstated units/hardware)
        res.verdict, res.note = Verdict.NOT_COMPARABLE, "; ".join(notes + [why_not])
        return res
    if not comparable:
        res.verdict = Verdict.NOT_COMPARABLE
        # metrics.json's own label ("smoke features: not comparable") where it gives one
        res.note = "; ".join(notes + (sorted(set(labels)) or ["smoke scale: not comparable with the paper"]))
        return res
    allowed, rule = allowed_difference(spec, cell, res)
    res.verdict = decide(cell.metric, res.delta, allowed)
    res.note = "; ".join(notes + [f"|Δ| {abs(res.delta):.3g} vs allowed {allowed:.3g} = {rule}"])
    return res


def evaluate_real_cell(spec: TableSpec, cfg: dict, cell: Cell) -> CellResult:
    """A ``real_data`` cell: the metric of the experiment's training images (rule ``real_data_metrics``), one
    measurement (n = 1, no seed spread); "no published value" unless the spec prints one, then judged as a run."""
    from ganrepro.metrics import real_data

    path = Path(real_data.metrics_path(cfg, spec, cell))
    m = _read_metrics(path)
    if m is None or cell.metric not in m["values"]:
        return CellResult(cell, Verdict.MISSING,
                          note=f"real-data reference not computed: {path} (rule real_data_metrics)")
    res = CellResult(cell, Verdict.NO_PUBLISHED_VALUE, float(m["values"][cell.metric]), None, 1,
                     note=real_data.describe(m))
    if cell.published is None:
        return res
    res.delta = res.mean - cell.published.mean
    if not m.get("comparable", False):
        res.verdict, res.note = Verdict.NOT_COMPARABLE, "; ".join([res.note, m.get("label") or "not comparable"])
        return res
    allowed, rule = allowed_difference(spec, cell, res)
    res.verdict = decide(cell.metric, res.delta, allowed)
    res.note = f"{res.note}; |Δ| {abs(res.delta):.3g} vs allowed {allowed:.3g} = {rule}"
    return res


def decide(metric: str, delta: float, allowed: float) -> Verdict:
    """The one verdict rule of a comparable cell: reproduced when |Δ| is within the allowed difference; beyond it,
    "better than published" when the reproduced value lies on the metric's better side (``METRICS[metric]["better"]``),
    else not reproduced. Better than published is a verdict of its own, counted apart, for every row: for a paper's
    own method it means the result was reached and exceeded, for a baseline it means the baseline is stronger than
    the paper reported, which shrinks the margin the paper claims (the claims judge that margin). A ``two_sided``
    metric (MS-SSIM) has no better side: beyond the allowed difference either way is not reproduced."""
    if abs(delta) <= allowed:
        return Verdict.REPRODUCED
    if not METRICS[metric].get("two_sided") and METRICS[metric]["better"] * delta > 0:
        return Verdict.BETTER_THAN_PUBLISHED
    return Verdict.NOT_REPRODUCED


def allowed_difference(spec: TableSpec, cell: Cell, res: CellResult) -> tuple[float, str]:
    """How far the reproduced mean may lie from the published one, and the rule's inputs as text.

    The larger of the metric's tolerance (``ganrepro.spec.tables.METRICS``, or the spec's ``tolerance``) and twice the
    standard error of the difference of the two means, 2 sqrt(s_p^2 / n_p + s_r^2 / n_r), with s_p the published
    std, s_r the reproduced seeds' std (0 with one seed) and n_r their count; n_p is the paper's seed count where the
    spec states it (``protocol.published_seeds``), else taken equal to n_r. Without a published std only the
    reproduction's own standard error counts (2 s_r / sqrt(n_r)). Both spreads count: a tight reproduction far from
    a widely spread published mean is not reproduced (it used to be, whenever |Δ| <= 2 s_p)."""
    tol = spec.tol(cell.metric)
    floor = tol.get("abs", 0.0) + tol.get("rel", 0.0) * abs(cell.published.mean)
    parts = [f"max(tolerance {floor:.3g}"]
    s_r, n_r = res.std or 0.0, max(res.n, 1)
    spread = 0.0
    if cell.published.sd is not None:
        n_p = int(spec.protocol.get("published_seeds") or n_r)
        spread = 2 * math.sqrt(cell.published.sd ** 2 / n_p + s_r ** 2 / n_r)
        parts.append(f"2·√({cell.published.sd:.3g}²/{n_p} + {s_r:.3g}²/{n_r}) = {spread:.3g})")
    elif res.std is not None:
        spread = 2 * s_r / math.sqrt(n_r)
        parts.append(f"2·{s_r:.3g}/√{n_r} = {spread:.3g})")
    else:
        parts[0] += ")"
    return max(floor, spread), ", ".join(parts)


def paper_hardware(spec: TableSpec, cell: Cell) -> str | None:
    """The GPU the paper's time was measured on: ``protocol.time_hardware_by_cell["row.col"]``, else
    ``protocol.time_hardware``."""
    by_cell = spec.protocol.get("time_hardware_by_cell") or {}
    return by_cell.get(f"{cell.row_id}.{cell.col_id}") or spec.protocol.get("time_hardware")


def evaluate_table(spec: TableSpec, cfg: dict) -> list[CellResult]:
    """Every cell with something to show: cells printed "-" in the paper are kept only if they have a run."""
    results = [evaluate_cell(spec, cfg, c) for c in spec.cells()]
    for r in results:
        if r.cell.metric == "train_hours":
            r.paper_hardware = paper_hardware(spec, r.cell)
    ref_col = spec.protocol.get("ratio_to")
    if ref_col:  # e.g. the solver table: every solver's T and M as a multiple of IGA's, published and reproduced
        by_cell = {(r.cell.row_id, r.cell.col_id): r for r in results}
        for r in results:
            ref = by_cell.get((r.cell.row_id, ref_col))
            if ref is None:
                continue
            r.ratio_to = ref.cell.col_label
            if r.cell.published is not None and ref.cell.published is not None and ref.cell.published.mean:
                r.ratio_published = r.cell.published.mean / ref.cell.published.mean
            if r.mean is not None and ref.mean:
                r.ratio_reproduced = r.mean / ref.mean
    if spec.protocol.get("time_ratio_to_row"):
        judge_time_as_ratios(spec, results)
    return [r for r in results if r.cell.published is not None or r.verdict not in ("published only", "not run")]


JUDGED = (Verdict.REPRODUCED, Verdict.BETTER_THAN_PUBLISHED, Verdict.NOT_REPRODUCED)


def judge_time_as_ratios(spec: TableSpec, results: list[CellResult]) -> None:
    """Training-time cells judged as multiples of the same column's reference row (protocol ``time_ratio_to_row``,
    GL-GAN's OURS), not as absolute hours: the paper's hours are on its GPU (a V100), the reproduced ones on the
    user's, so absolute hours compare the hardware, and with "better counts" any faster GPU would pass. The ratio of
    two runs timed on one GPU is what the paper's time claim ("in a shorter time") is about. The reference row's own
    cell and a cell whose paper time was measured on another GPU than the reference's are not comparable."""
    ref_row = spec.protocol["time_ratio_to_row"]
    by_cell = {(r.cell.row_id, r.cell.col_id): r for r in results}
    for r in results:
        if r.cell.metric != "train_hours" or r.verdict not in JUDGED:
            continue
        ref = by_cell.get((ref_row, r.cell.col_id))
        r.ratio_to = ref.cell.row_label if ref is not None else ref_row
        if ref is None or r is ref:
            r.verdict = Verdict.NOT_COMPARABLE
            r.note = (f"absolute hours on different GPUs (the paper's {r.paper_hardware or '?'} vs this run's "
                      f"{', '.join(r.devices) or '?'}): not compared; the other rows are judged as multiples of "
                      f"this one (protocol time_ratio_to_row)")
            continue
        if r.paper_hardware != ref.paper_hardware:
            r.verdict = Verdict.NOT_COMPARABLE
            r.note = (f"the paper timed this cell on a {r.paper_hardware} and {ref.cell.row_label} on a "
                      f"{ref.paper_hardware}: their ratio compares GPUs")
            continue
        if ref.mean is None or ref.cell.published is None or not ref.cell.published.mean:
            r.verdict = Verdict.MISSING
            r.note = f"judged as a multiple of {ref.cell.row_label}'s hours, which are not measured yet ({ref.verdict})"
            continue
        if set(r.devices) != set(ref.devices):
            r.verdict = Verdict.NOT_COMPARABLE
            r.note = (f"timed on {', '.join(r.devices) or '?'}, {ref.cell.row_label} on "
                      f"{', '.join(ref.devices) or '?'}: a ratio needs both on one GPU model")
            continue
        r.ratio_published = r.cell.published.mean / ref.cell.published.mean
        r.ratio_reproduced = r.mean / ref.mean
        allowed = METRICS["train_hours"]["tol"]["rel"] * r.ratio_published
        r.verdict = decide("train_hours", r.ratio_reproduced - r.ratio_published, allowed)
        r.note = (f"judged as a multiple of {ref.cell.row_label}'s hours on the same GPU: {r.ratio_reproduced:.3g}× "
                  f"vs the paper's {r.ratio_published:.3g}×, |Δ| {abs(r.ratio_reproduced - r.ratio_published):.3g} vs "
                  f"allowed {allowed:.3g} (50 % of the paper's ratio)")


@dataclass
class Comparison:
    """One [better, than] comparison of a claim, judged on the published and on the reproduced means."""
    better: CellResult
    than: CellResult
    published: str        # holds / fails / tie / n/a
    reproduced: str       # holds / fails / tie / n/a
    within_spread: bool | None = None  # reproduced |difference| <= the larger seed std of the two cells
    #                                     (None: neither cell has a std, i.e. one seed each)


def _direction(better: float, than: float, metric: str) -> str:
    d = METRICS[metric]["better"] * (better - than)
    return "holds" if d > 0 else "fails" if d < 0 else "tie"


def evaluate_claims(spec: TableSpec, results: list[CellResult]) -> list[tuple[dict, list[Comparison]]]:
    """Each claim of the spec with its comparisons. A comparison holds when the ``better`` cell's mean beats the
    ``than`` cell's mean in the metric's direction (strictly; equal means are a tie). Scale-free: valid even where a
    cell's value is not comparable with the paper's (e.g. MoG FID, whose scale depends on the unstated ring radius)."""
    by = {(r.cell.row_id, r.cell.col_id): r for r in results}
    return [(claim, judge_claim(spec, claim, by)) for claim in spec.claims]


def judge_claim(spec: TableSpec, claim: dict, by: dict) -> list[Comparison]:
    """One claim's comparisons; ``by``: (row id, column id) -> CellResult."""
    comps = []
    for a, b, _ in claim_cells(spec, claim):
        ra, rb = by.get(a), by.get(b)
        if ra is None or rb is None:
            continue
        metric = ra.cell.metric
        pa, pb = ra.cell.published, rb.cell.published
        pub = _direction(pa.mean, pb.mean, metric) if pa is not None and pb is not None else "n/a"
        rep, spread = "n/a", None
        if ra.mean is not None and rb.mean is not None:
            rep = _direction(ra.mean, rb.mean, metric)
            if ra.std is not None or rb.std is not None:
                spread = abs(ra.mean - rb.mean) <= max(ra.std or 0.0, rb.std or 0.0)
        comps.append(Comparison(ra, rb, pub, rep, spread))
    return comps


@dataclass
class ReadingResult:
    """One claim judged under one reading (``ganrepro.spec.tables.reading_claims``), with the default reading's verdict
    on the same comparisons (so a reading that covers fewer rows is compared like with like)."""
    reading: dict
    claim: dict
    comps: list[Comparison]
    default_comps: list[Comparison]

    @property
    def won(self) -> int:
        return _won(self.comps)

    @property
    def judged(self) -> int:
        return _judged(self.comps)

    @property
    def beyond_spread(self) -> int:
        return sum(c.reproduced == "holds" and c.within_spread is False for c in self.comps)

    @property
    def default_won(self) -> int:
        return _won(self.default_comps)

    @property
    def default_judged(self) -> int:
        return _judged(self.default_comps)


def _won(comps: list[Comparison]) -> int:
    return sum(c.reproduced == "holds" for c in comps)


def _judged(comps: list[Comparison]) -> int:
    return sum(c.reproduced != "n/a" for c in comps)


def evaluate_readings(spec: TableSpec, results: list[CellResult]) -> list[ReadingResult]:
    """Every (reading, claim) of the spec's ``readings``, judged on the reproduced means."""
    from ganrepro.spec.tables import reading_claims

    by = {(r.cell.row_id, r.cell.col_id): r for r in results}
    out = []
    for reading, mine, default in reading_claims(spec):
        comps, default_comps = judge_claim(spec, mine, by), judge_claim(spec, default, by)
        # pair by pair (reading_claims keeps the default's pairs in the reading's order): the default's count on the
        # comparisons this reading could judge, so a reading whose runs are only partly in is compared like with like
        default_comps = [d for c, d in zip(comps, default_comps, strict=True) if c.reproduced != "n/a"]
        out.append(ReadingResult(reading, mine, comps, default_comps))
    return out


def claim_summary(comps: list[Comparison]) -> str:
    n = len(comps)
    with_pub = [c for c in comps if c.published != "n/a"]
    pub = (f"published: holds in {sum(c.published == 'holds' for c in with_pub)} of {len(with_pub)}" if with_pub
           else "published: no printed values")
    rep = [c for c in comps if c.reproduced == "holds"]
    with_spread = [c for c in rep if c.within_spread is not None]
    tail = ""
    if with_spread:
        tail = f" ({sum(not c.within_spread for c in with_spread)} beyond the seed spread)"
    elif rep:
        tail = " (one seed per cell: no seed spread to judge against)"
    return f"{pub}; reproduced: holds in {len(rep)} of {n}{tail}"
