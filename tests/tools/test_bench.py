"""ganrepro.tools.bench (the benchmark target): which step is compared with which, and that the pieces run and render.
Timings are never asserted."""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from ganrepro.tools import bench


@pytest.mark.parametrize("mv,base", [
    (("vgan", "brc"), ("vgan", "plain")), (("vgan", "brc_gn"), ("vgan", "plain")),
    (("dcgan", "ns_brc"), ("dcgan", "ns")), (("vgan", "brc_rf"), ("vgan", "rf")),
    (("glgan", "patch8"), ("glgan", "base")), (("glgan", "patch8_adaop"), ("glgan", "patch8")),
    (("glgan", "patch4_adaop_code"), ("glgan", "patch4")), (("lga", "lga4"), ("wgan_gp", "default")),
    (("lga", "sngan_lga4"), ("sngan", "default")), (("hdcgan", "cap8"), ("hdcgan", "default")),
    (("sngan", "default"), None), (("wgan_gp", "default"), None), (("glgan", "base"), None),
])
def test_baseline_of(mv, base):
    assert bench.baseline_of(*mv) == base


def test_every_variant_is_timed_or_listed_and_baselines_share_the_experiment(base_cfg):
    from ganrepro.methods import registry

    cases, skipped = bench.step_cases(base_cfg)
    timed = {(c.method, c.variant) for c in cases}
    every = {(m, v) for m in registry.registered() for v in registry.get(m).variants}
    assert every == timed | {tuple(s.split("/")) for s in skipped}
    keys = {(c.experiment, c.method, c.variant) for c in cases}
    assert all((c.experiment, *c.baseline) in keys for c in cases if c.baseline)


def test_steps_render_with_ratios(base_cfg):
    cases = [bench.Case("brc_ring8", "vgan", "plain"), bench.Case("brc_ring8", "vgan", "brc", ("vgan", "plain"))]
    bench.time_steps(base_cfg, cases, "cpu", repeats=2, warmup=0)
    rows = bench.step_rows(cases)
    assert [len(c.times) for c in cases] == [2, 2] and rows[1]["baseline"] == "vgan/plain"
    assert rows[1]["ratio_of_medians"] == pytest.approx(rows[1]["step_s"] / rows[0]["step_s"], rel=1e-2)
    assert rows[0]["batch_size"] == 512 and rows[0]["resolution"] == 0  # the mixtures at their own size
    res = {"device": "cpu", "device_name": "cpu", "torch": "x", "threads": 1, "hardware": {}, "steps": rows,
           "loader": bench.bench_loader(n=64, res=16, batch=8, batches=4)}
    md = bench.render_markdown(res)
    assert "| brc_ring8 | vgan/brc | 0 | 512 | 1 |" in md and "images/s" in md


def test_image_steps_are_capped_to_a_cpu_size(base_cfg):
    cases = [bench.Case("lga_celeba64", "wgan_gp", "default")]
    bench.time_steps(base_cfg, cases, "cpu", repeats=1, warmup=0)
    info = cases[0].info
    assert (info["resolution"], info["batch_size"], info["n_critic"]) == (32, 8, 5)


def test_benchmarks_rule_in_the_dag(tmp_path):
    exe = Path(sys.executable).with_name("snakemake")
    out = subprocess.run([str(exe), "-s", str(ROOT / "Snakefile"), "-d",
                          str(tmp_path), "--configfile", str(ROOT / "config" / "config.yaml"), "--cores", "2", "-n",
                          "benchmarks"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "rule benchmarks:" in out.stdout and "report/benchmarks.md" in out.stdout


def test_fast_path_switches_are_timed_against_the_default(base_cfg):
    res = bench.bench_fast(base_cfg, "cpu", repeats=1, warmup=0, n_images=32)
    sw = res["switches"]
    assert set(sw) == {"default", "prefetch", "data_on_device", "z_on_device", "fused_adam", "bf16", "channels_last"}
    assert sw["default"]["ratio_to_default"] == 1.0 and all(x["step_s"] > 0 for x in sw.values())
    md = bench.render_markdown({"device": "cpu", "device_name": "cpu", "torch": "x", "threads": 1, "hardware": {},
                                "fast_path": res})
    assert "| prefetch |" in md


def test_ratio_is_the_median_of_per_round_paired_ratios():
    """Round k of a case is paired with round k of its baseline: a slow round (load) hits both and cancels."""
    base = bench.Case("e", "m", "a", times=[1.0, 2.0, 10.0])
    case = bench.Case("e", "m", "b", ("m", "a"), times=[1.1, 2.2, 11.0])
    rows = bench.step_rows([base, case])
    assert rows[1]["ratio"] == pytest.approx(1.1) and rows[1]["ratio_of_medians"] == pytest.approx(1.1)
    case.times = [1.5, 2.1, 10.0]  # per-round ratios 1.5, 1.05, 1.0 -> median 1.05; medians 2.1 / 2.0
    rows = bench.step_rows([base, case])
    assert rows[1]["ratio"] == pytest.approx(1.05) and rows[1]["ratio_of_medians"] == pytest.approx(1.05)
    case.times = [1.0, 3.0, 10.0]  # ratios 1, 1.5, 1 -> 1.0; medians 3 / 2 = 1.5
    rows = bench.step_rows([base, case])
    assert rows[1]["ratio"] == pytest.approx(1.0) and rows[1]["ratio_of_medians"] == pytest.approx(1.5)


def test_min_seconds_adds_rounds_and_steady_phase_contexts(base_cfg, monkeypatch):
    """More timed rounds than ``repeats`` until ``min_seconds`` of steps (capped); each context starts at the run's
    last epoch with the method's bench_state: GL-GAN's paper rule runs Ada-OP (not its calibration) at every step."""
    cases = [bench.Case("brc_ring8", "vgan", "plain")]
    bench.time_steps(base_cfg, cases, "cpu", repeats=1, warmup=0, min_seconds=1e9)
    assert len(cases[0].times) == 40
    from ganrepro.methods.papers import glgan

    calls, seen = [], []
    ada_op = glgan.ada_op
    monkeypatch.setattr(glgan, "ada_op", lambda *a, **k: calls.append(1) or ada_op(*a, **k))
    cases = [bench.Case("glgan_celeba128", "glgan", "patch4_adaop")]
    bench.time_steps(base_cfg, cases, "cpu", repeats=2, warmup=2, cpu_resolution=16, cpu_batch=4,
                     width_scale=0.125, before=lambda c: seen.append(len(calls)))
    assert len(cases[0].times) == 2 and seen == [0, 1, 2, 3] and len(calls) == 4  # Ada-OP at every step


def test_comparison_groups_link_cases_through_their_baselines():
    cases = [bench.Case("e", "glgan", "base"), bench.Case("e", "glgan", "patch8", ("glgan", "base")),
             bench.Case("e", "glgan", "patch8_adaop", ("glgan", "patch8")), bench.Case("e", "wgan_qc", "default"),
             bench.Case("f", "glgan", "base"), bench.Case("e", "lga", "lga4", ("wgan_gp", "default")),
             bench.Case("e", "wgan_gp", "default")]
    groups = [[(c.experiment, c.method, c.variant) for c in g] for g in bench.comparison_groups(cases)]
    assert sorted(groups) == sorted([[("e", "glgan", "base"), ("e", "glgan", "patch8"), ("e", "glgan", "patch8_adaop")],
                                     [("e", "wgan_qc", "default")], [("f", "glgan", "base")],
                                     [("e", "lga", "lga4"), ("e", "wgan_gp", "default")]])
