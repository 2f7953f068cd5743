"""Claims over training (ganrepro/verdicts/curve_claims.py): time to threshold against hand-computed curves, the seeds' mean
curve, the published side, spec validation, and LGA Table 1's rendered section from curve.csv files."""
import copy
import csv
import math
from pathlib import Path

import pytest

from ganrepro.config import config as C
from ganrepro.verdicts import curve_claims as CC
from ganrepro.spec import tables as T
from ganrepro.report.render import render_markdown
from ganrepro.verdicts.cells import evaluate_table


def test_time_to_threshold_hand_computed():
    pts = [(1000, 250.0), (2000, 140.0), (3000, 99.0), (4000, 101.0), (5000, 80.0)]
    assert CC.time_to_threshold(pts, {"absolute": 100}) == 3000          # first point at or below 100
    assert CC.time_to_threshold(pts, {"absolute": 99}) == 3000           # "reached" includes equality
    assert CC.time_to_threshold(pts, {"absolute": 50}) == math.inf       # never
    # relative: within 20 % of the curve's lowest (80 -> 96): first at 5000; 30 % (104): first at 3000
    assert CC.time_to_threshold(pts, {"relative_to_best": 0.2}) == 5000
    assert CC.time_to_threshold(pts, {"relative_to_best": 0.3}) == 3000
    assert CC.time_to_threshold(list(reversed(pts)), {"absolute": 100}) == 3000  # order of the points is irrelevant
    assert math.isnan(CC.time_to_threshold([], {"absolute": 100}))


def test_mean_curve_over_seeds_at_common_points():
    rows = lambda vals: [{"step": s, "epoch": s / 10, "metric": "fid@10000", "value": v} for s, v in vals]  # noqa: E731
    a = rows([(10, 100.0), (20, 80.0), (30, 60.0)]) + [{"step": 10, "epoch": 1.0, "metric": "is", "value": 3.0}]
    b = rows([(10, 120.0), (20, 60.0)])
    assert CC.mean_curve([a, b], "fid@10000", "step") == [(10, 110.0), (20, 70.0)]
    assert CC.mean_curve([a, b], "fid@10000", "epoch") == [(1.0, 110.0), (2.0, 70.0)]
    assert CC.mean_curve([a, []], "fid@10000", "step") == []


def test_judge_published_and_reproduced_sides():
    claim = {"x": "step", "threshold": {"absolute": 100}, "pairs": [["a", "b"]], "published": {"a": 21000, "b": 37000}}
    fast, slow = [(1, 150.0), (2, 90.0)], [(1, 150.0), (2, 120.0), (3, 95.0)]
    (c,) = CC.judge(claim, {"a": fast, "b": slow})
    assert (c.published, c.reproduced) == ("holds", "holds") and c.detail_reproduced == "2 vs 3 steps"
    (c,) = CC.judge(claim, {"a": slow, "b": fast})
    assert c.reproduced == "fails"
    (c,) = CC.judge(claim, {"a": fast, "b": [(1, 150.0)]})                 # the slower never gets there: holds
    assert c.reproduced == "holds" and "never" in c.detail_reproduced
    (c,) = CC.judge(claim, {"a": [(1, 150.0)], "b": [(1, 160.0)]})        # neither: fails
    assert c.reproduced == "fails" and "neither" in c.detail_reproduced
    (c,) = CC.judge({**claim, "published": {"difference": 5}}, {"a": None, "b": slow})
    assert (c.published, c.reproduced) == ("holds", "not run")
    (c,) = CC.judge({**claim, "published": {"difference": -2}}, {"a": [], "b": slow})
    assert (c.published, c.reproduced) == ("fails", "missing")


