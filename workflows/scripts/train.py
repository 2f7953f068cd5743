"""Train one run (resumes from its newest checkpoint when restarted)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.config.config import resolve_run
from ganrepro.train.loop import train

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    w = smk.wildcards
    run_cfg = resolve_run(smk.config, w.experiment, w.method, w.variant, int(w.seed))
    run_dir = Path(smk.output[0]).parent
    result = train(run_cfg, run_dir)
    print(f"{run_cfg['run_id']}: {result['status']} after {result['step']} steps, {result['train_seconds']} s")
    if "metrics" in smk.output.keys():  # rule train_mog: the mixture's metrics in the same process
        from ganrepro.config.config import eval_protocol
        from ganrepro.util.io import write_json
        from ganrepro.metrics.mog_metrics import evaluate_run

        m = evaluate_run(run_dir, eval_protocol(smk.config, w.experiment, w.method, w.variant), smk.config["scale"])
        write_json(smk.output.metrics, m)
        print(f"{m['run_id']}: {m['status']} {m['values']}")
