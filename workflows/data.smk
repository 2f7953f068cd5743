# Data stage: source archive (smoke: synthetic fixture in the real format; full: download) -> verify -> prepared.


if SCALE == "smoke":

    rule fixture:
        output:
            f"{P['raw']}/{{dataset}}/{{file}}",
        log:
            f"{P['raw']}/logs/{{dataset}}_{{file}}.fixture.log",
        params:
            dataset="{dataset}",
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
        retries: 2
        resources:
            **SLURM_CPU,
        conda:
            CONDA_ENV
        script:
            "scripts/download.py"


rule prepare:
    input:
        lambda wc: dataset_file(wc.dataset),
    output:
        images=f"{P['prepared']}/{{dataset}}_{{res}}/images.npy",
        manifest=f"{P['prepared']}/{{dataset}}_{{res}}/manifest.json",
    log:
        f"{P['prepared']}/logs/{{dataset}}_{{res}}.log",
    params:
        dataset="{dataset}",
        res="{res}",
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
