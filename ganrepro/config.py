"""Configuration: load, validate (JSON schema + cross-references), resolve runs.

Precedence for a run's settings (later wins): ``*_defaults`` < the method variant's own defaults (method params
only) < the experiment < the experiment's per-method overrides < the scale (``scales.{scale}``). The scale is last so
that ``smoke`` shrinks every experiment; a scale only sets what it names.
"""
from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

from ganrepro import ROOT, registry

CONFIG_PATH = ROOT / "config" / "config.yaml"
SCHEMA_PATH = ROOT / "config" / "schema" / "config.schema.yaml"


class ConfigError(ValueError):
    """A bad configuration: the message names the offending key."""


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def _set_dotted(cfg: dict, key: str, value) -> None:
    node = cfg
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def load_config(path=CONFIG_PATH, overrides: dict | None = None) -> dict:
    """Load ``path``, apply ``overrides`` (dotted keys allowed: ``{"scale": "full"}``) and validate."""
    cfg = load_yaml(path)
    for k, v in (overrides or {}).items():
        _set_dotted(cfg, k, v)
    validate_config(cfg)
    return cfg


def _key_path(err: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in err.absolute_path) or "<top level>"


def validate_config(cfg: dict) -> None:
    """Raise ConfigError naming the key on any schema violation, unknown method, dataset, table or experiment."""
    schema = load_yaml(SCHEMA_PATH)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        msg = e.message
        if e.validator == "additionalProperties":
            msg = f"unknown key(s): {msg}"
        raise ConfigError(f"config key '{_key_path(e)}': {msg}")
    for m in cfg["methods"]:
        if m not in registry.METHOD_MODULES:
            raise ConfigError(f"config key 'methods': unknown method {m!r}; registered: {registry.registered()}")
    for name, exp in cfg["experiments"].items():
        if exp["dataset"] not in cfg["datasets"]:
            raise ConfigError(f"config key 'experiments.{name}.dataset': unknown dataset {exp['dataset']!r}")
        for m in exp.get("methods", {}):
            if m not in registry.METHOD_MODULES:
                # overrides for a method not implemented yet are allowed only if its name is well-formed
                pass
    from ganrepro import tables as _tables  # late import: tables imports config

    known = _tables.table_ids()
    if cfg.get("tables", "all") != "all":
        for t in cfg["tables"]:
            if t not in known:
                raise ConfigError(f"config key 'tables': unknown table {t!r}; known: {known}")
    for spec in _tables.load_all():
        for cell in spec.cells():
            if cell.run and cell.run.get("experiment") not in cfg["experiments"]:
                raise ConfigError(f"table {spec.id}: cell ({cell.row_id}, {cell.col_id}) names experiment "
                                  f"{cell.run.get('experiment')!r}, which config key 'experiments' does not define")


def selected_tables(cfg: dict):
    from ganrepro import tables as _tables

    specs = _tables.load_all()
    if cfg.get("tables", "all") == "all":
        return specs
    return [s for s in specs if s.id in cfg["tables"]]


def scale_cfg(cfg: dict) -> dict:
    return cfg["scales"][cfg["scale"]]


def seeds(cfg: dict, experiment: str) -> list[int]:
    if cfg["scale"] == "smoke":
        return list(scale_cfg(cfg)["seeds"])
    return list(cfg["experiments"][experiment].get("seeds", scale_cfg(cfg)["seeds"]))


def cell_seeds(cfg: dict, run: dict) -> list[int]:
    """Seeds of a table cell's run: the experiment's seeds, restricted to the run selector's ``seeds`` when the spec
    gives one (e.g. brc_table_solver measures one run per solver: ``seeds: [0]``)."""
    allowed = run.get("seeds")
    return [s for s in seeds(cfg, run["experiment"]) if allowed is None or s in allowed]


def run_seeds(cfg: dict, experiment: str, method: str, variant: str) -> list[int]:
    """Seeds the selected tables need for one (experiment, method, variant): the union over its cells."""
    out = set()
    for spec in selected_tables(cfg):
        for cell in spec.cells():
            r = cell.run
            if r and (r["experiment"], r["method"], r["variant"]) == (experiment, method, variant):
                out.update(cell_seeds(cfg, r))
    return sorted(out)


def is_mog(cfg: dict, experiment: str) -> bool:
    """BRC's toy mixtures: sampled on the fly (no dataset files, no reference statistics, no feature network)."""
    return cfg["datasets"][cfg["experiments"][experiment]["dataset"]]["format"] == "mog"


def resolution(cfg: dict, experiment: str) -> int:
    exp = cfg["experiments"][experiment]
    if exp["resolution"] == 0:  # non-image experiment (MoG)
        return 0
    return int(scale_cfg(cfg).get("resolution", exp["resolution"]))


def paths(cfg: dict) -> dict:
    p = {"data": "data", "results": "results", "report": "report"}
    p.update(cfg.get("paths", {}))
    scale = cfg["scale"]
    return {"raw": f"{p['data']}/{scale}/raw", "prepared": f"{p['data']}/{scale}/prepared",
            "results": f"{p['results']}/{scale}", "report": p["report"]}


