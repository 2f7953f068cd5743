"""Real-data reference rows of the table specs: a table metric computed on an experiment's *training images* instead
of a generator's samples (a ``real_data`` row, validated by ``ganrepro.spec.tables``; judged by ``ganrepro.verdicts.cells``).

HDCGAN Table 1 (hdcgan.txt Sec. 6) reports the MS-SSIM "averaged from 10,000 pairs of generated images" at
"resized image size 128 x 128 on CelebA"; the paper prints no value for real images. The suite adds one as a
reference row: the MS-SSIM of pairs of real CelebA training images under the same protocol, the literature's usual
anchor for this metric (generated pairs far above the real pairs' value mean too little diversity).

The protocol is the generated pairs' (``ganrepro.metrics.images.image_metrics``): ``2 * pairs`` distinct images (a
deterministic draw, seed 0, from the whole prepared array of the experiment's dataset at the experiment's
resolution: what its runs train on), each resized to ``ms_ssim_resolution`` with ``ganrepro.metrics.msssim.resize_uint8``
(antialiased bicubic; none when null), then ``mean_ms_ssim``: a random split into ``pairs`` disjoint pairs, MS-SSIM
per pair, the mean. Settings: the table spec's ``protocol`` keys over the experiment's eval settings, under the
scale's (``config._eval_layers``), so the smoke scale draws its 32 pairs from the 64 fixture images at 16 px.
At full scale the draw is 20,000 of CelebA's 202,599 images, read from the 512 px memmap in sorted chunks (random
reads from disk: the array is ~148 GiB) and resized to 128 px chunk by chunk, so memory holds ~1 GB of 128 px
images, never the 512 px ones.

Rule ``real_data_metrics`` (``workflows/evaluate.smk``) writes one JSON per (dataset, resolution, pairs, MS-SSIM
resolution) under ``<results>/real_data/``, shaped like a run's metrics.json (``status``, ``values``,
``protocol``, ``comparable``), atomically.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ganrepro.config import config as C
from ganrepro.spec.tables import Cell, TableSpec

SEED = 0  # the draw of real images (and, in mean_ms_ssim, their pairing)


def protocol(cfg: dict, spec: TableSpec, cell: Cell) -> dict:
    """Where a real-data cell's images come from and how they are measured: dataset, resolution (the experiment's at
    this scale), pairs and MS-SSIM resolution (the table's protocol, the scale's eval last)."""
    exp = cell.real["experiment"]
    table = {k: v for k, v in spec.protocol.items()
             if k in ("ms_ssim_pairs", "ms_ssim_resolution") and isinstance(v, int) and not isinstance(v, bool)}
    ev = C._eval_layers(cfg, exp, table)
    res = C.resolution(cfg, exp)
    return {"experiment": exp, "dataset": cfg["experiments"][exp]["dataset"], "resolution": res,
            "pairs": int(ev["ms_ssim_pairs"]), "ms_ssim_resolution": int(ev.get("ms_ssim_resolution") or res)}


def metrics_path(cfg: dict, spec: TableSpec, cell: Cell) -> str:
    """The JSON rule ``real_data_metrics`` writes for this cell."""
    p = protocol(cfg, spec, cell)
    return (f"{C.paths(cfg)['results']}/real_data/{p['dataset']}_{p['resolution']}/"
            f"ms_ssim_{p['pairs']}pairs_{p['ms_ssim_resolution']}px.json")


def targets(cfg: dict, spec: TableSpec) -> list[str]:
    """Every real-data JSON the table's ``real_data`` rows read."""
    return sorted({metrics_path(cfg, spec, c) for c in spec.cells() if c.real is not None})


def real_ms_ssim(images: np.ndarray, pairs: int, ms_resolution: int, seed: int = SEED, chunk: int = 256,
                 device: str = "cpu") -> dict:
    """Mean MS-SSIM of ``pairs`` disjoint pairs of real images drawn from ``images`` ((N, H, W, 3) uint8, e.g. the
    prepared memmap), resized to ``ms_resolution`` as generated samples are. Returns the values and the draw."""
    from ganrepro.metrics.msssim import mean_ms_ssim, resize_uint8

    n = len(images)
    if n < 2 * pairs:
        raise ValueError(f"{pairs} pairs need {2 * pairs} distinct images; the prepared array holds {n}")
    idx = np.sort(np.random.default_rng(seed).choice(n, 2 * pairs, replace=False))
    t0 = time.perf_counter()
    parts = [resize_uint8(np.ascontiguousarray(images[idx[i:i + chunk]]), ms_resolution)
             for i in range(0, len(idx), chunk)]
    read_s = time.perf_counter() - t0
    r = mean_ms_ssim(np.concatenate(parts), pairs, None, seed=seed, device=device)
    return {**r, "images": int(2 * pairs), "of": int(n), "read_resize_seconds": round(read_s, 3),
            "ms_ssim_seconds": round(time.perf_counter() - t0 - read_s, 3)}


def evaluate(prepared_dir, pairs: int, ms_resolution: int, scale: str, dataset: str, device: str = "cpu") -> dict:
    """The metrics.json-shaped record of one real-data reference (rule ``real_data_metrics``)."""
    from ganrepro.data.loader import load_prepared
    from ganrepro.metrics.images import MS_SSIM_PROTOCOL
    from ganrepro.util.env import code_version, hardware
    from ganrepro.util.io import read_json

    folder = Path(prepared_dir)
    images = load_prepared(folder, verify=False)  # prepare verified the digest; rereading ~148 GiB would cost more
    manifest = read_json(folder / "manifest.json")
    r = real_ms_ssim(images, pairs, ms_resolution, device=device)
    comparable = scale == "full"
    return {"status": "finished", "kind": "real_data", "scale": scale, "code": code_version(),
            "hardware": hardware(device), "values": {"ms_ssim": r["mean"], "ms_ssim_std": r["std"]},
            "protocol": {"ms_ssim": {**MS_SSIM_PROTOCOL, "pairs": r["pairs"], "resolution": r["resolution"]},
                         "images": {"dataset": dataset, "prepared": str(folder), "count": r["of"],
                                    "drawn": r["images"], "resolution": int(images.shape[1]),
                                    "preprocessing": manifest.get("preprocessing"),
                                    "selection": f"numpy default_rng({SEED}).choice(count, 2 * pairs, "
                                                 f"replace=False), paired at random (seed {SEED})"}},
            "timings_seconds": {"read+resize": r["read_resize_seconds"], "ms_ssim": r["ms_ssim_seconds"]},
            "comparable": comparable,
            "label": None if comparable else "smoke scale: synthetic fixture images, not comparable"}


def describe(m: dict) -> str:
    """One line for the table's note: what the reference measured."""
    im, ms = m["protocol"]["images"], m["protocol"]["ms_ssim"]
    size = (f"resized to {ms['resolution']} px" if ms["resolution"] != im["resolution"]
            else f"at {ms['resolution']} px")
    return (f"real training images: {ms['pairs']} disjoint pairs of {im['drawn']} drawn from {im['count']} "
            f"({im['dataset']} {im['resolution']} px) {size}; std over pairs "
            f"{m['values'].get('ms_ssim_std', float('nan')):.3g}")