def test_trend_claim_is_the_sign_of_the_least_squares_slope_inside_the_window():
    """HDCGAN Fig. 14's kind: each row's mean curve, the points with 19 <= epoch <= 74, slope by hand."""
    claim = {"x": "epoch", "trend": "decreasing", "rows": ["a", "b", "c", "d"], "window": [19, 74]}
    falling = [(10, 0.1), (19, 0.30), (40, 0.26), (74, 0.20)]  # the epoch-10 point is outside the window
    # by hand over (19, .30), (40, .26), (74, .20): x mean 44.33, slope = sum dx dy / sum dx^2 = -0.0018...
    xs, ys = [19, 40, 74], [0.30, 0.26, 0.20]
    mx, my = sum(xs) / 3, sum(ys) / 3
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    a, b, c, d = CC.judge(claim, {"a": falling, "b": [(19, 0.2), (74, 0.3)], "c": [(74, 0.2)], "d": None})
    assert (a.reproduced, a.published) == ("holds", "-") and f"slope {slope:.3g} per epoch over 3 points" == \
        a.detail_reproduced
    assert b.reproduced == "fails" and c.reproduced == "missing" and d.reproduced == "not run"
    (e,) = CC.judge({**claim, "trend": "increasing", "rows": ["b"]}, {"b": [(19, 0.2), (74, 0.3)]})
    assert e.reproduced == "holds"
    rows = CC.curve_claim_rows(claim, [a])
    assert rows == [["a decreasing", "affine fit over epochs 19-74", "stated, no numbers", a.detail_reproduced + ": holds"]]
    assert CC.claim_rows(claim) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("change,needle", [
    ({"trend": "down"}, "trend must be one of"),
    ({"trend": "decreasing", "rows": ["hdcgan"], "threshold": {"absolute": 1}}, "a trend claim has rows"),
    ({"rows": ["nope"]}, "rows must be a list"),
    ({"window": [74, 19]}, "window must be"),
])
def test_bad_trend_claim_names_file_and_key(tmp_path, change, needle):
    _load_changed(tmp_path, "hdcgan_table1", change, needle)


def _load_changed(tmp_path, spec_id, change, needle):
    """The spec with its first curve claim changed fails to load, naming the file and the key."""
    import yaml

    src = T.get_spec(spec_id).path
    d = yaml.safe_load(src.read_text())
    d["curve_claims"][0].update(change)
    p = tmp_path / src.name
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    with pytest.raises(T.SpecError, match=rf"{spec_id}.yaml: .*{needle}"):
        T.load_spec(p)


@pytest.mark.parametrize("change,needle", [
    ({"column": "nope"}, "column must be a column id"),
    ({"x": "seconds"}, "x must be one of"),
    ({"threshold": {"below": 3}}, "threshold must be"),
    ({"pairs": [["lga8", "nope"]]}, "pairs must be"),
    ({"published": {"lga8": "21000"}}, "published maps"),
    ({"speed": 1}, "unknown key"),
    ({"window": [1, 2]}, "rows/window belong to trend claims"),
    ({"paper_x": {"unit": "iterations"}}, "paper_x must be"),
])
def test_bad_curve_claim_names_file_and_key(tmp_path, change, needle):
    _load_changed(tmp_path, "lga_table1", change, needle)


def _write_curve(cfg, run, seed, points, metric):
    d = Path(C.run_dir(cfg, *run, seed))
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "curve.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "epoch", "train_seconds", "metric", "value"])
        for step, value in points:
            w.writerow([step, step / 1000, step, metric, value])


