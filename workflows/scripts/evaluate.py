"""Metrics of one image run -> metrics.json (a diverged run gets a metrics.json that says so)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.config.config import eval_protocol
from ganrepro.util.io import write_json
from ganrepro.metrics.images import evaluate_run

smk = snakemake  # noqa: F821



with _boot.logged(smk):
    w = smk.wildcards
    cfg = smk.config
    ev = eval_protocol(cfg, w.experiment, w.method, w.variant)  # what the run's config.json records as its eval
    # image runs only: BRC's mixtures are evaluated inside their training job (rule train_mog, scripts/train.py)
    m = evaluate_run(Path(smk.input.train).parent, _boot.first(smk.input.ref), ev["fid_counts"], ev, cfg["scale"],
                     weights=_boot.first(smk.input.weights))
    write_json(smk.output[0], m)
    print(f"{m['run_id']}: {m['status']} {m['values']}")
