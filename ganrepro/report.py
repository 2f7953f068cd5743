"""Render tables (specs + run metrics) as Markdown, LaTeX, CSV and HTML; the index page; the compare listing."""
from __future__ import annotations

import csv
import html
import io
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from ganrepro import config as C
from ganrepro import registry
from ganrepro.io import write_text
from ganrepro.tables import METRICS, Cell, TableSpec, claim_cells


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
    if cell.metric in ("fid", "kid"):
        return f"{cell.metric}@{spec.fid_samples(cfg, cell.run['experiment'])}"
    return cell.metric


def _read_metrics(path: Path) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def evaluate_cell(spec: TableSpec, cfg: dict, cell: Cell) -> CellResult:
    if cell.published_only:
        return CellResult(cell, "published only", note="copied by the paper from another article; not re-run")
    run = cell.run
    if run["method"] not in cfg["methods"] or not registry.is_runnable(run["method"], run["variant"]):
        why = "method not implemented yet" if run["method"] not in registry.METHOD_MODULES else \
            "variant not implemented yet" if not registry.is_runnable(run["method"], run["variant"]) else \
            "method not enabled in config"
        return CellResult(cell, "not run", note=f"{run['method']}/{run['variant']}: {why}")
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
        verdict = "diverged" if diverged else "missing"
        return CellResult(cell, verdict, note="; ".join(notes))
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    res = CellResult(cell, "", mean, std, len(values), note="; ".join(notes))
    if cell.metric == "train_hours":
        res.devices = tuple(devices)
    if cell.published is None:
        res.verdict = "no published value"
        return res
    res.delta = mean - cell.published.mean
    why_not = spec.protocol.get("not_comparable", {}).get(cell.metric)
    if why_not and comparable:  # the paper's number cannot be compared as such (e.g. unstated units/hardware)
        res.verdict, res.note = "not comparable", "; ".join(notes + [why_not])
        return res
    if not comparable:
        res.verdict = "not comparable"
        # metrics.json's own label ("smoke features: not comparable") where it gives one
        res.note = "; ".join(notes + (sorted(set(labels)) or ["smoke scale: not comparable with the paper"]))
        return res
    tol = spec.tol(cell.metric)
    allowed = tol.get("abs", 0.0) + tol.get("rel", 0.0) * abs(cell.published.mean)
    if cell.published.sd is not None:
        allowed = max(allowed, 2 * cell.published.sd)
    better = METRICS[cell.metric]["better"] * res.delta >= 0
    res.verdict = "reproduced" if abs(res.delta) <= allowed or better else "not reproduced"
    return res


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
    return [r for r in results if r.cell.published is not None or r.verdict not in ("published only", "not run")]


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
    out = []
    for claim in spec.claims:
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
        out.append((claim, comps))
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


def _cmp_row(c: Comparison, axis: str) -> list[str]:
    a, b = c.better.cell, c.than.cell
    what = f"{a.row_label} vs {b.row_label}" if axis == "rows" else f"{a.col_label} vs {b.col_label}"
    where = a.col_label if axis == "rows" else a.row_label
    pub = "-" if c.published == "n/a" else f"{a.published.value} vs {b.published.value}: {c.published}"
    rep = "-" if c.reproduced == "n/a" else (f"{_fmt(c.better.mean)} vs {_fmt(c.than.mean)}: {c.reproduced}"
                                              + (" (within seed spread)" if c.within_spread else ""))
    return [what, where, pub, rep]


CLAIM_HEADER = ["Comparison", "Where", "Published", "Reproduced"]


def render_claims_markdown(spec: TableSpec, results: list[CellResult], level: str = "##") -> list[str]:
    lines = []
    for claim, comps in evaluate_claims(spec, results):
        lines += [f"{level} Claim {claim['id']}", "", claim["text"], "", f"**{claim_summary(comps)}**", "",
                  "| " + " | ".join(CLAIM_HEADER) + " |", "|" + "---|" * len(CLAIM_HEADER)]
        lines += ["| " + " | ".join(x.replace("|", "\\|") for x in _cmp_row(c, claim.get("axis", "rows"))) + " |"
                  for c in comps]
        lines.append("")
    return lines


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.{digits}g}" if abs(x) < 1e4 else f"{x:.0f}"


