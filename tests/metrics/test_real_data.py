"""``real_data`` table rows (ganrepro/metrics/real_data.py): a metric of an experiment's real training images under the table's
protocol (HDCGAN Table 1's reference row: MS-SSIM of real CelebA pairs). Validation, evaluation, the draw, and the
row rendered from a run of rule real_data_metrics."""
import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ganrepro.config import config as C
from ganrepro.metrics import real_data
from ganrepro.spec import tables as T
from ganrepro.util.io import write_json
from ganrepro.verdicts.cells import evaluate_cell, evaluate_table

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

SPEC = {"paper": "hdcgan", "name": "tablex", "title": "t", "source": {"file": "hdcgan.txt", "table": "Table 1"},
        "protocol": {"ms_ssim_pairs": 10000, "ms_ssim_resolution": 128},
        "columns": [{"id": "ms_ssim", "label": "MS-SSIM", "metric": "ms_ssim",
                     "run": {"experiment": "hdcgan_celeba512"}}],
        "rows": [{"id": "hdcgan", "label": "HDCGAN", "run": {"method": "hdcgan", "variant": "default"},
                  "published": {"ms_ssim": "0.1978"}},
                 {"id": "real", "label": "CelebA (real pairs)", "real_data": True}]}


def _write(tmp_path, spec) -> Path:
    path = tmp_path / "hdcgan_tablex.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _with_row(**row):
    spec = copy.deepcopy(SPEC)
    spec["rows"][1] = {"id": "real", "label": "CelebA (real pairs)", **row}
    return spec


def test_real_data_row_cells(tmp_path):
    spec = T.load_spec(_write(tmp_path, SPEC))
    cell = {c.row_id: c for c in spec.cells()}["real"]
    assert cell.run is None and cell.real == {"experiment": "hdcgan_celeba512"} and not cell.published_only
    named = T.load_spec(_write(tmp_path, _with_row(real_data={"experiment": "glgan_celeba128"})))
    assert {c.row_id: c for c in named.cells()}["real"].real == {"experiment": "glgan_celeba128"}


@pytest.mark.parametrize("row,extra,needle", [
    ({"real_data": {"experiments": "x"}}, None, "row real: real_data: unknown key(s) ['experiments']"),
    ({"real_data": False}, None, "row real: real_data must be true or a mapping"),
    ({"real_data": True, "run": {"method": "hdcgan", "variant": "default"}}, None,
     "row real: a real_data row has no run"),
    ({"real_data": True, "metric": "fid"}, None, "cell (real, ms_ssim): real_data rows compute ['ms_ssim'] only"),
    ({"real_data": True}, {"curve_claims": [{"id": "c", "text": "t", "column": "ms_ssim", "x": "epoch",
                                             "trend": "decreasing", "rows": ["hdcgan", "real"]}]},
     "curve claim c: real_data row(s) ['real'] have no curve"),
    ({"real_data": True}, {"cells": {"real": {"ms_ssim": {"run": {"variant": "x"}}}}},
     "cells of real_data row real: no run overrides"),
])
def test_bad_real_data_rows_fail_naming_file_and_key(tmp_path, row, extra, needle):
    spec = _with_row(**row)
    spec.update(extra or {})
    with pytest.raises(T.SpecError) as e:
        T.load_spec(_write(tmp_path, spec))
    assert str(e.value).startswith("hdcgan_tablex.yaml: ") and needle in str(e.value), str(e.value)


def test_config_rejects_a_real_data_row_of_an_unknown_experiment(cfg, tmp_path, monkeypatch):
    bad = T.load_spec(_write(tmp_path, _with_row(real_data={"experiment": "nowhere"})))
    monkeypatch.setattr(T, "load_all", lambda dir_=None: [bad])
    with pytest.raises(C.ConfigError, match=r"hdcgan_tablex.yaml: cell \(real, ms_ssim\): real_data names "
                                            r"experiment 'nowhere'"):
        C.validate_config(cfg)


def _paths(cfg, tmp_path):
    cfg = copy.deepcopy(cfg)
    cfg["paths"] = {"data": str(tmp_path / "d"), "results": str(tmp_path / "r"), "report": str(tmp_path / "rep")}
    return cfg


