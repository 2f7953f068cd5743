"""The files a run's evaluation protocol needs: reference statistics and feature-network weights (the evaluate rule's
inputs).

The protocol itself (which metrics, at which sample counts, with which settings) is resolved by
``ganrepro.config.config.eval_protocol``, with a run's other settings, so that config.json records what the evaluation uses;
it is re-exported here with ``table_protocol`` and ``ProtocolError``.
"""
from __future__ import annotations

from ganrepro import paths
from ganrepro.config import config as C
from ganrepro.config.config import ProtocolError, eval_protocol, table_protocol  # noqa: F401  (re-exported)


def ref_stats_file(cfg: dict, experiment: str) -> str:
    """``results/<scale>/fid_stats/<dataset>_<res>_<features>_<mode>_<count>.npz`` (made by the fid_stats rule)."""
    exp = cfg["experiments"][experiment]
    ev = eval_protocol(cfg, experiment)
    count = ev["real_count"] or "all"
    return paths.fid_stats_file(cfg, exp["dataset"], C.resolution(cfg, experiment), ev["features"], ev["fid_mode"],
                                count)


def is_image_experiment(cfg: dict, experiment: str) -> bool:
    """False for BRC's mixture-of-Gaussians experiments: no network, no reference statistics."""
    return not C.is_mog(cfg, experiment)


def evaluate_inputs(cfg: dict, experiment: str) -> dict:
    """Snakemake inputs of the evaluate rule besides train.json: reference statistics and (real features) weights."""
    from ganrepro.metrics.inception import inputs

    if not is_image_experiment(cfg, experiment):
        return {"ref": [], "weights": []}
    return {"ref": [ref_stats_file(cfg, experiment)],
            "weights": inputs(cfg, eval_protocol(cfg, experiment)["features"])}
