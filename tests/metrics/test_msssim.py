"""MS-SSIM (ganrepro/metrics/msssim.py): hand-computed cases, scikit-image at one scale, the reference's filters."""
import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from skimage.metrics import structural_similarity

from ganrepro.metrics import msssim as S

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


def _gauss2d(size, sigma):
    """fspecial-style Gaussian: offsets centred on the window (half-integer ones for an even size), normalised."""
    r = (np.arange(size) - (size - 1) / 2.0) ** 2
    g = np.exp(-(r[:, None] + r[None, :]) / (2 * sigma ** 2))
    return g / g.sum()


def _pggan_convention(x, y, weights=S.WEIGHTS, L=255.0):
    """An independent numpy MS-SSIM of (N, H, W, C) pairs in the progressive-GAN code's convention: per scale, valid
    Gaussian filtering; SSIM and cs maps averaged over H, W and C together; both means clipped at 0; 2x2 mean
    down-sampling; weighted product; mean over pairs."""
    from scipy.signal import fftconvolve

    x, y = x.astype(np.float64), y.astype(np.float64)
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    ssims, css = [], []
    for _ in weights:
        size = min(11, x.shape[1], x.shape[2])
        win = _gauss2d(size, size * 1.5 / 11)[None, :, :, None]

        def f(a):
            return fftconvolve(a, win, mode="valid")

        m1, m2 = f(x), f(y)
        s11, s22, s12 = f(x * x) - m1 * m1, f(y * y) - m2 * m2, f(x * y) - m1 * m2
        cs_map = (2 * s12 + c2) / (s11 + s22 + c2)
        ssim_map = (2 * m1 * m2 + c1) / (m1 * m1 + m2 * m2 + c1) * cs_map
        ssims.append(np.clip(ssim_map.mean(axis=(1, 2, 3)), 0, None))
        css.append(np.clip(cs_map.mean(axis=(1, 2, 3)), 0, None))
        x = (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) / 4
        y = (y[:, 0::2, 0::2] + y[:, 1::2, 0::2] + y[:, 0::2, 1::2] + y[:, 1::2, 1::2]) / 4
    w = np.asarray(weights)
    return np.prod(np.asarray(css[:-1]) ** w[:-1, None], axis=0) * ssims[-1] ** w[-1]


def test_channels_and_clamp_follow_the_published_rows_convention():
    """At 128 px (HDCGAN Table 1), per pair, against the independent numpy version of the progressive-GAN
    convention; and the per-channel (tf.image.ssim_multiscale-like) combination gives a different number."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (4, 128, 128, 3)).astype(np.float64)
    x = np.clip(ndi.gaussian_filter(base, (0, 3, 3, 0)) * 3 - 200, 0, 255)
    y = np.clip(x + rng.normal(0, 60, x.shape), 0, 255)
    ours = S.ms_ssim_pairs(x, y, dtype=torch.float64)
    ref = _pggan_convention(x, y)
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-9)
    y[..., 2] = 255 - y[..., 2]  # one anti-correlated channel: clamped alone per channel, averaged away together
    ours = S.ms_ssim_pairs(x, y, dtype=torch.float64)
    np.testing.assert_allclose(ours, _pggan_convention(x, y), rtol=1e-7, atol=1e-9)
    per_channel = np.mean([_pggan_convention(x[..., c:c + 1], y[..., c:c + 1]) for c in range(3)], axis=0)
    assert np.abs(per_channel - ours).max() > 0.01  # the convention is a real choice


def test_every_tensor_stays_on_the_images_device():
    """The GPU check found the scale weights made on the host while the images were on CUDA (a device-mismatch
    error in every MS-SSIM evaluation on a GPU). On the meta device, any host tensor mixed in raises the same way."""
    from ganrepro.metrics.msssim import ms_ssim_tensor

    a = torch.empty(3, 3, 64, 64, device="meta")
    v = ms_ssim_tensor(a, a.clone())
    assert v.device.type == "meta" and v.shape == (3,) and v.dtype == torch.float64
