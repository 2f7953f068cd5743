"""Benchmark of the metrics stage: MS-SSIM over image pairs at 128 px, and FID feature extraction (stand-in net).

    .venv/bin/python benchmarks/metrics_bench.py  (or python -m ganrepro.tools.metrics_bench) [--pairs 10000] [--images 2000] [--device cpu] [--out FILE]

Prints (and optionally writes) JSON: seconds and pairs/s for MS-SSIM, images/s for feature extraction through the
clean-fid path (resize for the mode + feature net), with the machine's CPU/GPU and thread count. Images are smooth
random fields (uint8), so MS-SSIM does the same work as on generated samples.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import scipy.ndimage as ndi
import torch

from ganrepro.metrics import images as M
from ganrepro.metrics.msssim import ms_ssim_pairs
from ganrepro.util.env import hardware
from ganrepro.util.io import write_json


def images(n: int, size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.random((n, size // 4, size // 4, 3)).astype(np.float32)
    x = ndi.zoom(x, (1, 4, 4, 1), order=1)
    return (x * 255).astype(np.uint8)


def bench_msssim(pairs: int, size: int, device: str) -> dict:
    base = images(256, size)  # reuse a pool of 512 distinct images to keep set-up memory small
    idx = np.random.default_rng(1).integers(0, 256, size=(pairs, 2))
    a, b = base[idx[:, 0]], base[idx[:, 1]]
    ms_ssim_pairs(a[:8], b[:8], device=device)  # warm-up
    t0 = time.perf_counter()
    v = ms_ssim_pairs(a, b, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"pairs": pairs, "resolution": size, "seconds": round(dt, 2), "pairs_per_s": round(pairs / dt, 1),
            "mean": float(v.mean())}


def bench_features(n: int, size: int, mode: str, device: str, batch: int = 250) -> dict:
    x = images(n, size, seed=2)
    model = M.feature_extractor("standin", mode, device)
    M.features_of_uint8([x[:batch]], model, mode, device)  # warm-up
    t0 = time.perf_counter()
    f = M.features_of_uint8((x[i:i + batch] for i in range(0, n, batch)), model, mode, device)
    dt = time.perf_counter() - t0
    return {"images": n, "resolution": size, "mode": mode, "features": "standin", "dim": int(f.shape[1]),
            "seconds": round(dt, 2), "images_per_s": round(n / dt, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=10000)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out")
    a = ap.parse_args()
    res = {"hardware": hardware(a.device), "torch_threads": torch.get_num_threads(),
           "load_average": os.getloadavg(),
           "ms_ssim": bench_msssim(a.pairs, 128, a.device),
           "fid_features": [bench_features(a.images, s, mode, a.device)
                            for s, mode in ((32, "clean"), (32, "legacy_tensorflow"), (128, "clean"))]}
    print(json.dumps(res, indent=2))
    if a.out:
        write_json(a.out, res)


if __name__ == "__main__":
    main()
