"""Config validation: bad keys fail before any job with the key named; precedence of settings."""
import copy

import pytest

from ganrepro.config import config as C


def _with(cfg, path, value):
    cfg = copy.deepcopy(cfg)
    node = cfg
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return cfg


def test_shipped_config_is_valid(base_cfg):
    C.validate_config(base_cfg)


@pytest.mark.parametrize("path,value,needle", [
    (("bogus_key",), 1, "unknown key"),
    (("scales", "smoke", "train", "stepz"), 3, "scales.smoke.train"),
    (("scales", "smoke", "train", "steps"), "ten", "scales.smoke.train.steps"),
    (("experiments", "glgan_celeba128", "resolution"), -4, "experiments.glgan_celeba128.resolution"),
    (("scale",), "huge", "config key 'scale'"),
    (("datasets", "cifar10", "format"), "tfrecord", "datasets.cifar10.format"),
    (("datasets", "cifar10", "source", "md5"), "xyz", "datasets.cifar10.source.md5"),
])
def test_schema_rejects_and_names_key(base_cfg, path, value, needle):
    with pytest.raises(C.ConfigError) as e:
        C.validate_config(_with(base_cfg, path, value))
    assert needle in str(e.value)


def test_unknown_method_rejected(base_cfg):
    with pytest.raises(C.ConfigError, match=r"methods.*unknown method 'stylegan9'"):
        C.validate_config(_with(base_cfg, ("methods",), ["dcgan", "stylegan9"]))


def test_unknown_dataset_rejected(base_cfg):
    with pytest.raises(C.ConfigError, match=r"experiments.lga_stl10.dataset.*'stl11'"):
        C.validate_config(_with(base_cfg, ("experiments", "lga_stl10", "dataset"), "stl11"))


def test_unknown_table_rejected(base_cfg):
    with pytest.raises(C.ConfigError, match="unknown table 'glgan_table9'"):
        C.validate_config(_with(base_cfg, ("tables",), ["glgan_table9"]))


def test_table_experiment_must_exist(base_cfg):
    cfg = copy.deepcopy(base_cfg)
    del cfg["experiments"]["glgan_celeba64"]
    with pytest.raises(C.ConfigError, match="glgan_celeba64"):
        C.validate_config(cfg)


def test_resolve_run_precedence(cfg):
    # full scale: the experiment's paper settings, method variant defaults
    cfg["scale"] = "full"
    r = C.resolve_run(cfg, "glgan_celeba128", "wgan_gp", "default", 1)
    # GL-GAN's experiment sets batch and epochs for every row; the optimiser is WGAN-GP's own (train_defaults)
    assert r["train"]["lr_g"] == 1e-4 and r["train"]["betas"] == [0.0, 0.9] and r["train"]["epochs"] == 30
    assert r["resolution"] == 128 and r["method_params"]["gp_lambda"] == 10.0 and r["method_params"]["n_critic"] == 5
    assert r["method_params"]["g_width"] == 64
    # GL-GAN's own optimiser is a per-method override of its experiments
    r = C.resolve_run(cfg, "glgan_celeba128", "glgan", "patch4_adaop", 1)
    assert (r["train"]["lr_g"], r["train"]["lr_d"], r["train"]["betas"]) == (4e-4, 1e-4, [0.5, 0.999])
    # an experiment's train section (LGA: Adam (0, 0.9), lr 1e-4 for every row) beats a method's train_defaults
    assert C.resolve_run(cfg, "lga_cifar10", "sndcgan", "default", 0)["train"]["betas"] == [0.0, 0.9]
    # per-method override inside an experiment
    assert C.resolve_run(cfg, "brc_cifar10", "dcgan", "ns", 0)["train"]["steps"] == 200000
    # smoke scale shrinks everything and wins over the experiment
    cfg["scale"] = "smoke"
    r = C.resolve_run(cfg, "glgan_celeba128", "wgan_gp", "hinge", 0)
    assert r["resolution"] == 16 and r["train"]["steps"] == 20 and r["method_params"]["g_width"] == 8
    assert r["method_params"]["gp_lambda"] == 1.0 and r["train"]["lr_g"] == 1e-4
    cfg["scales"]["smoke"]["train"]["lr_g"] = 3e-3
    assert C.resolve_run(cfg, "glgan_celeba128", "wgan_gp", "hinge", 0)["train"]["lr_g"] == 3e-3


