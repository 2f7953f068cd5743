# Metrics stage: the Inception weights (one file for FID, KID and IS), then per run FID/KID at the protocol's sample
# counts, IS, MS-SSIM, wall-clock and provenance -> metrics.json (ganrepro/metrics/images.py, ganrepro/metrics/protocol.py).
from ganrepro.metrics import inception as _inception
from ganrepro.metrics import protocol as _protocol

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
        experiment=IMAGE_EXPERIMENT_RE,  # the mixtures are evaluated inside their training job (rule train_mog)
    resources:
        **SLURM_GPU,
        **GPU_MEMORY,
    conda:
        CONDA_ENV
    script:
        "scripts/evaluate.py"


# Real-data reference rows (a table row with real_data: HDCGAN Table 1's MS-SSIM of real CelebA pairs): the table's
# metric on 2 x pairs training images of the prepared array, resized as generated samples are (ganrepro/metrics/real_data.py).
rule real_data_metrics:
    input:
        manifest=f"{P['prepared']}/{{dataset}}_{{res}}/manifest.json",
    output:
        f"{RESULTS}/real_data/{{dataset}}_{{res}}/ms_ssim_{{pairs}}pairs_{{msres}}px.json",
    log:
        f"{RESULTS}/real_data/logs/{{dataset}}_{{res}}_ms_ssim_{{pairs}}pairs_{{msres}}px.log",
    wildcard_constraints:
        res=r"\d+",
        pairs=r"\d+",
        msres=r"\d+",
    resources:
        **SLURM_CPU,
    conda:
        CONDA_ENV
    script:
        "scripts/real_data_metrics.py"


# Metrics over training: the run's own protocol (as rule evaluate) at each snapshot its train.eval_points kept ->
# curve.csv (ganrepro/metrics/curves.py). One job per run, resumable point by point (cached in the run's curve/ folder).
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
        **GPU_MEMORY,
    conda:
        CONDA_ENV
    script:
        "scripts/curve.py"


rule curves:
    """Every planned run's metrics-over-training curve (runs whose train.eval_points is set)."""
    input:
        curve_targets(),
    localrule: True
