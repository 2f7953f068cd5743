"""The BRC benchmark script runs on the real methods and reports ratios measured in the same run.

Only the structure and the arithmetic of the report are asserted (one repeat each); timings themselves are never
asserted in tests.
"""
import importlib.util
import json

import pytest
import torch

from conftest import ROOT

spec = importlib.util.spec_from_file_location("brc_step", ROOT / "benchmarks" / "brc_step.py")
brc_step = importlib.util.module_from_spec(spec)
spec.loader.exec_module(brc_step)


def test_plain_vs_brc_update(tmp_path):
    out = tmp_path / "step.json"
    assert brc_step.main(["--repeats", "1", "--threads", "1", "--only", "VGAN (MoG)", "--out", str(out)]) == 0
    res = json.loads(out.read_text())["results"]
    assert list(res) == ["VGAN (MoG)"]
    r = res["VGAN (MoG)"]
    assert (r["plain_variant"], r["brc_variant"]) == ("plain", "brc")
    assert r["plain_ms"] > 0 and r["brc_ms"] > 0
    assert abs(r["ratio"] - r["brc_ms"] / r["plain_ms"]) < 0.01 * r["ratio"] + 1e-3


def test_thread_count_restored():
    before = torch.get_num_threads()
    brc_step.main(["--repeats", "1", "--threads", "1" if before != 1 else "2", "--only", "VGAN (MoG)"])
    assert torch.get_num_threads() == before


