"""Smoke scale: write a tiny synthetic dataset in the dataset's real source format (no download)."""
import _boot  # noqa: F401

from ganrepro.config.config import scale_cfg
from ganrepro.data.fixtures import write_fixture

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    ds = smk.config["datasets"][smk.params.dataset]
    fx = ds.get("fixture", {})
    write_fixture(ds["format"], smk.output[0], n=scale_cfg(smk.config).get("dataset_size", 64),
                  size=tuple(fx.get("size", (64, 64))), seed=0, variant=fx.get("variant", ""))
    print(f"wrote fixture {smk.output[0]} ({ds['format']})")
