"""Metrics: Fréchet distance numerics, KID, IS, the Inception weights (offline failure, stand-in with the same call
signature), the per-table protocol, and the metrics.json of a run."""
import json

import numpy as np
import pytest
import torch

from conftest import ROOT
from ganrepro.config import config as C
from ganrepro.metrics import inception as I
from ganrepro.metrics import images as M
from ganrepro.metrics import protocol as P
from ganrepro.metrics.features import StandInFeatures, StandInInception


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
    assert f1.shape == (24, StandInFeatures.dim)
    np.testing.assert_allclose(f1, f2, rtol=1e-5, atol=1e-6)
    assert M.frechet_distance(*M.stats(f1), *M.stats(f2)) == pytest.approx(0, abs=1e-3)


def test_to_uint8():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    assert M.to_uint8(x)[0, 0, :, 0].tolist() == [0, 128, 255, 255]


def test_inception_offline_message(tmp_path):
    missing = tmp_path / "weights" / "inception-2015-12-05.pt"
    with pytest.raises(RuntimeError, match=r"inception-2015-12-05\.pt") as e:
        M.feature_extractor("inception", "clean", "cpu", weights=missing)
    assert I.INCEPTION_URL in str(e.value) and str(missing.resolve()) in str(e.value)
    with pytest.raises(I.WeightsUnavailable, match="nvlabs-fi-cdn"):
        M.is_detector("inception", "cpu", weights=missing)


def test_fetch_weights_fails_at_once_offline(tmp_path, monkeypatch):
    import ganrepro.data.download as D

    monkeypatch.setattr(D, "_reachable", lambda *a, **k: False)
    dest = tmp_path / "data" / "weights" / I.INCEPTION_FILE
    with pytest.raises(I.WeightsUnavailable) as e:
        I.fetch_weights(dest)
    msg = str(e.value)
    assert "offline" in msg and I.INCEPTION_URL in msg and str(dest.resolve()) in msg
    assert not dest.exists()


