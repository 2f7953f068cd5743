"""Adding a method = one module + one registry entry + config (docs/architecture.md "Adding a method"): a toy
method written here, registered, configured and run through the suite's own code with no other edit."""
import json

import pytest

from ganrepro.config import config as C
from ganrepro.methods import registry

TOY = '''"""A toy GAN: the DCGAN pair with the least-squares loss (for tests/methods/test_toy_method.py)."""
from ganrepro.methods.baselines.dcgan import NET_PARAMS, build
from ganrepro.methods.registry import Method


def d_loss(D, real, fake, p, ctx):
    d = ((D(real) - 1) ** 2).mean() + (D(fake) ** 2).mean()
    return d, {"d_real": D(real).mean().detach()}


def g_loss(D, fake, p, ctx):
    return ((D(fake) - 1) ** 2).mean(), {}


METHOD = Method(name="toy", paper="a test", build=build, d_loss=d_loss, g_loss=g_loss, extra_params=NET_PARAMS,
                log_keys={"d_real": "mean"}, defaults={"d_norm": "batch", "n_critic": 1, "loss": "ls"},
                variants={"default": {}, "nonorm": {"d_norm": "none"}})
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "toy_gan.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.METHOD_MODULES, "toy", "toy_gan")   # the one registry line
    monkeypatch.setattr(registry, "VARIANTS_CACHE", tmp_path / "variants.json")
    yield registry.get("toy")
    registry._CACHE.pop("toy", None)


def test_a_new_method_runs_through_the_suite(toy, cfg, smoke_run_cfg, tmp_path):
    from ganrepro.data.loader import load_prepared
    from ganrepro.metrics.images import evaluate_run, reference_stats
    from ganrepro.tools import bench
    from ganrepro.tools.describe import describe
    from ganrepro.train.loop import train

    cfg["methods"] = [*cfg["methods"], "toy"]                       # the config's line
    C.validate_config(cfg)
    assert registry.variant_names("toy") == ("default", "nonorm") and registry.is_runnable("toy", "nonorm")
    run = C.resolve_run(cfg, "lga_cifar10", "toy", "nonorm", 0)
    assert run["method_params"]["d_norm"] == "none" and run["run_id"] == "lga_cifar10/toy/nonorm/seed0"
    run.update(data_dir=smoke_run_cfg["data_dir"], device="cpu")
    run["train"].update(steps=4, batch_size=8, ckpt_every=2, log_every=1)
    out = train(run, tmp_path / "run")
    assert out["status"] == "finished" and (tmp_path / "run" / "samples.png").exists()
    assert "d_real" in (tmp_path / "run" / "log.csv").read_text().splitlines()[0]
    ev = {**run["eval"], "features": "standin", "fid_mode": "clean", "is_samples": 20, "ms_ssim_pairs": 10,
          "kid_subset_size": 10, "kid_subsets": 2}
    reference_stats(load_prepared(run["data_dir"]), tmp_path / "ref.npz", "standin", "clean", "cpu", None)
    m = evaluate_run(tmp_path / "run", str(tmp_path / "ref.npz"), [20], ev, "smoke")
    assert m["status"] == "finished" and m["values"]["fid@20"] >= 0
    assert bench.baseline_of("toy", "nonorm") == ("toy", "default") and bench.baseline_of("toy", "default") is None
    assert "toy" in describe(cfg, "lga_cifar10", "toy", "nonorm", 0)
    json.dumps(m)  # metrics.json material


def test_a_typo_in_the_new_methods_config_fails_before_any_job(toy, cfg):
    cfg["methods"] = [*cfg["methods"], "toy"]
    cfg["experiments"]["lga_cifar10"].setdefault("methods", {})["toy"] = {"method": {"g_widht": 8}}
    with pytest.raises(C.ConfigError, match="g_widht"):
        C.validate_config(cfg)
