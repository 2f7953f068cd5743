"""The evaluation protocol of one run: which metrics, at which sample counts, against which reference statistics.

Precedence (later wins): ``eval_defaults`` < the experiment's ``eval`` < the ``protocol:`` sections of the tables whose
cells use the run (only the keys below with numeric/enum values; free-text values such as ``unstated`` are notes) <
the scale's ``eval`` (the smoke scale's small counts and stand-in features always win).

FID is reported at every count a table asks for plus ``fid_extra_samples`` (FID is biased by N, so the same run is
also shown at e.g. 10k and 50k); the report's ``fid@N`` / ``kid@N`` keys use the table's own count.
"""
from __future__ import annotations

from ganrepro import config as C

# table protocol key -> eval setting it sets (and the type it must have there)
PROTOCOL_KEYS = {"fid_mode": str, "is_samples": int, "is_splits": int, "ms_ssim_pairs": int,
                 "ms_ssim_resolution": int, "kid_subsets": int, "kid_subset_size": int}
IMAGE_METRICS = ("fid", "kid", "is", "ms_ssim")


class ProtocolError(ValueError):
    pass


def _tables_of(cfg: dict, experiment: str, method: str | None = None, variant: str | None = None):
    for spec in C.selected_tables(cfg):
        for cell in spec.cells():
            r = cell.run
            if r and r.get("experiment") == experiment and (method is None or (r.get("method"), r.get("variant"))
                                                            == (method, variant)):
                yield spec
                break


def table_protocol(cfg: dict, experiment: str, method: str | None = None, variant: str | None = None) -> dict:
    """The protocol keys the tables using this run (or, without method, this experiment) set; must agree."""
    out, source = {}, {}
    for spec in _tables_of(cfg, experiment, method, variant):
        for key, typ in PROTOCOL_KEYS.items():
            v = spec.protocol.get(key)
            if not isinstance(v, typ) or isinstance(v, bool):
                continue
            if key in out and out[key] != v:
                raise ProtocolError(f"tables {source[key]} and {spec.id} disagree on protocol.{key} for experiment "
                                    f"{experiment!r} ({out[key]!r} vs {v!r})")
            out[key], source[key] = v, spec.id
    return out


def eval_protocol(cfg: dict, experiment: str, method: str | None = None, variant: str | None = None) -> dict:
    """Resolved eval settings of a run (see the module docstring), with ``fid_counts`` and ``real_count`` added."""
    ev = dict(cfg.get("eval_defaults", {}))
    ev.update(cfg["experiments"][experiment].get("eval", {}))
    ev.update(table_protocol(cfg, experiment, method, variant))
    ev.update(C.scale_cfg(cfg).get("eval", {}))
    counts = set(C.fid_counts(cfg, experiment, method, variant)) if method else {int(ev["fid_samples"])}
    counts |= {int(n) for n in ev.get("fid_extra_samples") or []}
    ev["fid_counts"] = sorted(counts)
    ev["real_count"] = C.real_count(cfg, experiment)
    ev.setdefault("metrics", list(IMAGE_METRICS))
    return ev


def ref_stats_file(cfg: dict, experiment: str) -> str:
    """``results/<scale>/fid_stats/<dataset>_<res>_<features>_<mode>_<count>.npz`` (made by the fid_stats rule)."""
    exp = cfg["experiments"][experiment]
    ev = eval_protocol(cfg, experiment)
    count = ev["real_count"] or "all"
    return (f"{C.paths(cfg)['results']}/fid_stats/{exp['dataset']}_{C.resolution(cfg, experiment)}_{ev['features']}_"
            f"{ev['fid_mode']}_{count}.npz")


def is_image_experiment(cfg: dict, experiment: str) -> bool:
    """False for BRC's mixture-of-Gaussians experiments: no network, no reference statistics."""
    return not C.is_mog(cfg, experiment)


def evaluate_inputs(cfg: dict, experiment: str) -> dict:
    """Snakemake inputs of the evaluate rule besides train.json: reference statistics and (real features) weights."""
    from ganrepro.inception import inputs

    if not is_image_experiment(cfg, experiment):
        return {"ref": [], "weights": []}
    return {"ref": [ref_stats_file(cfg, experiment)],
            "weights": inputs(cfg, eval_protocol(cfg, experiment)["features"])}
