"""The report's index: every table (HTML inline, links to Markdown/LaTeX/CSV) and the plots."""
import _boot  # noqa: F401

import os
from pathlib import Path

from ganrepro.config.config import cells_of_run, run_dir, run_seeds, selected_tables
from ganrepro.report.render import write_index
from ganrepro.spec.tables import load_all
from ganrepro.verdicts.cells import evaluate_table

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    report_dir = Path(smk.output.html).parent
    figures = [smk.input.plots, *smk.input.brc, *smk.input.glgan, *smk.input.lga, *smk.input.hdcgan]
    plots = [str(Path(p).relative_to(report_dir)) for p in figures]
    # the committed full-scale results (report/reference/<paper>/README.md), linked from every scale's index
    base = Path(smk.config.get("paths", {}).get("report", "report"))
    links = [(f"{p.parent.name}: full-scale reference results (committed)", os.path.relpath(p, report_dir))
             for p in sorted(base.glob("reference/*/README.md"))]
    if (base / "benchmarks.md").exists():  # the benchmark target's output (machine-specific; not part of `all`)
        links.append(("benchmarks: step times, ratios to baselines, throughput", os.path.relpath(base / "benchmarks.md",
                                                                                                 report_dir)))
    # each table's runs' sample grids (first seed; image runs only: the mixtures have no samples.png)
    samples = {}
    for spec in selected_tables(smk.config):
        seen = {}
        for _, cell in cells_of_run(smk.config, specs=[spec]):
            r = cell.run
            key = (r["experiment"], r["method"], r["variant"])
            seeds = run_seeds(smk.config, *key)
            png = Path(run_dir(smk.config, *key, seeds[0])) / "samples.png" if seeds else None
            if key not in seen and png is not None and png.exists():
                seen[key] = ("/".join(key), os.path.relpath(png, report_dir))
        samples[spec.id] = list(seen.values())
    # the claim x reading summary of the committed full-scale runs (report/reference/<paper>/, tables with readings)
    reference_readings = []
    for readme in sorted(base.glob("reference/*/README.md")):
        ref_cfg = {**smk.config, "scale": "full", "paths": {**smk.config.get("paths", {}),
                                                            "results_root": str(readme.parent)}}
        tabs = []
        for md in sorted(readme.parent.glob("*.md")):
            spec = next((s for s in load_all() if s.paper == readme.parent.name and s.name == md.stem), None)
            if spec is not None and spec.readings:
                tabs.append((spec, evaluate_table(spec, ref_cfg)))
        if tabs:
            reference_readings.append((f"{readme.parent.name}: committed full-scale reference runs", tabs))
    write_index(selected_tables(smk.config), smk.config, report_dir, plots, links, samples, reference_readings)
