"""Table specs: every paper table is a valid spec; published.csv is current; verdicts from hand-made metrics."""
import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from ganrepro.config import config as C
from ganrepro.spec import tables as T
from ganrepro.report.render import render_csv, render_latex, render_markdown, write_table
from ganrepro.verdicts.cells import evaluate_table

EXPECTED = {"glgan_table1", "glgan_table2", "glgan_table3", "glgan_table4", "glgan_table5", "hdcgan_table1",
            "brc_table_mog_ring5", "brc_table2", "brc_table_solver", "brc_table_cifar", "lga_table1", "lga_table2"}


def test_every_paper_table_has_a_spec():
    assert set(T.table_ids()) == EXPECTED


def test_published_csv_is_current():
    path = T.ROOT / "config" / "published.csv"
    assert path.read_text() == T.published_csv_text(), "stale: run `python -m ganrepro export-published`"


def test_published_csv_columns_and_papers():
    rows = T.published_rows()
    assert list(rows[0]) == ["paper", "table", "row", "column", "metric", "value", "std", "note"]
    assert {r["paper"] for r in rows} == {"glgan", "brc", "lga", "hdcgan"}


@pytest.mark.parametrize("table,row,col,value,std", [
    ("glgan_table1", "OURS", "FID(128)", "12.37", ""),           # glgan.txt Table 1
    ("glgan_table5", "base+path8+Ada-OP", "CelebA-256", "20.35", ""),
    ("brc_table2", "VGAN (BRC ✗)", "2D Ring (Max Mode=8) FID", "193.20", "65.30"),  # '193.2065.30'
    ("lga_table1", "WGAN-GP + LGA 8×8", "LSUN bedroom", "42.17", ""),
    ("hdcgan_table1", "HDCGAN", "MS-SSIM", "0.1978", ""),
])
def test_spot_check_transcriptions(table, row, col, value, std):
    spec = T.get_spec(table)
    cell = next(c for c in spec.cells() if c.row_label == row and c.col_label == col)
    assert cell.published.value == value and (cell.published.std or "") == std


def _spec_file(tmp_path, mutate, name="glgan_table4"):
    d = yaml.safe_load((T.TABLES_DIR / f"{name}.yaml").read_text())
    mutate(d)
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(d, allow_unicode=True))
    return p


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["columns"][0].update(metric="fidd"), "unknown metric 'fidd'"),
    (lambda d: d["rows"][0]["published"].update(no_norm=40.01), "quoted number"),
    (lambda d: d["rows"][0]["published"].update(extra="1.0"), "unknown column 'extra'"),
    (lambda d: d.update(colour="red"), "unknown key"),
    (lambda d: d["rows"][0]["run"].pop("method"), "run lacks ['method']"),
    (lambda d: d["rows"][0]["run"].update(seed=0), "unknown run key(s) ['seed']"),
    (lambda d: d.update(protocol={"ratio_to": "nope"}), "protocol ratio_to must be a column id"),
    (lambda d: d["rows"][0]["run"].update(seeds=[]), "run seeds must be a non-empty list"),
    (lambda d: d["rows"][0]["run"].update(seeds="0"), "run seeds must be a non-empty list"),
])
def test_bad_specs_rejected(tmp_path, mutate, needle):
    with pytest.raises(T.SpecError, match=re.escape(needle)):
        T.load_spec(_spec_file(tmp_path, mutate))


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.update(claims=[{"id": "c", "pairs": [["vgan", "vgan_brc"]]}]), "needs text"),
    (lambda d: d.update(claims=[{"id": "c", "text": "t", "pairs": [["vgan", "nope"]]}]),
     "must be [better, than], two different row ids"),
    (lambda d: d.update(claims=[{"id": "c", "text": "t", "axis": "columns",
                                 "pairs": [["vgan", "vgan_brc"]]}]), "two different column ids"),
    (lambda d: d.update(claims=[{"id": "c", "text": "t", "pairs": [["vgan", "vgan_brc"]],
                                 "over": ["nope"]}]), "over must list column ids"),
    (lambda d: d.update(claims=[{"id": "c", "text": "t", "pairs": [["vgan", "vgan_brc"]],
                                 "colour": 1}]), "unknown key(s) ['colour']"),
    (lambda d: d.update(claims=[{"id": "c", "text": "t", "axis": "columns",
                                 "pairs": [["ring8_fid", "ring8_js"]]}]), "compares fid with"),
])
def test_bad_claims_rejected(tmp_path, mutate, needle):
    with pytest.raises(T.SpecError, match=re.escape(needle)):  # (the spec's readings name its claims: dropped)
        T.load_spec(_spec_file(tmp_path, lambda d: (d.pop("readings", None), mutate(d)), "brc_table2"))


