"""Metrics of image GANs: FID and KID through clean-fid (its resizers and feature networks; its Fréchet distance,
``kernel_distance`` and batch feature call as ``ganrepro.metrics.fid_formulas`` restates them, tested equal), Inception
Score on the same Inception file, MS-SSIM (``ganrepro.metrics.msssim``), wall-clock.

Feature networks: ``inception`` is the TorchScript Inception file clean-fid uses (``ganrepro.metrics.inception``, fetched by
the ``inception_weights`` rule to ``data/weights/``); ``standin`` is a small deterministic random conv net used by
tests and the smoke pipeline through the same code path (clean-fid's custom feature extractor hook; the stand-ins live
in ``ganrepro.metrics.features``), and every number computed with it is labelled "smoke features: not comparable".

Protocols (which counts, which mode) come from ``ganrepro.metrics.protocol``; everything used is written to ``metrics.json``
under ``protocol`` beside the values.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from ganrepro.metrics import fid_formulas, inception
from ganrepro.metrics.features import StandInFeatures, StandInInception

CLEANFID_INCEPTION_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"


def feature_extractor(kind: str, mode: str, device: str, weights=None):
    """clean-fid feature function: images (B, 3, H, W) in [0, 255] (resized for ``mode``) -> (B, D) features.

    ``inception`` in ``clean`` / ``legacy_tensorflow`` mode loads the one TorchScript file at ``weights`` (default
    ``data/weights/inception-2015-12-05.pt``); ``legacy_pytorch`` is pytorch-fid's Inception, a different weights
    file that clean-fid fetches itself (no table uses that mode).
    """
    if kind == "standin":
        return StandInFeatures().to(device).eval()
    if mode in ("clean", "legacy_tensorflow"):
        det = inception.load_detector(weights or inception.weights_path(), device)
        return inception.fid_feature_model(det, mode)
    from cleanfid.features import build_feature_extractor

    try:
        return build_feature_extractor(mode, torch.device(device), use_dataparallel=False)
    except Exception as e:  # offline: urllib's URLError; a corrupt cache: a load error
        raise RuntimeError(
            f"could not load clean-fid's Inception weights ({type(e).__name__}: {e}). Without network, download "
            f"pytorch-fid's pt_inception-2015-12-05 weights (legacy_pytorch mode) elsewhere into torch hub's cache, or "
            f"use mode clean / legacy_tensorflow, whose file is {CLEANFID_INCEPTION_URL} (inception-2015-12-05.pt)"
        ) from e


def features_of_uint8(batches, model, mode: str, device: str) -> np.ndarray:
    """Features of uint8 image batches (B, H, W, 3), resized the way clean-fid resizes for ``mode``."""
    from cleanfid.resize import build_resizer

    fn_resize = build_resizer(mode)
    feats = []
    for batch in batches:
        if mode == "legacy_tensorflow":  # the TF-compatible Inception resizes inside the network
            x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
        else:
            x = torch.stack([torch.from_numpy(np.asarray(fn_resize(img)).transpose(2, 0, 1).copy())
                             for img in batch]).float()
        feats.append(fid_formulas.batch_features(x, model, torch.device(device)))
    return np.concatenate(feats)


def stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    return fid_formulas.frechet_distance(mu1, sigma1, mu2, sigma2)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Generator output in [-1, 1], (B, 3, H, W) -> uint8 (B, H, W, 3)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


KID_REFERENCE_MAX = 10000  # real features kept in the stats file for KID (a seeded random subset beyond that)


def reference_stats(images: np.ndarray, out_path, kind: str, mode: str, device: str, count: int | None,
                    batch: int = 250, weights=None) -> dict:
    """mu and sigma of the first ``count`` (None: all) real images -> ``out_path`` (.npz, written atomically).

    The file also keeps up to ``KID_REFERENCE_MAX`` of the real features (float32, a seeded random subset when there
    are more) for KID, whose subsets hold at most 1,000 images each (clean-fid's default).
    """
    from ganrepro.util.io import atomic_path

    n = len(images) if count is None else min(count, len(images))
    model = feature_extractor(kind, mode, device, weights)
    feats = features_of_uint8((images[i:i + batch] for i in range(0, n, batch)), model, mode, device)
    mu, sigma = stats(feats)
    keep = feats if n <= KID_REFERENCE_MAX else \
        feats[np.sort(np.random.default_rng(0).choice(n, KID_REFERENCE_MAX, replace=False))]
    info = {"count": n, "features": kind, "mode": mode, "dim": int(feats.shape[1]), "kid_features": len(keep)}
    with atomic_path(out_path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, mu=mu, sigma=sigma, count=n, features=kind, mode=mode, feats=keep.astype(np.float32))
    return info


def kernel_inception_distance(gen_feats: np.ndarray, real_feats: np.ndarray, subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0) -> float:
    """KID (Bińkowski et al. 2018) as clean-fid's ``kernel_distance`` computes it (cubic polynomial kernel, the mean
    of unbiased MMD^2 estimates over random subsets; ``ganrepro.metrics.fid_formulas``), made deterministic by seeding
    numpy's global RNG around it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        return fid_formulas.kernel_distance(gen_feats, real_feats, num_subsets=subsets, max_subset_size=subset_size)
    finally:
        np.random.set_state(state)


