"""Claims about metrics over training ("time to threshold"), judged on the published statement and on the runs'
curves (``curve.csv``, ``ganrepro.metrics.curves``).

A table spec's ``curve_claims`` entry (validated by ``check_curve_claims`` when the spec loads)::

    - id: lsun_time_to_fid100
      text: "the sentence it tests, quoted"
      column: lsun_bedroom            # the curve's runs: this column's experiment, each pair's rows
      x: step                         # step | epoch: the curve's time axis
      threshold: {absolute: 100}      # reached at the first point with FID <= 100; or {relative_to_best: 0.2}:
                                      # the first point within 20 % of that curve's own lowest FID ("converged")
      pairs: [[lga8, wgan_gp]]        # [faster, slower]: the first reaches the threshold first
      published: {lga8: 21000, wgan_gp: 37000}   # the paper's times per row, or {difference: 5} (slower - faster)

or, for a trend (HDCGAN Fig. 14: MS-SSIM over epochs with its affine fit)::

    - id: ms_ssim_decreases
      text: "the sentence it tests, quoted"
      column: ms_ssim
      x: epoch
      trend: decreasing               # decreasing | increasing: the sign of the least-squares slope
      rows: [hdcgan]                  # each row's mean curve is judged on its own
      window: [19, 74]                # optional: only the points with window[0] <= x <= window[1]

The metric is the column's (FID: lower is better, so "reached" is value <= threshold). A row's curve is the mean over
its seeds at the points every seed has; a curve that never reaches the threshold has time infinity (and the claim
"faster" holds when only the slower one never reaches it). Published and reproduced sides are judged separately, as
the table claims are (``ganrepro.verdicts.cells``): the paper's statement holds on its own numbers by construction unless
they contradict it; the reproduced side is what the runs show.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ganrepro.spec.curve_claims import (  # noqa: F401
    CURVE_CLAIM_KEYS,
    NEAR_BEST,
    THRESHOLDS,
    TRENDS,
    X_AXES,
    check_curve_claims,
    claim_rows,
)


def threshold_value(values: list[float], threshold: dict) -> float:
    """The FID a curve must reach: the absolute value, or (1 + r) x the curve's own lowest value."""
    (kind, v), = threshold.items()
    if kind == "absolute":
        return float(v)
    return (1.0 + float(v)) * min(values)


def time_to_threshold(points: list[tuple[float, float]], threshold: dict) -> float:
    """First x (points sorted by x: (x, value)) whose value <= the threshold; infinity if none does."""
    if not points:
        return math.nan
    limit = threshold_value([v for _, v in points], threshold)
    for x, v in sorted(points):
        if v <= limit:
            return float(x)
    return math.inf


def mean_curve(curves: list[list[dict]], metric: str, x: str) -> list[tuple[float, float]]:
    """The seeds' mean of ``metric`` at every x all seeds have (curve.csv rows, ``ganrepro.metrics.curves.read_curve``)."""
    per_seed = [{r[x]: r["value"] for r in rows if r["metric"] == metric and r[x] is not None} for rows in curves]
    if not per_seed or not all(per_seed):
        return []
    common = set.intersection(*(set(d) for d in per_seed))
    return sorted((t, sum(d[t] for d in per_seed) / len(per_seed)) for t in common)


@dataclass
class CurveComparison:
    faster: str
    slower: str
    published: str            # "holds" / "fails" / "-" (no published side)
    reproduced: str           # "holds" / "fails" / "not run" / "missing"
    detail_published: str
    detail_reproduced: str


def _fmt_t(t: float) -> str:
    return "never" if t == math.inf else "-" if math.isnan(t) else f"{t:g}"