def _reading(d, k, **kw):
    d["readings"][k].update(kw)


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: _reading(d, 0, replace={"vgan_brc": "vgan_brc_sign"}), "the first reading is the default"),
    (lambda d: _reading(d, 1, replace={"vgan_brc": "nope"}), "replace must map row ids"),
    (lambda d: _reading(d, 1, claims=["nope"]), "claims must list claim ids"),
    (lambda d: _reading(d, 1, replace={"vgan_brc_cg": "vgan_brc_gn"}), "replace names no row of claim"),
    (lambda d: _reading(d, 1, colour=1), "unknown key(s) ['colour']"),
    (lambda d: _reading(d, 2, id="sign"), "readings need unique ids"),
])
def test_bad_readings_rejected(tmp_path, mutate, needle):
    with pytest.raises(T.SpecError, match=re.escape(needle)):
        T.load_spec(_spec_file(tmp_path, mutate, "brc_table2"))


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: _reading(d, 1, replace={"mog2d_time": "mog3d_time"}), "replace must map column ids"),
    (lambda d: _reading(d, 1, replace={"iga": "rhg_k10"}), "replace names no column of claim implicit_cheaper"),
    (lambda d: (d["claims"].append({"id": "rows_claim", "text": "t", "pairs": [["mog2d_time", "mog3d_time"]]}),
                d["readings"][1]["claims"].append("rows_claim")), "compare both rows and columns"),
])
def test_bad_column_readings_rejected(tmp_path, mutate, needle):
    """A reading of column-axis claims (the solver table's K) replaces columns, and one reading judges one axis."""
    with pytest.raises(T.SpecError, match=re.escape(needle)):
        T.load_spec(_spec_file(tmp_path, mutate, "brc_table_solver"))


def test_column_readings_judge_the_replaced_columns(full_cfg):
    """The solver table's K reading: the claims judged with RHG/BDA K=10 in place of the K=5 columns, and the
    default reading's count on the same comparisons. Hand-made times: CG (40) is slower than RHG K=5 (35) but
    faster than RHG K=10 (70), so implicit_cheaper_than_explicit fails at K=5 and holds at K=10 for that pair."""
    from ganrepro.verdicts.cells import evaluate_readings

    spec = T.get_spec("brc_table_solver")
    times = {"brc": 10.0, "brc_rhg": 35.0, "brc_bda": 50.0, "brc_cg": 40.0, "brc_neumann": 30.0,
             "brc_rhg_k10": 70.0, "brc_bda_k10": 95.0}
    for variant, t in times.items():
        _write_metrics(full_cfg, ("brc_ring8", "vgan", variant), 0, status="finished", comparable=True,
                       values={"solver_time": t, "solver_memory": 2.0})
    got = {(rr.reading["id"], rr.claim["id"].split("@")[0]): rr
           for rr in evaluate_readings(spec, evaluate_table(spec, full_cfg))}
    k10 = got[("k10", "implicit_cheaper_than_explicit")]
    # ring8 only (the cube's runs are absent): T judged (4 pairs), M ties everywhere (all 2.0)
    t_rows = [c for c in k10.comps if c.better.cell.row_id == "mog2d_time"]
    assert [(c.better.cell.col_id, c.than.cell.col_id, c.reproduced) for c in t_rows] == [
        ("cg", "rhg_k10", "holds"), ("cg", "bda_k10", "holds"), ("neumann", "rhg_k10", "holds"),
        ("neumann", "bda_k10", "holds")]
    default_t = [c for c in k10.default_comps if c.better.cell.row_id == "mog2d_time"]
    assert [c.reproduced for c in default_t] == ["fails", "holds", "holds", "holds"]  # CG 40 vs RHG K=5 35
    assert (k10.won, k10.default_won) == (4, 3)
    iga = got[("k10", "iga_fastest_and_smallest")]
    assert {c.than.cell.col_id for c in iga.comps} == {"rhg_k10", "bda_k10"} and iga.won == 2


