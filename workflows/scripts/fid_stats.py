"""Reference FID/KID statistics of a prepared dataset, computed once per (dataset, res, features, mode, count)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.data import load_prepared
from ganrepro.env import pick_device
from ganrepro.metrics import reference_stats

smk = snakemake  # noqa: F821


def _first(files):
    """A named input that may be a single path, a one-element list or empty."""
    return files if isinstance(files, str) else (files[0] if len(files) else None)


with _boot.logged(smk):
    w = smk.wildcards
    images = load_prepared(Path(smk.input.manifest).parent)
    info = reference_stats(images, smk.output[0], w.features, w.mode, pick_device(smk.config.get("device", "auto")),
                           None if w.nreal == "all" else int(w.nreal),
                           weights=_first(smk.input.weights))
    print(f"reference statistics: {info}")
