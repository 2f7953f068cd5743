# Shared set-up: validate the config (schema + cross-references) before any job, and the target functions.
import os
import sys

sys.path.insert(0, workflow.basedir)

from snakemake.utils import min_version, validate

from ganrepro.config import config as C
from ganrepro.config.config import ConfigError
from ganrepro.spec.curve_claims import claim_rows

min_version("9.0")

try:  # our validator first: its message names the offending key (and checks cross-references)
    C.validate_config(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}")
validate(config, "../config/schema/config.schema.yaml")  # Snakemake's own check (fills schema defaults)

CONDA_ENV = "../environment.yml"  # the pinned environment (used with --software-deployment-method conda)
SCALE = config["scale"]
P = C.paths(config)
RESULTS, REPORT = P["results"], P["report"]
TABLES = C.selected_tables(config)
# BRC's MoG tables run at full scale on a CPU; rule brc_reference saves them under report/reference/brc/
BRC_REFERENCE_TABLES = ["brc_table_mog_ring5", "brc_table2", "brc_table_solver"]
RUNS = C.planned_runs(config)  # (experiment, method, variant) the tables need and the registry can train
# SLURM partition/account for the cluster profile (ignored by local runs): config keys or environment variables
SLURM_CPU, SLURM_GPU = C.slurm_resources(config, gpu=False), C.slurm_resources(config, gpu=True)
# GPU memory a run of the experiment needs (config experiments.<e>.gpu_mem_gb, full scale): resource gpu_mem_gb on its
# train / evaluate / curve jobs, and sbatch --constraint where slurm.gpu_mem_constraint is set (C.gpu_memory_resources)
GPU_MEMORY = {k: (lambda wc, k=k: C.gpu_memory_resources(config, wc.experiment).get(k))
              for k in ("gpu_mem_gb", "constraint") if k == "gpu_mem_gb" or C.gpu_mem_constraint(config)}
if (config.get("slurm") or {}).get("profile") and not (workflow.remote_exec or workflow.subprocess_exec):
    for _why in C.slurm_warnings(config):
        print(f"ganrepro: warning: {_why}", file=sys.stderr)


def run_dir(experiment, method, variant, seed):
    return C.run_dir(config, experiment, method, variant, seed)


def _set_aside_unreadable_metrics():
    """A truncated / empty / non-numeric metrics.json would read as a finished run: move it aside (kept as
    metrics.json.unreadable) so that this invocation evaluates the run again; say so, naming the file."""
    from ganrepro.verdicts.cells import set_aside_unreadable

    files = [f"{run_dir(e, m, v, s)}/metrics.json" for e, m, v in RUNS for s in C.run_seeds(config, e, m, v)]
    for path, dest, why in set_aside_unreadable(files):
        print(f"ganrepro: {path} is unreadable ({why}): moved to {dest.name}; the run is evaluated again",
              file=sys.stderr)


if not (workflow.remote_exec or workflow.subprocess_exec):  # once, in the invocation the user started
    _set_aside_unreadable_metrics()


def experiment_data(experiment):
    exp = config["experiments"][experiment]
    return exp["dataset"], C.resolution(config, experiment)


def dataset_file(dataset):
    ds = config["datasets"][dataset]
    return f"{P['raw']}/{dataset}/{ds['file']}"


def prepared_manifest(experiment):
    """The manifest of the prepared array an image experiment trains on."""
    dataset, res = experiment_data(experiment)
    return f"{P['prepared']}/{dataset}_{res}/manifest.json"


# BRC's mixtures train on a CPU in seconds: rule train_mog trains and evaluates them in one job (one process start
# instead of two); every other experiment goes through rules train and evaluate.
MOG_EXPERIMENTS = sorted(e for e in config["experiments"] if C.is_mog(config, e))
MOG_RE = "|".join(MOG_EXPERIMENTS) or "(?!)"
IMAGE_EXPERIMENT_RE = rf"(?!(?:{MOG_RE})/)[^/]+"  # not a mixture: the lookahead sees the "/" after it


def train_inputs(wc):
    """The prepared data, and the train.json of every finished run this one reads first (Method.depends_on)."""
    deps = [f"{d}/train.json" for d in C.run_dependencies(config, wc.experiment, wc.method, wc.variant,
                                                           int(wc.seed)).values()]
    if C.is_mog(config, wc.experiment):  # sampled on the fly: no prepared data
        return deps
    return [prepared_manifest(wc.experiment), *deps]