def test_reading_claims_replace_the_rows_of_each_reading():
    spec = T.get_spec("brc_table2")
    got = {mine["id"]: (mine["pairs"], default["pairs"]) for _, mine, default in T.reading_claims(spec)}
    assert got["brc_improves_every_gan@cg"] == ([["vgan_brc_cg", "vgan"]], [["vgan_brc", "vgan"]])
    assert got["brc_improves_every_gan@sign"][0][2] == ["wgan_brc_sign", "wgan"]
    assert len(got["brc_improves_every_gan"][0]) == 4  # the default reading: the claim as written


# ------------------------------------------------------------------------------------------- verdicts
def _write_metrics(cfg, run, seed, **m):
    d = Path(C.run_dir(cfg, run[0], run[1], run[2], seed))
    d.mkdir(parents=True, exist_ok=True)
    (d / "metrics.json").write_text(json.dumps(m))


def _by(results, row, col):
    return next(r for r in results if r.cell.row_label == row and r.cell.col_label == col)


def test_verdicts(full_cfg):
    spec = T.get_spec("glgan_table1")
    run = ("glgan_celeba128", "wgan_gp", "default")
    # seeds 0,1,2: FID@10000 = 30, 31, 32 -> mean 31, within 10% of 30.37; hours 40 -> better than 47.52
    for s, fid in enumerate([30.0, 31.0, 32.0]):
        _write_metrics(full_cfg, run, s, status="finished", comparable=True,
                       values={"fid@10000": fid, "train_hours": 40.0})
    run64 = ("glgan_celeba64", "wgan_gp", "default")
    for s in range(3):  # 64 px: FID 40 vs published 25.47 -> not reproduced; seed 2 diverged
        if s == 2:
            _write_metrics(full_cfg, run64, s, status="diverged", diverged_at=123, values={})
        else:
            _write_metrics(full_cfg, run64, s, status="finished", comparable=True,
                           values={"fid@10000": 40.0, "train_hours": 30.0})
    full_cfg["methods"] = [m for m in full_cfg["methods"] if m != "sagan"]  # a method left out of the config
    res = evaluate_table(spec, full_cfg)
    r = _by(res, "WGAN-GP", "FID(128)")
    assert r.verdict == "reproduced" and r.mean == pytest.approx(31.0) and r.std == pytest.approx(1.0) and r.n == 3
    assert r.delta == pytest.approx(31.0 - 30.37)
    assert _by(res, "WGAN-GP", "FID(64)").verdict == "not reproduced"
    assert "seed 2 at step 123" in _by(res, "WGAN-GP", "FID(64)").note
    # hours are judged as a multiple of OURS' (tests/verdicts/test_cells.py), which has none yet
    assert _by(res, "WGAN-GP", "time(hrs)").verdict == "missing"
    assert _by(res, "OURS", "FID(128)").verdict == "missing"  # GL-GAN is trained, its metrics are not there yet
    assert _by(res, "SAGAN", "FID(128)").verdict == "not run"  # not in the config's methods
    assert "not enabled in config" in _by(res, "SAGAN", "FID(128)").note
    assert _by(res, "CR-GAN", "FID(128)").verdict == "published only"
    assert not any(r.cell.row_label == "CR-GAN" and r.cell.col_label == "FID(64)" for r in res)  # '-' in paper


