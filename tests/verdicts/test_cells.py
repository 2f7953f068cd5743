"""Cell verdicts on hand-made metrics (issue 31, findings 17-20): "better than published" counted apart, MS-SSIM on
|Δ|, training time as a multiple of the reference row, a reading's row never compared with itself."""
import json
from pathlib import Path

import pytest

from ganrepro.config import config as C
from ganrepro.report.render import reading_rows, render_markdown
from ganrepro.spec import tables as T
from ganrepro.spec.tables import Verdict
from ganrepro.verdicts.cells import decide, evaluate_readings, evaluate_table


def _write(cfg, run, seed, **m):
    d = Path(C.run_dir(cfg, run["experiment"], run["method"], run["variant"], seed))
    d.mkdir(parents=True, exist_ok=True)
    (d / "metrics.json").write_text(json.dumps({"status": "finished", "comparable": True, **m}))


def _cell(spec, row, col):
    return next(c for c in spec.cells() if (c.row_id, c.col_id) == (row, col))


def _result(results, row, col):
    return next(r for r in results if (r.cell.row_id, r.cell.col_id) == (row, col))


@pytest.mark.parametrize("metric,delta,allowed,verdict", [
    ("fid", 2.0, 3.0, Verdict.REPRODUCED),              # within
    ("fid", -5.0, 3.0, Verdict.BETTER_THAN_PUBLISHED),  # lower FID, beyond the allowed difference
    ("fid", 5.0, 3.0, Verdict.NOT_REPRODUCED),
    ("modes", 4.5, 0.5, Verdict.BETTER_THAN_PUBLISHED),  # higher is better: LCGAN 8 modes vs 3.50 published
    ("ms_ssim", -0.10, 0.02, Verdict.NOT_REPRODUCED),  # two-sided: far below is not better
    ("ms_ssim", 0.01, 0.02, Verdict.REPRODUCED),
])
def test_decide(metric, delta, allowed, verdict):
    assert decide(metric, delta, allowed) == verdict


def test_a_baseline_stronger_than_published_is_its_own_verdict(full_cfg):
    """BRC Table 2, LCGAN without BRC: 8 modes found against 3.50 ± 1.00 published was "reproduced"."""
    spec = T.get_spec("brc_table2")
    cell = _cell(spec, "lcgan", "ring8_modes")
    for seed in C.cell_seeds(full_cfg, cell.run):
        _write(full_cfg, cell.run, seed, values={"modes": 8.0, "js": 0.08, "fid@512": 0.01})
    r = _result(evaluate_table(spec, full_cfg), "lcgan", "ring8_modes")
    assert r.cell.published.mean == 3.50 and r.mean == 8.0
    assert r.verdict == "better than published"
    assert "| better than published |" in render_markdown(spec, full_cfg, evaluate_table(spec, full_cfg))


def test_ms_ssim_is_judged_on_the_absolute_difference(full_cfg):
    """HDCGAN Table 1: structureless samples score a low MS-SSIM; far below the published value is not reproduced."""
    spec = T.get_spec("hdcgan_table1")
    cell = next(c for c in spec.cells() if c.metric == "ms_ssim" and c.run and c.run["method"] == "hdcgan"
                and c.published is not None)
    for seed, v in enumerate([0.05, 0.06, 0.07][:len(C.cell_seeds(full_cfg, cell.run))]):
        _write(full_cfg, cell.run, seed, values={"ms_ssim": v})
    r = _result(evaluate_table(spec, full_cfg), cell.row_id, cell.col_id)
    assert r.delta < -0.1 and r.verdict == "not reproduced"


