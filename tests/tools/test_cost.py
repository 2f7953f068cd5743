"""ganrepro.tools.cost: the runs a target would train, their steps, and the hours from each source in order."""
import json
from pathlib import Path

import pytest

from ganrepro.config import config as C
from ganrepro.tools import cost


def test_steps_are_counted_as_the_training_loop_counts_them(full_cfg):
    from ganrepro.train.loop import _total_steps

    for exp, m, v in [("glgan_celeba128", "wgan_gp", "default"), ("lga_lsunbedroom64", "lga", "lga4"),
                      ("brc_ring8", "vgan", "brc")]:
        rc = C.resolve_run(full_cfg, exp, m, v, 0)
        n = C.dataset_count(full_cfg, rc["dataset"]) or 0
        assert cost.run_steps(full_cfg, rc) == _total_steps({**rc["train"], "n_critic": rc["method_params"].get(
            "n_critic", 1)}, n)
    rc = C.resolve_run(full_cfg, "glgan_celeba128", "wgan_gp", "default", 0)
    assert cost.run_steps(full_cfg, rc) == 30 * (202599 // 64) // 5  # 30 epochs, batch 64, n_critic 5


def test_target_runs_are_the_tables_runs(full_cfg):
    runs = cost.runs_of_target(full_cfg, "glgan_table1")
    assert ("glgan_celeba128", "glgan", "patch4_adaop", [0, 1, 2]) in runs and len(runs) == 10
    assert {r[:3] for r in cost.runs_of_target(full_cfg, "glgan")} >= {r[:3] for r in runs}
    with pytest.raises(C.ConfigError, match="unknown target 'glgan_tabel1'"):
        cost.runs_of_target(full_cfg, "glgan_tabel1")


def test_calibration_on_a_toy_paper_hours_table_gives_the_expected_rate():
    """1 TFLOP per step x 3600 steps in 1 h is 1 TFLOP/s; 2 TFLOP per step x 3600 steps in 4 h is 0.5 TFLOP/s."""
    A = cost.Anchor
    anchors = [A("t", "m1", ("e", "m1", "v"), "V100", 1.0, 3600, 10 ** 12),
               A("t", "m2", ("e", "m2", "v"), "V100", 4.0, 3600, 2 * 10 ** 12),
               A("t", "m3", ("e", "m3", "v"), "V100", 1.0, 3600, 20 * 10 ** 12),      # 20 TFLOP/s > the fp32 peak
               A("t", "m1", ("e", "m1", "w"), "TITAN Xp", 1.0, 3600, 5 * 10 ** 12)]
    assert anchors[0].rate == 1e12 and anchors[1].rate == 0.5e12 and not anchors[2].plausible
    assert cost.calibrated_rates(anchors, "V100", "m1") == ([1e12], "own")
    assert cost.calibrated_rates(anchors, "V100", "other") == ([1e12, 0.5e12], "all")
    assert cost.calibrated_rates(anchors, "TITAN Xp", "m2") == ([5e12], "all")


def test_paper_calibration_gives_back_the_anchor_hours(full_cfg):
    """GL-GAN's own 128 px row is its fastest anchor: the range's low end is its printed 12.24 V100 hours per seed."""
    rows, _ = cost.estimate(full_cfg, "glgan_table1", bench=Path("/nonexistent"))
    by = {(r.experiment, r.method): r for r in rows}
    gl128, sagan = by[("glgan_celeba128", "glgan")], by[("glgan_celeba64", "sagan")]
    assert gl128.source.startswith("paper (own V100 hours")
    assert gl128.hours_low / len(gl128.seeds) == pytest.approx(12.24) and gl128.hours_high > gl128.hours_low
    assert sagan.hours_low / 3 <= 12.96 <= sagan.hours_high / 3 + 1e-9
    assert gl128.floor_sps == pytest.approx(gl128.flops / 125e12)   # the V100's 16-bit tensor peak
    # WGAN-QC's 128 px hours imply more than the V100's fp32 peak: left out of the calibration, so it is priced by
    # all the other anchors
    assert by[("glgan_celeba128", "wgan_qc")].source.startswith("paper (all V100 hours")


def test_a_gpu_without_anchors_scales_the_v100_calibration_by_its_peaks(full_cfg):
    rows, _ = cost.estimate(full_cfg, "glgan_table1", gpu="A100", bench=Path("/nonexistent"))
    v100, _ = cost.estimate(full_cfg, "glgan_table1", bench=Path("/nonexistent"))
    a, v = rows[0], v100[0]
    assert "stated-peak ratio 1.2-2.5; no A100 measurement" in a.source
    assert a.sps_low == pytest.approx(v.sps_low / (312 / 125)) and a.sps_high == pytest.approx(v.sps_high / (19.5 / 15.7))


def test_a_run_without_a_flops_count_falls_back_to_the_old_rule_flagged(full_cfg, monkeypatch):
    from ganrepro.tools import stepflops

    monkeypatch.setattr(stepflops, "step_flops_many", lambda cfg, runs: {r: "not counted: test" for r in runs})
    rows, notes = cost.estimate(full_cfg, "glgan_table1", bench=Path("/nonexistent"))
    gl = next(r for r in rows if (r.experiment, r.method) == ("glgan_celeba128", "glgan"))
    assert gl.source.startswith("OLD RULE") and gl.hours / 3 == pytest.approx(12.24) and gl.sps_low == gl.sps_high
    assert any("OLD RULE" in n for n in notes)


def _finish(cfg, exp, m, v, seed, gpu, seconds, steps):
    d = Path(C.run_dir(cfg, exp, m, v, seed))
    d.mkdir(parents=True)
    (d / "train.json").write_text(json.dumps({"status": "finished", "train_seconds": seconds, "total_steps": steps,
                                              "hardware": {"gpu": gpu}}))


def test_finished_runs_are_excluded_and_price_their_siblings(full_cfg, tmp_path):
    _finish(full_cfg, "glgan_celeba128", "glgan", "patch4_adaop", 0, "Tesla V100-SXM2-32GB", 3600.0, 1800)
    rows, _ = cost.estimate(full_cfg, "glgan_table1", bench=Path("/nonexistent"))
    gl = next(r for r in rows if (r.experiment, r.method) == ("glgan_celeba128", "glgan"))
    assert gl.seeds == [1, 2] and gl.source == "run (V100)" and gl.seconds_per_step == pytest.approx(2.0)
    assert gl.measured and gl.sps_low == gl.sps_high == pytest.approx(2.0)
    assert gl.hours == pytest.approx(2.0 * gl.steps * 2 / 3600)


def test_benchmark_json_prices_a_matching_run_and_the_method_rate_the_others(full_cfg, tmp_path):
    bench = tmp_path / "benchmarks.json"
    f64 = 1922879848448   # SAGAN's step at 64 px, batch 64
    bench.write_text(json.dumps({"device_name": "NVIDIA H200", "steps": [
        {"method": "sagan", "variant": "default", "resolution": 64, "batch_size": 64, "step_s": 0.05, "flops": f64},
        {"experiment": "glgan_celeba64", "method": "sagan", "variant": "default", "resolution": 64, "batch_size": 64,
         "step_s": 0.04, "path": "default", "fast": {"cudnn_benchmark": True}}],
        "sections": {"train_resume": {"run": "glgan_celeba64/sagan/default",
                                      "default_deterministic": {"ms_per_step": 60.0}}}}))
    rows, _ = cost.estimate(full_cfg, "glgan_table1", gpu="H200", bench=bench)
    sagan = {r.experiment: r for r in rows if r.method == "sagan"}
    s64 = sagan["glgan_celeba64"]
    # the row on the same path wins over the cudnn.benchmark one; the loop's overhead 60 / 40 ms on the high side
    assert s64.source == "benchmark (NVIDIA H200)" and s64.measured
    assert (s64.sps_low, s64.sps_high) == (0.05, pytest.approx(0.05 * 1.5))
    s128 = sagan["glgan_celeba128"]   # no 128 px row: the method's achieved rate at 64 px on that GPU
    assert s128.source.startswith("benchmark rate (H200; 1 other rows of sagan)") and not s128.measured
    assert s128.sps_low == pytest.approx(s128.flops / (f64 / 0.05))
    assert s128.floor_sps == pytest.approx(s128.flops / 989e12)


def test_cost_cli_prints_the_runs_and_the_total(capsys):
    from ganrepro.cli import main

    assert main(["cost", "brc_table_mog_ring5"]) == 0
    out = capsys.readouterr().out
    assert "brc_ring5/vgan/brc_gn" in out and "[cpu]" in out and out.rstrip().splitlines()[-1].startswith("total")
    assert main(["cost", "glgan_table2"]) == 0
    out = capsys.readouterr().out
    assert "floor:" in out and "by paper" in out and "old rule" in out


def test_readme_states_the_cost_of_all(full_cfg):
    """The README's total is what `python -m ganrepro cost all` prints on a checkout without finished runs."""
    rows, notes = cost.estimate(full_cfg, "all")
    total = cost.render(rows, notes, "all", "V100").splitlines()[-1]
    assert total == cost.total_line(rows, "V100")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"    {total}\n" in readme