def test_all_seeds_diverged_and_missing(full_cfg):
    spec = T.get_spec("glgan_table1")
    for s in range(3):
        _write_metrics(full_cfg, ("glgan_celeba128", "wgan_gp", "default"), s, status="diverged", diverged_at=7,
                       values={})
    res = evaluate_table(spec, full_cfg)
    assert _by(res, "WGAN-GP", "FID(128)").verdict == "diverged"
    assert _by(res, "WGAN-GP", "FID(64)").verdict == "missing"
    md = render_markdown(spec, full_cfg, res)
    assert "| WGAN-GP | FID(128) | fid | 30.37 | - |  | diverged |" in md
    assert "\\begin{tabular}" in render_latex(spec, full_cfg, res)


def test_run_seeds_selector(full_cfg):
    """brc_table_solver measures one run per solver (run selector ``seeds: [0]``); other tables use every seed."""
    spec = T.get_spec("brc_table_solver")
    iga = next(c for c in spec.cells() if c.row_id == "mog2d_time" and c.col_id == "iga")
    assert C.seeds(full_cfg, "brc_ring8") == [0, 1, 2, 3] and C.cell_seeds(full_cfg, iga.run) == [0]
    # the solver-only variants are trained once; vgan/brc keeps all seeds (Table 2 needs them)
    assert C.run_seeds(full_cfg, "brc_ring8", "vgan", "brc_bda") == [0]
    assert C.run_seeds(full_cfg, "brc_ring8", "vgan", "brc") == [0, 1, 2, 3]
    # the cell reads seed 0 only: seeds 1-3 of vgan/brc do not enter the solver table's mean
    for s, t in enumerate([10.0, 20.0, 30.0, 40.0]):
        _write_metrics(full_cfg, ("brc_ring8", "vgan", "brc"), s, status="finished", comparable=True,
                       values={"solver_time": t, "solver_memory": 1.0})
    r = next(r for r in evaluate_table(spec, full_cfg) if (r.cell.row_id, r.cell.col_id) == ("mog2d_time", "iga"))
    assert r.n == 1 and r.mean == 10.0


def test_ratio_to_reference_column(full_cfg):
    """brc_table_solver (protocol ratio_to: iga): each cell also shows its multiple of IGA's value in the same row."""
    spec = T.get_spec("brc_table_solver")
    for variant, t in (("brc", 10.0), ("brc_rhg", 35.0)):
        _write_metrics(full_cfg, ("brc_ring8", "vgan", variant), 0, status="finished", comparable=True,
                       values={"solver_time": t, "solver_memory": 2.0})
    res = evaluate_table(spec, full_cfg)
    rhg = _by(res, "2D MOG T", "RHG")
    assert rhg.ratio_reproduced == pytest.approx(3.5) and rhg.ratio_published == pytest.approx(1083.97 / 107.77)
    assert _by(res, "2D MOG T", "IGA").ratio_reproduced == pytest.approx(1.0)
    assert _by(res, "2D MOG T", "CG").ratio_reproduced is None  # no run: no ratio
    md = render_markdown(spec, full_cfg, res)
    assert "| 2D MOG T | RHG | solver_time | 1083.97 (10.06× IGA) | 35 (3.50× IGA) |" in md
    row = next(x for x in csv.DictReader(io.StringIO(render_csv(spec, full_cfg, res))) if x["column"] == "RHG"
               and x["row"] == "2D MOG T")
    assert float(row["reproduced_ratio"]) == pytest.approx(3.5)


