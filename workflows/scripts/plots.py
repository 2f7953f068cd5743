"""Training curves (discriminator and generator loss per step) of every run in the report."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.report.plots import training_curves

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    training_curves([Path(m).parent for m in smk.input], smk.output[0])
