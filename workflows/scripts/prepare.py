"""Source archive -> prepared uint8 array + manifest (manifest written last)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.data.prepare import prepare
from ganrepro.util.io import read_json

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    ds = smk.config["datasets"][smk.params.dataset]
    m = prepare(ds["format"], smk.input.archive, Path(smk.output.manifest).parent, int(smk.params.res),
                split=ds.get("split", "train"), center_crop=ds.get("center_crop"), filter=ds.get("filter", "bicubic"),
                crop=ds.get("crop", "center"), limit=ds.get("limit"), verified=read_json(smk.input.verified),
                source_info={"dataset": smk.params.dataset, **({"source": ds["source"]} if "source" in ds else {})})
    print(f"prepared {m['count']} images of shape {m['shape'][1:]} (upsampled: {m['stats']['upsampled']})")
