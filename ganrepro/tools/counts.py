"""The counts the documentation states, generated: ``python -m ganrepro counts`` (``--write`` to regenerate).

One file, ``docs/counts.json``, holds every count the README and ``docs/`` state about the pipeline (runs, jobs per
rule, downloads, the bill's totals); the command recomputes them from the config, the table specs, the registry and
Snakemake's dry runs, writes the file and rewrites the numbers inside the sentences of ``SENTENCES`` wherever they
appear in ``README.md`` and ``docs/*.md``. Tests compare what they measure (a dry run's jobs, the smoke pipeline's
jobs, the bill) with this file, so a new method or table changes this one file (regenerated), not the tests.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ganrepro import ROOT
from ganrepro.config import config as C

COUNTS_FILE = ROOT / "docs" / "counts.json"
DOC_FILES = ("README.md", "docs/*.md")

# sentences of the documentation with the counts inside them: {name} is a count of ``docs/counts.json``
SENTENCES = (
    "It runs {smoke_jobs} jobs ({smoke_runs} tiny training runs, of which BRC's {smoke_mog_runs} mixture runs train "
    "and evaluate in one job each; {smoke_curves} curves",
    "lists {full_runs} training runs ({full_train_jobs} GPU train jobs, {full_mog_runs} CPU `train_mog` jobs",
    "and {full_curve_jobs} curve jobs with GPU requests",
    "holds {full_downloads} downloads, {full_verifies} verifies and {full_prepares} prepares",
    "total: {full_runs} runs, {cost_v100_gpu_hours_low}-{cost_v100_gpu_hours_high} GPU-hours (V100) + "
    "{cost_cpu_hours} CPU-hours",
    "total: {full_runs} runs, {cost_h200_gpu_hours_low}-{cost_h200_gpu_hours_high} GPU-hours (H200) + "
    "{cost_cpu_hours} CPU-hours",
    "floor: {cost_v100_floor_hours} GPU-hours at the V100's stated peak",
    "floor: {cost_h200_floor_hours} GPU-hours at the H200's stated peak",
)


def job_stats(text: str) -> dict[str, int]:
    """Snakemake's (last) "Job stats" table of a (dry) run's output: rule -> count, and ``total``."""
    block = text.split("Job stats:")[-1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", block, re.M)}


def dry_run(*args: str, cwd: Path | None = None) -> dict[str, int]:
    """Job stats of ``snakemake -n`` with ``args`` on this checkout (a scratch working directory: no results count)."""
    import tempfile

    exe = Path(sys.executable).with_name("snakemake")
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([str(exe), "-s", str(ROOT / "Snakefile"), "-d", d, "--configfile",
                            str(C.CONFIG_PATH), "-n", *args], capture_output=True, text=True, cwd=cwd or ROOT,
                           timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"snakemake -n {' '.join(args)} failed:\n{(p.stdout + p.stderr)[-3000:]}")
    return job_stats(p.stdout + p.stderr)


def config_counts() -> dict:
    """The counts that follow from the config, the specs and the registry alone (no Snakemake)."""
    full = C.load_config(overrides={"scale": "full"})
    smoke = C.load_config(overrides={"scale": "smoke"})
    planned = C.planned_runs(full)
    runs = sum(len(C.run_seeds(full, e, m, v)) for e, m, v in planned)
    mog = sum(len(C.run_seeds(full, e, m, v)) for e, m, v in planned if C.is_mog(full, e))
    smoke_planned = C.planned_runs(smoke)
    smoke_runs = sum(len(C.run_seeds(smoke, e, m, v)) for e, m, v in smoke_planned)
    smoke_mog = sum(len(C.run_seeds(smoke, e, m, v)) for e, m, v in smoke_planned if C.is_mog(smoke, e))
    return {"full_settings": len(planned), "full_runs": runs, "full_mog_runs": mog, "full_train_jobs": runs - mog,
            "smoke_runs": smoke_runs, "smoke_mog_runs": smoke_mog, "smoke_image_runs": smoke_runs - smoke_mog}


def cost_counts() -> dict:
    from ganrepro.tools import cost

    full = C.load_config(overrides={"scale": "full"})
    out = {}
    for gpu in ("V100", "H200"):
        rows, _ = cost.estimate(full, "all", gpu=gpu)
        gpu_rows = [r for r in rows if r.device == "gpu"]
        out[f"cost_{gpu.lower()}_gpu_hours_low"] = round(sum(r.hours_low or 0 for r in gpu_rows))
        out[f"cost_{gpu.lower()}_gpu_hours_high"] = round(sum(r.hours_high or 0 for r in gpu_rows))
        out[f"cost_{gpu.lower()}_floor_hours"] = round(sum(r.floor_hours or 0 for r in gpu_rows), 1)
        out["cost_cpu_hours"] = round(sum(r.hours or 0 for r in rows if r.device == "cpu"), 1)
    return out


def dag_counts() -> dict:
    """Jobs per rule of the smoke DAG (local profile) and of the full DAG (slurm profile), from dry runs."""
    smoke = dry_run("--profile", str(ROOT / "local"), "all")
    full = dry_run("--profile", str(ROOT / "slurm"), "all", "--config", "scale=full")
    return {"smoke_jobs": smoke["total"], "smoke_curves": smoke.get("curve", 0),
            "smoke_evaluate_jobs": smoke.get("evaluate", 0), "full_jobs": full["total"],
            "full_curve_jobs": full.get("curve", 0), "full_downloads": full.get("download", 0),
            "full_verifies": full.get("verify", 0), "full_prepares": full.get("prepare", 0)}


def compute() -> dict:
    return dict(sorted({**config_counts(), **cost_counts(), **dag_counts()}.items()))


def load() -> dict:
    return json.loads(COUNTS_FILE.read_text())


def _pattern(sentence: str) -> tuple[re.Pattern, list[str]]:
    """The sentence as a regex: its words with any whitespace between them, each {count} a captured number."""
    names, parts = [], []
    for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", sentence):
        parts.append(r"\s+".join(re.escape(w) for w in literal.split(" ")))
        if name:
            names.append(name)
            parts.append(r"([0-9][0-9.,]*)")
    return re.compile("".join(parts)), names


def doc_paths() -> list[Path]:
    return sorted({p for g in DOC_FILES for p in ROOT.glob(g)})


def rewrite(text: str, counts: dict) -> str:
    """``text`` with the numbers inside every ``SENTENCES`` occurrence set to ``counts``."""
    for sentence in SENTENCES:
        pattern, names = _pattern(sentence)

        def fill(m, names=names):
            out, last = [], m.start()
            for i, name in enumerate(names, 1):
                out += [m.string[last:m.start(i)], str(counts[name])]
                last = m.end(i)
            return "".join(out + [m.string[last:m.end()]])

        text = pattern.sub(fill, text)
    return text


def stale_docs(counts: dict) -> list[str]:
    """The documentation files whose sentences disagree with ``counts``, and sentences found nowhere."""
    texts = {p: p.read_text() for p in doc_paths()}
    stale = [str(p.relative_to(ROOT)) for p, t in texts.items() if rewrite(t, counts) != t]
    for sentence in SENTENCES:
        pattern, _ = _pattern(sentence)
        if not any(pattern.search(t) for t in texts.values()):
            stale.append(f"no document states: {sentence}")
    return stale


def write(counts: dict) -> list[Path]:
    from ganrepro.util.io import write_text

    write_text(COUNTS_FILE, json.dumps(counts, indent=1, sort_keys=True) + "\n")
    changed = [COUNTS_FILE]
    for p in doc_paths():
        t = p.read_text()
        n = rewrite(t, counts)
        if n != t:
            write_text(p, n)
            changed.append(p)
    return changed


def main(write_files: bool) -> int:
    counts = compute()
    if write_files:
        for p in write(counts):
            print(f"wrote {p.relative_to(ROOT)}")
        return 0
    old = load() if COUNTS_FILE.exists() else {}
    diff = {k: (old.get(k), v) for k, v in counts.items() if old.get(k) != v}
    for k, (a, b) in diff.items():
        print(f"{k}: {a} -> {b}")
    stale = stale_docs(counts)
    for s in stale:
        print(f"stale: {s}")
    if diff or stale:
        print("run `python -m ganrepro counts --write`", file=sys.stderr)
        return 1
    print(f"{COUNTS_FILE.relative_to(ROOT)} and the documentation are current ({len(counts)} counts)")
    return 0
