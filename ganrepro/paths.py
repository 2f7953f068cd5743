"""Every on-disk location of the suite, in one place (the bottom layer: it imports nothing of the package).

Locations that depend on the configuration take the config dict (its ``paths`` and ``scale``); the repository's own
folders are relative to ``ganrepro.ROOT``.

| what | where |
|---|---|
| scale roots (``roots``) | ``<paths.data>/<scale>/{raw,prepared}``, ``<paths.results>/<scale>`` (or ``paths.results_root``), ``<paths.report>`` at full scale else ``<paths.report>/<scale>`` |
| a prepared dataset | ``<prepared>/<dataset>_<res>/`` (``images.npy``, ``manifest.json``) |
| a run | ``<results>/runs/<experiment>/<method>/<variant>/seed<N>/`` |
| reference statistics | ``<results>/fid_stats/<dataset>_<res>_<features>_<mode>_<count>.npz`` |
| Inception weights | ``<paths.data>/weights/inception-2015-12-05.pt`` (every scale) |
| committed reference runs | ``report/reference/<paper>/`` |
| benchmark results | ``report/benchmarks.{md,json}`` (the target), ``benchmarks/results/`` (committed, GPU checks) |
| the registry's variant cache | ``.cache/registry_variants.json`` |
"""
from __future__ import annotations

from pathlib import Path

from ganrepro import ROOT

INCEPTION_FILE = "inception-2015-12-05.pt"
VARIANTS_CACHE = ROOT / ".cache" / "registry_variants.json"
REFERENCE_ROOT = ROOT / "report" / "reference"
BENCHMARK_RESULTS = ROOT / "benchmarks" / "results"


def roots(cfg: dict) -> dict:
    """``raw``, ``prepared``, ``results`` and ``report`` folders of the config's scale. The full scale's report is
    ``report/`` itself; any other scale's is ``report/<scale>/``, so that a smoke run never overwrites a full-scale
    table; ``paths.results_root`` (e.g. a committed reference) replaces the results folder."""
    p = {"data": "data", "results": "results", "report": "report"}
    p.update(cfg.get("paths", {}))
    scale = cfg["scale"]
    report = p["report"] if scale == "full" else f"{p['report']}/{scale}"
    results = p.get("results_root") or f"{p['results']}/{scale}"
    return {"raw": f"{p['data']}/{scale}/raw", "prepared": f"{p['data']}/{scale}/prepared",
            "results": results, "report": report}


def prepared_dir(cfg: dict, dataset: str, res: int) -> str:
    return f"{roots(cfg)['prepared']}/{dataset}_{res}"


def run_dir(cfg: dict, experiment: str, method: str, variant: str, seed: int) -> str:
    return f"{roots(cfg)['results']}/runs/{experiment}/{method}/{variant}/seed{seed}"


def fid_stats_file(cfg: dict, dataset: str, res: int, features: str, mode: str, count) -> str:
    return f"{roots(cfg)['results']}/fid_stats/{dataset}_{res}_{features}_{mode}_{count}.npz"


def weights_file(cfg: dict | None = None) -> Path:
    """The Inception TorchScript file, shared by every scale."""
    data = ((cfg or {}).get("paths") or {}).get("data", "data")
    return Path(data) / "weights" / INCEPTION_FILE


def reference_dir(paper: str) -> Path:
    return REFERENCE_ROOT / paper


def benchmark_json(cfg: dict | None = None) -> Path:
    """The benchmark target's JSON (``report/benchmarks.json``)."""
    return Path(((cfg or {}).get("paths") or {}).get("report", "report")) / "benchmarks.json"
