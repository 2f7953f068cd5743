"""Save full-scale results into the tracked ``report/reference/<paper>/`` folder, which smoke runs never write.

A reader sees the reproduced tables without re-running: the rendered tables (md/tex/csv/html), the figures, and for
every run that fills a cell its ``metrics.json``, ``train.json`` and ``log.csv`` (the curves), plus a README that
records the commit, the command and what is where. Only results of ``scale: full`` may be saved.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from ganrepro import ROOT, paths
from ganrepro.config import config as C
from ganrepro.report.render import _pub, _rep
from ganrepro.spec.tables import TableSpec, get_spec
from ganrepro.util.io import atomic_path, write_text
from ganrepro.verdicts.cells import claim_summary, evaluate_claims, evaluate_table

RUN_FILES = ("metrics.json", "train.json", "log.csv")


class ReferenceError(RuntimeError):
    pass


def _copy(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "") if out.returncode == 0 else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def compact_table(spec: TableSpec, cfg: dict, results: list | None = None) -> str:
    """The table in the paper's own layout (its rows x columns), each cell "published / reproduced" (Markdown);
    ``results``: the table's ``evaluate_table`` results, when the caller already has them."""
    results = {(r.cell.row_id, r.cell.col_id): r for r in (results or evaluate_table(spec, cfg))}
    cols = [c for c in spec.columns if any((r["id"], c["id"]) in results for r in spec.rows)]
    lines = ["| | " + " | ".join(c["label"] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for row in spec.rows:
        cells = []
        for c in cols:
            r = results.get((row["id"], c["id"]))
            cells.append("" if r is None else f"{_pub(r.cell, r)} / {_rep(r).replace(f' (n={r.n})', '')}")
        if any(cells):
            lines.append(f"| {row['label']} | " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)


def save_reference(cfg: dict, paper: str, table_ids: list[str], figures: list[str | Path], dest: str | Path,
                   command: str) -> list[Path]:
    """Copy the rendered ``table_ids``, ``figures`` and the per-run files into ``dest``; README.md is written last."""
    if cfg["scale"] != "full":
        raise ReferenceError(f"report/reference/ holds full-scale results only; this config has scale "
                             f"{cfg['scale']!r} (run with --config scale=full)")
    dest = Path(dest)
    report = Path(C.paths(cfg)["report"])
    written = []
    tables = []
    for tid in table_ids:
        spec = get_spec(tid)
        for ext in ("md", "tex", "csv", "html"):
            src = report / f"{spec.report_stem}.{ext}"
            if not src.exists():
                raise ReferenceError(f"{src} is missing: render the table first (snakemake {tid} --config scale=full)")
            _copy(src, dest / f"{spec.name}.{ext}")
            written.append(dest / f"{spec.name}.{ext}")
        tables.append(spec)
    for fig in figures:
        fig = Path(fig)
        _copy(fig, dest / "plots" / fig.name)
        written.append(dest / "plots" / fig.name)
    runs = set()
    for _, cell in C.cells_of_run(cfg, specs=tables):
        r = cell.run
        if r["method"] in cfg["methods"]:
            runs.update((r["experiment"], r["method"], r["variant"], seed) for seed in C.cell_seeds(cfg, r))
    results = Path(C.paths(cfg)["results"])
    for exp, m, v, s in sorted(runs):
        src_dir = Path(C.run_dir(cfg, exp, m, v, s))
        rel = src_dir.relative_to(results)
        for name in RUN_FILES:
            if (src_dir / name).exists():
                _copy(src_dir / name, dest / rel / name)
                written.append(dest / rel / name)
    header = [f"- saved: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}", f"- saved from: commit {_commit()}"]
    write_text(dest / "README.md", reference_readme(cfg, paper, tables, [Path(f).name for f in figures], dest,
                                                    command, header))
    written.append(dest / "README.md")
    return written


def _runs_trained_at(dest: Path) -> tuple[int, dict]:
    """(number of run folders under dest/runs, {commit (dirty mark): runs}) from each run's train.json."""
    n, at = 0, {}
    for tj in sorted((dest / "runs").glob("*/*/*/seed*/train.json")):
        n += 1
        try:
            code = json.loads(tj.read_text()).get("code") or {}
        except (OSError, ValueError):
            code = {}
        key = str(code.get("commit", "?")) + (" (with uncommitted changes)" if code.get("dirty") else "")
        at[key] = at.get(key, 0) + 1
    return n, at


def reference_readme(cfg: dict, paper: str, tables: list[TableSpec], figures: list[str], dest: Path, command: str,
                     header: list[str]) -> str:
    """README.md of a reference folder: how to re-create it, ``header`` (when/where saved), the commits the runs were
    trained at, each table in the paper's layout with its claims, the claim x reading summary, the figures. ``cfg``
    reads the runs (for a rerender: results_root = the reference folder)."""
    from ganrepro.report.render import readings_matrix_markdown

    n_runs, trained_at = _runs_trained_at(dest)
    lines = [f"# Reference results: {paper} (scale: full)", "",
             "Saved by `ganrepro.report.reference.save_reference`; smoke runs never write here. Re-create with:", "",
             f"    {command}", "", *header,
             "- runs trained at: " + (", ".join(f"commit {k} ({n} runs)" for k, n in sorted(trained_at.items()))
                                      or "unknown"),
             f"- runs: {n_runs} (per run: {', '.join(RUN_FILES)} under `runs/<experiment>/<method>/<variant>/seed<n>/`)",
             "", "## Tables", ""]
    for spec in tables:
        lines.append(f"- [{spec.id}]({spec.name}.md) ([html]({spec.name}.html), [csv]({spec.name}.csv), "
                     f"[tex]({spec.name}.tex)): {spec.title}")
    evaluated = []
    for spec in tables:  # the paper's layout, each cell "published / reproduced" (mean ± std over the run's seeds)
        results = evaluate_table(spec, cfg)
        evaluated.append((spec, results))
        lines += ["", f"### {spec.id}: published / reproduced", "", compact_table(spec, cfg, results)]
        claims = evaluate_claims(spec, results)
        if claims:
            lines += ["", f"Claims (every comparison in [{spec.name}.md]({spec.name}.md)):", ""]
            lines += [f"- **{c['id']}**: {c['text']} — {claim_summary(comps)}" for c, comps in claims]
    matrix = readings_matrix_markdown(evaluated)
    if matrix:
        lines += ["", "## Claims per reading of the method", "",
                  "Each claim's comparisons won on the reproduced means (won / judged) with each reading's rows in place "
                  "of the method's rows (the tables' `readings`; what each reading is: the tables' notes). Where a "
                  "reading covers only some of the claim's comparisons, the default reading's count on the same "
                  "comparisons is in brackets. Per-cell rows: the tables.", ""] + matrix
    conclusion = dest / CONCLUSION
    if conclusion.exists():  # written by hand from the tables above; its counts are checked against them (tests)
        lines += ["", "## Conclusion", "", f"(Written by hand from the tables above: [{CONCLUSION}]({CONCLUSION}).)",
                  "", conclusion.read_text().strip()]
    if figures:
        lines += ["", "## Figures", ""] + [f"- [{f}](plots/{f})" for f in figures]
    return "\n".join(lines) + "\n"


# a reference folder's hand-written reading of its tables, included in its README (kept across re-renders)
CONCLUSION = "conclusion.md"


RERENDER_MARK = "- tables re-rendered:"


def rerender_reference(paper: str, cfg: dict, dest=None) -> list[Path]:
    """Render ``report/reference/<paper>/``'s tables again from its committed runs (after a change of the verdict
    rule or of the rendering; the runs and their metrics are unchanged) and record it in its README.md."""
    from ganrepro.report.render import write_table

    dest = Path(dest or paths.reference_dir(paper))
    readme = dest / "README.md"
    if not readme.exists():
        raise ReferenceError(f"{readme} is missing: no committed reference results for {paper!r}")
    cfg = {**cfg, "scale": "full", "paths": {**cfg.get("paths", {}), "results_root": str(dest)}}
    names = sorted(p.stem for p in dest.glob("*.md") if p.name not in ("README.md", CONCLUSION))
    written = []
    for name in names:
        spec = get_spec(f"{paper}_{name}")
        write_table(spec, cfg, dest / name)
        written += [dest / f"{name}.{ext}" for ext in ("md", "tex", "csv", "html")]
    line = (f"{RERENDER_MARK} {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} at commit {_commit()} "
            f"(`python -m ganrepro rerender-reference {paper}`: the committed runs, the current verdict rule and layout)")
    old = readme.read_text().splitlines()
    command = next((old[i + 2].strip() for i, ln in enumerate(old) if ln.endswith("Re-create with:")), "?")
    header = [ln for ln in old if ln.startswith(("- saved: ", "- saved from: "))] + [line]
    figures = [ln.split("](plots/", 1)[1].rstrip(")") for ln in old if "](plots/" in ln]
    listed = [ln[3:].split("]", 1)[0] for ln in old if ln.startswith(f"- [{paper}_")]  # the README's table order
    specs = sorted((get_spec(f"{paper}_{name}") for name in names),
                   key=lambda sp: listed.index(sp.id) if sp.id in listed else len(listed))
    write_text(readme, reference_readme(cfg, paper, specs, figures, dest, command, header))
    return written
