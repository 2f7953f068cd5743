"""Render tables as Markdown, LaTeX, CSV and HTML, the index page and the compare listing, from the cell results and
claim comparisons of ``ganrepro.verdicts.cells``; rendering only."""
from __future__ import annotations

import csv
import html
import io
import math
from pathlib import Path

from ganrepro.spec.tables import Cell, TableSpec
from ganrepro.util.io import write_text
from ganrepro.verdicts.cells import (
    CellResult,
    Comparison,
    ReadingResult,
    claim_summary,
    evaluate_claims,
    evaluate_readings,
    evaluate_table,
)
from ganrepro.verdicts.curve_claims import (
    CURVE_CLAIM_HEADER,
    curve_claim_rows,
    curve_claim_summary,
    evaluate_curve_claims,
)


def _cmp_row(c: Comparison, axis: str) -> list[str]:
    a, b = c.better.cell, c.than.cell
    what = f"{a.row_label} vs {b.row_label}" if axis == "rows" else f"{a.col_label} vs {b.col_label}"
    where = a.col_label if axis == "rows" else a.row_label
    pub = "-" if c.published == "n/a" else f"{a.published.value} vs {b.published.value}: {c.published}"
    rep = "-" if c.reproduced == "n/a" else (f"{_fmt(c.better.mean)} vs {_fmt(c.than.mean)}: {c.reproduced}"
                                              + (" (within seed spread)" if c.within_spread else ""))
    return [what, where, pub, rep]


CLAIM_HEADER = ["Comparison", "Where", "Published", "Reproduced"]


def _md_table(header: list[str], rows) -> list[str]:
    """A Markdown table (cells' "|" escaped)."""
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(x.replace("|", "\\|") for x in row) + " |" for row in rows])


def _html_table(header: list[str], rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_claims_markdown(spec: TableSpec, results: list[CellResult], level: str = "##") -> list[str]:
    lines = []
    for claim, comps in evaluate_claims(spec, results):
        lines += [f"{level} Claim {claim['id']}", "", claim["text"], "", f"**{claim_summary(comps)}**", ""]
        lines += _md_table(CLAIM_HEADER, (_cmp_row(c, claim.get("axis", "rows")) for c in comps)) + [""]
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


LONG_NOTE = 40  # characters: a longer note that several cells share is printed once, below the table


def footnoted_rows(results: list[CellResult]) -> tuple[list[list[str]], list[str]]:
    """``table_rows`` with each long note shared by more than one cell replaced by "[note k]", and the notes."""
    rows = table_rows(results)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[-1]] = counts.get(row[-1], 0) + 1
    shared = [n for n, k in counts.items() if k > 1 and len(n) > LONG_NOTE]
    for row in rows:
        if row[-1] in shared:
            row[-1] = f"[note {shared.index(row[-1]) + 1}]"
    return rows, shared


READING_HEADER = ["Claim", "Reading", "Reproduced: holds in", "Of which beyond the seed spread",
                  "Default reading on the same comparisons"]


def reading_rows(rrs: list[ReadingResult]) -> list[list[str]]:
    """One row per (claim, reading): comparisons won on the reproduced means, and the default reading's count on
    the same comparisons."""
    return [[rr.claim["id"].split("@")[0], rr.reading["label"] + _excluded(rr.claim), f"{rr.won} of {rr.judged}",
             str(rr.beyond_spread), f"{rr.default_won} of {rr.default_judged}"] for rr in rrs]


def _excluded(claim: dict) -> str:
    """The pairs a reading leaves out because its row is the other row by construction (spec ``identical``)."""
    ex = claim.get("excluded") or []
    return "".join(f" (not compared with {b}: the same computation)" for _, b in ex)


def render_readings_markdown(spec: TableSpec, results: list[CellResult]) -> list[str]:
    rrs = evaluate_readings(spec, results)
    if not rrs:
        return []
    return (["## Claims per reading", "",
             "Each claim judged again with the rows of each reading of the method (`readings` in the spec); the last "
             "column is the default reading's count on the same comparisons.", ""]
            + _md_table(READING_HEADER, reading_rows(rrs)) + [""])