def test_time_is_judged_as_a_multiple_of_the_ours_row(full_cfg):
    """GL-GAN Table 1: WGAN-GP 47.52 h and OURS 12.24 h on a V100 (ratio 3.88). A GPU 4x faster than a V100 gives
    11.9 h for WGAN-GP, which "better counts" used to call reproduced whatever OURS took; now the ratio is judged."""
    spec = T.get_spec("glgan_table1")
    wg, ours = _cell(spec, "wgan_gp", "time128"), _cell(spec, "ours", "time128")
    dev = {"wall_clock": {"device": "NVIDIA H200"}}

    def run(wg_hours, ours_hours, ours_dev="NVIDIA H200"):
        for seed in C.cell_seeds(full_cfg, wg.run):
            _write(full_cfg, wg.run, seed, values={"train_hours": wg_hours}, **dev)
        for seed in C.cell_seeds(full_cfg, ours.run):
            _write(full_cfg, ours.run, seed, values={"train_hours": ours_hours}, wall_clock={"device": ours_dev})
        res = evaluate_table(spec, full_cfg)
        return _result(res, "wgan_gp", "time128"), _result(res, "ours", "time128")

    r, o = run(11.9, 11.9)  # as fast as OURS: ratio 1.0 vs the paper's 3.88, the baseline relatively faster
    assert r.ratio_published == pytest.approx(47.52 / 12.24) and r.ratio_reproduced == pytest.approx(1.0)
    assert r.verdict == "better than published" and "multiple of OURS" in r.note
    r, _ = run(11.9, 1.5)  # ratio 7.9: more than 1.5 x the paper's
    assert r.verdict == "not reproduced"
    assert o.verdict == "not comparable" and "NVIDIA Tesla V100" in o.note and "NVIDIA H200" in o.note
    r, _ = run(11.9, 3.5)  # ratio 3.4: within 50 % of 3.88
    assert r.verdict == "reproduced"
    r, _ = run(11.9, 3.5, ours_dev="NVIDIA A100")  # a ratio of hours on two GPU models compares the GPUs
    assert r.verdict == "not comparable" and r.ratio_reproduced is None
    # WGAN-QC's 64 px time was measured on a TITAN Xp, OURS' on a V100: never comparable as a ratio
    qc, ours64 = _cell(spec, "wgan_qc", "time64"), _cell(spec, "ours", "time64")
    for c in (qc, ours64):
        for seed in C.cell_seeds(full_cfg, c.run):
            _write(full_cfg, c.run, seed, values={"train_hours": 2.0}, **dev)
    r = _result(evaluate_table(spec, full_cfg), "wgan_qc", "time64")
    assert r.verdict == "not comparable" and "TITAN Xp" in r.note


def test_time_cell_waits_for_the_reference_row(full_cfg):
    spec = T.get_spec("glgan_table2")
    wg = _cell(spec, "wgan_gp", "time")
    for seed in C.cell_seeds(full_cfg, wg.run):
        _write(full_cfg, wg.run, seed, values={"train_hours": 5.0})
    r = _result(evaluate_table(spec, full_cfg), "wgan_gp", "time")
    assert r.verdict == "missing" and "GL-GAN" in r.note


def test_a_reading_row_is_not_compared_with_itself(full_cfg):
    """BRC ring-5, reading 4 RHG (K = 5 unrolled steps) is UnrolledGAN by construction: the pair is left out."""
    spec = T.get_spec("brc_table_mog_ring5")
    for row in ("vgan_brc_rhg", "unrolled_gan", "vgan", "wgan", "vgan_brc"):
        cell = _cell(spec, row, "fid")
        for seed in C.cell_seeds(full_cfg, cell.run):
            _write(full_cfg, cell.run, seed, values={"fid@512": 1.0, "js": 0.5, "modes": 2})
    rrs = {rr.reading["id"]: rr for rr in evaluate_readings(spec, evaluate_table(spec, full_cfg))}
    rhg = rrs["rhg"]
    assert rhg.claim["excluded"] == [["vgan_brc_rhg", "unrolled_gan"]]
    pairs = {(c.better.cell.row_id, c.than.cell.row_id) for c in rhg.comps}
    assert pairs == {("vgan_brc_rhg", "vgan"), ("vgan_brc_rhg", "wgan")}
    assert rhg.judged == 6 and rhg.default_judged == 6  # 2 pairs x 3 columns, the default on the same pairs
    assert len(rrs["cg"].comps) == 9  # other readings keep all three pairs
    row = next(x for x in reading_rows([rhg]))
    assert "not compared with unrolled_gan: the same computation" in row[1]


def test_identical_must_name_two_rows(tmp_path):
    import yaml

    d = yaml.safe_load((T.TABLES_DIR / "brc_table_mog_ring5.yaml").read_text())
    d["readings"][-1]["identical"] = [["vgan_brc_rhg", "nosuchrow"]]
    p = tmp_path / "brc_table_mog_ring5.yaml"
    p.write_text(yaml.safe_dump(d))
    with pytest.raises(T.SpecError, match="identical must list pairs"):
        T.load_spec(p)
