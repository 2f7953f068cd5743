"""The seeds each claim needs: ``python -m ganrepro plan TABLE`` (issue 33).

A claim's comparison is judged *beyond the seed spread* when the reproduced means differ in the claimed direction by
more than the larger of the two cells' seed standard deviations (``ganrepro.verdicts.cells.judge_claim``:
``holds`` and ``|mean_a - mean_b| > max(s_a, s_b)``). With n seeds per cell, seed values normal with the cells' true
spreads sd_a, sd_b and a true difference d (the published one, in the claimed direction), the difference of means is
D ~ N(d, (sd_a^2 + sd_b^2) / n), independent of the sample stds s_x = sd_x sqrt(chi2_{n-1} / (n - 1)), so

    power(n) = P(D > max(s_a, s_b)) = integral over m of Phi((d - m) / sqrt((sd_a^2 + sd_b^2) / n)) dF_a(m) F_b(m)

with F_x the CDF of s_x (``power``). The rule compares the difference with the *std*, not the standard error: as n
grows, max(s_a, s_b) tends to max(sd_a, sd_b), so a difference below the larger spread never reaches 80 % power,
however many seeds (``seeds_needed`` returns None up to its cap).

The spread of each cell, in order: the published std (the paper's ``±``), else the std of the finished full-scale
runs (two seeds or more), else the median relative std of the published cells of that metric in the same table, else
``DEFAULT_REL_SD`` of the cell's published mean, an assumption stated as such. The seeds' cost is the bill's per-seed
hours of each row's run (``ganrepro.tools.cost``).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ganrepro.config import config as C
from ganrepro.spec import tables as T

POWER = 0.8
N_MAX = 50
DEFAULT_REL_SD = 0.05   # an assumption (no published or measured spread): 5 % of the published mean


def _chi_cdf(m, sd: float, n: int):
    """CDF at m of the sample std of n normal values with std sd."""
    from scipy.stats import chi2

    return chi2.cdf((n - 1) * (m / sd) ** 2, n - 1) if sd > 0 else (m >= 0).astype(float)


def power(d: float, sd_a: float, sd_b: float, n: int, grid: int = 4000) -> float:
    """P(the comparison is judged beyond the seed spread) with n seeds per cell (module docstring)."""
    import numpy as np
    from scipy.stats import chi2, norm

    tau = math.sqrt((sd_a ** 2 + sd_b ** 2) / n)
    if tau == 0:
        return float(d > 0)
    top = max(sd_a, sd_b) * math.sqrt(chi2.ppf(1 - 1e-12, n - 1) / (n - 1))
    m = np.linspace(0.0, top, grid + 1)
    cdf = _chi_cdf(m, sd_a, n) * _chi_cdf(m, sd_b, n)
    mid = (m[1:] + m[:-1]) / 2
    return float(np.sum(norm.cdf((d - mid) / tau) * np.diff(cdf)))


def seeds_needed(d: float, sd_a: float, sd_b: float, target: float = POWER, n_max: int = N_MAX) -> int | None:
    """The fewest seeds per cell (2 or more: one seed has no spread) with ``power`` >= target; None up to n_max."""
    for n in range(2, n_max + 1):
        if power(d, sd_a, sd_b, n) >= target:
            return n
    return None


@dataclass
class Spread:
    sd: float
    source: str


def cell_spread(spec: T.TableSpec, cfg: dict, cell: T.Cell) -> Spread:
    """The seed-to-seed std assumed for ``cell`` and where it comes from (module docstring)."""
    pub = cell.published
    if pub.sd is not None:
        return Spread(pub.sd, "published std")
    if cell.run is not None:
        from ganrepro.verdicts.cells import MetricsError, evaluate_cell

        try:
            res = evaluate_cell(spec, cfg, cell)
        except MetricsError:
            res = None
        if res is not None and res.std is not None and res.n >= 2:
            return Spread(res.std, f"finished runs ({res.n} seeds)")
    rel = [c.published.sd / abs(c.published.mean) for c in spec.cells() if c.metric == cell.metric and c.published
           is not None and c.published.sd is not None and c.published.mean]
    if rel:
        return Spread(statistics.median(rel) * abs(pub.mean),
                      f"median relative published std of {len(rel)} {cell.metric} cells")
    return Spread(DEFAULT_REL_SD * abs(pub.mean), f"assumed {DEFAULT_REL_SD:.0%} of the mean")


@dataclass
class Need:
    claim: str
    where: str
    better: T.Cell
    than: T.Cell
    diff: float | None            # the published difference in the claimed direction (<= 0: the paper's own fails)
    spreads: tuple[Spread, Spread] | None
    seeds: int | None


def plan(spec: T.TableSpec, cfg: dict, target: float = POWER) -> list[Need]:
    """Every comparison of the spec's claims with the seeds per cell it needs at ``target`` power."""
    cells = {(c.row_id, c.col_id): c for c in spec.cells()}
    out = []
    for claim in spec.claims:
        for a, b, where in T.claim_cells(spec, claim):
            ca, cb = cells.get(a), cells.get(b)
            if ca is None or cb is None:
                continue
            if ca.published is None or cb.published is None or ca.published_only or cb.published_only:
                out.append(Need(claim["id"], where, ca, cb, None, None, None))
                continue
            d = T.METRICS[ca.metric]["better"] * (ca.published.mean - cb.published.mean)
            sp = (cell_spread(spec, cfg, ca), cell_spread(spec, cfg, cb))
            n = seeds_needed(d, sp[0].sd, sp[1].sd, target) if d > 0 else None
            out.append(Need(claim["id"], where, ca, cb, d, sp, n))
    return out


