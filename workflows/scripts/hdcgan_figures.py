"""HDCGAN Fig. 14: MS-SSIM over training epochs of the Table 1 HDCGAN rows (mean curve over seeds), with the
affine fit the paper draws in red."""
import _boot  # noqa: F401

from ganrepro.report.plots import metric_curves_figure
from ganrepro.spec.tables import get_spec

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    metric_curves_figure(get_spec("hdcgan_table1"), smk.config, smk.output.fig14, {"ms_ssim": "epoch"}, affine_fit=True)
