"""Fetch and verify the Inception weights (fails at once offline, naming the URL and the path to place the file)."""
import _boot  # noqa: F401

from ganrepro.metrics.inception import fetch_weights

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    rec = fetch_weights(smk.output[0], smk.params.sha256)
    print(f"verified {smk.output[0]}: {rec} (pin eval_defaults.inception_sha256 to this sha256 if unset)")
