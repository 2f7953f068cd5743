"""Paper tables as declarative specs (config/tables/*.yaml): loading, validation, cells, claims, published values;
the metrics' directions and verdict tolerances (the verdicts themselves: ``ganrepro.verdicts.cells``). No config import:
what a spec means for a given config (its runs' seeds, sample counts) is ``ganrepro.config.config``'s.

A spec lists rows and columns; each cell's run is ``column.run`` updated by ``row.run`` updated by the cell's own
override, its metric the cell's, row's or column's. Published values are strings exactly as printed in the paper.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from pathlib import Path

import yaml

from ganrepro import ROOT

TABLES_DIR = ROOT / "config" / "tables"
PAPERS = ("glgan", "brc", "lga", "hdcgan")

# direction: -1 lower is better, +1 higher is better; default tolerance (rel or abs) for the verdict; ``two_sided``:
# the cell is judged on |Δ| alone, a value beyond the tolerance on the "better" side included (MS-SSIM measures
# diversity only: structureless noise scores low, so a much lower MS-SSIM than published is no better result)
METRICS = {
    "fid": {"better": -1, "tol": {"rel": 0.10}},
    "kid": {"better": -1, "tol": {"rel": 0.20}},
    "is": {"better": +1, "tol": {"rel": 0.05}},
    "ms_ssim": {"better": -1, "tol": {"abs": 0.02}, "two_sided": True},
    "train_hours": {"better": -1, "tol": {"rel": 0.50}},
    "js": {"better": -1, "tol": {"abs": 0.05}},
    "modes": {"better": +1, "tol": {"abs": 0.5}},
    "hq_share": {"better": +1, "tol": {"abs": 0.05}},
    "solver_time": {"better": -1, "tol": {"rel": 0.50}},
    "solver_memory": {"better": -1, "tol": {"rel": 0.50}},
}
# metrics a ``real_data`` row can compute on an experiment's training images (``ganrepro.metrics.real_data``)
REAL_DATA_METRICS = ("ms_ssim",)
REAL_DATA_KEYS = {"experiment"}
class Verdict(str, Enum):
    """A cell's verdict: the one list of names (a ``str`` enum, so each member equals its text)."""

    REPRODUCED = "reproduced"
    BETTER_THAN_PUBLISHED = "better than published"  # beyond the allowed difference, on the metric's better side
    NOT_REPRODUCED = "not reproduced"
    NOT_RUN = "not run"
    DIVERGED = "diverged"
    PUBLISHED_ONLY = "published only"
    MISSING = "missing"
    NOT_COMPARABLE = "not comparable"
    NO_PUBLISHED_VALUE = "no published value"

    def __str__(self) -> str:
        return self.value


VERDICTS = tuple(v.value for v in Verdict)


class SpecError(ValueError):
    pass


@dataclass
class Published:
    value: str
    std: str | None = None
    note: str | None = None

    @property
    def mean(self) -> float:
        return float(self.value)

    @property
    def sd(self) -> float | None:
        return float(self.std) if self.std not in (None, "") else None


@dataclass
class Cell:
    row_id: str
    col_id: str
    row_label: str
    col_label: str
    metric: str
    run: dict | None          # None for published-only rows
    published: Published | None
    published_only: bool = False
    real: dict | None = None  # real_data rows: {"experiment": ...}, the training images measured (run is None)