def readings_matrix(tables: list[tuple[TableSpec, list[CellResult]]]) -> tuple[list[str], list[list[str]]]:
    """Claim x reading -> "won / judged" over several tables (header, rows); where a reading covers fewer comparisons
    than its claim has, the default reading's count on the same ones follows in brackets."""
    readings: dict = {}
    cells: dict = {}
    for spec, results in tables:
        rrs = evaluate_readings(spec, results)
        total = {rr.claim["id"]: rr.judged for rr in rrs if rr.reading is spec.readings[0]}
        for rr in rrs:
            readings.setdefault(rr.reading["id"], rr.reading["label"])
            claim_id = rr.claim["id"].split("@")[0]
            txt = f"{rr.won} / {rr.judged}" if rr.judged else "not run"
            if rr.judged and rr.default_judged < total.get(claim_id, 0):
                txt += f" [default: {rr.default_won} / {rr.default_judged}]"
            cells.setdefault((spec.id, claim_id), {})[rr.reading["id"]] = txt
    header = ["Table", "Claim"] + list(readings.values())
    rows = [[t, c] + [row.get(r, "-") for r in readings] for (t, c), row in cells.items()]
    return header, rows


def readings_matrix_markdown(tables) -> list[str]:
    header, rows = readings_matrix(tables)
    return _md_table(header, rows) if rows else []


def render_markdown(spec: TableSpec, cfg: dict, results: list[CellResult]) -> str:
    src = spec.source
    lines = [f"# {spec.id}: {spec.title}", "",
             f"Source: `{src['file']}`, {src['table']}" + (f", Section {src['section']}" if src.get("section") else ""),
             f"Scale: **{cfg['scale']}**" + (" (tiny models on synthetic data: numbers show the pipeline works and are "
                                            "not comparable with the paper)" if cfg["scale"] == "smoke" else ""), ""]
    if spec.protocol:
        lines += ["Protocol: " + ", ".join(f"{k}={v}" for k, v in spec.protocol.items()), ""]
    rows, shared = footnoted_rows(results)
    lines += _md_table(HEADER, rows)
    lines += [""] + [f"[note {k}] {n}" + "  " for k, n in enumerate(shared, 1)] if shared else []
    counts = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    lines += ["", "Verdicts: " + ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())), ""]
    lines += render_claims_markdown(spec, results)
    lines += render_readings_markdown(spec, results)
    lines += render_curve_claims_markdown(spec, cfg)
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


