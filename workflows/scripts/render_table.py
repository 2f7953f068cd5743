"""Render one paper table: published | reproduced | delta | verdict, as Markdown, LaTeX, CSV and HTML."""
import _boot  # noqa: F401

from ganrepro.report.render import write_table
from ganrepro.spec.tables import get_spec

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    results = write_table(get_spec(smk.params.table), smk.config, smk.params.stem)
    print(f"{smk.params.table}: {len(results)} cells")
