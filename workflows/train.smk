# Training stage: one job per (experiment, method, variant, seed), resumable from its newest checkpoint.


rule train:
    input:
        train_inputs,
    output:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.json",
    log:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.log",
    wildcard_constraints:
        seed=r"\d+",
        experiment=IMAGE_EXPERIMENT_RE,
    resources:
        **SLURM_GPU,
        **GPU_MEMORY,
    conda:
        CONDA_ENV
    script:
        "scripts/train.py"


rule train_mog:
    """BRC's mixtures of Gaussians: train (data sampled on the fly, one CPU thread) and evaluate in one job ->
    train.json and metrics.json (ganrepro/metrics/mog_metrics.py); a CPU job on a cluster."""
    output:
        train=f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.json",
        metrics=f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/metrics.json",
    log:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.log",
    wildcard_constraints:
        seed=r"\d+",
        experiment=MOG_RE,
    resources:
        **SLURM_CPU,
    conda:
        CONDA_ENV
    script:
        "scripts/train.py"
