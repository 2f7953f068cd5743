"""Metrics glue: FID through clean-fid (its resizers, feature extractor and Fréchet distance), not re-implemented.

Feature networks: ``inception`` is clean-fid's own (TorchScript Inception-v3, downloaded once); ``standin`` is a
small deterministic random conv net used by tests and the smoke pipeline through the same code path (clean-fid's
custom feature extractor hook), and every number computed with it is labelled not comparable.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

CLEANFID_INCEPTION_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"


class StandInFeatures(nn.Module):
    """Deterministic stand-in for Inception: fixed random conv layers + global pooling -> 32-d features.

    Takes what clean-fid's feature extractors take: float images (B, 3, H, W) with values in [0, 255].
    """

    dim = 32

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.convs = nn.ModuleList([nn.Conv2d(3, 16, 5, 4, 2), nn.Conv2d(16, 32, 3, 2, 1), nn.Conv2d(32, 32, 3, 2, 1)])
        for c in self.convs:
            with torch.no_grad():
                c.weight.copy_(torch.randn(c.weight.shape, generator=g) / (c.weight[0].numel() ** 0.5))
                c.bias.zero_()
        self.requires_grad_(False)

    def forward(self, x):
        x = x / 127.5 - 1.0
        for c in self.convs:
            x = torch.tanh(c(x))
        return x.mean(dim=(2, 3))


def feature_extractor(kind: str, mode: str, device: str):
    if kind == "standin":
        return StandInFeatures().to(device).eval()
    from cleanfid.features import build_feature_extractor

    try:
        return build_feature_extractor(mode, torch.device(device), use_dataparallel=False)
    except Exception as e:  # offline: urllib's URLError; a corrupt cache: a load error
        raise RuntimeError(
            f"could not load clean-fid's Inception weights ({type(e).__name__}: {e}). Without network, download "
            f"{CLEANFID_INCEPTION_URL} elsewhere and place it at /tmp/inception-2015-12-05.pt (clean-fid's cache)"
        ) from e


def features_of_uint8(batches, model, mode: str, device: str) -> np.ndarray:
    """Features of uint8 image batches (B, H, W, 3), resized the way clean-fid resizes for ``mode``."""
    from cleanfid.fid import get_batch_features
    from cleanfid.resize import build_resizer

    fn_resize = build_resizer(mode)
    feats = []
    for batch in batches:
        if mode == "legacy_tensorflow":  # the TF-compatible Inception resizes inside the network
            x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
        else:
            x = torch.stack([torch.from_numpy(np.asarray(fn_resize(img)).transpose(2, 0, 1).copy())
                             for img in batch]).float()
        feats.append(get_batch_features(x, model, torch.device(device)))
    return np.concatenate(feats)


def stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    from cleanfid.fid import frechet_distance as fd

    return float(fd(mu1, sigma1, mu2, sigma2))


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Generator output in [-1, 1], (B, 3, H, W) -> uint8 (B, H, W, 3)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def reference_stats(images: np.ndarray, out_path, kind: str, mode: str, device: str, count: int | None,
                    batch: int = 250) -> dict:
    """mu and sigma of the first ``count`` (None: all) real images -> ``out_path`` (.npz, written atomically)."""
    from ganrepro.io import atomic_path

    n = len(images) if count is None else min(count, len(images))
    model = feature_extractor(kind, mode, device)
    feats = features_of_uint8((images[i:i + batch] for i in range(0, n, batch)), model, mode, device)
    mu, sigma = stats(feats)
    info = {"count": n, "features": kind, "mode": mode, "dim": int(feats.shape[1])}
    with atomic_path(out_path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, mu=mu, sigma=sigma, count=n, features=kind, mode=mode)
    return info


def generated_features(G, z_dim: int, n: int, model, mode: str, device: str, seed: int, batch: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)

    def batches():
        left = n
        while left > 0:
            b = min(batch, left)
            z = torch.randn(b, z_dim, generator=gen).to(device)
            with torch.no_grad():
                yield to_uint8(G(z))
            left -= b

    return features_of_uint8(batches(), model, mode, device)


def evaluate_run(run_dir, ref_stats: str, counts: list[int], cfg_eval: dict, scale: str) -> dict:
    """metrics.json content for one trained run: FID at each count in ``counts``, wall-clock, protocol, provenance."""
    from importlib.metadata import version

    from ganrepro import registry
    from ganrepro.env import code_version, hardware, pick_device
    from ganrepro.io import read_json

    run_dir = Path(run_dir)
    train_info = read_json(run_dir / "train.json")
    run_cfg = read_json(run_dir / "config.json")
    device = pick_device(run_cfg.get("device", "auto"))
    base = {"run_id": run_cfg["run_id"], "status": train_info["status"], "code": code_version(),
            "hardware": hardware(device), "train_hardware": train_info.get("hardware"),
            "train_seconds": train_info["train_seconds"], "steps": train_info["step"], "scale": scale}
    values = {"train_seconds": train_info["train_seconds"], "train_hours": train_info["train_seconds"] / 3600,
              "gpu_hours": train_info.get("gpu_hours", 0.0)}
    if train_info["status"] != "finished":
        return {**base, "diverged_at": train_info.get("diverged_at"), "values": values, "comparable": False}
    kind, mode = cfg_eval["features"], cfg_eval["fid_mode"]
    t0 = time.perf_counter()
    params = run_cfg["method_params"]
    G, _ = registry.get(run_cfg["method"]).build(params)
    G.load_state_dict(torch.load(run_dir / "final.pt", map_location="cpu", weights_only=False)["G"])
    G = G.to(device).eval()
    model = feature_extractor(kind, mode, device)
    ref = np.load(ref_stats)
    feats = generated_features(G, params["z_dim"], max(counts), model, mode, device, seed=run_cfg["seed"] + 999,
                               batch=cfg_eval.get("sample_batch", 250))
    for n in counts:
        mu, sigma = stats(feats[:n])
        values[f"fid@{n}"] = frechet_distance(mu, sigma, ref["mu"], ref["sigma"])
    protocol = {"fid": {"implementation": f"clean-fid {version('clean-fid')}",
                        "mode": mode, "features": kind, "generated_samples": counts,
                        "reference": {"stats_file": str(ref_stats), "count": int(ref["count"]),
                                      "split": cfg_eval.get("reference_split", "train")}}}
    comparable = scale == "full" and kind == "inception"
    return {**base, "values": values, "protocol": protocol, "comparable": comparable,
            "eval_seconds": round(time.perf_counter() - t0, 3),
            "label": None if comparable else "smoke features: not comparable"}