class _FakeInception(torch.nn.Module):
    """TorchScript-able module with the real file's outputs: 2048 features, 1008-way softmax."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(3, I.POOL_DIM, generator=g), requires_grad=False)
        self.fc = torch.nn.Parameter(torch.randn(I.POOL_DIM, I.N_CLASSES, generator=g) * 0.01, requires_grad=False)
        self.b = torch.nn.Parameter(torch.randn(I.N_CLASSES, generator=g), requires_grad=False)

    def forward(self, img, return_features: bool = False, use_fp16: bool = False, no_output_bias: bool = False):
        f = torch.tanh(img.float().mean(dim=(2, 3)) / 255 @ self.w)
        if return_features:
            return f
        logits = f @ self.fc
        if not no_output_bias:
            logits = logits + self.b
        return torch.softmax(logits, dim=1)


def test_weights_file_verified_and_checked(tmp_path):
    from ganrepro.util.integrity import IntegrityError

    path = tmp_path / I.INCEPTION_FILE
    torch.jit.script(_FakeInception()).save(str(path))
    rec = I.fetch_weights(path)  # present: verified (sha256 recorded) and shape-checked, never downloaded
    assert len(rec["sha256"]) == 64
    assert I.fetch_weights(path, sha256=rec["sha256"])["sha256"] == rec["sha256"]
    with pytest.raises(IntegrityError, match="sha256"):
        I.fetch_weights(path, sha256="0" * 64)
    bad = tmp_path / "bad.pt"
    torch.jit.script(StandInInception()).save(str(bad))  # 32-d features: not the Inception file
    with pytest.raises(RuntimeError, match="unexpected Inception outputs"):
        I.fetch_weights(bad)
    # the legacy_tensorflow feature path calls detector(x, return_features=True) on the same file
    f = M.feature_extractor("inception", "legacy_tensorflow", "cpu", weights=path)
    assert tuple(f(torch.full((2, 3, 16, 16), 100.0)).shape) == (2, I.POOL_DIM)


def test_inception_score_hand_built():
    k, n = 5, 100
    one_hot = np.eye(k)[np.arange(n) % k]  # each split: confident and balanced over k classes -> IS = k
    mean, std = M.inception_score(one_hot, splits=10)
    assert mean == pytest.approx(k) and std == pytest.approx(0, abs=1e-12)
    same = np.tile([[0.7, 0.2, 0.1]], (n, 1))  # every sample the same prediction -> KL 0 -> IS = 1
    assert M.inception_score(same, splits=10)[0] == pytest.approx(1.0)
    p = np.array([[0.9, 0.1], [0.1, 0.9]] * 10)  # per split: exp(0.9 ln 1.8 + 0.1 ln 0.2)
    assert M.inception_score(p, splits=10)[0] == pytest.approx(np.exp(0.9 * np.log(1.8) + 0.1 * np.log(0.2)))
    with pytest.raises(ValueError):
        M.inception_score(one_hot[:5], splits=10)


def test_is_through_the_detector_call_signature():
    imgs = (np.random.default_rng(0).random((20, 16, 16, 3)) * 255).astype(np.uint8)
    det = M.is_detector("standin", "cpu")
    p = M.class_probabilities([imgs[:7], imgs[7:]], det, "cpu")
    assert p.shape == (20, 10) and np.allclose(p.sum(1), 1)
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2)
    with_bias = det(x).double().numpy()
    assert not np.allclose(p, with_bias)  # no_output_bias=True really drops the bias
    np.testing.assert_allclose(p, M.class_probabilities([imgs], M.is_detector("standin", "cpu"), "cpu"))
    assert tuple(det(x, return_features=True).shape) == (20, 32)
    mean, std = M.inception_score(p, 10)
    assert 1 <= mean <= 10 and std >= 0


def test_kid_deterministic_and_sensitive():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    k_same = M.kernel_inception_distance(a, b, subsets=20, subset_size=100)
    assert (np.random.get_state()[1] == state).all()  # the global RNG is left as it was
    assert k_same == M.kernel_inception_distance(a, b, subsets=20, subset_size=100)
    assert abs(k_same) < 0.05
    k_shift = M.kernel_inception_distance(a + 1.0, b, subsets=20, subset_size=100)
    assert k_shift > 10 * abs(k_same) and k_shift > 0.1


def test_protocol_follows_tables(cfg):
    cfg["scale"] = "full"
    ev = P.eval_protocol(cfg, "glgan_celeba128", "wgan_gp", "default")
    assert ev["fid_counts"] == [10000, 50000] and ev["fid_mode"] == "legacy_tensorflow"
    assert ev["features"] == "inception" and ev["is_splits"] == 10
    assert P.eval_protocol(cfg, "glgan_flowers256", "wgan_gp", "default")["fid_counts"] == [10000, 50000]
    assert P.eval_protocol(cfg, "lga_cifar10_sngan")["is_samples"] == 10000  # LGA Table 2: the same 10k fakes
    assert P.eval_protocol(cfg, "brc_cifar10")["is_samples"] == 50000
    assert P.eval_protocol(cfg, "hdcgan_celeba512")["ms_ssim_resolution"] == 128
    assert P.eval_protocol(cfg, "hdcgan_celeba512")["ms_ssim_pairs"] == 10000
    assert P.ref_stats_file(cfg, "lga_stl10").endswith("stl10_32_inception_legacy_tensorflow_5000.npz")
    assert P.ref_stats_file(cfg, "glgan_celeba128").endswith("celeba_128_inception_legacy_tensorflow_all.npz")
    for exp in cfg["experiments"]:  # the shipped specs never disagree
        P.table_protocol(cfg, exp)
    cfg["scale"] = "smoke"
    ev = P.eval_protocol(cfg, "glgan_celeba128", "wgan_gp", "default")
    assert ev["features"] == "standin" and ev["fid_counts"] == [32, 64] and ev["is_samples"] == 64


def test_evaluate_inputs(cfg):
    assert P.evaluate_inputs(cfg, "brc_ring5") == {"ref": [], "weights": []}  # MoG: no network, no reference file
    smoke = P.evaluate_inputs(cfg, "lga_cifar10")
    assert smoke["weights"] == [] and smoke["ref"][0].endswith("cifar10_16_standin_clean_all.npz")
    cfg["scale"] = "full"
    assert P.evaluate_inputs(cfg, "lga_cifar10")["weights"] == ["data/weights/inception-2015-12-05.pt"]


def test_protocol_disagreement_is_an_error(cfg, monkeypatch):
    specs = C.selected_tables(cfg)
    t1 = next(s for s in specs if s.id == "glgan_table1")
    monkeypatch.setitem(t1.protocol, "fid_mode", "clean")
    monkeypatch.setattr(C, "selected_tables", lambda c: specs)
    with pytest.raises(P.ProtocolError, match="fid_mode"):
        P.table_protocol(cfg, "glgan_celeba128")


def test_evaluate_run_protocol(smoke_run_cfg, tmp_path):
    from ganrepro.data.loader import load_prepared
    from ganrepro.train.loop import train

    train(smoke_run_cfg, tmp_path / "run")
    images = load_prepared(smoke_run_cfg["data_dir"])
    info = M.reference_stats(images, tmp_path / "ref.npz", "standin", "clean", "cpu", None)
    assert info["kid_features"] == 32
    ev = {"features": "standin", "fid_mode": "clean", "sample_batch": 8, "is_samples": 20, "is_splits": 10,
          "kid_subsets": 5, "ms_ssim_pairs": 6, "ms_ssim_resolution": 32}
    m = M.evaluate_run(tmp_path / "run", str(tmp_path / "ref.npz"), [8, 16], ev, "smoke")
    assert m["status"] == "finished" and m["comparable"] is False and m["label"] == "smoke features: not comparable"
    v, p = m["values"], m["protocol"]
    assert v["fid@8"] > 0 and v["fid@16"] > 0 and np.isfinite(v["kid@8"]) and np.isfinite(v["kid@16"])
    assert 1 <= v["is"] <= 10 and 0 <= v["ms_ssim"] <= 1
    assert p["fid"]["generated_samples"] == [8, 16] and p["fid"]["reference"]["count"] == 32
    assert p["fid"]["implementation"].startswith("clean-fid ")
    assert p["kid"]["subsets"] == 5 and p["kid"]["reference"]["features_kept"] == 32
    assert p["is"]["samples"] == 20 and p["is"]["splits"] == 10 and "no_output_bias=True" in p["is"]["network_call"]
    assert p["ms_ssim"]["pairs"] == 6 and p["ms_ssim"]["resolution"] == 32 and p["ms_ssim"]["k2"] == 0.03
    assert m["code"]["commit"] and m["hardware"]["cpu"] and m["train_seconds"] > 0
    assert m["wall_clock"]["train_seconds"] == m["train_seconds"] and m["wall_clock"]["device"]
    assert v["train_hours"] == pytest.approx(m["train_seconds"] / 3600)
    json.dumps(m)
    # the same run evaluated again gives the same numbers (fixed latents, seeded KID subsets)
    m2 = M.evaluate_run(tmp_path / "run", str(tmp_path / "ref.npz"), [8, 16], ev, "smoke")
    assert {k: m2["values"][k] for k in v if "@" in k or k in ("is", "ms_ssim")} == \
        {k: v[k] for k in v if "@" in k or k in ("is", "ms_ssim")}
    # real features requested without the weights: fails at once, naming the URL and where to put the file
    missing = tmp_path / "data" / "weights" / I.INCEPTION_FILE
    with pytest.raises(I.WeightsUnavailable, match="nvlabs-fi-cdn") as e:
        M.evaluate_run(tmp_path / "run", str(tmp_path / "ref.npz"), [8], {**ev, "features": "inception"}, "full",
                       weights=missing)
    assert str(missing.resolve()) in str(e.value)


def test_report_time_columns_and_smoke_label(cfg, tmp_path):
    from ganrepro.spec import tables as T
    from ganrepro.util.io import write_json
    from ganrepro.report.render import render_markdown
    from ganrepro.verdicts.cells import evaluate_table

    cfg["scale"] = "full"
    cfg["paths"] = {"results": str(tmp_path / "results"), "data": str(tmp_path / "data")}
    spec = T.get_spec("glgan_table1")
    for seed in C.seeds(cfg, "glgan_celeba128"):
        write_json(f"{C.run_dir(cfg, 'glgan_celeba128', 'wgan_gp', 'default', seed)}/metrics.json",
                   {"status": "finished", "comparable": False, "label": "smoke features: not comparable",
                    "values": {"fid@10000": 30.0, "train_hours": 2.0},
                    "wall_clock": {"device": "NVIDIA H100", "train_seconds": 7200.0}})
    md = render_markdown(spec, cfg, evaluate_table(spec, cfg))
    assert "| WGAN-GP | time(hrs) | train_hours | 47.52 h (NVIDIA Tesla V100) | 2 ± 0 (n=3) h (NVIDIA H100) |" in md
    assert "| WGAN-QC | time(hrs) | train_hours | 14.4 h (NVIDIA TITAN Xp) | - |" in md
    assert "| WGAN-GP | FID(128) | fid | 30.37 | 30 ± 0 (n=3) | -0.37 | not comparable | smoke features: not " \
           "comparable |" in md


def test_image_metrics_do_not_import_torchvision_or_dynamo():
    """An evaluation / curve job computes FID, KID, IS and MS-SSIM without importing cleanfid.fid, and through it
    torchvision and torch._dynamo (about 1.4 s of every such job): ganrepro.metrics.fid_formulas restates its formulas."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, torch; from ganrepro.metrics import images as M; torch.manual_seed(0); "
            "G = torch.nn.Sequential(torch.nn.Linear(4, 3 * 16 * 16), torch.nn.Tanh(), torch.nn.Unflatten(1, (3, 16, 16))); "
            "f = np.random.default_rng(0).normal(size=(40, 32)); "
            "ref = {'mu': f.mean(0), 'sigma': np.cov(f, rowvar=False), 'feats': f, 'count': 40, 'path': 'ref.npz'}; "
            "ev = {'features': 'standin', 'fid_mode': 'clean', 'is_samples': 16, 'ms_ssim_pairs': 4, "
            "'kid_subsets': 2, 'sample_batch': 16}; "
            "v, p = M.image_metrics(G, 4, 'cpu', 0, ev, [16], ref); "
            "print(sorted(v), [m in sys.modules for m in ('torchvision', 'cleanfid.fid', 'torch._dynamo')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == ("['fid@16', 'is', 'is_std', 'kid@16', 'ms_ssim', 'ms_ssim_std'] "
                           "[False, False, False]")
