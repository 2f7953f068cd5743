"""BRC's MoG metrics (ganrepro/metrics/mog_metrics.py) on hand-built samples, and the mixture itself (ganrepro/data/mog.py)."""
import math

import numpy as np
import pytest
import torch

from ganrepro.data import mog
from ganrepro.metrics.mog_metrics import assign, evaluate_samples, js_divergence, js_one_mode

RING5 = {"layout": "ring", "modes": 5, "dim": 2, "variance": 0.02}
CUBE27 = {"layout": "cube", "modes": 27, "dim": 3, "variance": 0.02}


def test_centres_layouts():
    c = mog.centres(RING5)
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 2.0)
    np.testing.assert_allclose(c[0], [2.0, 0.0], atol=1e-12)
    cube = mog.centres(CUBE27)
    assert cube.shape == (27, 3) and set(np.unique(cube)) == {-2.0, 0.0, 2.0}


def test_exact_moments_match_a_large_sample():
    x = mog.sample(CUBE27, 200_000, torch.Generator().manual_seed(0)).double().numpy()
    mu, cov = mog.moments(CUBE27)
    np.testing.assert_allclose(x.mean(0), mu, atol=0.02)
    np.testing.assert_allclose(np.cov(x, rowvar=False), cov, atol=0.03)
    assert cov[0, 0] == pytest.approx(8 / 3 + 0.02)  # var of {-2, 0, 2} uniform + the mode variance


def test_all_modes_hit_equally_gives_all_modes_and_zero_js():
    c = mog.centres(RING5)
    x = np.repeat(c, 10, axis=0) + 0.05  # 10 samples near each centre, well within 3 sigma (0.42)
    m = evaluate_samples(x, RING5)
    assert m["modes"] == 5 and m["hq_share"] == 1.0
    assert m["js"] == pytest.approx(0.0, abs=1e-12)


def test_one_mode_gives_one_mode_and_known_js():
    x = np.tile(mog.centres(RING5)[2], (50, 1))
    m = evaluate_samples(x, RING5)
    assert m["modes"] == 1
    # by hand for K = 5: p = (1, 0, 0, 0, 0 | 0), q = (.2 x 5 | 0), m = (.6, .1, .1, .1, .1 | 0)
    by_hand = 0.5 * math.log2(1 / 0.6) + 0.5 * (0.2 * math.log2(0.2 / 0.6) + 0.8 * math.log2(2))
    assert m["js"] == pytest.approx(by_hand, rel=1e-12)
    assert js_one_mode(5) == pytest.approx(by_hand, rel=1e-12)


def test_off_mode_samples_are_low_quality_and_push_js_to_one():
    x = np.full((20, 2), 10.0)  # far from every centre
    m = evaluate_samples(x, RING5)
    assert m["modes"] == 0 and m["hq_share"] == 0.0 and m["js"] == pytest.approx(1.0)


def test_three_sigma_rule_boundary():
    sigma = math.sqrt(0.02)
    c0 = mog.centres(RING5)[0]
    inside, outside = c0 + [2.99 * sigma, 0], c0 + [3.01 * sigma, 0]
    assert list(assign(np.stack([inside, outside]), RING5)) == [0, -1]


def test_js_is_symmetric_and_bounded():
    p, q = np.array([3.0, 1.0, 0.0]), np.array([1.0, 1.0, 2.0])
    assert js_divergence(p, q) == pytest.approx(js_divergence(q, p))
    assert 0 < js_divergence(p, q) < 1


def test_raw_fid_is_zero_for_exact_moments_and_grows_with_a_shift():
    mu, cov = mog.moments(RING5)
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal(mu, cov, size=100_000)
    assert evaluate_samples(x, RING5)["fid"] == pytest.approx(0.0, abs=0.02)
    # a mean shift of (1, 0) with the same covariance adds exactly |shift|^2 = 1
    assert evaluate_samples(x + [1.0, 0.0], RING5)["fid"] == pytest.approx(1.0, abs=0.03)


def test_non_finite_samples_are_reported_not_crashing():
    x = np.array([[np.nan, 0.0], [0.0, 0.0]])
    m = evaluate_samples(x, RING5)
    assert math.isnan(m["fid"]) and m["modes"] == 0


def test_sampler_state_round_trip():
    s = mog.MoGSampler(RING5, 4, seed=3)
    s.next()
    state = s.state_dict()
    a = s.next()
    s.load_state_dict(state)
    torch.testing.assert_close(s.next(), a)


def test_mog_evaluation_does_not_import_torchvision():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from ganrepro.metrics import mog_metrics as M; "
            "spec={'layout':'ring','modes':8,'dim':2,'variance':0.02}; "
            "M.evaluate_samples(np.random.default_rng(0).normal(size=(64, 2)), spec); "
            "print('torchvision' in sys.modules, 'cleanfid.fid' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_true_mixture_samples_score_far_below_the_papers_js():
    """Issue 31, finding 13: samples of the true ring-5 mixture score a JS below 0.015 with the suite's histogram
    estimator (0.0004-0.013 over 50 draws of 512), while brc.txt prints 0.39 for VGAN(BRC-Rf) with all 5 modes and
    FID 0.87: the paper's JS is another estimator, so the specs mark JS not comparable (protocol not_comparable) and
    the claims judge the rows' order only."""
    import yaml

    from ganrepro.spec.tables import TABLES_DIR

    js = [evaluate_samples(mog.sample(RING5, 512, torch.Generator().manual_seed(s)).double().numpy(), RING5)["js"]
          for s in range(10)]
    assert 0.0 < max(js) < 0.02 and sum(js) / len(js) < 0.01
    for name in ("brc_table_mog_ring5", "brc_table2"):
        spec = yaml.safe_load((TABLES_DIR / f"{name}.yaml").read_text())
        assert "js" in spec["protocol"]["not_comparable"], name