def _pub(c: Cell, r: CellResult | None = None) -> str:
    if c.published is None:
        return "-"
    s = c.published.value + (f" ± {c.published.std}" if c.published.std else "")
    if r is not None and r.paper_hardware:  # time columns: the paper's hours with the paper's GPU named
        s += f" h ({r.paper_hardware})"
    if r is not None and r.ratio_published is not None:
        s += f" ({r.ratio_published:.2f}× {r.ratio_to})"
    return s


def _rep(r: CellResult) -> str:
    if r.mean is None:
        return "-"
    s = _fmt(r.mean)
    if r.std is not None:
        s += f" ± {_fmt(r.std, 2)}"
    s += f" (n={r.n})" if r.n > 1 else ""
    if r.cell.metric == "train_hours" and r.devices:  # reproduced hours beside the device they were measured on
        s += f" h ({', '.join(r.devices)})"
    if r.ratio_reproduced is not None:
        s += f" ({r.ratio_reproduced:.2f}× {r.ratio_to})"
    return s


def _delta(r: CellResult) -> str:
    return "" if r.delta is None else f"{r.delta:+.4g}"


HEADER = ["Row", "Column", "Metric", "Published", "Reproduced", "Δ", "Verdict", "Note"]


def table_rows(results: list[CellResult]) -> list[list[str]]:
    return [[r.cell.row_label, r.cell.col_label, r.cell.metric, _pub(r.cell, r), _rep(r), _delta(r), r.verdict, r.note]
            for r in results]


def render_markdown(spec: TableSpec, cfg: dict, results: list[CellResult]) -> str:
    src = spec.source
    lines = [f"# {spec.id}: {spec.title}", "",
             f"Source: `{src['file']}`, {src['table']}" + (f", Section {src['section']}" if src.get("section") else ""),
             f"Scale: **{cfg['scale']}**" + (" (tiny models on synthetic data: numbers show the pipeline works and are "
                                            "not comparable with the paper)" if cfg["scale"] == "smoke" else ""), ""]
    if spec.protocol:
        lines += ["Protocol: " + ", ".join(f"{k}={v}" for k, v in spec.protocol.items()), ""]
    lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in table_rows(results):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    counts = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    lines += ["", "Verdicts: " + ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())), ""]
    lines += render_claims_markdown(spec, results)
    if spec.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in spec.notes] + [""]
    return "\n".join(lines)


def _tex(s: str) -> str:
    for a, b in [("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"), ("_", r"\_"),
                 ("{", r"\{"), ("}", r"\}"), ("±", r"$\pm$"), ("Δ", r"$\Delta$"), ("✓", r"\checkmark{}"),
                 ("✗", r"$\times$"), ("×", r"$\times$"), ("↓", r"$\downarrow$")]:
        s = s.replace(a, b)
    return s


def render_latex(spec: TableSpec, cfg: dict, results: list[CellResult]) -> str:
    cols = HEADER[:-1]
    out = ["\\begin{table}[t]", "\\centering", f"\\caption{{{_tex(spec.title)} ({_tex(spec.source['table'])}, "
           f"{_tex(spec.source['file'])}; scale: {cfg['scale']})}}", f"\\label{{tab:{spec.id}}}",
           "\\begin{tabular}{" + "l" * len(cols) + "}", "\\hline", " & ".join(_tex(c) for c in cols) + " \\\\",
           "\\hline"]
    for row in table_rows(results):
        out.append(" & ".join(_tex(c) for c in row[:-1]) + " \\\\")
    out += ["\\hline", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)