def render_html_table(spec: TableSpec, cfg: dict, results: list[CellResult], link_stem: str | None = None) -> str:
    """The table as an HTML fragment. ``link_stem``: how the page it sits in reaches the table's files (the index:
    ``paper/name``, the default; the table's own page and its copies: ``name``)."""
    stem = spec.report_stem if link_stem is None else link_stem
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    rows, shared = footnoted_rows(results)
    body = "".join("<tr class='" + r.verdict.replace(" ", "-") + "'>" + "".join(
        f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for r, row in zip(results, rows))
    notes = "".join(f"<p class='note'>[note {k}] {html.escape(n)}</p>" for k, n in enumerate(shared, 1))
    return (f"<h2 id='{spec.id}'>{html.escape(spec.id)}: {html.escape(spec.title)}</h2>"
            f"<p>Source: {html.escape(spec.source['file'])}, {html.escape(spec.source['table'])}. "
            f"<a href='{stem}.md'>Markdown</a> · <a href='{stem}.tex'>LaTeX</a> · "
            f"<a href='{stem}.csv'>CSV</a></p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{notes}" + _claims_html(spec, results) + _curve_claims_html(spec, cfg))


def _claims_html(spec: TableSpec, results: list[CellResult]) -> str:
    out = []
    for claim, comps in evaluate_claims(spec, results):
        out.append(f"<h3>Claim {html.escape(claim['id'])}</h3><p>{html.escape(claim['text'])}</p>"
                   f"<p><b>{html.escape(claim_summary(comps))}</b></p>"
                   + _html_table(CLAIM_HEADER, (_cmp_row(c, claim.get("axis", "rows")) for c in comps)))
    rrs = evaluate_readings(spec, results)
    if rrs:
        out.append("<h3>Claims per reading</h3>" + _html_table(READING_HEADER, reading_rows(rrs)))
    return "".join(out)


def render_curve_claims_markdown(spec: TableSpec, cfg: dict) -> list[str]:
    """The spec's claims over training (``curve_claims``), each judged on the paper's numbers and the runs' curves."""
    lines = []
    for claim, comps in evaluate_curve_claims(spec, cfg):
        lines += [f"## Claim over training {claim['id']}", "", claim["text"], "", f"**{curve_claim_summary(comps)}**",
                  ""] + _md_table(CURVE_CLAIM_HEADER, curve_claim_rows(claim, comps)) + [""]
    return lines


def _curve_claims_html(spec: TableSpec, cfg: dict) -> str:
    out = []
    for claim, comps in evaluate_curve_claims(spec, cfg):
        out.append(f"<h3>Claim over training {html.escape(claim['id'])}</h3><p>{html.escape(claim['text'])}</p>"
                   f"<p><b>{html.escape(curve_claim_summary(comps))}</b></p>"
                   + _html_table(CURVE_CLAIM_HEADER, curve_claim_rows(claim, comps)))
    return "".join(out)


def write_table(spec: TableSpec, cfg: dict, out_stem) -> list[CellResult]:
    """Write ``{out_stem}.md/.tex/.csv/.html`` for one table."""
    results = evaluate_table(spec, cfg)
    out_stem = str(out_stem)
    write_text(out_stem + ".csv", render_csv(spec, cfg, results))
    write_text(out_stem + ".tex", render_latex(spec, cfg, results))
    page = render_html_table(spec, cfg, results, link_stem=Path(out_stem).name)  # links beside the page itself
    write_text(out_stem + ".html", f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(spec.id)}"
               f"</title><style>{CSS}</style></head><body><p>Scale: <b>{html.escape(str(cfg['scale']))}</b></p>{page}"
               f"</body></html>")
    write_text(out_stem + ".md", render_markdown(spec, cfg, results))
    return results


CSS = ("body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;margin-bottom:1em}"
       "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}tr.reproduced{background:#e6ffe6}"
       "tr.not-reproduced{background:#ffe6e6}tr.diverged{background:#fff0cc}tr.published-only{color:#777}"
       "tr.not-run{color:#999}tr.missing{background:#f0f0f0}tr.not-comparable{background:#eef3ff}"
       "tr.no-published-value{background:#f7f7ff}")


