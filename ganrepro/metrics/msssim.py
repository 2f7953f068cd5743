"""Multi-scale SSIM (Wang, Simoncelli, Bovik 2003) with TensorFlow's constants, vectorised over image pairs.

HDCGAN (hdcgan.txt Section 6, Table 1 and Fig. 14) reports MS-SSIM "averaged from 10,000 pairs of generated images" at
128x128: a diversity measure (lower = more diverse samples). This module follows the reference implementation the
GAN literature used, tensorflow/models ``research/compression/image_encoder/msssim.py``:

- 5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333); K1 = 0.01, K2 = 0.03; dynamic range L = 255;
- an 11-tap Gaussian window with sigma = 1.5, applied without padding ("valid"), per colour channel;
- between scales: a 2x2 box filter (``scipy.ndimage.convolve`` with ``mode='reflect'``, i.e. the mean of pixels
  i and i+1, the last one repeated at an odd border), then every second pixel;
- MS-SSIM = prod_{j<5} cs_j ** w_j  *  ssim_5 ** w_5, where ssim_j and cs_j are the means of the SSIM map and of the
  contrast-structure map at scale j (Wang et al. 2003, Eq. 7).

**Coarse-scale filter (the choice to document).** At 128 px the five scales are 128, 64, 32, 16 and 8 px: the
11-tap window does not fit the coarsest one. As in the reference implementation, the window is shrunk to
``size = min(11, H, W)`` taps with ``sigma = size * 1.5 / 11`` (so at 8 px: 8 taps, sigma 1.09, an even-sized window
centred between pixels). Every other scale uses the full 11-tap window. Smaller images (the smoke scale) shrink it
further; a 1-pixel scale degenerates to a pointwise comparison (cs = 1, ssim = the luminance term).

**Channels and clamping: the convention of the published rows.** HDCGAN's Table 1 copies its two comparison rows
(Gulrajani et al. 0.2854, Karras et al. 0.2838) from Karras et al. 2018 (progressive GANs), whose MS-SSIM code
(``metrics/ms_ssim.py`` of their public repository, a numpy port of tensorflow/models ``msssim.py``) works per image
pair: at each scale the SSIM and cs maps are averaged over height, width **and the colour channels together**, both
per-pair means are clipped at 0, the scales are combined with the weights, and the pairs are averaged at the end.
This module follows that convention (channel order therefore does not matter). ``tf.image.ssim_multiscale`` differs:
it clamps and combines the scales per colour channel and averages the channels last, which on noisy pairs moves the
value by up to about 0.03. (tensorflow/models' own ``msssim.py`` also averages over the whole batch before
combining; the progressive-GAN port and this module do not.) HDCGAN does not say which code produced its own
0.1978; the convention of the rows it is compared with is used. ``tests/test_msssim.py`` checks the result against
an independent numpy implementation of that convention. Computation is in float32 (float64 on request) on images shifted by 127.5, in chunks of
pairs, with separable filtering as banded matrix products (the Gaussian window is the outer product of its normalised
1-D profile).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
FILTER_SIZE, FILTER_SIGMA, K1, K2, MAX_VAL = 11, 1.5, 0.01, 0.03, 255.0


def gauss_1d(size: int, sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian, the separable factor of the reference's ``_FSpecialGauss`` (even sizes: centred
    between the two middle taps)."""
    radius = size // 2
    offset = 0.5 if size % 2 == 0 else 0.0
    x = torch.arange(-radius, radius + (0 if size % 2 == 0 else 1), dtype=torch.float64) + offset
    g = torch.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


@lru_cache(maxsize=64)
def _band(n: int, size: int, sigma: float, dtype: torch.dtype, device: str) -> torch.Tensor:
    """(n, n - size + 1) matrix whose columns hold the 1-D Gaussian shifted by one row each: 'valid' correlation as a
    matrix product (cached: built once per image size and scale)."""
    g = gauss_1d(size, sigma).to(dtype)
    m = torch.zeros(n, n - size + 1, dtype=dtype)
    for i in range(n - size + 1):
        m[i:i + size, i] = g
    return m.to(device)