def _run_key(cell: T.Cell) -> tuple | None:
    r = cell.run
    return None if r is None else (r["experiment"], r["method"], r["variant"])


def render(spec: T.TableSpec, cfg: dict, needs: list[Need], gpu: str, target: float = POWER) -> str:
    from ganrepro.tools.cost import estimate

    lines = [f"seeds per cell for {target:.0%} power under the verdict rule 'beyond the seed spread' "
             f"(|difference| > the larger seed std), {spec.id} (sources: ganrepro/tools/plan.py)", "",
             f"{'claim':<22} {'comparison':<44} {'published d':>11} {'sd better / than (source)':<60} {'seeds':>6}"]
    row_seeds: dict = {}
    for nd in needs:
        if nd.diff is None:
            lines.append(f"{nd.claim:<22} {nd.where:<44} {'-':>11} {'published only or no value':<60} {'-':>6}")
            continue
        if nd.diff <= 0:
            sds, seeds = "the published values do not hold the claim", "never"
        else:
            a, b = nd.spreads
            sds = f"{a.sd:.3g} ({a.source}) / {b.sd:.3g} ({b.source})"
            seeds = str(nd.seeds) if nd.seeds else f">{N_MAX}"
        lines.append(f"{nd.claim:<22} {nd.where:<44} {nd.diff:>11.4g} {sds:<60} {seeds:>6}")
        if nd.seeds:
            for c in (nd.better, nd.than):
                if _run_key(c):
                    row_seeds[_run_key(c)] = max(row_seeds.get(_run_key(c), 0), nd.seeds)
    rows, _ = estimate(cfg, spec.id, gpu=gpu, include_finished=True)
    per_seed = {(r.experiment, r.method, r.variant): r for r in rows}
    lines += ["", f"runs: seeds configured -> seeds needed by the claims above, and their {gpu} hours", ""]
    lo = hi = 0.0
    for key, n in sorted(row_seeds.items()):
        r = per_seed.get(key)
        have = len(C.cell_seeds(cfg, {"experiment": key[0], "method": key[1], "variant": key[2]}))
        if r is None or r.hours_low is None:
            lines.append(f"  {'/'.join(key):<58} {have:>3} -> {n:>3}  (no price)")
            continue
        unit = r.device.upper() + "-h"
        a, b = n * r.hours_low / len(r.seeds), n * r.hours_high / len(r.seeds)
        if r.device == "gpu":
            lo, hi = lo + a, hi + b
        lines.append(f"  {'/'.join(key):<58} {have:>3} -> {n:>3}  {a:.1f}-{b:.1f} {unit}")
    never = sum(nd.diff is not None and nd.diff > 0 and nd.seeds is None for nd in needs)
    lines += ["", f"total for those seeds: {lo:.0f}-{hi:.0f} GPU-hours ({gpu})"]
    if never:
        lines.append(f"note: {never} comparison(s) reach {target:.0%} power with no number of seeds up to {N_MAX}: "
                     f"the rule compares the difference with the seed std, so a published difference at or below "
                     f"the larger spread stays within it however many seeds run")
    return "\n".join(lines)