def test_stand_in_numbers_are_labelled(full_cfg):
    spec = T.get_spec("glgan_table1")
    _write_metrics(full_cfg, ("glgan_celeba128", "wgan_gp", "default"), 0, status="finished", comparable=False,
                   values={"fid@10000": 30.4, "train_hours": 1.0})
    r = _by(evaluate_table(spec, full_cfg), "WGAN-GP", "FID(128)")
    assert r.verdict == "not comparable" and "not comparable" in r.note


def test_published_std_widens_tolerance(full_cfg):
    # VGAN(BRC) cells are not runnable yet; check the rule on a synthetic spec cell via the tolerance helper
    spec = T.get_spec("brc_table2")
    cell = next(c for c in spec.cells() if c.row_id == "vgan" and c.col_id == "ring8_fid")
    assert cell.published.mean == 193.20 and cell.published.sd == 65.30


def test_write_table_outputs(full_cfg, tmp_path):
    spec = T.get_spec("lga_table2")
    write_table(spec, full_cfg, tmp_path / "lga" / "table2")
    for ext in ("md", "tex", "csv", "html"):
        assert (tmp_path / "lga" / f"table2.{ext}").stat().st_size > 0


def _local_links(page: Path) -> list[Path]:
    """Every relative href / Markdown link of a page, resolved against the page's folder."""
    import re

    text = page.read_text()
    refs = re.findall(r"href='([^'#:]+)'", text) + re.findall(r"\]\(([^)#:]+)\)", text)
    return [page.parent / r for r in refs]


def test_every_link_of_the_table_pages_and_the_index_resolves(full_cfg, tmp_path):
    """report/<paper>/<table>.html links its own .md/.tex/.csv beside it (it linked <paper>/<table>.md, which
    resolved to report/<paper>/<paper>/...); the index links each table's files under <paper>/."""
    from ganrepro.report.render import write_index

    specs = [T.get_spec("lga_table2"), T.get_spec("glgan_table4")]
    for spec in specs:
        write_table(spec, full_cfg, tmp_path / spec.report_stem)
        page = tmp_path / f"{spec.report_stem}.html"
        assert page.read_text().startswith("<!doctype html>") and "<style>" in page.read_text()
    (tmp_path / "reference" / "brc").mkdir(parents=True)
    (tmp_path / "reference" / "brc" / "README.md").write_text("# reference")
    write_index(specs, full_cfg, tmp_path / "smoke", links=[("brc reference", "../reference/brc/README.md")])
    for spec in specs:  # the smoke index sits one folder down: its table links are the smoke tables'
        for ext in ("md", "tex", "csv"):
            (tmp_path / "smoke" / f"{spec.report_stem}.{ext}").parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "smoke" / f"{spec.report_stem}.{ext}").write_text("x")
    write_index(specs, full_cfg, tmp_path)
    pages = [tmp_path / f"{s.report_stem}.{ext}" for s in specs for ext in ("html", "md")]
    pages += [tmp_path / "index.html", tmp_path / "index.md", tmp_path / "smoke" / "index.html",
              tmp_path / "smoke" / "index.md"]
    links = [(p, link) for p in pages for link in _local_links(p)]
    assert len(links) >= 3 * len(specs) * 2
    assert [str(link) for _, link in links if not link.exists()] == []