def affine_fit_of(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through (x, y) points."""
    import numpy as np

    xs, ys = np.array([p[0] for p in points], dtype=float), np.array([p[1] for p in points], dtype=float)
    slope, icpt = np.polyfit(xs, ys, 1)
    return float(slope), float(icpt)


def judge_trend(claim: dict, curves: dict[str, list[tuple[float, float]] | None]) -> list[CurveComparison]:
    """Each row of a trend claim: the sign of the least-squares slope of its mean curve (inside the window); the
    paper states the trend in words and a figure, so there is no published side to judge."""
    lo, hi = claim.get("window") or (-math.inf, math.inf)
    out = []
    for row in claim["rows"]:
        pts = curves.get(row)
        if pts is None:
            r, txt = "not run", "-"
        else:
            pts = [p for p in pts if lo <= p[0] <= hi]
            if len(pts) < 2:
                r, txt = "missing", f"{len(pts)} curve point(s) in the window: a slope needs 2"
            else:
                slope, _ = affine_fit_of(pts)
                r = "holds" if (slope < 0 if claim["trend"] == "decreasing" else slope > 0) else "fails"
                txt = f"slope {slope:.3g} per {claim['x']} over {len(pts)} points"
        out.append(CurveComparison(row, "", "-", r, "-", txt))
    return out


def near_best(points: list[tuple[float, float]], rule: dict) -> tuple[float, float, int]:
    """(mean, std, n) of the curve's values near its lowest (``NEAR_BEST``; std over the points, ddof 1; 0 for one)."""
    import statistics

    (kind, r), = rule.items()
    best_x, best = min(points, key=lambda p: (p[1], p[0]))
    if kind == "values":
        vals = [v for _, v in points if v <= (1.0 + r) * best]
    else:
        span = max(x for x, _ in points) - min(x for x, _ in points)
        vals = [v for x, v in points if abs(x - best_x) <= r * span]
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0), len(vals)


def _absent(ca, cb) -> tuple[str, str] | None:
    """(verdict, text) when a pair cannot be judged: a row not run (None) or without curve points ([])."""
    if ca is None or cb is None:
        return "not run", "-"
    if not ca or not cb:
        return "missing", "no curve points"
    return None


def judge_near_best(claim: dict, curves: dict[str, list[tuple[float, float]] | None]) -> list[CurveComparison]:
    """Each pair [lower, higher] of a ``near_best`` claim: the mean of the first row's values near its lowest is
    below the second's, on the published [mean, std] and on the mean curves."""
    pub = claim.get("published") or {}
    out = []
    for a, b in claim["pairs"]:
        p_ok, p_txt = None, "-"
        if a in pub and b in pub:
            p_ok = pub[a][0] < pub[b][0]
            p_txt = f"{pub[a][0]:g} ({pub[a][1]:g}) vs {pub[b][0]:g} ({pub[b][1]:g})"
        ca, cb = curves.get(a), curves.get(b)
        absent = _absent(ca, cb)
        if absent:
            r, r_txt = absent
        else:
            (ma, sa, na), (mb, sb, nb) = near_best(ca, claim["near_best"]), near_best(cb, claim["near_best"])
            r = "holds" if ma < mb else "fails"
            r_txt = f"{ma:.4g} ({sa:.2g}, {na} points) vs {mb:.4g} ({sb:.2g}, {nb} points)"
        out.append(CurveComparison(a, b, "-" if p_ok is None else "holds" if p_ok else "fails", r, p_txt, r_txt))
    return out


def _paper_units(claim: dict, v: float) -> str:
    """A published time in the paper's unit, with its value in the suite's x where the spec gives the conversion."""
    px = claim.get("paper_x")
    if not px:
        return f"{v:g}"
    return f"{v:g} {px['unit']} (= {v / px['per_x']:g} {claim['x']}s)"


def judge(claim: dict, curves: dict[str, list[tuple[float, float]] | None]) -> list[CurveComparison]:
    """Each pair of ``claim`` on the published numbers and on ``curves`` (row id -> mean curve; None: not run)."""
    if "trend" in claim:
        return judge_trend(claim, curves)
    if "near_best" in claim:
        return judge_near_best(claim, curves)
    pub = claim.get("published") or {}
    out = []
    for a, b in claim["pairs"]:
        if a in pub and b in pub:
            p_ok = pub[a] < pub[b]
            p_txt = (f"{_paper_units(claim, pub[a])} vs {_paper_units(claim, pub[b])}" if claim.get("paper_x")
                     else f"{pub[a]:g} vs {pub[b]:g} {claim['x']}s")
        elif "difference" in pub:
            p_ok, p_txt = pub["difference"] > 0, f"{b} later by {pub['difference']:g} {claim['x']}s"
        else:
            p_ok, p_txt = None, "-"
        ca, cb = curves.get(a), curves.get(b)
        absent = _absent(ca, cb)
        if absent:
            r, r_txt = absent
        else:
            ta, tb = time_to_threshold(ca, claim["threshold"]), time_to_threshold(cb, claim["threshold"])
            r = "holds" if ta < tb else "fails"
            r_txt = f"{_fmt_t(ta)} vs {_fmt_t(tb)} {claim['x']}s"
            if ta == tb == math.inf:
                r, r_txt = "fails", f"neither reaches it ({r_txt})"
        out.append(CurveComparison(a, b, "-" if p_ok is None else "holds" if p_ok else "fails", r, p_txt, r_txt))
    return out