def _filter(x: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """'valid' separable filtering of (..., H, W) with the 2-D Gaussian window (outer product of the 1-D one).

    Done as two matrix products with banded matrices: more arithmetic than a direct 11-tap convolution, but BLAS
    makes it faster than torch's depthwise conv2d on CPU.
    """
    dev = str(x.device)
    return _band(x.shape[-2], size, sigma, x.dtype, dev).T @ x @ _band(x.shape[-1], size, sigma, x.dtype, dev)


def ssim_cs(x: torch.Tensor, y: torch.Tensor, max_val: float = MAX_VAL, filter_size: int = FILTER_SIZE,
            filter_sigma: float = FILTER_SIGMA, k1: float = K1, k2: float = K2) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pair mean SSIM and mean contrast-structure term of (N, C, H, W) float images (one scale)."""
    h, w = x.shape[-2:]
    size = min(filter_size, h, w)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    # (co)variances are computed on images shifted by max_val / 2: the same values, less cancellation in float32
    off = max_val / 2
    x, y = x - off, y - off
    if size > 1:  # the five local moments filtered in one pass
        mu_x, mu_y, s_xx, s_yy, s_xy = _filter(torch.stack([x, y, x * x, y * y, x * y]), size,
                                               size * filter_sigma / filter_size)
    else:  # 1-pixel scale: the window is the pixel itself
        mu_x, mu_y, s_xx, s_yy, s_xy = x, y, x * x, y * y, x * y
    var_x, var_y, cov = s_xx - mu_x * mu_x, s_yy - mu_y * mu_y, s_xy - mu_x * mu_y
    mu_x, mu_y = mu_x + off, mu_y + off
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    v1, v2 = 2.0 * cov + c2, var_x + var_y + c2
    ssim = ((2.0 * mu_xy + c1) * v1) / ((mu_xx + mu_yy + c1) * v2)
    cs = v1 / v2
    return ssim.flatten(1).mean(1), cs.flatten(1).mean(1)


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """2x2 box filter with reflect border (the reference's ``convolve(..., mode='reflect')``), then [::2, ::2]."""
    x = F.pad(x, (0, 1, 0, 1), mode="replicate")  # reflect of one pixel at the far border = that pixel
    return F.avg_pool2d(x, 2, 2)


def ms_ssim_pairs(x, y, max_val: float = MAX_VAL, weights=WEIGHTS, chunk: int = 32, dtype=torch.float32,
                  device: str = "cpu") -> np.ndarray:
    """MS-SSIM of each pair (x[i], y[i]); x, y: (N, H, W, C) uint8/float arrays or (N, C, H, W) tensors in [0, 255].

    Each pair's per-scale SSIM and contrast-structure means (over height, width and channels together) are clipped
    at 0 before the real powers, as the progressive-GAN code does (module docstring); an anti-correlated pair scores
    0.
    ``dtype=torch.float64`` agrees with scikit-image to ~1e-9; float32 (default, faster) to ~1e-5.
    """
    x, y = _as_nchw(x), _as_nchw(y)
    if x.shape != y.shape:
        raise ValueError(f"shape mismatch {tuple(x.shape)} vs {tuple(y.shape)}")
    out = []
    for i in range(0, len(x), chunk):
        out.append(ms_ssim_tensor(x[i:i + chunk].to(device, dtype), y[i:i + chunk].to(device, dtype), max_val,
                                  weights).cpu())
    return torch.cat(out).numpy()


def ms_ssim_tensor(a: torch.Tensor, b: torch.Tensor, max_val: float = MAX_VAL, weights=WEIGHTS) -> torch.Tensor:
    """Per-pair MS-SSIM of two (N, C, H, W) float tensors, computed and returned on their device (float64)."""
    cs_all, ssim = [], None
    for level in range(len(weights)):
        ssim, cs = ssim_cs(a, b, max_val)
        cs_all.append(cs)
        if level < len(weights) - 1:
            a, b = _downsample(a), _downsample(b)
    return combine_scales(cs_all[:-1], ssim, weights)


def combine_scales(cs: list[torch.Tensor], ssim: torch.Tensor, weights=WEIGHTS) -> torch.Tensor:
    """prod_j max(cs_j, 0)^w_j * max(ssim_M, 0)^w_M over the scales, in float64, on the images' device."""
    w = torch.tensor(weights, dtype=torch.float64, device=ssim.device)
    cs_all = torch.stack(cs, 1).double().clamp_min(0)  # (n, levels - 1)
    return torch.prod(cs_all ** w[:-1], 1) * ssim.double().clamp_min(0) ** w[-1]


def _as_nchw(a) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a
    a = np.asarray(a)
    if a.ndim == 3:
        a = a[..., None]
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, size, size, C) uint8, antialiased bicubic (HDCGAN: 'resized image size 128 x 128')."""
    if images.shape[1] == size and images.shape[2] == size:
        return images
    t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    t = F.interpolate(t, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    return t.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def mean_ms_ssim(images: np.ndarray, pairs: int, resolution: int | None = None, seed: int = 0,
                 device: str = "cpu") -> dict:
    """Mean MS-SSIM over ``pairs`` disjoint pairs of generated images (needs 2 * pairs images)."""
    if len(images) < 2 * pairs:
        raise ValueError(f"{pairs} pairs need {2 * pairs} images, got {len(images)}")
    perm = np.random.default_rng(seed).permutation(len(images))[:2 * pairs]
    imgs = images[perm]
    if resolution:
        imgs = resize_uint8(imgs, resolution)
    v = ms_ssim_pairs(imgs[:pairs], imgs[pairs:], device=device)
    return {"mean": float(v.mean()), "std": float(v.std()), "pairs": pairs, "resolution": int(imgs.shape[1])}
