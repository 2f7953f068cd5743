"""Nearest training images of generated samples (HDCGAN Fig. 4: "We retrieve nearest neighbors to the generated
images in Figure 4 to illustrate this effect", i.e. that the model "captures the underlying image features ... and
not only memorizes training examples", hdcgan.txt 5.1).

Two spaces, brute force over the whole prepared training array (a uint8 memmap, read in chunks, so a dataset larger
than memory streams from disk):

* **pixel**: squared L2 distance between images area-downsampled to ``pixel_size`` x ``pixel_size`` (the paper does
  not say which space it uses; pixel L2 on downsampled images is the usual memorisation check);
* **features**: squared L2 distance between the run's FID feature vectors (the evaluation's own feature network and
  resize: ``ganrepro.metrics.images.feature_extractor`` / ``features_of_uint8``), the space FID lives in.

The memorisation check compares each generated sample's nearest training distance with the nearest distance of
real images to the *other* training images (``reference`` real queries drawn from the training array, their own
index excluded): a generator that copies training images has generated-to-train distances far below the
real-to-train ones (ratio << 1); ratios near or above 1 say the samples are no closer to the training set than its
own images are to each other.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F


def downsample(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3 * size * size) in [0, 1], area-averaged (exact for integer factors)."""
    x = torch.from_numpy(np.array(images, dtype=np.uint8)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="area")
    return x.flatten(1)


def nearest(queries: torch.Tensor, embed_chunks, k: int, exclude: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest rows (squared L2) of the data to each query, over ``embed_chunks``: an iterable of
    (start index, (n, D) embeddings) covering the data in order. ``exclude``: per query a data index to skip (a
    real query's own image). Returns (indices (Q, k), squared distances (Q, k)), nearest first."""
    q = queries.double()
    best_d = torch.full((len(q), 0), float("inf"), dtype=torch.float64)
    best_i = torch.zeros((len(q), 0), dtype=torch.long)
    qq = (q * q).sum(1, keepdim=True)
    for start, emb in embed_chunks:
        e = emb.double()
        d = (qq - 2 * q @ e.T + (e * e).sum(1)[None]).clamp_min(0)
        idx = torch.arange(start, start + len(e))[None].expand(len(q), -1)
        if exclude is not None:
            d = torch.where(idx == exclude[:, None], torch.full_like(d, float("inf")), d)
        d, where = torch.cat([best_d, d], 1), torch.cat([best_i, idx], 1)
        top = torch.topk(d, min(k, d.shape[1]), dim=1, largest=False)
        best_d, best_i = top.values, torch.gather(where, 1, top.indices)
    return best_i, best_d


def _chunks(data: np.ndarray, chunk: int, embed):
    for start in range(0, len(data), chunk):
        yield start, embed(np.asarray(data[start:start + chunk]))


def neighbour_report(generated: np.ndarray, data: np.ndarray, k: int = 5, pixel_size: int = 32, chunk: int = 2048,
                     n_reference: int = 64, seed: int = 0, feature_embed=None) -> dict:
    """Nearest training images of ``generated`` (uint8 (Q, H, W, 3)) in ``data`` (uint8 memmap (N, H, W, 3)), in
    pixel space and, with ``feature_embed`` (uint8 batch -> (B, D) tensor), in feature space; plus the same for
    ``n_reference`` real training images (own index excluded) and the ratio of the medians of the nearest
    distances (generated / real). Timings in seconds."""
    rng = np.random.default_rng(seed)
    ref_idx = np.sort(rng.choice(len(data), size=min(n_reference, len(data) - 1), replace=False))
    real = np.asarray(data[ref_idx])
    spaces = {"pixel": lambda b: downsample(b, pixel_size)}
    if feature_embed is not None:
        spaces["features"] = feature_embed
    out = {"k": k, "data_images": int(len(data)), "queries": int(len(generated)), "reference_queries": int(len(real)),
           "pixel_size": pixel_size, "spaces": {}}
    for name, embed in spaces.items():
        t0 = time.perf_counter()
        gen_i, gen_d = nearest(embed(generated), _chunks(data, chunk, embed), k)
        t1 = time.perf_counter()
        _, ref_d = nearest(embed(real), _chunks(data, chunk, embed), 1, exclude=torch.from_numpy(ref_idx))
        g, r = gen_d[:, 0].sqrt(), ref_d[:, 0].sqrt()
        out["spaces"][name] = {
            "indices": gen_i.tolist(), "distances": gen_d.sqrt().tolist(),
            "nearest_generated_median": float(g.median()), "nearest_real_median": float(r.median()),
            "ratio_generated_to_real": float(g.median() / r.median()) if float(r.median()) > 0 else None,
            "seconds": round(t1 - t0, 3), "seconds_reference": round(time.perf_counter() - t1, 3)}
    return out


def neighbour_grid(generated: np.ndarray, data: np.ndarray, indices) -> np.ndarray:
    """(Q * (1 + k), H, W, 3): each generated sample followed by its k nearest training images, one row each."""
    rows = []
    for q, idx in zip(generated, indices):
        rows.append(q[None])
        rows.append(np.asarray(data[np.asarray(idx)]))
    return np.concatenate(rows)