def _near_best_text(rule: dict) -> str:
    (kind, r), = rule.items()
    return (f"mean (std) of the FIDs within {100 * r:g} % of the curve's lowest" if kind == "values"
            else f"mean (std) of the FIDs within {100 * r:g} % of the run's length of the lowest one's position")


def _threshold_text(th: dict) -> str:
    (kind, v), = th.items()
    return f"FID <= {v:g}" if kind == "absolute" else f"within {100 * v:g} % of the curve's own lowest FID"


def claim_curves(spec, cfg, claim: dict, read=None) -> dict[str, list[tuple[float, float]] | None]:
    """Row id -> the mean curve of each row a claim compares, at its column's experiment (``row_curves``)."""
    return row_curves(spec, cfg, claim_rows(claim), claim["column"], claim["x"], read)


def row_curves(spec, cfg, rows, column: str, x: str, read=None) -> dict[str, list[tuple[float, float]] | None]:
    """Row id -> the mean curve (over the cell's seeds) of that row's runs at ``column``'s experiment, against
    ``x``, for the column's metric (None: the row's method is not trained by this config; [] when its curve files
    are missing)."""
    from ganrepro.config import config as C
    from ganrepro.methods import registry
    from ganrepro.metrics.curves import read_curve
    from ganrepro.verdicts.cells import metric_key

    read = read or read_curve
    cells = {(c.row_id, c.col_id): c for c in spec.cells()}
    out = {}
    for row in rows:
        cell = cells[(row, column)]
        r = cell.run
        if r["method"] not in cfg["methods"] or not registry.is_runnable(r["method"], r["variant"]):
            out[row] = None
            continue
        metric = metric_key(spec, cfg, cell)
        paths = [Path(C.run_dir(cfg, r["experiment"], r["method"], r["variant"], s)) / "curve.csv"
                 for s in C.cell_seeds(cfg, r)]
        curves = [read(p) for p in paths if p.exists()]
        out[row] = mean_curve(curves, metric, x) if len(curves) == len(paths) else []
    return out


def evaluate_curve_claims(spec, cfg) -> list[tuple[dict, list[CurveComparison]]]:
    return [(c, judge(c, claim_curves(spec, cfg, c))) for c in getattr(spec, "curve_claims", [])]


def curve_claim_summary(comps: list[CurveComparison]) -> str:
    pub = [c for c in comps if c.published != "-"]
    rep = [c for c in comps if c.reproduced in ("holds", "fails")]
    p = f"published: holds in {sum(c.published == 'holds' for c in pub)} of {len(pub)}" if pub else "published: -"
    r = (f"reproduced: holds in {sum(c.reproduced == 'holds' for c in rep)} of {len(rep)}" if rep
         else "reproduced: " + (comps[0].reproduced if comps else "-"))
    return f"{p}; {r}"


def curve_claim_rows(claim: dict, comps: list[CurveComparison]) -> list[list[str]]:
    if "trend" in claim:
        lo, hi = claim.get("window") or ("start", "end")
        return [[f"{c.faster} {claim['trend']}", f"affine fit over {claim['x']}s {lo}-{hi}", "stated, no numbers",
                 f"{c.detail_reproduced}: {c.reproduced}"] for c in comps]
    if "near_best" in claim:
        return [[f"{c.faster} below {c.slower}", _near_best_text(claim["near_best"]), f"{c.detail_published}: "
                 f"{c.published}", f"{c.detail_reproduced}: {c.reproduced}"] for c in comps]
    return [[f"{c.faster} before {c.slower}", _threshold_text(claim["threshold"]), f"{c.detail_published}: "
             f"{c.published}", f"{c.detail_reproduced}: {c.reproduced}"] for c in comps]


CURVE_CLAIM_HEADER = ["Comparison", "Criterion", "Published", "Reproduced (mean curve over seeds)"]
