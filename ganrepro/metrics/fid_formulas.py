"""clean-fid's three small formulas, computed as clean-fid computes them, without importing ``cleanfid.fid``.

``cleanfid.fid`` imports ``cleanfid.utils``, which imports torchvision, which imports ``torch._dynamo``: about
1.4 s in every evaluation, curve and reference-statistics job (and 2.5 s per MoG evaluation) for a matrix formula.
The resizers (``cleanfid.resize``, light) and the feature networks stay clean-fid's own; these three are the
statements of ``cleanfid/fid.py`` (clean-fid 0.1.35) line for line, and ``tests/test_fid_formulas.py`` checks each
equals clean-fid's function on the same inputs (to 1e-12; KID under the same numpy seed, exactly).
"""
from __future__ import annotations

import numpy as np


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """The Fréchet distance of two Gaussians, |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), as
    ``cleanfid.fid.frechet_distance``: scipy's ``sqrtm`` of the product, ``eps`` on the diagonals when that is not
    finite, the real part (an imaginary diagonal above 1e-3 is an error)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"Fréchet distance of moments of different sizes: {mu1.shape} vs {mu2.shape}")
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"Fréchet distance: imaginary component {np.max(np.abs(covmean.imag))}")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def kernel_distance(feats1: np.ndarray, feats2: np.ndarray, num_subsets: int = 100,
                    max_subset_size: int = 1000) -> float:
    """KID as ``cleanfid.fid.kernel_distance``: the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, the unbiased
    MMD^2 of ``num_subsets`` random subsets of min(n1, n2, ``max_subset_size``) rows each (drawn with numpy's global
    RNG, reals first), averaged."""
    n = feats1.shape[1]
    m = min(min(feats1.shape[0], feats2.shape[0]), max_subset_size)
    t = 0
    for _ in range(num_subsets):
        x = feats2[np.random.choice(feats2.shape[0], m, replace=False)]
        y = feats1[np.random.choice(feats1.shape[0], m, replace=False)]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(t / num_subsets / m)


def batch_features(batch, model, device) -> np.ndarray:
    """A batch's features as ``cleanfid.fid.get_batch_features``: the model on the device without gradients, to numpy."""
    import torch

    with torch.no_grad():
        feat = model(batch.to(device))
    return feat.detach().cpu().numpy()
