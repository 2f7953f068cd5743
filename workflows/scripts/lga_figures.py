"""LGA Fig. 2: FID over training of every Table 1 variant, one panel per dataset (mean curve over seeds)."""
import _boot  # noqa: F401

from ganrepro.report.plots import metric_curves_figure
from ganrepro.spec.tables import get_spec

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    # Fig. 2's x axes (lga.txt 4.2-4.3): epochs for CIFAR-10, STL-10 and CelebA, iterations for LSUN bedroom
    metric_curves_figure(get_spec("lga_table1"), smk.config, smk.output.fig2,
                      {"cifar10": "epoch", "stl10": "epoch", "celeba": "epoch", "lsun_bedroom": "step"})
