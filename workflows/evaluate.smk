# Metrics stage: the Inception weights (one file for FID, KID and IS), then per run FID/KID at the protocol's sample
# counts, IS, MS-SSIM, wall-clock and provenance -> metrics.json (ganrepro/metrics.py, ganrepro/protocol.py).
from ganrepro import inception as _inception
from ganrepro import protocol as _protocol

INCEPTION_WEIGHTS = str(_inception.weights_path(config))  # data/weights/inception-2015-12-05.pt


rule inception_weights:
    output:
        INCEPTION_WEIGHTS,
    log:
        f"{INCEPTION_WEIGHTS}.log",
    params:
        sha256=config.get("eval_defaults", {}).get("inception_sha256"),
    resources:
        **SLURM_CPU,
    conda:
        CONDA_ENV
    script:
        "scripts/inception_weights.py"


rule evaluate:
    input:
        train=f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.json",
        ref=lambda wc: _protocol.evaluate_inputs(config, wc.experiment)["ref"],
        weights=lambda wc: _protocol.evaluate_inputs(config, wc.experiment)["weights"],
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


# Metrics over training: the run's own protocol (as rule evaluate) at each snapshot its train.eval_points kept ->
# curve.csv (ganrepro/curves.py). One job per run, resumable point by point (cached in the run's curve/ folder).
rule curve:
    input:
        train=f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.json",
        ref=lambda wc: _protocol.evaluate_inputs(config, wc.experiment)["ref"],
        weights=lambda wc: _protocol.evaluate_inputs(config, wc.experiment)["weights"],
    output:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/curve.csv",
    log:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/curve.log",
    wildcard_constraints:
        seed=r"\d+",
    resources:
        **SLURM_GPU,
    conda:
        CONDA_ENV
    script:
        "scripts/curve.py"


rule curves:
    """Every planned run's metrics-over-training curve (runs whose train.eval_points is set)."""
    input:
        curve_targets(),
    localrule: True