def test_solver_updates_relative_to_iga(tmp_path):
    out = tmp_path / "solvers.json"
    assert brc_step.main(["--solvers", "--repeats", "1", "--threads", "1", "--only", "2D", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["benchmark"] == "brc_solvers"
    r = res["results"]["2D MoG (ring 8)"]
    assert r["experiment"] == "brc_ring8"
    variants = ["brc", "brc_rhg", "brc_bda", "brc_cg", "brc_neumann", "brc_rhg_k10", "brc_bda_k10", "plain"]
    assert r["brc"]["ratio_to_brc"] == 1.0 and set(variants) <= set(r)
    for v in variants:
        assert r[v]["ms"] > 0
        assert abs(r[v]["ratio_to_brc"] - r[v]["ms"] / r["brc"]["ms"]) < 0.01 * r[v]["ratio_to_brc"] + 1e-3


def test_published_solver_ratios_come_from_the_solver_table():
    """The benchmark's 'paper x IGA' column: brc.txt's solver table T over IGA's T (2D: RHG 1083.97 / 107.77), the
    K = 10 reading's columns with the ratio of the solver they read."""
    from ganrepro.tools.bench import published_solver_ratios

    r = published_solver_ratios("brc_ring8")
    assert r["brc"] == 1.0 and r["brc_rhg"] == pytest.approx(1083.97 / 107.77, abs=1e-3)
    assert r["brc_bda_k10"] == r["brc_bda"] == pytest.approx(1512.74 / 107.77, abs=1e-3)
    assert published_solver_ratios("brc_cube27")["brc_cg"] == pytest.approx(373.62 / 94.98, abs=1e-3)
    assert "plain" not in r and published_solver_ratios("brc_ring5") == {}


def test_unrolled_solvers_against_k(base_cfg):
    """RHG / BDA per unroll length K, as multiples of IGA's update measured in the same run."""
    r = brc_step.bench_unroll_k({**base_cfg, "scale": "full"}, ks=(1, 2), repeats=1)
    assert set(r["ratio_to_iga"]) == {"brc_rhg K=1", "brc_rhg K=2", "brc_bda K=1", "brc_bda K=2"}
    assert r["iga_ms"] > 0 and all(x > 0 for x in r["ratio_to_iga"].values())


def test_lga_step_setups_and_stats_through_the_shared_timer(tmp_path):
    """benchmarks/lga_step.py times through ganrepro.tools.bench's step timer: every setup, its ratios, the G-step
    statistics of the LGA setups (a share of map positions in [0, 1]) and n_critic = 5."""
    spec_l = importlib.util.spec_from_file_location("lga_step", ROOT / "benchmarks" / "lga_step.py")
    lga_step = importlib.util.module_from_spec(spec_l)
    spec_l.loader.exec_module(lga_step)
    out = tmp_path / "lga.json"
    assert lga_step.main(["--repeats", "1", "--warmup", "0", "--threads", "1", "--only", "32", "--batch", "2",
                          "--out", str(out)]) == 0
    r = json.loads(out.read_text())["results"]["32 px"]
    assert set(r["seconds"]) == set(lga_step.SETUPS) and all(t > 0 for t in r["seconds"].values())
    assert set(r["n_critic"].values()) == {5}
    assert set(r["g_step_stats"]) == set(lga_step.LGA_SETUPS)
    assert all(0.0 <= st["lga_unrealistic"] <= 1.0 for st in r["g_step_stats"].values())
    assert r["paired_ratios"]["lga4/map4_hinge"] == pytest.approx(r["seconds"]["lga4"] / r["seconds"]["map4_hinge"],
                                                                  rel=0.02, abs=1e-3)


def test_no_registered_variant_syncs_the_host_between_log_steps(tmp_path):
    """benchmarks/host_syncs.py over every registered method and variant: 0 per step (the README's claim)."""
    spec_h = importlib.util.spec_from_file_location("host_syncs", ROOT / "benchmarks" / "host_syncs.py")
    host_syncs = importlib.util.module_from_spec(spec_h)
    spec_h.loader.exec_module(host_syncs)
    out = tmp_path / "syncs.json"
    assert host_syncs.main(["--steps", "1", "--out", str(out)]) == 0
    res = json.loads(out.read_text())["results"]
    from ganrepro.methods import registry

    assert set(res) == {f"{m}/{v}" for m in registry.registered() for v in registry.get(m).variants}
    # 0 for every variant but those that declare (with a reason) the transfers their algorithm needs: exactly those
    assert {k: r["syncs_per_step"] for k, r in res.items() if r["syncs_per_step"] != r["declared_per_step"]} == {}
    assert all(r.get("reason") for r in res.values() if r["declared_per_step"])


def test_glgan_step_variants_and_adaop_branch(tmp_path):
    """benchmarks/glgan_step.py: every variant timed, the ratios reported, and the timed paper-rule Ada-OP steps
    took the local (masked) branch, not the calibration phase's global one."""
    spec_g = importlib.util.spec_from_file_location("glgan_step", ROOT / "benchmarks" / "glgan_step.py")
    glgan_step = importlib.util.module_from_spec(spec_g)
    spec_g.loader.exec_module(glgan_step)
    out = tmp_path / "glgan.json"
    before = torch.get_num_threads()
    assert glgan_step.main(["--repeats", "1", "--warmup", "1", "--threads", "1", "--only", "64", "--batch", "4",
                            "--out", str(out)]) == 0
    assert torch.get_num_threads() == before
    res = json.loads(out.read_text())
    assert res["benchmark"] == "glgan_step" and "cpu_count" in res["hardware"]
    assert list(res["results"]) == ["64 px"]
    r = res["results"]["64 px"]
    assert (r["experiment"], r["resolution"], r["batch_size"]) == ("glgan_celeba64", 64, 4)
    s = r["seconds"]
    assert set(s) == {"base", "patch8", "patch8_adaop", "patch8_adaop_code"}
    assert all(t > 0 for t in s.values())
    for name, a, b in [("patch8/base", "patch8", "base"), ("patch8_adaop/patch8", "patch8_adaop", "patch8"),
                       ("patch8_adaop/base", "patch8_adaop", "base"),
                       ("patch8_adaop_code/patch8", "patch8_adaop_code", "patch8")]:
        assert abs(r["ratios"][name] - s[a] / s[b]) < 0.01 * r["ratios"][name] + 1e-3
    assert abs(r["adaop_overhead_over_patch8_pct"] - 100 * (r["ratios"]["patch8_adaop/patch8"] - 1)) < 1.0
    b = r["timed_branch"]["patch8_adaop"]
    assert b["local_share"] == 1.0 and b["global"] == 0.0 and b["masked"] > 0
    assert 0.0 <= r["timed_branch"]["patch8_adaop_code"]["local_share"] <= 1.0


def test_baseline_step_groups_and_ot_share(tmp_path):
    """benchmarks/baseline_step.py: every baseline of a group timed at its table's batch, ratios to the reference
    row, and WGAN-QC's OT solve share in (0, 1)."""
    spec_b = importlib.util.spec_from_file_location("baseline_step", ROOT / "benchmarks" / "baseline_step.py")
    baseline_step = importlib.util.module_from_spec(spec_b)
    spec_b.loader.exec_module(baseline_step)
    out = tmp_path / "baselines.json"
    assert baseline_step.main(["--repeats", "1", "--warmup", "0", "--threads", "1", "--only", "64",
                               "--width-scale", "0.0625", "--out", str(out)]) == 0
    res = json.loads(out.read_text())["results"]
    assert [r["group"] for r in res] == ["GL-GAN Table 1, CelebA 64", "LGA Table 1, CelebA 64"]
    rows = res[0]["rows"]
    assert set(rows) == {"WGAN-GP", "SNDCGAN", "SAGAN", "WGAN-QC"}
    assert all(r["batch_size"] == 64 and r["seconds"] > 0 and r["g_width"] == 4 for r in rows.values())
    assert rows["WGAN-GP"]["ratio_to_WGAN-GP"] == 1.0 and rows["WGAN-GP"]["n_critic"] == 5
    assert 0 < rows["WGAN-QC"]["ot_share"] < 1 and rows["WGAN-QC"]["ot_seconds"] > 0
    assert "ot_share" not in rows["SNDCGAN"]


def test_curve_share_counts_the_papers_points_and_adds_up(tmp_path):
    """benchmarks/curve_share.py on LGA Fig. 2(a) (CIFAR-10, FID every 10 of 100 epochs): the steps and points of
    each run from the config, one evaluation timed through the real image_metrics path, and the share formula."""
    spec_c = importlib.util.spec_from_file_location("curve_share", ROOT / "benchmarks" / "curve_share.py")
    curve_share = importlib.util.module_from_spec(spec_c)
    spec_c.loader.exec_module(curve_share)
    out = tmp_path / "curve_share.json"
    assert curve_share.main(["--repeats", "1", "--threads", "1", "--experiments", "lga_cifar10", "--width-scale",
                             "0.0625", "--fractions", "0.0002", "0.0004", "--detector", "standin",
                             "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    runs = {(r["method"], r["variant"]): r for r in res["runs"]}
    assert ("wgan_gp", "default") in runs and ("lga", "lga8") in runs and ("geogan", "default") in runs
    whole, point = res["evaluations"]  # metrics.json's protocol, then the curve's (FID at the table's 10k only)
    assert len(whole["seconds_at_fractions"]) == 2 and whole["protocol"]["fid_counts"] == [10000, 50000]
    # LGA's protocol: FID/KID features of 50k images and IS on 50k, so 100k detector passes over 50k images
    assert (whole["flops"]["images"], whole["flops"]["detector_passes"]) == (50000, 100000)
    assert point["protocol"]["metrics"] == ["fid"] and (point["flops"]["images"], point["flops"]["detector_passes"]) \
        == (10000, 10000)
    for r in runs.values():
        n_critic = 5  # every LGA Table 1 row trains D 5 times per G step (WGAN-GP's setting)
        assert r["steps"] == -(-100 * (50000 // 64) // n_critic)  # 100 epochs of 781 batches, over n_critic
        assert r["points"] == 10 and r["seeds"] == 3  # every 10 epochs; the 100th is the last step
        train, ev, pt = r["steps"] * r["step_seconds"], r["evaluation_seconds"], r["point_seconds"]
        assert abs(r["curve_share"] - 10 * pt / (train + ev + 10 * pt)) < 2e-3
        assert abs(r["curve_share_whole_protocol"] - 10 * ev / (train + 11 * ev)) < 2e-3
        ft, fe, fp = r["training_flops"], r["evaluation_flops"], r["point_flops"]
        assert r["step_gflops"] > 0 and abs(r["curve_share_flops"] - 10 * fp / (ft + fe + 10 * fp)) < 2e-3
    # which runs: every full-scale run with eval points; HDCGAN's 512 px ones only when asked for
    from ganrepro.config.config import load_config

    cfg = load_config(overrides={"scale": "full"})
    lga_brc = {"brc_cifar10", "brc_cifar100", "lga_cifar10", "lga_stl10", "lga_celeba64", "lga_lsunbedroom64"}
    assert {r["experiment"] for r in curve_share.curve_runs(cfg, None, 128)} == lga_brc
    assert {r["experiment"] for r in curve_share.curve_runs(cfg, None, 0)} == lga_brc | {"hdcgan_celeba512"}
    # LGA's 9 Table 1 rows x 4 datasets + BRC's LSGAN pair on CIFAR-10 and -100 (Fig. 4), HDCGAN's 3 readings
    assert len(curve_share.curve_runs(cfg, None, 0)) == 36 + 4 + 3


def test_hdcgan_step_cpu_memory_model_and_gpu_record(tmp_path):
    """benchmarks/hdcgan_step.py at tiny sizes: the CPU step timed through train_step, images/s = batch / median,
    the meta-device memory and FLOP model, and the GPU section timed with CUDA or recorded as absent without."""
    spec_h = importlib.util.spec_from_file_location("hdcgan_step", ROOT / "benchmarks" / "hdcgan_step.py")
    hdcgan_step = importlib.util.module_from_spec(spec_h)
    spec_h.loader.exec_module(hdcgan_step)
    out = tmp_path / "hdcgan.json"
    before = torch.get_num_threads()
    assert hdcgan_step.main(["--repeats", "1", "--warmup", "0", "--threads", "1", "--cpu-res", "16", "--gpu-res",
                             "32", "--batch", "2", "--width", "4", "--out", str(out)]) == 0
    assert torch.get_num_threads() == before
    res = json.loads(out.read_text())
    assert res["benchmark"] == "hdcgan_step" and "start" in res["loadavg_1min"]
    cpu, mem, gpu = (res["results"][k] for k in ("cpu", "memory_model", "gpu"))
    assert (cpu["experiment"], cpu["resolution"], cpu["batch_size"], cpu["g_width"]) == ("hdcgan_celeba512", 16, 2, 4)
    assert cpu["seconds"] > 0 and abs(cpu["images_per_s"] - 2 / cpu["seconds"]) < 0.02 * cpu["images_per_s"]
    assert mem["resolution"] == 32 and mem["params"] > 0
    assert mem["weights_grads_adam_fp32_bytes"] == 16 * mem["params"]
    assert all(v > 0 for v in mem["saved_activations_bytes"].values()) and mem["flops"]["step"] > 0
    if torch.cuda.is_available():
        assert set(gpu["settings"]) == {"fp32", "bf16_autocast", "channels_last", "bf16_autocast+channels_last"}
    else:
        assert gpu["present"] is False and "no GPU present" in gpu["note"]


def test_loader_throughput_512_random_batches(tmp_path):
    """benchmarks/loader_throughput.py --hdcgan512 on a tiny fixture: both read paths from the page cache and from
    disk (the file's pages dropped first), and the fixture deleted afterwards."""
    spec_l = importlib.util.spec_from_file_location("loader_throughput", ROOT / "benchmarks" / "loader_throughput.py")
    lt = importlib.util.module_from_spec(spec_l)
    spec_l.loader.exec_module(lt)
    r = lt.bench_hdcgan512(n=70, tmp_root=str(tmp_path))
    assert (r["resolution"], r["batch"], r["images"]) == (512, 32, 70)
    for key in [f"{how}_{tier}" for how in ("read", "uint8", "sampler") for tier in ("page_cache", "disk")]:
        assert r[key]["batches"] == 2 and r[key]["images_per_s"] > 0, key
    assert "page_cache_dropped_gib" in r["uint8_disk"] and "page_cache_dropped_gib" not in r["uint8_page_cache"]
    assert list(tmp_path.iterdir()) == []  # the fixture is gone
