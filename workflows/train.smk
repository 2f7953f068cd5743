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
    resources:
        **SLURM_GPU,
        **GPU_MEMORY,
    conda:
        CONDA_ENV
    script:
        "scripts/train.py"
