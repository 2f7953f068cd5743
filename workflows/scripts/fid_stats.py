"""Reference FID/KID statistics of a prepared dataset, computed once per (dataset, res, features, mode, count)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.data.loader import load_prepared
from ganrepro.util.env import pick_device
from ganrepro.metrics.images import reference_stats

smk = snakemake  # noqa: F821

with _boot.logged(smk):
    w = smk.wildcards
    images = load_prepared(Path(smk.input.manifest).parent)
    info = reference_stats(images, smk.output[0], w.features, w.mode, pick_device(smk.config.get("device", "auto")),
                           None if w.nreal == "all" else int(w.nreal),
                           weights=_boot.first(smk.input.weights))
    print(f"reference statistics: {info}")
