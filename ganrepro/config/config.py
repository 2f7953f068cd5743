"""Configuration: load, validate (JSON schema + cross-references + method parameter names), find the table cells a
run fills (``cells_of_run``: seeds, sample counts and the planned runs follow from them), and resolve a run's
settings: training, method and evaluation (``eval_protocol``), paths.

Precedence for a run's settings (later wins): ``*_defaults`` < the method's defaults (method params; for training, the
method's ``train_defaults``: its own paper's optimiser) < the method variant's own values (method params only) < the
experiment < the experiment's per-method overrides < the scale (``scales.{scale}``). The
scale is last so that ``smoke`` shrinks every experiment; a scale only sets what it names. A run's evaluation settings
also take the ``protocol:`` sections of the tables that use it (``eval_protocol``).
"""
from __future__ import annotations

import copy

import jsonschema
import yaml

from ganrepro import ROOT
from ganrepro import paths as P
from ganrepro.methods import registry
from ganrepro.spec import tables as T

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
    """Raise ConfigError naming the key on any schema violation, unknown method, dataset, table or experiment, or a
    method parameter that no method reads (``_check_method_params``)."""
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
    _check_method_params(cfg)
    known = T.table_ids()
    if cfg.get("tables", "all") != "all":
        for t in cfg["tables"]:
            if t not in known:
                raise ConfigError(f"config key 'tables': unknown table {t!r}; known: {known}")
    for spec, cell in cells_of_run(cfg, specs=T.load_all()):
        where = f"{spec.path.name}: cell ({cell.row_id}, {cell.col_id})"
        if cell.run["experiment"] not in cfg["experiments"]:
            raise ConfigError(f"{where} names experiment {cell.run['experiment']!r}, which config key "
                              f"'experiments' does not define")
        m, v = cell.run["method"], cell.run["variant"]
        if m in registry.METHOD_MODULES:
            if v not in registry.get(m).variants:
                raise ConfigError(f"{where}: method {m!r} has no variant {v!r}; its variants: "
                                  f"{sorted(registry.get(m).variants)}")
        elif m not in registry.PLANNED_METHODS:
            raise ConfigError(f"{where} names method {m!r}, which is neither registered ({registry.registered()}) "
                              f"nor a planned method whose module has not landed ({sorted(registry.PLANNED_METHODS)})")
    for spec in T.load_all():  # real_data rows (ganrepro.metrics.real_data): an image experiment's training images
        for cell in spec.cells():
            exp = (cell.real or {}).get("experiment")
            if cell.real is not None and (exp not in cfg["experiments"] or is_mog(cfg, exp)):
                raise ConfigError(f"{spec.path.name}: cell ({cell.row_id}, {cell.col_id}): real_data names "
                                  f"experiment {exp!r}, which config key 'experiments' does not define as an image "
                                  f"experiment")


def _check_method_params(cfg: dict) -> None:
    """A misspelt method parameter would silently fall back to its default: reject every key of ``method_defaults``,
    ``scales.*.method`` and ``experiments.*.method`` that no registered method reads, and every key of
    ``experiments.*.methods.<M>.method`` that method M does not read (M not registered yet: not checked)."""
    read_by_any = set().union(*(registry.get(m).param_names() for m in registry.registered()))
    sections = [("method_defaults", cfg.get("method_defaults"))]
    sections += [(f"scales.{s}.method", sc.get("method")) for s, sc in cfg["scales"].items()]
    sections += [(f"experiments.{e}.method", exp.get("method")) for e, exp in cfg["experiments"].items()]
    for where, params in sections:
        for key in params or {}:
            if key not in read_by_any:
                raise ConfigError(f"config key '{where}.{key}': no registered method reads parameter {key!r}")
    for e, exp in cfg["experiments"].items():
        for m, per_method in (exp.get("methods") or {}).items():
            if m not in registry.METHOD_MODULES:
                continue
            names = registry.get(m).param_names()
            for key in per_method.get("method") or {}:
                if key not in names:
                    raise ConfigError(f"config key 'experiments.{e}.methods.{m}.method.{key}': method {m!r} does "
                                      f"not read parameter {key!r}; it reads {sorted(names)}")


def selected_tables(cfg: dict) -> list[T.TableSpec]:
    specs = T.load_all()
    if cfg.get("tables", "all") == "all":
        return specs
    return [s for s in specs if s.id in cfg["tables"]]


