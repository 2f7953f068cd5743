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


def test_paper_fallback_gives_back_the_anchor_hours(full_cfg):
    """GL-GAN's own row prices at its printed V100 hours (12.24 h at 128 px, 5.04 h at 64 px) per run."""
    rows, _ = cost.estimate(full_cfg, "glgan_table1", bench=Path("/nonexistent"))
    by = {(r.experiment, r.method): r for r in rows}
    gl128, gl64 = by[("glgan_celeba128", "glgan")], by[("glgan_celeba64", "glgan")]
    assert gl128.source == "paper (own V100 hours)"
    assert gl128.hours / len(gl128.seeds) == pytest.approx(12.24) and gl64.hours / 3 == pytest.approx(5.04)
    # a method without hours of its own: the median anchor, scaled by batch x pixels x updates
    lga = next(r for r in cost.estimate(full_cfg, "lga_table2", bench=Path("/nonexistent"))[0] if r.method == "lga")
    assert lga.source == "paper (median V100 anchor)" and lga.hours > 0


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
    assert gl.hours == pytest.approx(2.0 * gl.steps * 2 / 3600)


def test_benchmark_json_prices_a_matching_run(full_cfg, tmp_path):
    bench = tmp_path / "benchmarks.json"
    bench.write_text(json.dumps({"device_name": "NVIDIA H200", "steps": [
        {"method": "sagan", "variant": "default", "resolution": 64, "batch_size": 64, "step_s": 0.05}]}))
    rows, _ = cost.estimate(full_cfg, "glgan_table1", gpu="H200", bench=bench)
    sagan = {r.experiment: r for r in rows if r.method == "sagan"}
    assert sagan["glgan_celeba64"].source == "benchmark (NVIDIA H200)"
    assert sagan["glgan_celeba64"].seconds_per_step == 0.05
    assert "no H200 measurement" in sagan["glgan_celeba128"].source  # no 128 px row: the V100 figure, flagged


def test_cost_cli_prints_the_runs_and_the_total(capsys):
    from ganrepro.cli import main

    assert main(["cost", "brc_table_mog_ring5"]) == 0
    out = capsys.readouterr().out
    assert "brc_ring5/vgan/brc_gn" in out and "[cpu]" in out and out.rstrip().splitlines()[-1].startswith("total")


def test_readme_states_the_cost_of_all(full_cfg):
    """The README's total is what `python -m ganrepro cost all` prints on a checkout without finished runs."""
    rows, notes = cost.estimate(full_cfg, "all")
    total = cost.render(rows, notes, "all", "V100").splitlines()[-1 - len(notes)]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"    {total}\n" in readme