def test_claims_judged_on_published_and_reproduced_means(full_cfg):
    """brc_table2's claim: each BRC row beats its plain row in every column, in the metric's direction."""
    spec = T.get_spec("brc_table2")
    for seed, (fid_p, fid_b, modes_p, modes_b) in enumerate([(1.0, 0.5, 6, 8), (1.2, 0.9, 7, 8)]):
        _write_metrics(full_cfg, ("brc_ring8", "vgan", "plain"), seed, status="finished", comparable=True,
                       values={"fid@512": fid_p, "js": 0.4, "modes": modes_p})
        _write_metrics(full_cfg, ("brc_ring8", "vgan", "brc"), seed, status="finished", comparable=True,
                       values={"fid@512": fid_b, "js": 0.4, "modes": modes_b})
    from ganrepro.verdicts.cells import claim_summary, evaluate_claims
    claim, comps = evaluate_claims(spec, evaluate_table(spec, full_cfg))[0]  # brc_improves_every_gan
    assert claim["id"] == "brc_improves_every_gan" and len(comps) == 4 * 6
    got = {(c.better.cell.row_id, c.than.cell.row_id, c.better.cell.col_id): c for c in comps}
    fid = got[("vgan_brc", "vgan", "ring8_fid")]   # 0.7 vs 1.1, lower is better; |0.4| > stds 0.28 / 0.14
    assert (fid.published, fid.reproduced, fid.within_spread) == ("holds", "holds", False)
    modes = got[("vgan_brc", "vgan", "ring8_modes")]  # 8 vs 6.5, higher is better; std of 6, 7 is 0.707
    assert (modes.reproduced, modes.within_spread) == ("holds", False)
    js = got[("vgan_brc", "vgan", "ring8_js")]
    assert js.reproduced == "tie"
    cube = got[("vgan_brc", "vgan", "cube27_js")]  # published 0.61 vs 0.48: the paper's own table fails here
    assert (cube.published, cube.reproduced) == ("fails", "n/a")
    assert claim_summary(comps) == ("published: holds in 23 of 24; reproduced: holds in 2 of 24 "
                                    "(2 beyond the seed spread)")
    md = render_markdown(spec, full_cfg, evaluate_table(spec, full_cfg))
    assert "## Claim brc_improves_every_gan" in md
    assert "| VGAN (BRC ✓) vs VGAN (BRC ✗) | 2D Ring (Max Mode=8) FID | 34.16 vs 193.20: holds | 0.7 vs 1.1: holds |" in md
    # MoG FID values are not compared with the paper's (unstated scale), only ordered within the table
    assert _by(evaluate_table(spec, full_cfg), "VGAN (BRC ✗)", "2D Ring (Max Mode=8) FID").verdict == "not comparable"


def test_claims_across_columns_single_seed(full_cfg):
    """The solver table's claim compares columns (IGA vs each solver) within each row; one seed: no spread."""
    spec = T.get_spec("brc_table_solver")
    for variant, t in (("brc", 10.0), ("brc_rhg", 35.0), ("brc_cg", 8.0)):
        _write_metrics(full_cfg, ("brc_ring8", "vgan", variant), 0, status="finished", comparable=True,
                       values={"solver_time": t, "solver_memory": 2.0})
    from ganrepro.verdicts.cells import claim_summary, evaluate_claims
    claims = dict((c["id"], comps) for c, comps in evaluate_claims(spec, evaluate_table(spec, full_cfg)))
    t2d = {c.than.cell.col_id: c for c in claims["iga_fastest_and_smallest"] if c.better.cell.row_id == "mog2d_time"}
    assert t2d["rhg"].reproduced == "holds" and t2d["cg"].reproduced == "fails" and t2d["bda"].reproduced == "n/a"
    assert t2d["rhg"].within_spread is None
    assert claim_summary([t2d["rhg"], t2d["cg"]]) == ("published: holds in 2 of 2; reproduced: holds in 1 of 2 "
                                                       "(one seed per cell: no seed spread to judge against)")


