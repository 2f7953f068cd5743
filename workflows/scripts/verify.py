"""Read a dataset's whole source archive (a truncated or corrupt one fails here) and record its image count."""
import _boot  # noqa: F401

from ganrepro.data.readers import verify_archive
from ganrepro.util.io import write_json

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    ds = smk.config["datasets"][smk.params.dataset]
    # the published image count is checked at full scale only (smoke fixtures are tiny)
    expected = ds.get("count") if smk.config["scale"] != "smoke" else None
    rec = verify_archive(ds["format"], smk.input[0], split=ds.get("split", "train"), expected_count=expected)
    write_json(smk.output[0], {"dataset": smk.params.dataset, **rec})
    print(f"verified {smk.input[0]}: {rec['count']} images")
