"""The report's index: every table (HTML inline, links to Markdown/LaTeX/CSV) and the plots."""
import _boot  # noqa: F401

import os
from pathlib import Path

from ganrepro.config import selected_tables
from ganrepro.report import write_index

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    report_dir = Path(smk.output.html).parent
    plots = [str(Path(p).relative_to(report_dir)) for p in [smk.input.plots, *smk.input.brc, *smk.input.glgan]]
    # the committed full-scale results (report/reference/<paper>/README.md), linked from every scale's index
    base = Path(smk.config.get("paths", {}).get("report", "report"))
    links = [(f"{p.parent.name}: full-scale reference results (committed)", os.path.relpath(p, report_dir))
             for p in sorted(base.glob("reference/*/README.md"))]
    write_index(selected_tables(smk.config), smk.config, report_dir, plots, links)
