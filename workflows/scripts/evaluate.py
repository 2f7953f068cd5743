"""Metrics of one run -> metrics.json (a diverged run gets a metrics.json that says so)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.config import is_mog
from ganrepro.io import write_json
from ganrepro.metrics import evaluate_run
from ganrepro.protocol import eval_protocol

smk = snakemake  # noqa: F821


def _first(files):
    """A named input that may be a single path, a one-element list or empty."""
    return files if isinstance(files, str) else (files[0] if len(files) else None)


with _boot.logged(smk):
    w = smk.wildcards
    cfg = smk.config
    if is_mog(cfg, w.experiment):  # BRC's toy mixtures
        from ganrepro import mog_metrics
        from ganrepro.config import eval_settings

        m = mog_metrics.evaluate_run(Path(smk.input.train).parent, eval_settings(cfg, w.experiment), cfg["scale"])
    else:
        ev = eval_protocol(cfg, w.experiment, w.method, w.variant)
        m = evaluate_run(Path(smk.input.train).parent, _first(smk.input.ref), ev["fid_counts"], ev, cfg["scale"],
                         weights=_first(smk.input.weights))
    write_json(smk.output[0], m)
    print(f"{m['run_id']}: {m['status']} {m['values']}")