def cells_of_run(cfg: dict, experiment: str | None = None, method: str | None = None, variant: str | None = None,
                 specs: list[T.TableSpec] | None = None):
    """``(spec, cell)`` for every cell with a run whose experiment, method and variant match those given (None
    matches any), in ``specs`` (default: the config's selected tables), in table and cell order."""
    wanted = {"experiment": experiment, "method": method, "variant": variant}
    for spec in selected_tables(cfg) if specs is None else specs:
        for cell in spec.cells():
            if cell.run and all(v is None or cell.run[k] == v for k, v in wanted.items()):
                yield spec, cell


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
    for _, cell in cells_of_run(cfg, experiment, method, variant):
        out.update(cell_seeds(cfg, cell.run))
    return sorted(out)


# Training-set sizes the config does not record (verify checks none for these): LSUN bedroom's train split
# (Yu et al. 2015, the bedroom_train_lmdb the config downloads) holds 3,033,042 images.
KNOWN_COUNTS = {"lsun_bedroom": 3033042}


def dataset_count(cfg: dict, dataset: str) -> int | None:
    """Images of a dataset's full-scale split: the config's ``count``, else the known size (``KNOWN_COUNTS``)."""
    return cfg["datasets"][dataset].get("count") or KNOWN_COUNTS.get(dataset)


def is_mog(cfg: dict, experiment: str) -> bool:
    """BRC's toy mixtures: sampled on the fly (no dataset files, no reference statistics, no feature network)."""
    return cfg["datasets"][cfg["experiments"][experiment]["dataset"]]["format"] == "mog"


def resolution(cfg: dict, experiment: str) -> int:
    exp = cfg["experiments"][experiment]
    if exp["resolution"] == 0:  # non-image experiment (MoG)
        return 0
    return int(scale_cfg(cfg).get("resolution", exp["resolution"]))


paths = P.roots                # the on-disk locations are ganrepro.paths's; these names stay for the callers
prepared_dir = P.prepared_dir
run_dir = P.run_dir


# ------------------------------------------------------------------------------------------- evaluation protocol
# table protocol key -> eval setting it sets (and the type it must have there)
PROTOCOL_KEYS = {"fid_mode": str, "is_samples": int, "is_splits": int, "ms_ssim_pairs": int,
                 "ms_ssim_resolution": int, "kid_subsets": int, "kid_subset_size": int}
IMAGE_METRICS = ("fid", "kid", "is", "ms_ssim")


class ProtocolError(ValueError):
    pass


def _eval_layers(cfg: dict, experiment: str, table: dict | None = None) -> dict:
    """``eval_defaults`` < the experiment's ``eval`` < ``table`` (the tables' protocol keys) < the scale's ``eval``."""
    ev = dict(cfg.get("eval_defaults", {}))
    ev.update(cfg["experiments"][experiment].get("eval", {}))
    ev.update(table or {})
    ev.update(scale_cfg(cfg).get("eval", {}))
    return ev


def fid_samples(spec: T.TableSpec, cfg: dict, experiment: str) -> int:
    """Generated samples for FID in one table: the table's protocol where the paper states it, else the
    experiment's."""
    n = spec.protocol.get("fid_samples")
    if cfg["scale"] == "smoke" or not isinstance(n, int):
        return int(_eval_layers(cfg, experiment)["fid_samples"])
    return n


def fid_counts(cfg: dict, experiment: str, method: str, variant: str) -> list[int]:
    """Generated-sample counts at which the tables ask for this run's FID (protocol), or the experiment default."""
    default = [int(_eval_layers(cfg, experiment)["fid_samples"])]
    if cfg["scale"] == "smoke":
        return default
    counts = {fid_samples(spec, cfg, experiment) for spec, _ in cells_of_run(cfg, experiment, method, variant)}
    return sorted(counts) or default


def real_count(cfg: dict, experiment: str) -> int | None:
    """Real images for the FID reference statistics (None = the whole prepared split)."""
    if cfg["scale"] == "smoke":
        return None
    return _eval_layers(cfg, experiment).get("fid_real_samples")