def test_cli_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    """An unknown table, a bad --config pair and a spec that is not YAML: one line on stderr naming the cause, exit 2
    (not a traceback)."""
    from ganrepro.cli import main

    assert main(["compare", "glgan_table9"]) == 2
    assert "unknown table 'glgan_table9'" in capsys.readouterr().err
    assert main(["--config", "scale", "runs"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    bad = tmp_path / "glgan_table9.yaml"
    bad.write_text("paper: glgan\nname: table9\nrows: [a, b\n")
    with pytest.raises(T.SpecError, match=r"glgan_table9.yaml: not valid YAML \(line \d+, column \d+\)"):
        T.load_spec(bad)


def test_compare_into_a_closed_pipe_is_quiet(monkeypatch, capsys):
    """`compare | head`: the reader has gone (EPIPE on write); compare exits 0 without a BrokenPipeError."""
    import os

    from ganrepro.cli import main

    r, w = os.pipe()
    os.close(r)  # the reader left: every write to w fails with EPIPE
    out = open(w, "w", buffering=1)
    monkeypatch.setattr("sys.stdout", out)
    try:
        assert main(["compare", "glgan_table5"]) == 0
    finally:
        monkeypatch.undo()
        out.close()
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("content,why", [
    ("", "empty file"), ('{"status": "finished", "val', "not JSON"), ("{}", "status is None"),
    ("null", "not a mapping but NoneType"), ("[]", "not a mapping but list"),
    ('{"status": "finished", "values": {"fid@10000": "12.3"}}', "values that are not numbers: ['fid@10000']"),
])
def test_unreadable_metrics_is_an_error_naming_the_file(full_cfg, content, why):
    """It read as 'missing' (exit 0) or gave a traceback naming no file; now reading the table names the file (the
    CLI prints it as one line, exit 2), and the pipeline moves the file aside so that the run is evaluated again."""
    from ganrepro.verdicts.cells import MetricsError, set_aside_unreadable

    spec = T.get_spec("glgan_table1")
    run = ("glgan_celeba128", "wgan_gp", "default")
    _write_metrics(full_cfg, run, 0, status="finished", comparable=True, values={"fid@10000": 30.0})
    path = Path(C.run_dir(full_cfg, *run, 1)) / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    with pytest.raises(MetricsError, match=re.escape(str(path)) + ".*" + re.escape(why)):
        evaluate_table(spec, full_cfg)
    [(moved, dest, reason)] = set_aside_unreadable([path, Path(C.run_dir(full_cfg, *run, 0)) / "metrics.json"])
    assert moved == path and dest.read_text() == content and not path.exists() and why in reason
    assert _by(evaluate_table(spec, full_cfg), "WGAN-GP", "FID(128)").note.startswith("missing: seed(s) [1")


def test_a_long_note_shared_by_cells_is_printed_once(full_cfg, tmp_path):
    """brc_table2's FID cells all carry the protocol's long 'not comparable' reason: once below the table, not on
    every row."""
    spec = T.get_spec("brc_table2")
    for seed in range(4):
        for v in ("plain", "brc"):
            _write_metrics(full_cfg, ("brc_ring8", "vgan", v), seed, status="finished", comparable=True,
                           values={"fid@512": 1.0 + seed, "js": 0.4, "modes": 6})
    write_table(spec, full_cfg, tmp_path / "t")
    md, page = (tmp_path / "t.md").read_text(), (tmp_path / "t.html").read_text()
    why = spec.protocol["not_comparable"]["fid"]
    rows = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert len(rows) > 48 and not any(why in ln for ln in rows)
    assert md.count("[note 1]") == 3 and f"[note 1] {why}" in md  # the two FID cells and the note itself
    import html

    assert page.count(html.escape(why)) == 1 and page.count("[note 1]") == 3


def test_compare_reads_the_committed_reference_and_keeps_whole_labels(capsys):
    """`compare --reference brc` reads report/reference/brc/ (it could only read results/full); labels are whole
    (they were cut at 34 characters) and long shared notes are footnotes."""
    from ganrepro.cli import main

    assert main(["compare", "--reference", "brc", "brc_table_mog_ring5"]) == 0
    out = capsys.readouterr().out
    ref = (T.TABLES_DIR.parents[1] / "report" / "reference" / "brc" / "table_mog_ring5.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(ref)))
    vgan_fid = next(r for r in rows if r["row"] == "VGAN" and r["metric"] == "fid")
    assert f"{float(vgan_fid['reproduced_mean']):.4g}" in out  # the committed value, read from its metrics.json
    assert re.search(r"VGAN\(Rf, no BRC\) \[suite ablation, not in the paper\] *\|", out) and "[note 1] FID of raw MoG" in out
    assert main(["compare", "--reference", "nosuch"]) == 2


@pytest.mark.parametrize("values,verdict", [
    ([2.0, 2.1, 2.2, 2.3], "not reproduced"),  # tight, far: 4.35 > 2·√(3²/4 + 0.129²/4) = 3.00
    ([5.0, 5.5, 6.0, 6.5], "reproduced"),      # 0.75 <= 3.03
])
def test_verdict_uses_both_spreads_and_shows_its_inputs(full_cfg, values, verdict):
    """ProxGAN(BRC) 8-ring modes, published 6.50 ± 3.00: with |Δ| <= 2 × the published std alone, 2.15 ± 0.13 over 4
    seeds was 'reproduced'; the difference of the means is compared with twice its standard error."""
    spec = T.get_spec("brc_table2")
    for seed, v in enumerate(values):
        _write_metrics(full_cfg, ("brc_ring8", "proxgan", "brc"), seed, status="finished", comparable=True,
                       values={"js": 0.5, "fid@512": 1.0, "modes": v})
    r = next(x for x in evaluate_table(spec, full_cfg) if x.cell.row_id == "proxgan_brc" and x.cell.col_id == "ring8_modes")
    assert r.cell.published.sd == pytest.approx(3.0) and r.n == 4 and r.verdict == verdict
    import statistics

    se2 = 2 * (3.0 ** 2 / 4 + statistics.stdev(values) ** 2 / 4) ** 0.5
    assert f"allowed {se2:.3g}" in r.note and "2·√(3²/4 + " in r.note


def test_readings_matrix_counts_are_the_claims_own_comparisons(base_cfg, tmp_path):
    """The claim x reading summary from the committed BRC runs: the default reading's cell is the claim's own count
    (claim_summary), a reading's cell counts its rows' comparisons, and the index shows the summary."""
    from ganrepro.report.render import readings_matrix, write_index
    from ganrepro.verdicts.cells import evaluate_claims, evaluate_readings, evaluate_table

    ref = Path(__file__).resolve().parents[2] / "report" / "reference" / "brc"
    cfg = {**base_cfg, "scale": "full", "paths": {**base_cfg.get("paths", {}), "results_root": str(ref)}}
    spec = T.get_spec("brc_table2")
    results = evaluate_table(spec, cfg)
    header, rows = readings_matrix([(spec, results)])
    assert header[:3] == ["Table", "Claim", "1. IGA (Eq. 9 as reconstructed, default)"] and len(header) == 2 + 7
    claim, comps = evaluate_claims(spec, results)[0]  # brc_improves_every_gan, the claim the readings name
    won = sum(c.reproduced == "holds" for c in comps)
    assert rows[0][:3] == ["brc_table2", claim["id"], f"{won} / {len(comps)}"]
    by_id = {rr.reading["id"]: rr for rr in evaluate_readings(spec, results)}
    rhg = by_id["rhg"]  # VGAN pair only: its 6 comparisons, and IGA's count on the same 6
    assert len(rhg.comps) == 6 and all(c.better.cell.row_id == "vgan_brc_rhg" for c in rhg.comps)
    assert rhg.default_judged == 6 and {c.better.cell.row_id for c in rhg.default_comps} == {"vgan_brc"}
    # a reading whose runs are partly in (the sign reading: 8-ring first): the default is counted on the comparisons
    # the reading could judge, column for column, not on all of the claim's
    sign = by_id["sign"]
    judged = [c for c in sign.comps if c.reproduced != "n/a"]
    assert sign.default_judged == sign.judged == len(judged) > 0
    assert [c.better.cell.col_id for c in sign.default_comps] == [c.better.cell.col_id for c in judged]
    write_index([spec], cfg, tmp_path, reference_readings=[("brc reference", [(spec, results)])])
    page = (tmp_path / "index.html").read_text()
    assert page.count("Claims per reading") == 2 and "brc reference" in page  # the index and the table's own block
