"""ganrepro.metrics.neighbours (HDCGAN Fig. 4): chunked nearest neighbours against brute force, the excluded own index,
area downsampling, and the memorisation check on copies of training images."""
import numpy as np
import pytest
import torch

from ganrepro.metrics import neighbours as N


def _chunks(x, size):
    return ((i, x[i:i + size]) for i in range(0, len(x), size))


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_nearest_matches_brute_force_whatever_the_chunking(chunk):
    g = torch.Generator().manual_seed(0)
    data, q = torch.randn(100, 6, generator=g), torch.randn(9, 6, generator=g)
    idx, d = N.nearest(q, _chunks(data, chunk), k=5)
    full = ((q[:, None, :].double() - data[None].double()) ** 2).sum(-1)
    want = torch.argsort(full, dim=1)[:, :5]
    assert torch.equal(idx, want)
    torch.testing.assert_close(d, torch.gather(full, 1, want), rtol=1e-9, atol=1e-9)


def test_a_real_query_does_not_find_itself():
    data = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    idx, d = N.nearest(data[[1, 3]], _chunks(data, 2), k=1, exclude=torch.tensor([1, 3]))
    assert idx.tolist() == [[0], [2]] and d.tolist() == [[1.0], [16.0]]  # not itself (distance 0)


def test_area_downsample_is_the_block_mean():
    img = np.zeros((1, 4, 4, 3), dtype=np.uint8)
    img[0, :2, :2] = 255  # top-left 2x2 block white
    x = N.downsample(img, 2).view(3, 2, 2)
    assert torch.allclose(x[:, 0, 0], torch.ones(3)) and float(x[:, 1:, :].abs().sum()) == 0.0


def test_memorised_samples_are_caught():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(50, 8, 8, 3), dtype=np.uint8)
    copies = data[[3, 17, 42]]
    rep = N.neighbour_report(copies, data, k=2, pixel_size=8, chunk=16, n_reference=10,
                             feature_embed=lambda b: torch.from_numpy(np.array(b, dtype=np.float32)).flatten(1))
    for space in ("pixel", "features"):
        s = rep["spaces"][space]
        assert [row[0] for row in s["indices"]] == [3, 17, 42] and s["nearest_generated_median"] == 0.0
        assert s["nearest_real_median"] > 0 and s["ratio_generated_to_real"] == 0.0
    grid = N.neighbour_grid(copies, data, rep["spaces"]["pixel"]["indices"])
    assert grid.shape == (9, 8, 8, 3) and np.array_equal(grid[1], data[3]) and np.array_equal(grid[0], copies[0])
