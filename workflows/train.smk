# Training stage: one job per (experiment, method, variant, seed), resumable from its newest checkpoint.


def train_inputs(wc):
    dataset, res = experiment_data(wc.experiment)
    return f"{P['prepared']}/{dataset}_{res}/manifest.json"


rule train:
    input:
        train_inputs,
    output:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.json",
    log:
        f"{RESULTS}/runs/{{experiment}}/{{method}}/{{variant}}/seed{{seed}}/train.log",
    wildcard_constraints:
        seed=r"\d+",
    script:
        "scripts/train.py"