def table_metrics(spec):
    """metrics.json of every run (its seeds: C.cell_seeds) that fills a cell of ``spec``."""
    wanted = set(RUNS)
    out = set()
    for _, cell in C.cells_of_run(config, specs=[spec]):
        r = cell.run
        if (r["experiment"], r["method"], r["variant"]) in wanted:
            out.update(f"{run_dir(r['experiment'], r['method'], r['variant'], s)}/metrics.json"
                       for s in C.cell_seeds(config, r))
    return sorted(out)


def table_real_data(spec):
    """The real-data reference metrics its real_data rows read (rule real_data_metrics, ganrepro.metrics.real_data)."""
    from ganrepro.metrics import real_data

    return real_data.targets(config, spec)


def table_curves(spec):
    """curve.csv of every run a claim over training of ``spec`` reads (its rows at its column's experiment)."""
    wanted = set(RUNS)
    cells = {(c.row_id, c.col_id): c for c in spec.cells()}
    out = set()
    for claim in spec.curve_claims:
        for row in claim_rows(claim):
            r = cells[(row, claim["column"])].run
            if (r["experiment"], r["method"], r["variant"]) in wanted:
                out.update(f"{run_dir(r['experiment'], r['method'], r['variant'], s)}/curve.csv"
                           for s in C.cell_seeds(config, r))
    return sorted(out)


def figure_curves(table_id):
    """curve.csv of every planned run of a table whose experiment keeps eval points (LGA Fig. 2, HDCGAN Fig. 14)."""
    wanted = set(RUNS)
    return sorted({f"{run_dir(c.run['experiment'], c.run['method'], c.run['variant'], s)}/curve.csv"
                   for spec in TABLES if spec.id == table_id for c in spec.cells()
                   if c.run and (c.run["experiment"], c.run["method"], c.run["variant"]) in wanted
                   for s in C.cell_seeds(config, c.run)
                   if keeps_eval_points(c.run["experiment"], c.run["method"], c.run["variant"], s)})


HDCGAN_NEIGHBOURS = ("hdcgan_celeba512", "hdcgan", "default")  # HDCGAN Fig. 4: the Table 1 row's run, first seed


def hdcgan_neighbour_run():
    """train.json of the run HDCGAN Fig. 4 samples from; [] where the config does not train it (blank figure)."""
    r = HDCGAN_NEIGHBOURS
    return [f"{run_dir(*r, C.run_seeds(config, *r)[0])}/train.json"] if r in set(RUNS) else []


def hdcgan_neighbour_data():
    return prepared_manifest(HDCGAN_NEIGHBOURS[0]) if HDCGAN_NEIGHBOURS in set(RUNS) else []


def hdcgan_neighbour_weights():
    from ganrepro.metrics.inception import inputs

    if HDCGAN_NEIGHBOURS not in set(RUNS):
        return []
    return inputs(config, C.eval_protocol(config, HDCGAN_NEIGHBOURS[0])["features"])


def table_outputs(spec):
    return [f"{REPORT}/{spec.report_stem}.{ext}" for ext in ("md", "tex", "csv", "html")]


def all_metrics():
    return sorted({m for spec in TABLES for m in table_metrics(spec)})


def brc_figure_metrics():
    """BRC Figs. 2-3: the runs of the MoG tables (brc_table_mog_ring5, brc_table2) that the config trains."""
    specs = [s for s in TABLES if s.id in ("brc_table_mog_ring5", "brc_table2")]
    return sorted({m for spec in specs for m in table_metrics(spec)})


def glgan_figure_runs(figure):
    """GL-GAN Figs. 1, 8, 10 (ganrepro.report.plots.GLGAN_FIGURE_RUNS): panel title -> run folder (first seed), or None
    where the config does not train that run (the panel says "not run")."""
    from ganrepro.report.plots import GLGAN_FIGURE_RUNS

    planned = set(RUNS)
    return {title: run_dir(*r, C.run_seeds(config, *r)[0]) if r in planned else None
            for title, r in GLGAN_FIGURE_RUNS[figure].items()}


def glgan_figure_inputs():
    return sorted(f"{d}/train.json" for fig in ("fig1", "fig8", "fig10") for d in glgan_figure_runs(fig).values()
                  if d is not None)


def curve_targets():
    """curve.csv of every planned run (each seed the tables need) whose resolved train config sets eval_points."""
    return sorted(f"{run_dir(e, m, v, s)}/curve.csv" for e, m, v in RUNS for s in C.run_seeds(config, e, m, v)
                  if keeps_eval_points(e, m, v, s))


def keeps_eval_points(experiment, method, variant, seed):
    """Whether the run's resolved train config sets eval_points (it keeps snapshots, so rule curve applies)."""
    return C.resolve_run(config, experiment, method, variant, seed)["train"].get("eval_points") is not None
