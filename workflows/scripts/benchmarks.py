"""The benchmark target: ganrepro.tools.bench.run -> report/benchmarks.md and .json."""
import _boot  # noqa: F401

from ganrepro.tools import bench
from ganrepro.util.env import pick_device

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    res = bench.run(smk.config, device=pick_device(smk.config.get("device", "auto")), repeats=smk.params.repeats,
                    warmup=smk.params.warmup, threads=smk.threads)  # min_seconds: bench.MIN_SECONDS
    for p in bench.write(res, smk.output.md):
        print(f"wrote {p}")
