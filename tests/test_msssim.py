"""MS-SSIM (ganrepro/msssim.py): hand-computed cases, scikit-image at one scale, the reference's filters."""
import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from skimage.metrics import structural_similarity

from ganrepro import msssim as S

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def _pair(n=3, h=40, w=37, noise=40, seed=0):
    rng = np.random.default_rng(seed)
    a = (rng.random((n, h, w, 3)) * 255).astype(np.uint8)
    a = ndi.uniform_filter(a, size=(1, 3, 3, 1))  # some spatial structure
    b = np.clip(a.astype(int) + rng.integers(-noise, noise + 1, a.shape), 0, 255).astype(np.uint8)
    return a, b


def _nchw(a):
    return torch.from_numpy(a).permute(0, 3, 1, 2).double()


def test_single_scale_matches_skimage():
    a, b = _pair()
    ssim, _ = S.ssim_cs(_nchw(a), _nchw(b))
    ref = [structural_similarity(a[i], b[i], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=-1) for i in range(len(a))]
    np.testing.assert_allclose(ssim.numpy(), ref, rtol=0, atol=1e-9)
    assert 0.3 < min(ref) < max(ref) < 0.99  # a non-trivial case


def test_identical_is_one_and_symmetric():
    a, b = _pair()
    np.testing.assert_allclose(S.ms_ssim_pairs(a, a), 1.0, atol=1e-6)
    np.testing.assert_allclose(S.ms_ssim_pairs(a, b), S.ms_ssim_pairs(b, a), atol=1e-7)
    assert (S.ms_ssim_pairs(a, b) < 0.99).all()


def test_constant_images_closed_form():
    # no variance anywhere: every cs_j = C2 / C2 = 1, and the coarsest ssim is the luminance term alone
    x, y = np.full((1, 32, 32, 3), 100, np.uint8), np.full((1, 32, 32, 3), 180, np.uint8)
    lum = (2 * 100 * 180 + C1) / (100 ** 2 + 180 ** 2 + C1)
    assert S.ms_ssim_pairs(x, y, dtype=torch.float64)[0] == pytest.approx(lum ** 0.1333, abs=1e-12)
    assert S.ms_ssim_pairs(x, x)[0] == pytest.approx(1.0, abs=1e-12)


def test_float32_agrees_with_float64():
    a, b = _pair(n=4, h=64, w=64)
    np.testing.assert_allclose(S.ms_ssim_pairs(a, b), S.ms_ssim_pairs(a, b, dtype=torch.float64), atol=1e-5)


def test_more_noise_lower_score():
    vals = [S.ms_ssim_pairs(*_pair(n=2, h=64, w=64, noise=k)).mean() for k in (5, 20, 60)]
    assert vals[0] > vals[1] > vals[2]


def test_downsample_is_the_reference_box_filter():
    x = np.random.default_rng(1).random((1, 1, 7, 9))
    ref = ndi.convolve(x[0, 0], np.full((2, 2), 0.25), mode="reflect")[::2, ::2]
    np.testing.assert_allclose(S._downsample(torch.from_numpy(x))[0, 0].numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("size", [11, 8, 5])
def test_window_is_the_reference_gaussian(size):
    # tensorflow/models msssim.py _FSpecialGauss, with the coarse-scale rule sigma = size * 1.5 / 11
    sigma = size * 1.5 / 11
    radius, offset, start, stop = size // 2, 0.0, -(size // 2), size // 2 + 1
    if size % 2 == 0:
        offset, stop = 0.5, stop - 1
    xx, yy = np.mgrid[offset + start:stop, offset + start:stop]
    g = np.exp(-((xx ** 2 + yy ** 2) / (2.0 * sigma ** 2)))
    g /= g.sum()
    g1 = S.gauss_1d(size, sigma).numpy()
    np.testing.assert_allclose(np.outer(g1, g1), g, atol=1e-15)


def test_filter_is_valid_convolution():
    x = np.random.default_rng(2).random((2, 3, 20, 17))
    g = S.gauss_1d(11, 1.5)
    k = np.outer(g.numpy(), g.numpy())
    out = S._filter(torch.from_numpy(x), 11, 1.5).numpy()
    ref = np.stack([[ndi.correlate(x[i, c], k, mode="constant")[5:-5, 5:-5] for c in range(3)] for i in range(2)])
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_mean_over_pairs_and_resize():
    rng = np.random.default_rng(3)
    imgs = (rng.random((10, 24, 24, 3)) * 255).astype(np.uint8)
    r = S.mean_ms_ssim(imgs, pairs=5, resolution=32)
    assert r["pairs"] == 5 and r["resolution"] == 32 and 0 <= r["mean"] < 1
    assert S.mean_ms_ssim(imgs, pairs=5, resolution=32) == r  # deterministic
    with pytest.raises(ValueError, match="10 images"):
        S.mean_ms_ssim(imgs[:9], pairs=5)
