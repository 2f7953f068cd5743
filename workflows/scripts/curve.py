"""Metrics over training of one run -> curve.csv: the run's evaluation protocol (as rule evaluate's metrics.json,
restricted to the experiment's curve_metrics: config.curve_protocol) at each of its snapshots, resumable point by
point (ganrepro/metrics/curves.py)."""
import _boot  # noqa: F401

from pathlib import Path

from ganrepro.config.config import curve_protocol, is_mog
from ganrepro.metrics.curves import evaluate_curve

smk = snakemake  # noqa: F821



with _boot.logged(smk):
    w = smk.wildcards
    cfg = smk.config
    run = Path(smk.input.train).parent
    ev = curve_protocol(cfg, w.experiment, w.method, w.variant)  # rule evaluate's, less what the curve does not need
    if is_mog(cfg, w.experiment):  # BRC's toy mixtures
        out = evaluate_curve(run, ev)
    else:
        out = evaluate_curve(run, ev, _boot.first(smk.input.ref), ev["fid_counts"],
                             weights=_boot.first(smk.input.weights))
    if Path(out).resolve() != Path(smk.output[0]).resolve():
        raise RuntimeError(f"curve written to {out}, expected {smk.output[0]}")
    print(f"{run}: {out}")