def prepared_dir(cfg: dict, dataset: str, res: int) -> str:
    return f"{paths(cfg)['prepared']}/{dataset}_{res}"


def run_dir(cfg: dict, experiment: str, method: str, variant: str, seed: int) -> str:
    return f"{paths(cfg)['results']}/runs/{experiment}/{method}/{variant}/seed{seed}"


def eval_settings(cfg: dict, experiment: str) -> dict:
    ev = dict(cfg.get("eval_defaults", {}))
    ev.update(cfg["experiments"][experiment].get("eval", {}))
    ev.update(scale_cfg(cfg).get("eval", {}))
    return ev


def resolve_run(cfg: dict, experiment: str, method: str, variant: str, seed: int) -> dict:
    """The complete, self-contained settings of one run (saved as the run's config.json)."""
    if experiment not in cfg["experiments"]:
        raise ConfigError(f"unknown experiment {experiment!r}")
    exp = cfg["experiments"][experiment]
    per_method = exp.get("methods", {}).get(method, {})
    sc = scale_cfg(cfg)
    train = copy.deepcopy(cfg.get("train_defaults", {}))
    train.update(exp.get("train", {}))
    train.update(per_method.get("train", {}))
    train.update({k: v for k, v in sc.get("train", {}).items()})
    m = registry.get(method)
    overrides = dict(cfg.get("method_defaults", {}))
    overrides.update(exp.get("method", {}))
    overrides.update(per_method.get("method", {}))
    overrides.update(sc.get("method", {}))
    res = resolution(cfg, experiment)
    overrides["resolution"] = res
    mog_spec = cfg["datasets"][exp["dataset"]]["mog"] if is_mog(cfg, experiment) else None
    if mog_spec:  # BRC's toy data: vectors, not images
        overrides["data_dim"] = int(mog_spec["dim"])
    params = m.params(variant, overrides)
    if params.get("latent_is_data"):  # LCGAN's actor works in a latent space of the data's dimension
        params["z_dim"] = params["data_dim"]
    if not train.get("steps") and not train.get("epochs"):
        raise ConfigError(f"experiments.{experiment}.train: neither steps nor epochs is set")
    return {"run_id": f"{experiment}/{method}/{variant}/seed{seed}", "experiment": experiment, "paper": exp["paper"],
            "dataset": exp["dataset"], "resolution": res, "method": method, "variant": variant, "seed": seed,
            "scale": cfg["scale"], "device": cfg.get("device", "auto"), "train": train, "method_params": params,
            "eval": eval_settings(cfg, experiment),
            "data_dir": None if mog_spec else prepared_dir(cfg, exp["dataset"], res),
            **({"mog": mog_spec} if mog_spec else {})}


def planned_runs(cfg: dict) -> list[tuple[str, str, str]]:
    """Unique (experiment, method, variant) that the selected tables need and the config's methods can train."""
    out = set()
    for spec in selected_tables(cfg):
        for cell in spec.cells():
            r = cell.run
            if r and r["method"] in cfg["methods"] and registry.is_runnable(r["method"], r["variant"]):
                out.add((r["experiment"], r["method"], r["variant"]))
    return sorted(out)


def fid_counts(cfg: dict, experiment: str, method: str, variant: str) -> list[int]:
    """Generated-sample counts at which the tables ask for this run's FID (protocol), or the experiment default."""
    if cfg["scale"] == "smoke":
        return [int(eval_settings(cfg, experiment)["fid_samples"])]
    counts = set()
    for spec in selected_tables(cfg):
        for cell in spec.cells():
            if cell.run and (cell.run["experiment"], cell.run["method"], cell.run["variant"]) == \
                    (experiment, method, variant):
                counts.add(spec.fid_samples(cfg, experiment))
    return sorted(counts) or [int(eval_settings(cfg, experiment)["fid_samples"])]


def real_count(cfg: dict, experiment: str) -> int | None:
    """Real images for the FID reference statistics (None = the whole prepared split)."""
    ev = eval_settings(cfg, experiment)
    if cfg["scale"] == "smoke":
        return None
    return ev.get("fid_real_samples")


def slurm_resources(cfg: dict, gpu: bool) -> dict:
    """``slurm_partition`` / ``slurm_account`` resources from config ``slurm.*`` or GANREPRO_SLURM_* variables."""
    import os

    sl = cfg.get("slurm") or {}
    part = (sl.get("gpu_partition") or os.environ.get("GANREPRO_SLURM_GPU_PARTITION")) if gpu else None
    part = part or sl.get("partition") or os.environ.get("GANREPRO_SLURM_PARTITION")
    account = sl.get("account") or os.environ.get("GANREPRO_SLURM_ACCOUNT")
    out = {}
    if part:
        out["slurm_partition"] = part
    if account:
        out["slurm_account"] = account
    return out
