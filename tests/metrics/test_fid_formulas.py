"""ganrepro.metrics.fid_formulas restates three functions of cleanfid/fid.py (so that metric jobs need not import it, and
through it torchvision): each must give clean-fid's own result on the same inputs."""
import numpy as np
import pytest
import torch

from ganrepro.metrics import fid_formulas as F


@pytest.mark.parametrize("dim", [2, 3, 16, 256])
def test_frechet_distance_equals_clean_fids(dim):
    from cleanfid.fid import frechet_distance as clean_fid

    rng = np.random.default_rng(dim)
    for _ in range(3):
        a, b = rng.normal(size=(dim, dim)), rng.normal(size=(dim, dim))
        s1, s2 = a @ a.T + 0.1 * np.eye(dim), b @ b.T
        m1, m2 = rng.normal(size=dim), rng.normal(size=dim)
        assert F.frechet_distance(m1, s1, m2, s2) == pytest.approx(float(clean_fid(m1, s1, m2, s2)), rel=1e-12,
                                                                   abs=1e-12)
    single = np.zeros((dim, dim))  # a singular product: both add eps to the diagonals
    assert F.frechet_distance(m1, single, m2, single) == pytest.approx(float(clean_fid(m1, single, m2, single)),
                                                                       rel=1e-9, abs=1e-9)


def test_frechet_distance_closed_form_and_shape_check():
    d = 4  # N(0, I) vs N(1, 4 I): |1|^2 d + Tr(I + 4I - 2 * 2I) = d + d
    assert F.frechet_distance(np.zeros(d), np.eye(d), np.ones(d), 4 * np.eye(d)) == pytest.approx(2 * d)
    with pytest.raises(ValueError, match="different sizes"):
        F.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


@pytest.mark.parametrize("n1,n2,size", [(60, 80, 1000), (50, 50, 20)])
def test_kernel_distance_equals_clean_fids(n1, n2, size):
    from cleanfid.fid import kernel_distance as clean_kid

    rng = np.random.default_rng(n1)
    f1, f2 = rng.normal(size=(n1, 16)), rng.normal(0.3, 1.0, size=(n2, 16))
    np.random.seed(7)
    ours = F.kernel_distance(f1, f2, num_subsets=5, max_subset_size=size)
    np.random.seed(7)
    assert ours == clean_kid(f1, f2, num_subsets=5, max_subset_size=size)  # same draws, same arithmetic


def test_kernel_distance_by_hand():
    """One subset of two 1-d points each: k(x, y) = (xy + 1)^3; unbiased MMD^2 = k(x1,x2)*2/1 + k(y1,y2)*2/1
    - 2/m * sum k(x_i, y_j), divided by m (clean-fid's normalisation)."""
    x, y = np.array([[1.0], [0.0]]), np.array([[2.0], [-1.0]])  # feats2 (reals) x, feats1 y
    np.random.seed(0)
    got = F.kernel_distance(y, x, num_subsets=1, max_subset_size=2)
    k = lambda a, b: (a * b + 1) ** 3  # noqa: E731
    within = 2 * k(1, 0) + 2 * k(2, -1)  # off-diagonal sums of both Gram matrices (order-free)
    cross = sum(k(a, b) for a in (1, 0) for b in (2, -1))
    assert got == pytest.approx((within / 1 - cross * 2 / 2) / 2)


def test_batch_features_equals_clean_fids():
    from cleanfid.fid import get_batch_features

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    x = torch.rand(3, 3, 8, 8) * 255
    ours = F.batch_features(x, net, torch.device("cpu"))
    assert isinstance(ours, np.ndarray) and ours.shape == (3, 4)
    np.testing.assert_array_equal(ours, get_batch_features(x, net, torch.device("cpu")))