@dataclass
class TableSpec:
    id: str
    paper: str
    name: str
    title: str
    source: dict
    columns: list[dict]
    rows: list[dict]
    protocol: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    tolerance: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    claims: list[dict] = field(default_factory=list)
    curve_claims: list[dict] = field(default_factory=list)   # over training: ganrepro.verdicts.curve_claims
    readings: list[dict] = field(default_factory=list)       # alternative readings of a method: reading_claims
    path: Path | None = None

    def cells(self) -> list[Cell]:
        out = []
        for row in self.rows:
            for col in self.columns:
                ov = self.overrides.get(row["id"], {}).get(col["id"], {})
                metric = ov.get("metric") or row.get("metric") or col.get("metric")
                pub = row.get("published", {}).get(col["id"])
                if isinstance(pub, dict):
                    pub = Published(str(pub["value"]), None if pub.get("std") is None else str(pub["std"]),
                                    pub.get("note"))
                elif pub is not None:
                    pub = Published(str(pub))
                run = real = None
                if row.get("real_data") is not None:  # the experiment's training images, not a trained run
                    rd = row["real_data"] if isinstance(row["real_data"], dict) else {}
                    real = {"experiment": rd.get("experiment") or col.get("run", {}).get("experiment")}
                elif not row.get("published_only"):
                    run = {**col.get("run", {}), **row.get("run", {}), **ov.get("run", {})}
                out.append(Cell(row["id"], col["id"], row["label"], col["label"], metric, run, pub,
                                bool(row.get("published_only")), real))
        return out

    def tol(self, metric: str) -> dict:
        return self.tolerance.get(metric) or METRICS[metric]["tol"]

    @property
    def report_stem(self) -> str:
        return f"{self.paper}/{self.name}"


def _check(cond: bool, path: Path, msg: str) -> None:
    if not cond:
        raise SpecError(f"{path.name}: {msg}")


def _is_number_text(s) -> bool:
    try:
        return isinstance(s, str) and math.isfinite(float(s))
    except ValueError:
        return False


ALLOWED_TOP = {"paper", "name", "title", "source", "protocol", "notes", "tolerance", "columns", "rows", "cells",
               "claims", "curve_claims", "readings"}
CLAIM_KEYS = {"id", "text", "axis", "pairs", "over"}
READING_KEYS = {"id", "label", "replace", "claims", "identical"}


def _check_readings(readings, path: Path, row_ids: list, col_ids: list, claims: list[dict]) -> None:
    """``readings``: how a method's ambiguous text is read, each judged on the claims it names. The first entry is
    the default reading (the rows or columns as the claims name them: no ``replace``); every other entry names
    ``claims`` (ids of claims that all compare along one axis) and ``replace`` {row of those claims: the row that
    holds this reading} (for ``axis: columns`` claims, columns: e.g. a solver run with another iteration count)."""
    _check(isinstance(readings, list), path, "readings must be a list")
    if not readings:
        return
    by_claim = {c["id"]: c for c in claims}
    seen = set()
    for k, r in enumerate(readings):
        _check(isinstance(r, dict), path, f"reading {r!r} is not a mapping")
        unknown = set(r) - READING_KEYS
        _check(not unknown, path, f"reading {r.get('id')!r}: unknown key(s) {sorted(unknown)}")
        _check(isinstance(r.get("id"), str) and r["id"] not in seen, path,
               f"readings need unique ids, got {r.get('id')!r}")
        seen.add(r["id"])
        _check(isinstance(r.get("label"), str) and r["label"], path, f"reading {r['id']}: needs a label")
        if k == 0:
            _check("replace" not in r and "claims" not in r, path,
                   f"reading {r['id']}: the first reading is the default (the claims' own rows): no replace/claims")
            continue
        rep, cl = r.get("replace"), r.get("claims")
        _check(isinstance(cl, list) and cl and all(c in by_claim for c in cl), path,
               f"reading {r['id']}: claims must list claim ids of this table")
        axes = {by_claim[c].get("axis", "rows") for c in cl}
        _check(len(axes) == 1, path, f"reading {r['id']}: its claims compare both rows and columns; split the reading")
        axis = axes.pop()
        ids = row_ids if axis == "rows" else col_ids
        what = "row" if axis == "rows" else "column"
        same = r.get("identical", [])
        _check(isinstance(same, list) and all(isinstance(p, list) and len(p) == 2 and p[0] != p[1]
                                              and all(x in ids for x in p) for p in same), path,
               f"reading {r['id']}: identical must list pairs of two different {'row' if axis == 'rows' else 'column'}"
               f" ids (rows the same computation by construction, never compared with each other)")
        _check(isinstance(rep, dict) and rep and all(a in ids and b in ids and a != b for a, b in rep.items()), path,
               f"reading {r['id']}: replace must map {what} ids of this table to other {what} ids")
        for c in cl:
            _check(any(x in rep for p in by_claim[c]["pairs"] for x in p), path,
                   f"reading {r['id']}: replace names no {what} of claim {c}")


