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