def table_protocol(cfg: dict, experiment: str, method: str | None = None, variant: str | None = None) -> dict:
    """The protocol keys the tables using this run (or, without method, this experiment) set; must agree."""
    out, source, seen = {}, {}, set()
    for spec, _ in cells_of_run(cfg, experiment, method, variant):
        if spec.id in seen:
            continue
        seen.add(spec.id)
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
    """The evaluation protocol of a run (or, without method, of an experiment): the one source of the settings its
    evaluation uses (``workflows/scripts/evaluate.py``, image and MoG runs alike) and its config.json records.

    Precedence (later wins): ``eval_defaults`` < the experiment's ``eval`` < the ``protocol:`` sections of the tables
    whose cells use the run (only ``PROTOCOL_KEYS`` with values of their type; free-text values such as ``unstated``
    are notes) < the scale's ``eval`` (the smoke scale's small counts and stand-in features always win). Adds
    ``fid_counts``: every count a table asks for (``fid_counts``) plus ``fid_extra_samples`` (FID is biased by N, so
    the same run is also shown at e.g. 10k and 50k; the report's ``fid@N`` / ``kid@N`` keys use the table's own
    count), and ``real_count`` (``real_count``)."""
    ev = _eval_layers(cfg, experiment, table_protocol(cfg, experiment, method, variant))
    counts = set(fid_counts(cfg, experiment, method, variant)) if method else {int(ev["fid_samples"])}
    counts |= {int(n) for n in ev.get("fid_extra_samples") or []}
    ev["fid_counts"] = sorted(counts)
    ev["real_count"] = real_count(cfg, experiment)
    ev.setdefault("metrics", list(IMAGE_METRICS))
    return ev


def curve_protocol(cfg: dict, experiment: str, method: str, variant: str) -> dict:
    """The protocol of a run's curve points (rule ``curve``): ``eval_protocol`` restricted to the metrics its
    experiment's ``curve_metrics`` names, at the tables' FID counts only (no ``fid_extra_samples``). Unset: every
    metric at every count, as ``metrics.json``.

    A curve point evaluates a snapshot; with dozens of points per run (LGA Fig. 2: every epoch of 50 on CelebA,
    every 1000 of ~94k iterations on LSUN bedroom) the whole protocol (FID/KID at 10k and 50k, IS on 50k, MS-SSIM)
    at each would cost more than the training (``benchmarks/curve_share.py``). The kept values are the same
    numbers: the same latent stream, the first N samples of it, so the last point still equals ``metrics.json``
    for every key it has."""
    ev = eval_protocol(cfg, experiment, method, variant)
    keep = cfg["experiments"][experiment].get("curve_metrics")
    if keep is None or is_mog(cfg, experiment):
        return ev
    return {**ev, "metrics": [m for m in ev["metrics"] if m in keep],
            "fid_counts": fid_counts(cfg, experiment, method, variant)}


# ------------------------------------------------------------------------------------------------------ runs
def resolve_run(cfg: dict, experiment: str, method: str, variant: str, seed: int) -> dict:
    """The complete, self-contained settings of one run (saved as the run's config.json)."""
    if experiment not in cfg["experiments"]:
        raise ConfigError(f"unknown experiment {experiment!r}")
    exp = cfg["experiments"][experiment]
    per_method = exp.get("methods", {}).get(method, {})
    sc = scale_cfg(cfg)
    m = registry.get(method)
    train = copy.deepcopy(cfg.get("train_defaults", {}))
    train.update(copy.deepcopy(m.train_defaults))
    train.update(exp.get("train", {}))
    train.update(per_method.get("train", {}))
    train.update({k: v for k, v in sc.get("train", {}).items()})
    overrides = dict(exp.get("method", {}))  # method_defaults are the base: the method's own defaults beat them
    overrides.update(per_method.get("method", {}))
    overrides.update(sc.get("method", {}))
    res = resolution(cfg, experiment)
    overrides["resolution"] = res
    mog_spec = cfg["datasets"][exp["dataset"]]["mog"] if is_mog(cfg, experiment) else None
    if mog_spec:  # BRC's toy data: vectors, not images
        overrides["data_dim"] = int(mog_spec["dim"])
    params = m.params(variant, overrides, base=cfg.get("method_defaults", {}))
    if params.get("latent_is_data"):  # LCGAN's actor works in a latent space of the data's dimension
        params["z_dim"] = params["data_dim"]
    if not train.get("steps") and not train.get("epochs"):
        raise ConfigError(f"experiments.{experiment}.train: neither steps nor epochs is set")
    deps = {f"{dm}/{dv}": P.run_dir(cfg, experiment, dm, dv, seed) for dm, dv in (m.depends_on(params)
                                                                                 if m.depends_on else [])}
    return {**({"depends_on": deps} if deps else {}), "run_id": f"{experiment}/{method}/{variant}/seed{seed}", "experiment": experiment, "paper": exp["paper"],
            "dataset": exp["dataset"], "resolution": res, "method": method, "variant": variant, "seed": seed,
            "scale": cfg["scale"], "device": cfg.get("device", "auto"), "train": train, "method_params": params,
            "eval": eval_protocol(cfg, experiment, method, variant),
            "data_dir": None if mog_spec else prepared_dir(cfg, exp["dataset"], res),
            **({"mog": mog_spec} if mog_spec else {})}