def render_csv(spec: TableSpec, cfg: dict, results: list[CellResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["table", "scale", "row", "column", "metric", "published", "published_std", "reproduced_mean",
                "reproduced_std", "n_seeds", "delta", "verdict", "note", "published_ratio", "reproduced_ratio"])
    for r in results:
        c = r.cell
        w.writerow([spec.id, cfg["scale"], c.row_label, c.col_label, c.metric, c.published.value if c.published else "",
                    (c.published.std or "") if c.published else "", "" if r.mean is None else repr(r.mean),
                    "" if r.std is None else repr(r.std), r.n, "" if r.delta is None else repr(r.delta), r.verdict,
                    r.note, "" if r.ratio_published is None else repr(r.ratio_published),
                    "" if r.ratio_reproduced is None else repr(r.ratio_reproduced)])
    return buf.getvalue()


def render_html_table(spec: TableSpec, cfg: dict, results: list[CellResult]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    body = "".join("<tr class='" + r.verdict.replace(" ", "-") + "'>" + "".join(
        f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for r, row in zip(results, table_rows(results)))
    return (f"<h2 id='{spec.id}'>{html.escape(spec.id)}: {html.escape(spec.title)}</h2>"
            f"<p>Source: {html.escape(spec.source['file'])}, {html.escape(spec.source['table'])}. "
            f"<a href='{spec.report_stem}.md'>Markdown</a> · <a href='{spec.report_stem}.tex'>LaTeX</a> · "
            f"<a href='{spec.report_stem}.csv'>CSV</a></p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>" + _claims_html(spec, results))


def _claims_html(spec: TableSpec, results: list[CellResult]) -> str:
    out = []
    for claim, comps in evaluate_claims(spec, results):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in CLAIM_HEADER)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in _cmp_row(c, claim.get("axis", "rows")))
                       + "</tr>" for c in comps)
        out.append(f"<h3>Claim {html.escape(claim['id'])}</h3><p>{html.escape(claim['text'])}</p>"
                   f"<p><b>{html.escape(claim_summary(comps))}</b></p>"
                   f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(out)


def write_table(spec: TableSpec, cfg: dict, out_stem) -> list[CellResult]:
    """Write ``{out_stem}.md/.tex/.csv/.html`` for one table."""
    results = evaluate_table(spec, cfg)
    out_stem = str(out_stem)
    write_text(out_stem + ".csv", render_csv(spec, cfg, results))
    write_text(out_stem + ".tex", render_latex(spec, cfg, results))
    write_text(out_stem + ".html", "<meta charset='utf-8'>" + render_html_table(spec, cfg, results))
    write_text(out_stem + ".md", render_markdown(spec, cfg, results))
    return results


CSS = ("body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;margin-bottom:1em}"
       "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}tr.reproduced{background:#e6ffe6}"
       "tr.not-reproduced{background:#ffe6e6}tr.diverged{background:#fff0cc}tr.published-only{color:#777}"
       "tr.not-run{color:#999}")


def write_index(specs: list[TableSpec], cfg: dict, report_dir, plots: list[str] = ()) -> None:
    report_dir = Path(report_dir)
    md = ["# ganrepro report", "", f"Scale: **{cfg['scale']}**.", "", "| Table | Title | Verdicts |", "|---|---|---|"]
    parts = []
    for spec in specs:
        results = evaluate_table(spec, cfg)
        counts = {}
        for r in results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        summary = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))
        md.append(f"| [{spec.id}]({spec.report_stem}.md) | {spec.title} | {summary} |")
        parts.append(render_html_table(spec, cfg, results))
    if plots:
        md += ["", "## Plots", ""] + [f"- [{Path(p).name}]({p})" for p in plots]
    plot_html = "".join(f"<figure><img src='{html.escape(p)}' width='600'><figcaption>{html.escape(p)}</figcaption>"
                        f"</figure>" for p in plots)
    write_text(report_dir / "index.md", "\n".join(md) + "\n")
    write_text(report_dir / "index.html",
               f"<!doctype html><html><head><meta charset='utf-8'><title>ganrepro report</title><style>{CSS}"
               f"</style></head><body><h1>ganrepro report</h1><p>Scale: <b>{cfg['scale']}</b>. "
               f"{len(specs)} tables.</p><ul>" + "".join(
                   f"<li><a href='#{s.id}'>{html.escape(s.id)}</a>: {html.escape(s.title)}</li>" for s in specs)
               + "</ul>" + "".join(parts) + "<h2>Plots</h2>" + plot_html + "</body></html>\n")


def compare_lines(specs: list[TableSpec], cfg: dict) -> list[str]:
    out = []
    for spec in specs:
        out.append(f"== {spec.id} ({spec.source['file']}, {spec.source['table']}; scale {cfg['scale']})")
        results = evaluate_table(spec, cfg)
        for row in table_rows(results):
            label, col, metric, pub, rep, delta, verdict, note = row
            out.append(f"  {label:<34.34} {col:<28.28} {metric:<12} pub {pub:<16} rep {rep:<22} Δ {delta:<9} "
                       f"{verdict}" + (f"  [{note}]" if note else ""))
        for claim, comps in evaluate_claims(spec, results):
            out.append(f"  claim {claim['id']}: {claim_summary(comps)}")
    return out