def test_protocol_is_the_tables_with_the_scale_last(cfg, full_cfg, tmp_path):
    spec = T.get_spec("hdcgan_table1")
    cell = {c.row_id: c for c in spec.cells()}["real_celeba"]
    assert real_data.protocol(full_cfg, spec, cell) == {"experiment": "hdcgan_celeba512", "dataset": "celeba",
                                                        "resolution": 512, "pairs": 10000, "ms_ssim_resolution": 128}
    assert real_data.metrics_path(full_cfg, spec, cell).endswith("r/full/real_data/celeba_512/"
                                                                 "ms_ssim_10000pairs_128px.json")
    # smoke: the scale's 32 pairs at the smoke resolution (16 px, no resize: the scale's ms_ssim_resolution null)
    smoke = real_data.protocol(cfg, spec, cell)
    assert (smoke["resolution"], smoke["pairs"], smoke["ms_ssim_resolution"]) == (16, 32, 16)


def test_evaluation_missing_then_value_then_published(cfg, tmp_path):
    cfg = _paths(cfg, tmp_path)
    spec = T.load_spec(_write(tmp_path, SPEC))
    cell = {c.row_id: c for c in spec.cells()}["real"]
    r = evaluate_cell(spec, cfg, cell)
    assert r.verdict == "missing" and "rule real_data_metrics" in r.note
    images = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    (tmp_path / "prep").mkdir()
    np.save(tmp_path / "prep" / "images.npy", images)
    write_json(tmp_path / "prep" / "manifest.json", {"shape": [64, 16, 16, 3], "count": 64})
    m = real_data.evaluate(tmp_path / "prep", 32, 16, "smoke", "celeba")
    assert m["status"] == "finished" and m["comparable"] is False and m["protocol"]["images"]["drawn"] == 64
    write_json(real_data.metrics_path(cfg, spec, cell), m)
    r = evaluate_cell(spec, cfg, cell)
    assert (r.verdict, r.n, r.std) == ("no published value", 1, None)
    assert r.mean == pytest.approx(m["values"]["ms_ssim"]) and "32 disjoint pairs of 64" in r.note
    assert [x.verdict for x in evaluate_table(spec, cfg)] == ["missing", "no published value"]
    pub = copy.deepcopy(SPEC)
    pub["rows"][1]["published"] = {"ms_ssim": "0.05"}
    spec = T.load_spec(_write(tmp_path, pub))
    r = evaluate_cell(spec, cfg, {c.row_id: c for c in spec.cells()}["real"])
    assert r.verdict == "not comparable" and r.delta == pytest.approx(r.mean - 0.05)


def test_real_pairs_are_disjoint_draws_resized_as_samples():
    from ganrepro.metrics.msssim import mean_ms_ssim, resize_uint8

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8)
    r = real_data.real_ms_ssim(images, 10, 16, chunk=7)
    idx = np.sort(np.random.default_rng(real_data.SEED).choice(50, 20, replace=False))
    ref = mean_ms_ssim(resize_uint8(images[idx], 16), 10, None, seed=real_data.SEED)
    assert (r["pairs"], r["resolution"], r["images"], r["of"]) == (10, 16, 20, 50)
    assert r["mean"] == pytest.approx(ref["mean"], rel=1e-6)
    same = np.repeat(images[:1], 8, axis=0)
    assert real_data.real_ms_ssim(same, 4, 32)["mean"] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="6 pairs need 12 distinct images; the prepared array holds 8"):
        real_data.real_ms_ssim(same, 6, 32)


def test_fig14_skips_the_real_row(cfg, tmp_path):
    from ganrepro.report.plots import metric_curves_figure

    metric_curves_figure(T.get_spec("hdcgan_table1"), _paths(cfg, tmp_path), tmp_path / "fig14.png",
                         {"ms_ssim": "epoch"}, affine_fit=True)
    assert (tmp_path / "fig14.png").stat().st_size > 0


def test_row_renders_from_a_run_of_the_job(tmp_path):
    """hdcgan_table1 at smoke scale with its methods off: the only work is the real-data chain (fixture -> verify ->
    prepare -> real_data_metrics), and the table renders the reference row from the job's JSON."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    p = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile",
                        str(ROOT / "config" / "config.yaml"), "--cores", "1", "hdcgan_table1",
                        "--config", "methods=[dcgan]"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    assert re.search(r"^real_data_metrics\s+1$", p.stdout + p.stderr, re.M)
    out = tmp_path / "results" / "smoke" / "real_data" / "celeba_16" / "ms_ssim_32pairs_16px.json"
    m = yaml.safe_load(out.read_text())
    assert m["status"] == "finished" and m["protocol"]["ms_ssim"]["pairs"] == 32
    md = (tmp_path / "report" / "smoke" / "hdcgan" / "table1.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| CelebA training images (real pairs)"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "-" and float(cells[4]) == pytest.approx(m["values"]["ms_ssim"], abs=1e-4)
    assert cells[6] == "no published value" and "32 disjoint pairs of 64" in cells[7]