def run_dependencies(cfg: dict, experiment: str, method: str, variant: str, seed: int) -> dict[str, str]:
    """{"method/variant": run folder} of the finished runs this run reads before it starts (``Method.depends_on``)."""
    return resolve_run(cfg, experiment, method, variant, seed).get("depends_on", {})


def planned_runs(cfg: dict) -> list[tuple[str, str, str]]:
    """Unique (experiment, method, variant) that the selected tables need and the config's methods can train."""
    out = set()
    for _, cell in cells_of_run(cfg):
        r = cell.run
        if r["method"] in cfg["methods"] and registry.is_runnable(r["method"], r["variant"]):
            out.add((r["experiment"], r["method"], r["variant"]))
    return sorted(out)


def slurm_warnings(cfg: dict) -> list[str]:
    """What the slurm profile's user may have forgotten: no partition (jobs go to the cluster's default partition,
    which may be a CPU or debug one) or no account."""
    out = []
    if "slurm_partition" not in slurm_resources(cfg, gpu=False):
        out.append("no SLURM partition set (GANREPRO_SLURM_PARTITION / GANREPRO_SLURM_GPU_PARTITION or config keys "
                   "slurm.partition / slurm.gpu_partition): every job goes to the cluster's default partition")
    if "slurm_account" not in slurm_resources(cfg, gpu=False):
        out.append("no SLURM account set (GANREPRO_SLURM_ACCOUNT or config key slurm.account): jobs are charged to "
                   "your default account")
    if not gpu_mem_constraint(cfg):
        for exp in sorted({e for e, _, _ in planned_runs(cfg) if gpu_memory_resources(cfg, e)}):
            gb = cfg["experiments"][exp]["gpu_mem_gb"]
            out.append(f"{exp} runs need a GPU with >= {gb} GB (config experiments.{exp}.gpu_mem_gb) and sbatch is "
                       f"not told: set slurm.gpu_mem_constraint / GANREPRO_SLURM_GPU_MEM_CONSTRAINT to your "
                       f"cluster's node feature for it (e.g. 'gpu{{gb}}g'), or give them a large GPU model (README "
                       f"'GPU memory')")
    return out


def gpu_mem_constraint(cfg: dict) -> str | None:
    """The sbatch --constraint template for GPU memory (config slurm.gpu_mem_constraint, else the environment)."""
    import os

    return (cfg.get("slurm") or {}).get("gpu_mem_constraint") or os.environ.get("GANREPRO_SLURM_GPU_MEM_CONSTRAINT")


def gpu_memory_resources(cfg: dict, experiment: str) -> dict:
    """Resources of the GPU jobs (train, evaluate, curve) of ``experiment`` for the GPU memory its runs need: config
    ``experiments.<e>.gpu_mem_gb``, at full scale only (smoke runs are 16 px, batch 8). ``gpu_mem_gb`` is always set
    (the dry run shows it; the SLURM executor itself ignores it); ``constraint`` (sbatch ``-C``) as well where
    ``slurm.gpu_mem_constraint`` or GANREPRO_SLURM_GPU_MEM_CONSTRAINT gives the cluster's node-feature expression,
    "{gb}" replaced by the number (Slurm has no GPU-memory request of its own: clusters tag nodes with features).
    {} where the experiment sets none (HDCGAN's 512 px runs set 24: hdcgan.txt Sec. 4.1, "24GB GPU memory setting")."""
    gb = cfg["experiments"][experiment].get("gpu_mem_gb")
    if gb is None or cfg["scale"] != "full":
        return {}
    out = {"gpu_mem_gb": int(gb)}
    template = gpu_mem_constraint(cfg)
    if template:
        out["constraint"] = template.replace("{gb}", str(int(gb)))
    return out


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