def test_studiogan_cifar_settings_for_brc(cfg):
    """BRC's CIFAR rows follow StudioGAN's CIFAR-10 configs (brc.txt 3.2 -> Kang et al.): docs/brc.md."""
    cfg["scale"] = "full"
    for exp in ("brc_cifar10", "brc_cifar100"):
        for method, variant, loss in (("dcgan", "ns", "ns"), ("dcgan", "ns_brc", "ns"), ("lsgan", "plain", "ls")):
            r = C.resolve_run(cfg, exp, method, variant, 0)
            p = r["method_params"]
            assert (p["arch"], p["d_norm"], p["d_activation"], p["d_pool"], p["g_dense_norm"]) == \
                ("standard_cnn", "batch", "relu", "sum", False)
            assert (p["n_critic"], p["z_dim"], p["loss"], r["train"]["steps"]) == (2, 128, loss, 200000)
            assert (r["train"]["lr_g"], r["train"]["lr_d"], r["train"]["betas"], r["train"]["batch_size"]) == \
                (2e-4, 2e-4, [0.5, 0.999], 64)
        r = C.resolve_run(cfg, exp, "sngan", "brc", 0)
        assert (r["method_params"]["n_critic"], r["method_params"]["z_dim"], r["train"]["steps"]) == (5, 128, 20000)
        assert r["method_params"]["loss"] == "hinge" and r["method_params"]["d_spectral_norm"] is True


def test_planned_runs_smoke_vs_full(cfg):
    smoke = C.planned_runs(cfg)
    cfg["scale"] = "full"
    full = C.planned_runs(cfg)
    assert smoke == full  # the same grid; only the sizes and seeds change
    assert ("lga_cifar10", "wgan_gp", "hinge") in full and ("brc_cifar10", "dcgan", "ns") in full
    assert {m for _, m, _ in full} == set(cfg["methods"])
    assert ("brc_ring5", "vgan", "brc_rf") in full and ("brc_cube27", "vgan", "brc_neumann") in full
    mog = [e for e, _, _ in full if e.startswith("brc_") and not e.startswith("brc_cifar")]
    # BRC's mixtures run 4 seeds (mean +- std as the paper), every other experiment the full scale's 3
    assert sum(len(C.seeds(cfg, e)) for e, _, _ in full) == 3 * (len(full) - len(mog)) + 4 * len(mog)


def test_fid_counts_follow_table_protocol(cfg):
    cfg["scale"] = "full"
    # GL-GAN Table 2 states 50k generated samples for Flowers
    assert C.fid_counts(cfg, "glgan_flowers256", "wgan_gp", "default") == [50000]
    assert C.fid_counts(cfg, "lga_stl10", "wgan_gp", "default") == [10000]
    assert C.real_count(cfg, "lga_stl10") == 5000


@pytest.fixture
def wide_dcgan(monkeypatch):
    """dcgan with a variant that sets its own width and a default latent size (registered as tests/test_train.py
    replaces a method)."""
    from ganrepro.methods import registry
    from ganrepro.methods.registry import Method

    base = registry.get("dcgan")
    variants = {**base.variants, "wide": {**base.variants["ns"], "g_width": 128}}
    monkeypatch.setitem(registry._CACHE, "dcgan", Method(**{**base.__dict__, "variants": variants,
                                                            "defaults": {**base.defaults, "z_dim": 128}}))


def test_variant_beats_method_defaults_and_loses_to_experiment_and_scale(cfg, wide_dcgan):
    cfg["scale"] = "full"
    p = C.resolve_run(cfg, "brc_cifar10", "dcgan", "wide", 0)["method_params"]
    assert cfg["method_defaults"]["g_width"] == 64 and p["g_width"] == 128  # the variant's own value
    assert cfg["method_defaults"]["z_dim"] == 100 and p["z_dim"] == 128  # the method's defaults beat method_defaults
    assert p["d_width"] == cfg["method_defaults"]["d_width"]  # what the method does not set: method_defaults
    cfg["experiments"]["brc_cifar10"]["method"] = {"g_width": 96}
    assert C.resolve_run(cfg, "brc_cifar10", "dcgan", "wide", 0)["method_params"]["g_width"] == 96
    cfg["experiments"]["brc_cifar10"]["methods"]["dcgan"] = {"method": {"g_width": 112}}
    assert C.resolve_run(cfg, "brc_cifar10", "dcgan", "wide", 0)["method_params"]["g_width"] == 112
    cfg["scale"] = "smoke"
    assert C.resolve_run(cfg, "brc_cifar10", "dcgan", "wide", 0)["method_params"]["g_width"] == 8


def test_config_json_records_the_eval_protocol_used():
    """LGA Table 2 computes IS on the same 10k fakes: the run's config.json says so (it said 50000, the default)."""
    cfg = C.load_config(overrides={"scale": "full"})
    r = C.resolve_run(cfg, "lga_cifar10_sngan", "sngan", "default", 0)
    assert r["eval"]["is_samples"] == 10000
    assert r["eval"] == C.eval_protocol(cfg, "lga_cifar10_sngan", "sngan", "default")
    mog = C.resolve_run(cfg, "brc_ring5", "vgan", "brc", 0)  # MoG runs: evaluate.py reads fid_samples from it too
    assert mog["eval"] == C.eval_protocol(cfg, "brc_ring5", "vgan", "brc") and mog["eval"]["fid_samples"] == 512


