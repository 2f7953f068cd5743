"""The full-scale SLURM dry run holds one download, verify and prepare job per (dataset, resolution) the planned runs
use, and no more."""
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import docs_text
from ganrepro.config import config as C

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def dry_run_jobs(tmp_path) -> dict:
    """rule -> list of wildcards dicts, from `snakemake --profile slurm -n all --config scale=full`."""
    p = subprocess.run([SNAKEMAKE, "--profile", str(ROOT / "slurm"), "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                        "--configfile", str(ROOT / "config" / "config.yaml"), "-n", "all", "--config", "scale=full"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    jobs = {}
    for m in re.finditer(r"^(?:local)?rule (\w+):\n(.*?)(?=\n\n|\Z)", p.stdout + p.stderr, re.S | re.M):
        w = re.search(r"^\s+wildcards: (.*)$", m.group(2), re.M)
        wc = dict(kv.split("=", 1) for kv in w.group(1).split(", ")) if w else {}
        jobs.setdefault(m.group(1), []).append(wc)
    return jobs


def test_data_jobs_match_planned_runs(tmp_path, base_cfg):
    cfg = C.load_config(overrides={"scale": "full"})
    pairs = {(cfg["experiments"][e]["dataset"], str(C.resolution(cfg, e))) for e, _, _ in C.planned_runs(cfg)
             if not C.is_mog(cfg, e)}  # mixtures: sampled, no files
    assert pairs  # the registered methods train something at full scale
    jobs = dry_run_jobs(tmp_path)
    prepare = [(j["dataset"], j["res"]) for j in jobs["prepare"]]
    assert sorted(prepare) == sorted(pairs)  # one per pair, no duplicates, nothing else
    datasets = {d for d, _ in pairs}
    for rule in ("download", "verify"):
        got = [j["dataset"] for j in jobs[rule]]
        assert sorted(got) == sorted(datasets), rule
    downloaded = {(j["dataset"], j["file"]) for j in jobs["download"]}
    assert downloaded == {(d, cfg["datasets"][d]["file"]) for d in datasets}
    # the README states these counts and pairs: keep its sentence true
    readme = docs_text()
    order = sorted(pairs, key=lambda p: (p[0], int(p[1])))
    names = []
    for d in dict.fromkeys(d for d, _ in order):
        res = [r for dd, r in order if dd == d]
        names.append(f"{d} {' and '.join(res)}" if len(res) == 2 else f"{d} {', '.join(res)}")
    sentence = (f"holds {len(jobs['download'])} downloads, {len(jobs['verify'])} verifies and {len(prepare)} prepares: "
                + ", ".join(names))
    assert sentence in readme, sentence
