"""Metrics of BRC's mixture-of-Gaussians experiments (brc.txt Sec. 3.1): FID on the raw samples, modes, JS.

The paper names the metrics but not their rules ("we directly compute the data itself as a feature to measure FID";
"Jensen-Shannon divergence (JS)"; "number of Modes (Mode)"). The rules implemented here (also stated in the
table specs' protocol notes):

* **Assignment.** A sample belongs to its nearest mode centre when its Euclidean distance to it is at most
  ``3 * sigma`` (sigma = sqrt(variance)); otherwise it is *off-mode*. A sample within 3 sigma is *high quality*.
* **Modes** = the number of modes that receive at least one high-quality sample.
* **HQ share** = the fraction of samples that are high quality.
* **JS** = the Jensen-Shannon divergence, base 2 (so 0 <= JS <= 1), between the generated histogram over K + 1
  bins (the K modes and one off-mode bin) and the target: uniform 1/K over the modes and 0 off-mode.
  All modes hit equally -> 0; all samples on one mode -> a known value (see ``js_one_mode``); all off-mode -> 1.
* **FID** = the Fréchet distance (clean-fid's implementation) between the Gaussian fitted to the raw generated
  samples and the exact mean and covariance of the target mixture (``ganrepro.data.mog.moments``).
"""
from __future__ import annotations

import math

import numpy as np

from ganrepro.data import mog
from ganrepro.metrics.fid_formulas import frechet_distance


def assign(samples: np.ndarray, spec: dict) -> np.ndarray:
    """Index of each sample's mode (0..K-1), or -1 when it is farther than 3 sigma from every centre."""
    c = mog.centres(spec)
    d = np.linalg.norm(np.asarray(samples, dtype=np.float64)[:, None, :] - c[None], axis=2)
    idx = d.argmin(axis=1)
    near = d[np.arange(len(idx)), idx] <= 3 * math.sqrt(float(spec["variance"]))
    return np.where(near, idx, -1)


def histogram(labels: np.ndarray, k: int) -> np.ndarray:
    """Counts over K + 1 bins: modes 0..K-1, then the off-mode bin."""
    return np.bincount(np.where(labels < 0, k, labels), minlength=k + 1).astype(np.float64)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits: JS = KL(p||m)/2 + KL(q||m)/2, m = (p + q)/2 (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64) / np.sum(p)
    q = np.asarray(q, dtype=np.float64) / np.sum(q)
    m = (p + q) / 2

    def kl(a, b):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def js_one_mode(k: int) -> float:
    """Closed form of the JS of a fully collapsed generator (every sample on one of K modes), in bits."""
    m_hit, m_other = (1 + 1 / k) / 2, (1 / k) / 2
    kl_p = math.log2(1 / m_hit)
    kl_q = (1 / k) * math.log2((1 / k) / m_hit) + (k - 1) / k * math.log2((1 / k) / m_other)
    return 0.5 * (kl_p + kl_q)


def frechet_raw(samples: np.ndarray, spec: dict) -> float:
    """FID with the raw coordinates as features, against the mixture's exact moments."""
    x = np.asarray(samples, dtype=np.float64)
    mu_t, cov_t = mog.moments(spec)
    return frechet_distance(x.mean(axis=0), np.cov(x, rowvar=False), mu_t, cov_t)


def evaluate_samples(samples, spec: dict) -> dict:
    """All MoG metrics of one set of generated samples (N, dim)."""
    x = np.asarray(samples, dtype=np.float64)
    k = int(spec["modes"])
    if not np.all(np.isfinite(x)):
        return {"fid": float("nan"), "js": float("nan"), "modes": 0, "hq_share": 0.0}
    labels = assign(x, spec)
    h = histogram(labels, k)
    target = np.append(np.full(k, 1.0 / k), 0.0)
    return {"fid": frechet_raw(x, spec), "js": js_divergence(h, target), "modes": int(np.count_nonzero(h[:k])),
            "hq_share": float(h[:k].sum() / len(x))}


MOG_PROTOCOL = {"fid": "Fréchet distance of raw coordinates vs exact mixture moments (clean-fid's frechet_distance formula)",
                "mode_rule": "nearest centre within 3 sigma; a mode counts with >= 1 such sample",
                "js": "base 2, K modes + off-mode bin vs uniform over modes"}


def generator_metrics(G, run_cfg: dict, n: int) -> tuple[dict, dict]:
    """Values and protocol of the run's MoG metrics on one of its generators (final or a snapshot): ``n`` samples
    from the run's fixed test latents (seed + 999), on the CPU. ``evaluate_run`` and ``ganrepro.metrics.curves`` call this."""
    import torch

    n = int(n)
    z = torch.randn(n, run_cfg["method_params"]["z_dim"],
                    generator=torch.Generator().manual_seed(int(run_cfg["seed"]) + 999))
    with torch.no_grad():
        x = G(z).numpy()
    m = evaluate_samples(x, run_cfg["mog"])
    values = {f"fid@{n}": m["fid"], "js": m["js"], "modes": m["modes"], "hq_share": m["hq_share"]}
    return values, {"mog": {"generated_samples": n, **MOG_PROTOCOL}}


def evaluate_run(run_dir, cfg_eval: dict, scale: str) -> dict:
    """metrics.json content for one trained MoG run: FID / JS / modes / HQ share of ``fid_samples`` test samples
    (brc.txt: "sample 512 generated images for testing"), wall-clock (the solver table's T) and the peak graph memory
    of the generator's hypergradient (the solver table's M), with protocol and provenance."""
    import csv
    from pathlib import Path

    from ganrepro.runs.snapshots import load_generator
    from ganrepro.util.env import code_version, hardware
    from ganrepro.util.io import read_json

    run_dir = Path(run_dir)
    info, run_cfg = read_json(run_dir / "train.json"), read_json(run_dir / "config.json")
    n = int(cfg_eval["fid_samples"])
    values = {"train_seconds": info["train_seconds"], "train_hours": info["train_seconds"] / 3600,
              "gpu_hours": info.get("gpu_hours", 0.0), "solver_time": info["train_seconds"]}
    mem = []
    if (run_dir / "log.csv").exists():
        with open(run_dir / "log.csv", newline="") as f:
            mem = [float(r["hypergrad_graph_mb"]) for r in csv.DictReader(f) if r.get("hypergrad_graph_mb")]
    if mem:
        values["solver_memory"] = max(mem)
    base = {"run_id": run_cfg["run_id"], "status": info["status"], "code": code_version(), "hardware": hardware("cpu"),
            "train_hardware": info.get("hardware"), "train_seconds": info["train_seconds"], "steps": info["step"],
            "scale": scale}
    if info["status"] != "finished":
        return {**base, "diverged_at": info.get("diverged_at"), "values": values, "comparable": False}
    G, run_cfg = load_generator(run_dir, "cpu")
    v, protocol = generator_metrics(G, run_cfg, n)
    values.update(v)
    protocol["mog"].update({"solver_time": "training wall-clock seconds", "solver_memory":
                            "max MB autograd saved while building the generator's hypergradient"})
    comparable = scale == "full"
    return {**base, "values": values, "protocol": protocol, "comparable": comparable,
            "label": None if comparable else "smoke scale: not comparable"}
