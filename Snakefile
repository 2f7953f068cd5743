# ganrepro: datasets -> training -> metrics -> every paper table beside its published numbers.
#   local smoke run:   snakemake --cores 2 all            (config/config.yaml: scale smoke)
#   cluster:           snakemake --profile slurm all      (slurm/config.yaml: scale full)
#   one table:         snakemake --cores 2 glgan_table5   or   snakemake --cores 2 report/glgan/table5.md
configfile: "config/config.yaml"


include: "workflows/common.smk"
include: "workflows/data.smk"
include: "workflows/train.smk"
include: "workflows/evaluate.smk"
include: "workflows/report.smk"
include: "workflows/benchmarks.smk"


rule all:
    default_target: True
    input:
        f"{REPORT}/index.html",
        f"{REPORT}/index.md",
        [table_outputs(spec) for spec in TABLES],
        curve_targets(),  # metrics over training of the runs whose train.eval_points is set
        all_metrics(),  # every planned run's metrics.json, asked for directly (not only through the tables)