def write_index(specs: list[TableSpec], cfg: dict, report_dir, plots: list[str] = (),
                links: list[tuple[str, str]] = (), samples: dict | None = None,
                reference_readings: list[tuple[str, list]] = ()) -> None:
    """report_dir/index.{md,html}: every table, the ``plots``, ``links`` ((label, path relative to report_dir),
    e.g. the committed full-scale reference results), ``samples`` (table id -> [(run label, path of its
    samples.png relative to report_dir)], shown under the table) and the claim x reading summary of this scale's
    tables and of ``reference_readings`` ((label, [(spec, results)]): e.g. the committed full-scale runs)."""
    samples = samples or {}
    report_dir = Path(report_dir)
    md = ["# ganrepro report", "", f"Scale: **{cfg['scale']}**.", ""]
    md += [f"- [{label}]({path})" for label, path in links] + ([""] if links else [])
    md += ["| Table | Title | Verdicts |", "|---|---|---|"]
    parts, evaluated = [], []
    for spec in specs:
        results = evaluate_table(spec, cfg)
        evaluated.append((spec, results))
        counts = {}
        for r in results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        summary = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))
        md.append(f"| [{spec.id}]({spec.report_stem}.md) | {spec.title} | {summary} |")
        parts.append(render_html_table(spec, cfg, results) + _samples_html(samples.get(spec.id, [])))
    readings = [(f"scale {cfg['scale']} (this report)", [(sp, r) for sp, r in evaluated if sp.readings]),
                *reference_readings]
    matrices = [(label, readings_matrix(tabs)) for label, tabs in readings]
    matrices = [(label, m) for label, m in matrices if m[1]]
    readings_html = ""
    if matrices:
        md += ["", "## Claims per reading of the method", ""]
        readings_html = "<h2 id='readings'>Claims per reading of the method</h2><p>Each claim's comparisons won on the " \
                        "reproduced means (won / judged) with each reading's rows (the tables' <code>readings</code>)." \
                        "</p>"
        for label, (header, rows) in matrices:
            md += [f"### {label}", ""] + _md_table(header, rows) + [""]
            readings_html += f"<h3>{html.escape(label)}</h3>" + _html_table(header, rows)
    if plots:
        md += ["", "## Plots", ""] + [f"- [{Path(p).name}]({p})" for p in plots]
    plot_html = "".join(f"<figure><img src='{html.escape(p)}' width='600'><figcaption>{html.escape(p)}</figcaption>"
                        f"</figure>" for p in plots)
    write_text(report_dir / "index.md", "\n".join(md) + "\n")
    write_text(report_dir / "index.html",
               f"<!doctype html><html><head><meta charset='utf-8'><title>ganrepro report</title><style>{CSS}"
               f"</style></head><body><h1>ganrepro report</h1><p>Scale: <b>{cfg['scale']}</b>. "
               f"{len(specs)} tables.</p>" + "".join(
                   f"<p><a href='{html.escape(path)}'>{html.escape(label)}</a></p>" for label, path in links)
               + "<ul>" + "".join(
                   f"<li><a href='#{s.id}'>{html.escape(s.id)}</a>: {html.escape(s.title)}</li>" for s in specs)
               + "</ul>" + readings_html + "".join(parts) + "<h2>Plots</h2>" + plot_html + "</body></html>\n")


def _samples_html(grids: list[tuple[str, str]]) -> str:
    if not grids:
        return ""
    figs = "".join(f"<figure style='display:inline-block;margin:4px'><a href='{html.escape(p)}'><img src='"
                   f"{html.escape(p)}' width='160' loading='lazy'></a><figcaption style='font-size:75%'>"
                   f"{html.escape(label)}</figcaption></figure>" for label, p in grids)
    return f"<details><summary>Generated samples ({len(grids)} runs, seed 0)</summary>{figs}</details>"


def compare_lines(specs: list[TableSpec], cfg: dict) -> list[str]:
    out = []
    for spec in specs:
        out.append(f"== {spec.id} ({spec.source['file']}, {spec.source['table']}; scale {cfg['scale']})")
        results = evaluate_table(spec, cfg)
        rows, shared = footnoted_rows(results)
        w_label = max((len(r[0]) for r in rows), default=0)  # whole labels, never cut
        w_col = max((len(r[1]) for r in rows), default=0)
        for row in rows:
            label, col, metric, pub, rep, delta, verdict, note = row
            out.append(f"  {label:<{w_label}} | {col:<{w_col}} | {metric:<7} | pub {pub:<15} | rep {rep:<20} | "
                       f"Δ {delta:<8} | {verdict}" + (f" | {note}" if note else ""))
        out += [f"  [note {k}] {n}" for k, n in enumerate(shared, 1)]
        for claim, comps in evaluate_claims(spec, results):
            out.append(f"  claim {claim['id']}: {claim_summary(comps)}")
        for claim, comps in evaluate_curve_claims(spec, cfg):
            out.append(f"  claim over training {claim['id']}: {curve_claim_summary(comps)}")
    return out
