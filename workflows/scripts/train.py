"""Train one run (resumes from its newest checkpoint when restarted)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.config import resolve_run
from ganrepro.train import train

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    w = smk.wildcards
    run_cfg = resolve_run(smk.config, w.experiment, w.method, w.variant, int(w.seed))
    result = train(run_cfg, Path(smk.output[0]).parent)
    print(f"{run_cfg['run_id']}: {result['status']} after {result['step']} steps, {result['train_seconds']} s")