def class_probabilities(batches, det, device: str) -> np.ndarray:
    """``det(x, no_output_bias=True)`` on uint8 batches (B, H, W, 3): softmax without the logits' bias, as
    StyleGAN2-ADA's IS calls the TorchScript Inception (the network resizes to 299 inside)."""
    out = []
    for batch in batches:
        x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).to(device)
        with torch.no_grad():
            out.append(det(x, no_output_bias=True).double().cpu().numpy())
    return np.concatenate(out)


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) || p(y))) per split, mean and std over ``splits`` equal splits (Salimans et al. 2016,
    openai/improved-gan ``inception_score/model.py``; the same formula as StyleGAN2-ADA ``metrics/inception_score.py``).
    """
    n = len(probs)
    if n < splits:
        raise ValueError(f"{n} samples cannot make {splits} splits")
    scores = []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = part * (np.log(part) - np.log(part.mean(axis=0, keepdims=True)))
        kl = np.nan_to_num(kl).sum(axis=1).mean()  # 0 * log 0 = 0
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def is_detector(kind: str, device: str, weights=None):
    """The network IS calls: the TorchScript Inception, or its stand-in with the same call signature."""
    if kind == "standin":
        return StandInInception().to(device).eval()
    return inception.load_detector(weights or inception.weights_path(), device)


def generated_images(G, z_dim: int, n: int, device: str, seed: int, batch: int):
    """uint8 (B, H, W, 3) batches of ``n`` samples from fixed latents (seeded, so re-evaluation is identical)."""
    gen = torch.Generator().manual_seed(seed)
    left = n
    while left > 0:
        b = min(batch, left)
        z = torch.randn(b, z_dim, generator=gen).to(device)
        with torch.no_grad():
            yield to_uint8(G(z))
        left -= b


def generated_features(G, z_dim: int, n: int, model, mode: str, device: str, seed: int, batch: int) -> np.ndarray:
    return features_of_uint8(generated_images(G, z_dim, n, device, seed, batch), model, mode, device)


MS_SSIM_PROTOCOL = {"implementation": "ganrepro.metrics.msssim (Wang et al. 2003; tensorflow/models msssim.py constants)",
                    "scales": 5, "weights": [0.0448, 0.2856, 0.3001, 0.2363, 0.1333], "filter": "gaussian 11 taps",
                    "sigma": 1.5, "k1": 0.01, "k2": 0.03, "data_range": 255,
                    "coarse_scales": "window shrunk to min(11, H, W) taps, sigma = taps * 1.5 / 11 (reference rule)",
                    "resize": "antialiased bicubic to the protocol resolution",
                    "channels": "SSIM and cs averaged over height, width and RGB together at each scale (channel order "
                                "irrelevant), as Karras et al. 2018's metrics/ms_ssim.py; not per channel as "
                                "tf.image.ssim_multiscale",
                    "clamp": "each pair's per-scale SSIM and cs means clipped at 0 before the weighted product",
                    "pairs_combined": "per pair, then the mean over pairs"}


def image_metrics(G, z_dim: int, device: str, seed: int, ev: dict, counts: list[int], ref: dict | None,
                  weights=None) -> tuple[dict, dict]:
    """Values and protocol of FID/KID (at each count), IS and MS-SSIM of one generator, from one stream of samples."""
    from importlib.metadata import version

    from ganrepro.metrics.msssim import mean_ms_ssim, resize_uint8

    wanted = set(ev.get("metrics", ("fid", "kid", "is", "ms_ssim")))
    kind, mode = ev["features"], ev["fid_mode"]
    n_feat = max(counts) if wanted & {"fid", "kid"} else 0
    n_is = int(ev.get("is_samples") or max(counts)) if "is" in wanted else 0
    pairs = int(ev.get("ms_ssim_pairs") or max(counts) // 2) if "ms_ssim" in wanted else 0
    ms_res = ev.get("ms_ssim_resolution")
    model = feature_extractor(kind, mode, device, weights) if n_feat else None
    det = is_detector(kind, device, weights) if n_is else None
    feats, probs, ms_imgs, done = [], [], [], 0
    t = {"generate+features": 0.0}
    t0 = time.perf_counter()
    for imgs in generated_images(G, z_dim, max(n_feat, n_is, 2 * pairs), device, seed,
                                 int(ev.get("sample_batch", 250))):
        lo = done
        done += len(imgs)
        if lo < n_feat:
            feats.append(features_of_uint8([imgs[:n_feat - lo]], model, mode, device))
        if lo < n_is:
            probs.append(class_probabilities([imgs[:n_is - lo]], det, device))
        if lo < 2 * pairs:
            part = imgs[:2 * pairs - lo]
            ms_imgs.append(resize_uint8(part, ms_res) if ms_res else part)
    t["generate+features"] = round(time.perf_counter() - t0, 3)
    values, protocol = {}, {}
    feats = np.concatenate(feats) if feats else None
    ref_info = None if ref is None else {"stats_file": ref["path"], "count": int(ref["count"]),
                                         "split": ev.get("reference_split", "train")}
    if "fid" in wanted:
        for n in counts:
            mu, sigma = stats(feats[:n])
            values[f"fid@{n}"] = frechet_distance(mu, sigma, ref["mu"], ref["sigma"])
        protocol["fid"] = {"implementation": f"clean-fid {version('clean-fid')} (resize, features; formula: "
                                             "ganrepro.metrics.fid_formulas, tested equal to cleanfid.fid)",
                           "mode": mode, "features": kind, "generated_samples": counts, "reference": ref_info}
    if "kid" in wanted:
        if ref.get("feats") is None:
            protocol["kid"] = {"skipped": "reference statistics file has no features (made before KID support)"}
        else:
            subsets, size = int(ev.get("kid_subsets", 100)), int(ev.get("kid_subset_size", 1000))
            for n in counts:
                values[f"kid@{n}"] = kernel_inception_distance(feats[:n], ref["feats"], subsets, size, seed=0)
            protocol["kid"] = {"implementation": f"clean-fid {version('clean-fid')} kernel_distance (as "
                                                 "ganrepro.metrics.fid_formulas restates it)", "mode": mode,
                               "features": kind, "generated_samples": counts, "subsets": subsets,
                               "subset_size": min(size, min(counts), len(ref["feats"])),
                               "reference": {**ref_info, "features_kept": int(len(ref["feats"]))}}
    if "is" in wanted:
        splits = int(ev.get("is_splits", 10))
        values["is"], values["is_std"] = inception_score(np.concatenate(probs), splits)
        protocol["is"] = {"implementation": "ganrepro.metrics.images.inception_score (Salimans et al. 2016 formula)",
                          "network_call": "detector(x, no_output_bias=True): softmax of pool3 @ W without bias",
                          "features": kind, "classes": int(probs[0].shape[1]), "samples": n_is, "splits": splits,
                          "resize": "inside the network (TF bilinear to 299 for the real Inception)"}
    if "ms_ssim" in wanted:
        t1 = time.perf_counter()
        r = mean_ms_ssim(np.concatenate(ms_imgs), pairs, None, seed=0, device=device)
        values["ms_ssim"], values["ms_ssim_std"] = r["mean"], r["std"]
        protocol["ms_ssim"] = {**MS_SSIM_PROTOCOL, "pairs": pairs, "resolution": r["resolution"]}
        t["ms_ssim"] = round(time.perf_counter() - t1, 3)
    protocol["timings_seconds"] = t
    return values, protocol


def load_reference(ref_stats) -> dict:
    """The reference statistics file (``reference_stats``) as arrays, with its ``path``."""
    with np.load(ref_stats) as z:
        ref = {k: z[k] for k in z.files}
    ref["path"] = str(ref_stats)
    return ref


def generator_metrics(G, run_cfg: dict, device: str, cfg_eval: dict, counts: list[int], ref: dict | None,
                      weights=None) -> tuple[dict, dict]:
    """The run's metric protocol on one of its generators (final or a snapshot): ``image_metrics`` with the run's
    latent size and evaluation seed (``seed + 999``). ``evaluate_run`` and ``ganrepro.metrics.curves`` both call this."""
    return image_metrics(G, run_cfg["method_params"]["z_dim"], device, int(run_cfg["seed"]) + 999, cfg_eval,
                         list(counts), ref, weights)


def evaluate_run(run_dir, ref_stats: str, counts: list[int], cfg_eval: dict, scale: str, weights=None) -> dict:
    """metrics.json content for one trained run: every applicable metric (FID and KID at each count in ``counts``,
    IS, MS-SSIM) with its protocol, wall-clock (training seconds, GPU-hours, device model) and provenance.
    The generator evaluated is the EMA one when the run keeps it (``ganrepro.runs.snapshots.load_generator``)."""
    from ganrepro.runs.snapshots import load_generator
    from ganrepro.util.env import code_version, hardware, pick_device
    from ganrepro.util.io import read_json

    run_dir = Path(run_dir)
    train_info = read_json(run_dir / "train.json")
    run_cfg = read_json(run_dir / "config.json")
    device = pick_device(run_cfg.get("device", "auto"))
    th = train_info.get("hardware") or {}
    wall = {"train_seconds": train_info["train_seconds"], "gpu_hours": train_info.get("gpu_hours", 0.0),
            "device": th.get("gpu") or th.get("cpu"), "gpu_count": th.get("gpu_count", 0),
            "excludes": "evaluation, sampling and checkpoint loading (train.py times the training steps only)"}
    base = {"run_id": run_cfg["run_id"], "status": train_info["status"], "code": code_version(),
            "hardware": hardware(device), "train_hardware": train_info.get("hardware"),
            "train_seconds": train_info["train_seconds"], "steps": train_info["step"], "scale": scale,
            "wall_clock": wall, "method_summary": train_info.get("method_summary")}
    values = {"train_seconds": train_info["train_seconds"], "train_hours": train_info["train_seconds"] / 3600,
              "gpu_hours": train_info.get("gpu_hours", 0.0)}
    if train_info["status"] != "finished":
        return {**base, "diverged_at": train_info.get("diverged_at"), "values": values, "comparable": False}
    kind = cfg_eval["features"]
    t0 = time.perf_counter()
    G, run_cfg = load_generator(run_dir, device)
    v, protocol = generator_metrics(G, run_cfg, device, cfg_eval, counts, load_reference(ref_stats), weights)
    values.update(v)
    comparable = scale == "full" and kind == "inception"
    return {**base, "values": values, "protocol": protocol, "comparable": comparable,
            "eval_seconds": round(time.perf_counter() - t0, 3),
            "label": None if comparable else "smoke features: not comparable"}
