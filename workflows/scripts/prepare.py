"""Source archive -> prepared uint8 array + manifest (manifest written last)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.data import prepare

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    ds = smk.config["datasets"][smk.params.dataset]
    m = prepare(ds["format"], smk.input[0], Path(smk.output.manifest).parent, int(smk.params.res),
                split=ds.get("split", "train"), center_crop=ds.get("center_crop"), filter=ds.get("filter", "bicubic"),
                source_info={"dataset": smk.params.dataset})
    print(f"prepared {m['count']} images of shape {m['shape'][1:]}")
