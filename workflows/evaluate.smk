# Metrics stage: FID (clean-fid) at the sample counts the tables' protocols ask for, wall-clock, provenance.


rule evaluate:
    input:
        train=f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.json",
        ref=lambda wc: ref_stats_path(wc.experiment),
    output:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/metrics.json",
    log:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/evaluate.log",
    wildcard_constraints:
        seed=r"\d+",
    resources:
        **SLURM_GPU,
    conda:
        CONDA_ENV
    script:
        "scripts/evaluate.py"
