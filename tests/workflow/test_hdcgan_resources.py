"""HDCGAN's 512 px runs ask SLURM for a GPU with enough memory (hdcgan.txt 4.1: "24GB GPU memory setting"): the
per-experiment config value ``gpu_mem_gb``, validated, carried by that experiment's train / evaluate / curve jobs
(and by no other job), and passed to sbatch as ``--constraint`` where the cluster's feature expression is set."""
import copy
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from ganrepro.config import config as C

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def _dry_run_jobs(tmp_path, *extra) -> list[dict]:
    """(rule, wildcards, resources) of every job in a full-scale dry run of hdcgan_table1 (its HDCGAN runs at 512 px
    and the WGAN-GP row at 128 px), without a profile: the resources are the rules' own."""
    p = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile",
                        str(ROOT / "config" / "config.yaml"), "--cores", "2", "-n", "hdcgan_table1",
                        "--config", "scale=full", *extra], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if k != "GANREPRO_SLURM_GPU_MEM_CONSTRAINT"})
    assert p.returncode == 0, p.stderr[-3000:]
    jobs = []
    for m in re.finditer(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", p.stdout + p.stderr, re.M):
        body = m.group(2)
        wc = re.search(r"wildcards: (.*)", body)
        res = re.search(r"resources: (.*)", body)
        jobs.append({"rule": m.group(1),
                     "wildcards": dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {},
                     "resources": dict(kv.split("=", 1) for kv in res.group(1).split(", ")) if res else {}})
    return jobs


def test_hdcgan_512_jobs_carry_the_gpu_memory_request_and_others_do_not(tmp_path):
    jobs = _dry_run_jobs(tmp_path)
    hd = [j for j in jobs if j["wildcards"].get("experiment") == "hdcgan_celeba512"]
    others = [j for j in jobs if j not in hd]
    # Table 1's three HDCGAN rows x 3 seeds: train, evaluate and (Fig. 14) curve each
    assert sorted((j["rule"], j["wildcards"]["variant"]) for j in hd if j["rule"] == "train") == \
        [("train", v) for v in ("cap8", "dcgan_norms", "default") for _ in range(3)]
    assert {j["rule"] for j in hd} == {"train", "evaluate", "curve"} and len(hd) == 27
    assert all(j["resources"].get("gpu_mem_gb") == "24" for j in hd), hd
    assert any(j["rule"] == "train" and j["wildcards"]["experiment"] == "glgan_celeba128" for j in others)
    assert not [j for j in others if "gpu_mem_gb" in j["resources"]]
    assert not [j for j in jobs if "constraint" in j["resources"]]  # no feature expression configured


def test_constraint_from_the_clusters_feature_expression(tmp_path):
    jobs = _dry_run_jobs(tmp_path, "slurm={gpu_mem_constraint: 'gpu{gb}g'}")
    with_c = {(j["rule"], j["wildcards"].get("experiment")) for j in jobs if "constraint" in j["resources"]}
    assert with_c == {(r, "hdcgan_celeba512") for r in ("train", "evaluate", "curve")}
    assert {j["resources"]["constraint"] for j in jobs if "constraint" in j["resources"]} == {"gpu24g"}


def test_gpu_memory_resources_and_warning(cfg, monkeypatch):
    monkeypatch.delenv("GANREPRO_SLURM_GPU_MEM_CONSTRAINT", raising=False)
    assert C.gpu_memory_resources(cfg, "hdcgan_celeba512") == {}  # smoke scale: 16 px runs ask for nothing
    full = copy.deepcopy(cfg)
    full["scale"] = "full"
    assert C.gpu_memory_resources(full, "hdcgan_celeba512") == {"gpu_mem_gb": 24}
    assert C.gpu_memory_resources(full, "glgan_celeba128") == {}
    warn = [w for w in C.slurm_warnings(full) if "gpu_mem_gb" in w]
    assert len(warn) == 1 and warn[0].startswith("hdcgan_celeba512 runs need a GPU with >= 24 GB")
    monkeypatch.setenv("GANREPRO_SLURM_GPU_MEM_CONSTRAINT", "a100|h100")
    assert C.gpu_memory_resources(full, "hdcgan_celeba512") == {"gpu_mem_gb": 24, "constraint": "a100|h100"}
    assert not [w for w in C.slurm_warnings(full) if "gpu_mem_gb" in w]


@pytest.mark.parametrize("key,value,needle", [
    ("experiments.hdcgan_celeba512.gpu_mem_gb", 0, "config key 'experiments.hdcgan_celeba512.gpu_mem_gb'"),
    ("experiments.hdcgan_celeba512.gpu_mem_gb", "24GB", "config key 'experiments.hdcgan_celeba512.gpu_mem_gb'"),
    ("slurm.gpu_mem_constraint", 24, "config key 'slurm.gpu_mem_constraint'"),
])
def test_bad_gpu_memory_config_names_the_key(cfg, key, value, needle):
    C._set_dotted(cfg, key, value)
    with pytest.raises(C.ConfigError, match=re.escape(needle)):
        C.validate_config(cfg)


def test_sbatch_gets_the_constraint():
    """The pinned SLURM executor plugin turns the ``constraint`` resource into ``sbatch -C``."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command

    class Resources(dict):
        __getattr__ = dict.__getitem__

    job = SimpleNamespace(threads=1, resources=Resources(gpu=1, cpus_per_gpu=8, mem_mb=64000, runtime=4320,
                                                         gpu_mem_gb=24, constraint="gpu24g"))
    params = {"run_uuid": "x", "slurm_logfile": "x.log", "comment_str": "train", "account": "", "partition": "",
              "workdir": "."}
    call = get_submit_command(job, params)
    assert " -C gpu24g" in call or " -C 'gpu24g'" in call
    assert "gpu_mem_gb" not in call  # the plain resource is for the dry run and the user, not sbatch
