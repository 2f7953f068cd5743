"""Copy full-scale tables, figures and per-run files into the tracked report/reference/<paper>/ folder."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.report.reference import save_reference

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    dest = Path(smk.output[0]).parent
    written = save_reference(smk.config, dest.name, list(smk.params.tables), list(smk.params.figures), dest,
                             command=f"snakemake --cores 2 {smk.rule} --config scale=full")
    print(f"{smk.rule}: wrote {len(written)} files under {dest}")
