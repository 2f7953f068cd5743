"""Metrics glue: Fréchet distance numerics, the stand-in feature path through clean-fid, metrics.json protocol."""
import json

import numpy as np
import pytest
import torch

from ganrepro import metrics as M


def test_frechet_closed_form():
    d = 8
    # N(0, I) vs N(1, I): ||mu1 - mu2||^2 = d, traces cancel
    assert M.frechet_distance(np.zeros(d), np.eye(d), np.ones(d), np.eye(d)) == pytest.approx(d)
    # N(0, I) vs N(0, 4I): tr(I + 4I - 2*2I) = d
    assert M.frechet_distance(np.zeros(d), np.eye(d), np.zeros(d), 4 * np.eye(d)) == pytest.approx(d)


def test_frechet_near_singular_is_finite():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(10, 32))  # 10 samples in 32 dims: rank-deficient covariances
    g = rng.normal(size=(10, 32))
    v = M.frechet_distance(*M.stats(f), *M.stats(g))
    assert np.isfinite(v) and not np.iscomplexobj(v) and v > 0


def test_standin_deterministic_and_fid_zero_for_same_set():
    imgs = (np.random.default_rng(1).random((24, 16, 16, 3)) * 255).astype(np.uint8)
    m1, m2 = M.feature_extractor("standin", "clean", "cpu"), M.feature_extractor("standin", "clean", "cpu")
    f1 = M.features_of_uint8([imgs[:12], imgs[12:]], m1, "clean", "cpu")
    f2 = M.features_of_uint8([imgs], m2, "clean", "cpu")
    assert f1.shape == (24, M.StandInFeatures.dim)
    np.testing.assert_allclose(f1, f2, rtol=1e-5, atol=1e-6)
    assert M.frechet_distance(*M.stats(f1), *M.stats(f2)) == pytest.approx(0, abs=1e-3)


def test_to_uint8():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    assert M.to_uint8(x)[0, 0, :, 0].tolist() == [0, 128, 255, 255]


def test_inception_offline_message(monkeypatch):
    import cleanfid.features as F

    def boom(*a, **k):
        import urllib.error

        raise urllib.error.URLError("no network")

    monkeypatch.setattr(F, "build_feature_extractor", boom)
    with pytest.raises(RuntimeError, match=r"inception-2015-12-05\.pt"):
        M.feature_extractor("inception", "clean", "cpu")


def test_evaluate_run_protocol(smoke_run_cfg, tmp_path):
    from ganrepro.data import load_prepared
    from ganrepro.train import train

    train(smoke_run_cfg, tmp_path / "run")
    images = load_prepared(smoke_run_cfg["data_dir"])
    M.reference_stats(images, tmp_path / "ref.npz", "standin", "clean", "cpu", None)
    m = M.evaluate_run(tmp_path / "run", str(tmp_path / "ref.npz"), [8, 16],
                       {"features": "standin", "fid_mode": "clean", "sample_batch": 8}, "smoke")
    assert m["status"] == "finished" and m["comparable"] is False and m["label"] == "smoke features: not comparable"
    assert m["values"]["fid@8"] > 0 and m["values"]["fid@16"] > 0
    assert m["protocol"]["fid"]["generated_samples"] == [8, 16]
    assert m["protocol"]["fid"]["reference"]["count"] == 32
    assert m["protocol"]["fid"]["implementation"].startswith("clean-fid ")
    assert m["code"]["commit"] and m["hardware"]["cpu"] and m["train_seconds"] > 0
    json.dumps(m)