@pytest.mark.parametrize("path,value,needle", [
    (("method_defaults", "g_witdh"), 64,
     "config key 'method_defaults.g_witdh': no registered method reads parameter 'g_witdh'"),
    (("scales", "smoke", "method", "zdim"), 16, "config key 'scales.smoke.method.zdim': no registered method reads"),
    (("experiments", "lga_cifar10", "method"), {"gp_lamda": 10.0},
     "config key 'experiments.lga_cifar10.method.gp_lamda': no registered method reads parameter 'gp_lamda'"),
    (("experiments", "brc_cifar10", "methods", "dcgan"), {"method": {"gp_lambda": 10.0}},
     "config key 'experiments.brc_cifar10.methods.dcgan.method.gp_lambda': method 'dcgan' does not read parameter "
     "'gp_lambda'"),
])
def test_unread_method_parameter_rejected(base_cfg, path, value, needle):
    with pytest.raises(C.ConfigError) as e:
        C.validate_config(_with(base_cfg, path, value))
    assert needle in str(e.value)


def test_method_parameters_read_by_some_method_accepted(base_cfg):
    cfg = _with(base_cfg, ("experiments", "lga_cifar10", "method"), {"gp_lambda": 5.0})  # wgan_gp reads it
    cfg = _with(cfg, ("experiments", "lga_cifar10", "methods"), {"wgan_gp": {"method": {"gp_lambda": 5.0}},
                                                                   "stylegan9": {"method": {"anything": 1}}})
    C.validate_config(cfg)  # a method not registered yet: its overrides are not checked


def test_cells_of_run_matches_given_keys(full_cfg):
    cells = list(C.cells_of_run(full_cfg, "brc_ring8", "vgan"))
    assert cells and all((c.run["experiment"], c.run["method"]) == ("brc_ring8", "vgan") for _, c in cells)
    assert {c.run["variant"] for _, c in cells} >= {"plain", "brc", "brc_rhg"}
    only = list(C.cells_of_run(full_cfg, "brc_ring8", "vgan", "brc_bda"))
    assert only and {s.id for s, _ in only} == {"brc_table_solver"}
    assert all(c.run for _, c in C.cells_of_run(full_cfg))  # published-only rows have no run
    full_cfg["tables"] = ["brc_table2"]
    assert {s.id for s, _ in C.cells_of_run(full_cfg, "brc_ring8")} == {"brc_table2"}


@pytest.mark.parametrize("edit,needle", [
    (("method: wgan_gp, variant: default", "method: wgan_gpp, variant: default"),
     "glgan_table1.yaml: cell (wgan_gp, fid128) names method 'wgan_gpp', which is neither registered"),
    (("method: wgan_gp, variant: default", "method: wgan_gp, variant: defualt"),
     "glgan_table1.yaml: cell (wgan_gp, fid128): method 'wgan_gp' has no variant 'defualt'"),
])
def test_spec_typo_in_method_or_variant_fails_naming_file_and_cell(base_cfg, tmp_path, monkeypatch, edit, needle):
    """A misspelt method or variant in a table spec used to turn the cells into 'not run' silently."""
    from ganrepro.spec import tables as T

    src = T.TABLES_DIR / "glgan_table1.yaml"
    bad = tmp_path / src.name
    bad.write_text(src.read_text().replace(*edit, 1))
    specs = [T.load_spec(bad) if s.id == "glgan_table1" else s for s in T.load_all()]
    monkeypatch.setattr(T, "load_all", lambda *a, **k: specs)
    with pytest.raises(C.ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        C.validate_config(base_cfg)


def test_planned_methods_are_the_specs_unregistered_ones():
    """Every method a spec names is registered or planned, and no planned method is registered already."""
    from ganrepro.methods import registry
    from ganrepro.spec import tables as T

    named = {c.run["method"] for s in T.load_all() for c in s.cells() if c.run}
    assert named - set(registry.METHOD_MODULES) == set(registry.PLANNED_METHODS)
    assert not set(registry.PLANNED_METHODS) & set(registry.METHOD_MODULES)


def test_smoke_and_full_reports_are_separate(base_cfg):
    """A smoke run after a full-scale one overwrote report/<paper>/<table>.*: each scale now has its own folder."""
    full, smoke = ({**base_cfg, "scale": s} for s in ("full", "smoke"))
    assert C.paths(full)["report"] == "report" and C.paths(smoke)["report"] == "report/smoke"