def test_lga_table1_renders_its_claims_over_training(full_cfg):
    """LSUN bedroom: LGA 8x8 reaches FID 100 at step 2000 (mean of seeds), WGAN-GP at 3000: holds; CelebA curves
    absent: missing; the published side as the paper states it."""
    cfg = copy.deepcopy(full_cfg)
    spec = T.get_spec("lga_table1")
    metric = "fid@10000"
    for seed in range(3):
        _write_curve(cfg, ("lga_lsunbedroom64", "lga", "lga8"), seed, [(1000, 150.0), (2000, 95.0 + seed)], metric)
        _write_curve(cfg, ("lga_lsunbedroom64", "wgan_gp", "default"), seed,
                     [(1000, 160.0), (2000, 120.0), (3000, 90.0)], metric)
    md = render_markdown(spec, cfg, evaluate_table(spec, cfg))
    section = md[md.index("## Claim over training lsun_time_to_fid100\n"):]
    assert "**published: holds in 1 of 1; reproduced: holds in 1 of 1**" in section
    assert ("| lga8 before wgan_gp | FID <= 100 | 21000 iterations (= 4200 steps) vs 37000 iterations (= 7400 steps): "
            "holds | 2000 vs 3000 steps: holds |") in section
    celeba = md[md.index("## Claim over training celeba_converges_faster\n"):]
    assert "wgan_gp later by 5 epochs: holds" in celeba and "no curve points: missing" in celeba


def test_near_best_mean_hand_computed():
    """LGA 4.2's STL-10 averages (issue 31, finding 12): the FIDs near a curve's lowest, by value or by position."""
    pts = [(10, 80.0), (20, 60.0), (30, 50.0), (40, 58.0), (50, 70.0), (60, 55.0)]
    mean, std, n = CC.near_best(pts, {"values": 0.2})  # <= 60: 60, 50, 58, 55
    assert n == 4 and mean == pytest.approx(55.75) and std == pytest.approx(4.3493, abs=1e-4)
    mean, std, n = CC.near_best(pts, {"positions": 0.2})  # |x - 30| <= 0.2 * 50 = 10: x 20, 30, 40
    assert n == 3 and mean == pytest.approx(56.0) and std == pytest.approx(5.2915, abs=1e-4)
    assert CC.near_best([(5, 7.0)], {"values": 0.2}) == (7.0, 0.0, 1)


def test_near_best_claim_on_the_lga_table():
    spec = T.get_spec("lga_table1")
    claim = next(c for c in spec.curve_claims if c["id"] == "stl10_near_best")
    curves = {"lga8": [(10, 60.0), (20, 50.0), (30, 52.0)], "wgan_gp": [(10, 70.0), (20, 65.0), (30, 90.0)],
              "lga4": [(10, 99.0), (20, 80.0)], "lga4_zero": None, "wgan_gp_hinge": []}
    comps = {(c.faster, c.slower): c for c in CC.judge(claim, curves)}
    c = comps[("lga8", "wgan_gp")]
    assert (c.published, c.reproduced) == ("holds", "holds") and "52.5 (3.4) vs 64.6 (3.6)" == c.detail_published
    assert c.detail_reproduced == "54 (5.3, 3 points) vs 67.5 (3.5, 2 points)"  # <= 60: 60, 50, 52; <= 78: 70, 65
    assert comps[("lga4", "wgan_gp")].reproduced == "fails"
    assert comps[("lga4_zero", "wgan_gp")].reproduced == "not run"
    assert comps[("lga8", "wgan_gp_hinge")].reproduced == "missing"
    assert all(c.published == "holds" for c in comps.values())  # the paper's own averages all support the claim
    rows = CC.curve_claim_rows(claim, list(comps.values()))
    assert rows[0][1] == "mean (std) of the FIDs within 20 % of the curve's lowest"


@pytest.mark.parametrize("change,needle", [
    ({"near_best": {"around": 0.2}}, "near_best must be"),
    ({"near_best": {"values": 0.2}, "published": {"lga8": 52.5}}, "published maps row ids to [mean, std]"),
])
def test_bad_near_best_claim(tmp_path, change, needle):
    import yaml

    d = yaml.safe_load((T.TABLES_DIR / "lga_table1.yaml").read_text())
    claim = next(c for c in d["curve_claims"] if c["id"] == "stl10_near_best")
    claim.update(change)
    p = tmp_path / "lga_table1.yaml"
    p.write_text(yaml.safe_dump(d))
    with pytest.raises(T.SpecError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        T.load_spec(p)
