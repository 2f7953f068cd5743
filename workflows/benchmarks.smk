# Benchmarks (issue 19): `snakemake --cores 2 benchmarks` -> report/benchmarks.md + .json (ganrepro/tools/bench.py): one
# training step of every method and variant with its ratio to its baseline, the BRC solvers, metric throughput,
# the loader and the full-scale DAG build. Not part of `all`: timings belong to the machine they ran on.
BENCH_MD = f"{config.get('paths', {}).get('report', 'report')}/benchmarks.md"


rule benchmarks:
    output:
        md=BENCH_MD,
        json=BENCH_MD.replace(".md", ".json"),
    log:
        f"{REPORT}/logs/benchmarks.log",
    params:
        repeats=3,
        warmup=2,
    # a fixed count, not workflow.cores: under the SLURM profile no --cores is given and reading workflow.cores
    # fails the whole parse. Locally Snakemake scales it down to --cores; more with --set-threads benchmarks=N.
    threads: 2
    localrule: True
    conda:
        CONDA_ENV
    script:
        "scripts/benchmarks.py"
