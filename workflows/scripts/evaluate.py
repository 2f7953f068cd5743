"""Metrics of one run -> metrics.json (a diverged run gets a metrics.json that says so)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.io import write_json
from ganrepro.metrics import evaluate_run
from ganrepro.protocol import eval_protocol

smk = snakemake  # noqa: F821
with _boot.logged(smk):
    w = smk.wildcards
    cfg = smk.config
    if cfg["datasets"][cfg["experiments"][w.experiment]["dataset"]]["format"] == "mog":  # BRC's toy mixtures
        from ganrepro import mog_metrics
        from ganrepro.config import eval_settings

        m = mog_metrics.evaluate_run(Path(smk.input.train).parent, eval_settings(cfg, w.experiment), cfg["scale"])
    else:
        ev = eval_protocol(cfg, w.experiment, w.method, w.variant)
        m = evaluate_run(Path(smk.input.train).parent, smk.input.ref, ev["fid_counts"], ev, cfg["scale"],
                         weights=smk.input.weights[0] if smk.input.weights else None)
    write_json(smk.output[0], m)
    print(f"{m['run_id']}: {m['status']} {m['values']}")
