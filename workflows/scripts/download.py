"""Full scale: fetch and verify a dataset's source archive (or fail at once saying what to place where)."""
import _boot  # noqa: F401

from ganrepro.data.download import fetch

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    rec = fetch(smk.params.dataset, smk.config["datasets"][smk.params.dataset], smk.output[0])
    print(f"verified {smk.output[0]}: {rec}")
