"""report/reference/: full-scale tables, figures and per-run files are copied there; smoke results are refused."""
import json
from pathlib import Path

import pytest

from ganrepro.config import config as C
from ganrepro.report.reference import ReferenceError, save_reference
from ganrepro.report.render import write_table
from ganrepro.spec.tables import get_spec


def _fill_solver_runs(cfg):
    """metrics.json / train.json / log.csv for the 10 runs of brc_table_solver (5 solvers x 2 MoGs, seed 0)."""
    for i, (exp, variant) in enumerate((e, v) for e in ("brc_ring8", "brc_cube27")
                                       for v in ("brc_rhg", "brc_bda", "brc_cg", "brc_neumann", "brc")):
        d = Path(C.run_dir(cfg, exp, "vgan", variant, 0))
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({"status": "finished", "comparable": True,
                                                    "values": {"solver_time": 10.0 + i, "solver_memory": 1.0 + i}}))
        (d / "train.json").write_text(json.dumps({"code": {"commit": "abc123", "dirty": i == 0}}))
        (d / "log.csv").write_text("step,d_loss\n1,0.5\n")
        (d / "final.pt").write_bytes(b"weights are not copied")


def test_save_reference_copies_tables_figures_and_runs(full_cfg, tmp_path):
    _fill_solver_runs(full_cfg)
    spec = get_spec("brc_table_solver")
    stem = Path(C.paths(full_cfg)["report"]) / spec.report_stem
    stem.parent.mkdir(parents=True)
    write_table(spec, full_cfg, stem)
    fig = tmp_path / "rep" / "plots" / "brc_fig3_samples.png"
    fig.parent.mkdir(parents=True)
    fig.write_bytes(b"\x89PNG fake")
    dest = tmp_path / "rep" / "reference" / "brc"
    written = save_reference(full_cfg, "brc", ["brc_table_solver"], [fig], dest, command="snakemake brc_reference")
    for ext in ("md", "tex", "csv", "html"):
        assert (dest / f"table_solver.{ext}").read_bytes() == Path(f"{stem}.{ext}").read_bytes()
    assert (dest / "plots" / "brc_fig3_samples.png").read_bytes() == b"\x89PNG fake"
    runs = sorted(p.parent.relative_to(dest) for p in dest.rglob("metrics.json"))
    assert len(runs) == 10 and Path("runs/brc_ring8/vgan/brc_rhg/seed0") in runs
    assert not list(dest.rglob("final.pt"))  # weights stay in results/
    readme = (dest / "README.md").read_text()
    assert "snakemake brc_reference" in readme and "[brc_table_solver](table_solver.md)" in readme
    assert "runs: 10" in readme and written[-1] == dest / "README.md"
    # the copied table shows the run's number (seed 0 of vgan/brc on ring8: solver_time 14.0)
    assert "14" in (dest / "table_solver.csv").read_text()
    # README: the paper's layout, "published / reproduced" per cell (ring8 RHG: 10 s = 10/14 of IGA's 14 s)
    assert "| 2D MOG T | 1083.97 (10.06× IGA) / 10 (0.71× IGA) |" in readme
    # the commits the runs were trained at, from their train.json
    assert "commit abc123 (9 runs)" in readme and "commit abc123 (with uncommitted changes) (1 runs)" in readme
    # each claim's summary: IGA (14 s, 6 MB on ring8; 19 s, 11 MB on cube27) vs RHG/BDA/CG/Neumann (10-18 s, 1-10 MB)
    # is never smaller here, so the claim holds in 0 of 16 reproduced comparisons
    assert ("**iga_fastest_and_smallest**" in readme
            and "published: holds in 16 of 16; reproduced: holds in 0 of 16" in readme)


def test_save_reference_refuses_smoke_and_missing_tables(full_cfg, cfg, tmp_path):
    with pytest.raises(ReferenceError, match="full-scale results only"):
        save_reference(cfg, "brc", ["brc_table_solver"], [], tmp_path / "ref", command="x")
    with pytest.raises(ReferenceError, match="render the table first"):
        save_reference(full_cfg, "brc", ["brc_table_solver"], [], tmp_path / "ref", command="x")
    assert not (tmp_path / "ref" / "README.md").exists()


def test_readme_brc_tables_are_the_committed_reference():
    """Every table row in docs/brc.md's full-scale section is a row of report/reference/brc/README.md (no hand-typed
    numbers)."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "docs" / "brc.md").read_text()
    section = readme.split("## BRC reproduced on CPU (full scale)", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and " / " in ln]
    reference = (root / "report" / "reference" / "brc" / "README.md").read_text().splitlines()
    assert len(rows) == 6 + 8 + 4
    missing = [r for r in rows if r not in reference]
    assert not missing, f"docs/brc.md rows not in the reference README (re-copy them after brc_reference): {missing}"


def test_rerender_reference_from_its_own_runs(tmp_path, base_cfg):
    """The committed tables can be rendered again from the committed runs (after a rule change): same cells,
    the README says when and at which commit."""
    import shutil

    from ganrepro.report.reference import RERENDER_MARK, rerender_reference

    src = Path(__file__).resolve().parents[2] / "report" / "reference" / "brc"
    dest = tmp_path / "brc"
    shutil.copytree(src, dest)
    (dest / "table2.md").write_text("stale")
    written = rerender_reference("brc", base_cfg, dest)
    assert len(written) == 12 and (dest / "table2.md").read_text().startswith("# brc_table2")
    readme = (dest / "README.md").read_text()
    assert readme.count(RERENDER_MARK) == 1
    rerender_reference("brc", base_cfg, dest)  # again: the line is replaced, not added
    assert (dest / "README.md").read_text().count(RERENDER_MARK) == 1
    rows = (dest / "table_mog_ring5.csv").read_text()
    assert rows.count("\n") == (src / "table_mog_ring5.csv").read_text().count("\n")


def test_reference_conclusion_counts_are_the_rendered_ones():
    """The hand-written conclusion of report/reference/brc/ quotes claim x reading counts ("won / judged"): each one
    it quotes is a cell of the README's rendered claim x reading summary, so the prose cannot drift from the runs."""
    import re

    from ganrepro.report.reference import CONCLUSION

    ref = Path(__file__).resolve().parents[2] / "report" / "reference" / "brc"
    text = (ref / CONCLUSION).read_text()
    readme = (ref / "README.md").read_text()
    assert text.strip() in readme  # included by the last re-render
    matrix = readme.split("## Claims per reading of the method", 1)[1].split("\n## ", 1)[0]
    cells = {c.strip() for ln in matrix.splitlines() if ln.startswith("| ") for c in ln.strip("|").split("|")}
    quoted = re.findall(r"`([^`]*\d+ / \d+[^`]*)`", text)
    assert quoted, "the conclusion quotes no counts"
    assert not [q for q in quoted if q not in cells], [q for q in quoted if q not in cells]