def reading_claims(spec: "TableSpec") -> list[tuple[dict, dict, dict]]:
    """(reading, claim as this reading reads it, the same comparisons under the default reading) for every reading
    of the spec and each claim it names (the default reading: each claim any reading names, as written). A
    reading's claim keeps the pairs that ``replace`` changes, with the replaced rows, less those its ``identical``
    names (a row that is another row by construction, e.g. RHG with K unrolled steps is UnrolledGAN: comparing them
    compares a computation with itself); those are listed in the claim's ``excluded``."""
    if not spec.readings:
        return []
    by_claim = {c["id"]: c for c in spec.claims}
    named = [c for r in spec.readings[1:] for c in r["claims"]]
    out = [(spec.readings[0], by_claim[c], by_claim[c]) for c in dict.fromkeys(named)]
    for r in spec.readings[1:]:
        for cid in r["claims"]:
            claim = by_claim[cid]
            same = {frozenset(p) for p in r.get("identical") or []}
            kept = [p for p in claim["pairs"] if any(x in r["replace"] for x in p)]
            mapped = [[r["replace"].get(x, x) for x in p] for p in kept]
            excluded = [m for m in mapped if frozenset(m) in same]  # a row compared with itself: no comparison
            kept = [p for p, m in zip(kept, mapped) if m not in excluded]
            mine = {**claim, "id": f"{cid}@{r['id']}", "pairs": [m for m in mapped if m not in excluded],
                    "excluded": excluded}
            out.append((r, mine, {**claim, "pairs": kept}))
    return out


def _check_claims(claims, path: Path, row_ids: list, col_ids: list) -> None:
    """A claim names pairs [better, than] of rows (``axis: rows``, compared in each column of ``over``) or of
    columns (``axis: columns``, compared in each row of ``over``); ``over`` defaults to every column / row."""
    _check(isinstance(claims, list), path, "claims must be a list")
    seen = set()
    for c in claims:
        _check(isinstance(c, dict), path, f"claim {c!r} is not a mapping")
        unknown = set(c) - CLAIM_KEYS
        _check(not unknown, path, f"claim {c.get('id')!r}: unknown key(s) {sorted(unknown)}")
        _check(isinstance(c.get("id"), str) and c["id"] not in seen, path, f"claims need unique ids, got {c.get('id')!r}")
        seen.add(c["id"])
        _check(isinstance(c.get("text"), str) and c["text"], path, f"claim {c['id']}: needs text (quote the paper)")
        axis = c.get("axis", "rows")
        _check(axis in ("rows", "columns"), path, f"claim {c['id']}: axis must be rows or columns, got {axis!r}")
        ids, other = (row_ids, col_ids) if axis == "rows" else (col_ids, row_ids)
        pairs = c.get("pairs")
        _check(isinstance(pairs, list) and pairs, path, f"claim {c['id']}: pairs must be a non-empty list")
        for p in pairs:
            _check(isinstance(p, list) and len(p) == 2 and all(x in ids for x in p) and p[0] != p[1], path,
                   f"claim {c['id']}: pair {p!r} must be [better, than], two different {axis[:-1]} ids of this table")
        over = c.get("over")
        _check(over is None or (isinstance(over, list) and over and all(x in other for x in over)), path,
               f"claim {c['id']}: over must list {'column' if axis == 'rows' else 'row'} ids of this table")


