"""GL-GAN Fig. 1 (D's feature matrix over generated images), Fig. 8 (loss curves of the three spectral-norm
variants) and Fig. 10 (s_in / s_out over iterations without and with Ada-OP)."""
import _boot  # noqa: F401

from ganrepro.report.plots import glgan_feature_maps, glgan_loss_curves, glgan_sigma_curves

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    runs = smk.params.runs
    glgan_feature_maps(next(iter(runs["fig1"].values())), smk.output.fig1)
    glgan_loss_curves(runs["fig8"], smk.output.fig8)
    glgan_sigma_curves(runs["fig10"], smk.output.fig10)
