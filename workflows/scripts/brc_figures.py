"""BRC Fig. 2 (FID / JS curves of the 5-mode ring runs) and Fig. 3 (samples of every MoG run of seed 0)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.report.plots import mog_curves, mog_scatter

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    runs = [Path(m).parent for m in smk.input]
    mog_curves([r for r in runs if "/brc_ring5/" in f"/{r}/"], smk.output.curves)
    mog_scatter([r for r in runs if r.name == "seed0" and "/brc_ring5/" not in f"/{r}/"], smk.output.scatter)