def load_spec(path) -> TableSpec:
    path = Path(path)
    try:
        with open(path) as f:
            d = yaml.safe_load(f)
    except yaml.YAMLError as e:  # one line: the file and where the YAML broke
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise SpecError(f"{path.name}: not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    _check(isinstance(d, dict), path, "not a mapping")
    unknown = set(d) - ALLOWED_TOP
    _check(not unknown, path, f"unknown key(s) {sorted(unknown)}")
    _check(d.get("paper") in PAPERS, path, f"paper must be one of {PAPERS}")
    _check(path.stem == f"{d['paper']}_{d.get('name')}", path, "file name must be {paper}_{name}.yaml")
    _check(isinstance(d.get("source"), dict) and {"file", "table"} <= set(d["source"]), path,
           "source needs file and table")
    col_ids = [c.get("id") for c in d.get("columns", [])]
    row_ids = [r.get("id") for r in d.get("rows", [])]
    _check(col_ids and len(set(col_ids)) == len(col_ids), path, "columns need unique ids")
    _check(row_ids and len(set(row_ids)) == len(row_ids), path, "rows need unique ids")
    for m, t in (d.get("tolerance") or {}).items():
        _check(m in METRICS and isinstance(t, dict) and set(t) <= {"rel", "abs"}, path, f"bad tolerance for {m}")
    spec = TableSpec(id=path.stem, paper=d["paper"], name=d["name"], title=d.get("title", ""), source=d["source"],
                     columns=d["columns"], rows=d["rows"], protocol=d.get("protocol") or {},
                     notes=d.get("notes") or [], tolerance=d.get("tolerance") or {}, overrides=d.get("cells") or {},
                     claims=d.get("claims") or [], curve_claims=d.get("curve_claims") or [],
                     readings=d.get("readings") or [], path=path)
    _check_claims(spec.claims, path, row_ids, col_ids)
    _check_readings(spec.readings, path, row_ids, col_ids, spec.claims)
    from ganrepro.spec.curve_claims import check_curve_claims

    check_curve_claims(spec.curve_claims, lambda cond, msg: _check(cond, path, msg), row_ids, col_ids)
    rt = spec.protocol.get("ratio_to")
    _check(rt is None or rt in col_ids, path, f"protocol ratio_to must be a column id, got {rt!r}")
    tr = spec.protocol.get("time_ratio_to_row")
    _check(tr is None or tr in row_ids, path, f"protocol time_ratio_to_row must be a row id, got {tr!r}")
    for r in spec.rows:
        _check("label" in r, path, f"row {r['id']} has no label")
        _check(r.get("published_only") or "run" in r or "real_data" in r, path,
               f"row {r['id']} has neither run, real_data nor published_only")
        if "real_data" in r:
            _check_real_data_row(r, path, d.get("cells") or {})
        for cid, v in r.get("published", {}).items():
            _check(cid in col_ids, path, f"row {r['id']} publishes unknown column {cid!r}")
            raw = v.get("value") if isinstance(v, dict) else v
            _check(isinstance(raw, str), path, f"cell ({r['id']}, {cid}): published value must be a quoted number "
                                                f"string exactly as printed, got {raw!r}")
    for cell in spec.cells():
        where = f"cell ({cell.row_id}, {cell.col_id})"
        _check(cell.metric in METRICS, path, f"{where}: unknown metric {cell.metric!r}")
        if cell.published is not None:
            _check(_is_number_text(cell.published.value), path, f"{where}: published value must be a quoted number")
            _check(cell.published.std is None or _is_number_text(cell.published.std), path, f"{where}: bad std")
        if cell.real is not None:
            _check(isinstance(cell.real["experiment"], str), path,
                   f"{where}: real_data row needs an experiment (real_data.experiment or the column's run)")
            _check(cell.metric in REAL_DATA_METRICS, path, f"{where}: real_data rows compute "
                                                           f"{list(REAL_DATA_METRICS)} only, not {cell.metric!r}")
        if cell.run is not None:
            missing = {"experiment", "method", "variant"} - set(cell.run)
            _check(not missing, path, f"{where}: run lacks {sorted(missing)}")
            unknown = set(cell.run) - {"experiment", "method", "variant", "seeds"}
            _check(not unknown, path, f"{where}: unknown run key(s) {sorted(unknown)}")
            sd = cell.run.get("seeds")
            _check(sd is None or (isinstance(sd, list) and sd and all(isinstance(x, int) for x in sd)), path,
                   f"{where}: run seeds must be a non-empty list of integers, got {sd!r}")
    real_rows = {r["id"] for r in spec.rows if "real_data" in r}
    for c in spec.curve_claims:
        from ganrepro.spec.curve_claims import claim_rows

        bad = sorted(set(claim_rows(c)) & real_rows)
        _check(not bad, path, f"curve claim {c['id']}: real_data row(s) {bad} have no curve over training")
    metric_of = {(c.row_id, c.col_id): c.metric for c in spec.cells()}
    for cl in spec.claims + [mine for _, mine, _ in reading_claims(spec)]:
        for a, b, where in claim_cells(spec, cl):
            _check(metric_of[a] == metric_of[b], path, f"claim {cl['id']}: {where} compares {metric_of[a]} with "
                                                         f"{metric_of[b]}")
    return spec


def _check_real_data_row(r: dict, path: Path, overrides: dict) -> None:
    """A ``real_data`` row: the table's metric on the training images of an experiment's dataset at its resolution,
    under the table's protocol (``ganrepro.metrics.real_data``; e.g. HDCGAN Table 1's real-pair MS-SSIM). ``real_data: true``
    takes the experiment of each column's run; ``real_data: {experiment: X}`` names it. No run, no published_only."""
    rd = r["real_data"]
    _check(rd is True or isinstance(rd, dict), path,
           f"row {r['id']}: real_data must be true or a mapping {{experiment: ...}}, got {rd!r}")
    if isinstance(rd, dict):
        unknown = set(rd) - REAL_DATA_KEYS
        _check(not unknown, path, f"row {r['id']}: real_data: unknown key(s) {sorted(unknown)}; allowed: "
                                  f"{sorted(REAL_DATA_KEYS)}")
        _check(rd.get("experiment") is None or isinstance(rd["experiment"], str), path,
               f"row {r['id']}: real_data.experiment must be an experiment name, got {rd.get('experiment')!r}")
    for key in ("run", "published_only"):
        _check(key not in r, path, f"row {r['id']}: a real_data row has no {key} (it measures training images)")
    _check(not any("run" in ov for ov in (overrides.get(r["id"]) or {}).values()), path,
           f"cells of real_data row {r['id']}: no run overrides")


def claim_cells(spec: TableSpec, claim: dict) -> list[tuple[tuple[str, str], tuple[str, str], str]]:
    """The (row, col) cell pairs a claim compares: [(better cell, than cell, where)]."""
    out = []
    if claim.get("axis", "rows") == "rows":
        for col in claim.get("over") or [c["id"] for c in spec.columns]:
            for a, b in claim["pairs"]:
                out.append(((a, col), (b, col), f"rows {a} vs {b} in column {col}"))
    else:
        for row in claim.get("over") or [r["id"] for r in spec.rows]:
            for a, b in claim["pairs"]:
                out.append(((row, a), (row, b), f"columns {a} vs {b} in row {row}"))
    return out


@lru_cache(maxsize=None)
def _load_all_cached(dir_: str) -> tuple[TableSpec, ...]:
    return tuple(load_spec(p) for p in sorted(Path(dir_).glob("*.yaml")))


def load_all(dir_=TABLES_DIR) -> list[TableSpec]:
    return list(_load_all_cached(str(dir_)))


def table_ids(dir_=TABLES_DIR) -> list[str]:
    return [s.id for s in load_all(dir_)]


def get_spec(table_id: str, dir_=TABLES_DIR) -> TableSpec:
    for s in load_all(dir_):
        if s.id == table_id:
            return s
    raise KeyError(f"unknown table {table_id!r}; known: {table_ids(dir_)}")


# ------------------------------------------------------------------------------------------------ published.csv
PUBLISHED_COLUMNS = ["paper", "table", "row", "column", "metric", "value", "std", "note"]


def published_rows(dir_=TABLES_DIR) -> list[dict]:
    rows = []
    for spec in load_all(dir_):
        for cell in spec.cells():
            if cell.published is None:
                continue
            note = cell.published.note or ""
            if cell.published_only:
                note = ("published only (copied from another article); " + note).strip("; ").strip()
            rows.append({"paper": spec.paper, "table": spec.source["table"], "row": cell.row_label,
                         "column": cell.col_label, "metric": cell.metric, "value": cell.published.value,
                         "std": cell.published.std or "", "note": note})
    return rows


def published_csv_text(dir_=TABLES_DIR) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, PUBLISHED_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(published_rows(dir_))
    return buf.getvalue()
