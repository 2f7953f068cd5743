# Data stage, one chain per dataset: source archive (smoke: synthetic fixture in the real format; full: download,
# checksum-verified) -> verify (reads the whole archive, counts the images) -> prepare (uint8 memmap + manifest).
# Only the (dataset, resolution) pairs of the planned runs are requested (train/evaluate inputs), so the DAG holds a
# download, verify and prepare job for those and no more.

from ganrepro.data.prepare import preprocessing_settings

IMAGE_DATASETS = sorted(n for n, d in config["datasets"].items() if d["format"] != "mog")


wildcard_constraints:
    dataset="|".join(IMAGE_DATASETS),


if SCALE == "smoke":

    rule fixture:
        output:
            f"{P['raw']}/{{dataset}}/{{file}}",
        log:
            f"{P['raw']}/logs/{{dataset}}_{{file}}.fixture.log",
        params:
            dataset="{dataset}",
        wildcard_constraints:
            file=r"[^/]+",
        conda:
            CONDA_ENV
        script:
            "scripts/fixture.py"

else:

    rule download:
        output:
            f"{P['raw']}/{{dataset}}/{{file}}",
        log:
            f"{P['raw']}/logs/{{dataset}}_{{file}}.download.log",
        params:
            dataset="{dataset}",
        wildcard_constraints:
            file=r"[^/]+",
        retries: 2
        resources:
            **SLURM_CPU,
        conda:
            CONDA_ENV
        script:
            "scripts/download.py"


rule verify:
    input:
        lambda wc: dataset_file(wc.dataset),
    output:
        f"{P['raw']}/verified/{{dataset}}.json",
    log:
        f"{P['raw']}/logs/{{dataset}}.verify.log",
    params:
        dataset="{dataset}",
    resources:
        **SLURM_CPU,
    conda:
        CONDA_ENV
    script:
        "scripts/verify.py"


rule prepare:
    input:
        archive=lambda wc: dataset_file(wc.dataset),
        verified=f"{P['raw']}/verified/{{dataset}}.json",
    output:
        images=f"{P['prepared']}/{{dataset}}_{{res}}/images.npy",
        manifest=f"{P['prepared']}/{{dataset}}_{{res}}/manifest.json",
    log:
        f"{P['prepared']}/logs/{{dataset}}_{{res}}.log",
    params:
        dataset="{dataset}",
        res="{res}",
        settings=lambda wc: preprocessing_settings(config["datasets"][wc.dataset]),
    wildcard_constraints:
        res=r"\d+",
    resources:
        **SLURM_CPU,
    conda:
        CONDA_ENV
    script:
        "scripts/prepare.py"


rule fid_stats:
    input:
        manifest=lambda wc: f"{P['prepared']}/{wc.dataset}_{wc.res}/manifest.json",
        weights=lambda wc: _inception.inputs(config, wc.features),
    output:
        f"{RESULTS}/fid_stats/{{dataset}}_{{res}}_{{features}}_{{mode}}_{{nreal}}.npz",
    log:
        f"{RESULTS}/fid_stats/logs/{{dataset}}_{{res}}_{{features}}_{{mode}}_{{nreal}}.log",
    wildcard_constraints:
        res=r"\d+",
        nreal=r"all|\d+",
        features="inception|standin",
        mode="clean|legacy_tensorflow|legacy_pytorch",
    resources:
        **SLURM_GPU,
    conda:
        CONDA_ENV
    script:
        "scripts/fid_stats.py"
