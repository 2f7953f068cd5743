"""The declaration of a table spec's ``curve_claims`` (claims over training): its keys, its validation when the spec
loads (``check_curve_claims``) and the rows it reads. Judging them is ``ganrepro.verdicts.curve_claims``'s."""
from __future__ import annotations

CURVE_CLAIM_KEYS = {"id", "text", "column", "x", "threshold", "pairs", "published", "trend", "rows", "window",
                    "near_best", "paper_x"}
X_AXES = ("step", "epoch")
THRESHOLDS = ("absolute", "relative_to_best")
TRENDS = ("decreasing", "increasing")
# ``near_best``: the mean and std of a curve's values near its lowest one (LGA 4.2's STL-10 averages): the values
# within a fraction of the lowest (``values``: value <= (1 + r) min) or the points within a fraction of the run's
# length of the lowest one's position (``positions``: |x - x_best| <= r (x_max - x_min))
NEAR_BEST = ("values", "positions")


def claim_rows(claim: dict) -> list[str]:
    """The rows a claim over training reads: its pairs' rows (time to threshold) or its ``rows`` (trend)."""
    if "trend" in claim:
        return list(claim["rows"])
    return sorted({r for pair in claim["pairs"] for r in pair})


def check_curve_claims(claims, check, row_ids: list, col_ids: list) -> None:
    """Validate a spec's ``curve_claims``; ``check(cond, message)`` raises naming the spec file."""
    check(isinstance(claims, list), "curve_claims must be a list")
    seen = set()
    for c in claims:
        check(isinstance(c, dict), f"curve claim {c!r} is not a mapping")
        unknown = set(c) - CURVE_CLAIM_KEYS
        check(not unknown, f"curve claim {c.get('id')!r}: unknown key(s) {sorted(unknown)}")
        cid = c.get("id")
        check(isinstance(cid, str) and cid not in seen, f"curve claims need unique ids, got {cid!r}")
        seen.add(cid)
        check(isinstance(c.get("text"), str) and c["text"], f"curve claim {cid}: needs text (quote the paper)")
        check(c.get("column") in col_ids, f"curve claim {cid}: column must be a column id, got {c.get('column')!r}")
        check(c.get("x") in X_AXES, f"curve claim {cid}: x must be one of {', '.join(X_AXES)}, got {c.get('x')!r}")
        if "trend" in c:
            check(c["trend"] in TRENDS, f"curve claim {cid}: trend must be one of {', '.join(TRENDS)}, got {c['trend']!r}")
            check(not {"threshold", "pairs", "published"} & set(c),
                  f"curve claim {cid}: a trend claim has rows (and an optional window), not threshold/pairs/published")
            rows = c.get("rows")
            check(isinstance(rows, list) and rows and set(rows) <= set(row_ids),
                  f"curve claim {cid}: rows must be a list of this table's row ids, got {rows!r}")
            w = c.get("window")
            check(w is None or (isinstance(w, list) and len(w) == 2 and all(isinstance(v, (int, float)) for v in w)
                                and w[0] < w[1]), f"curve claim {cid}: window must be [from, to], got {w!r}")
            continue
        px = c.get("paper_x")
        check(px is None or (isinstance(px, dict) and set(px) == {"unit", "per_x"} and isinstance(px["unit"], str)
                             and isinstance(px["per_x"], (int, float)) and px["per_x"] > 0),
              f"curve claim {cid}: paper_x must be {{unit: TEXT, per_x: N}} (paper units per x), got {px!r}")
        check("rows" not in c and "window" not in c, f"curve claim {cid}: rows/window belong to trend claims")
        if "near_best" in c:
            nb = c["near_best"]
            check(isinstance(nb, dict) and len(nb) == 1 and next(iter(nb)) in NEAR_BEST
                  and isinstance(next(iter(nb.values())), (int, float)) and next(iter(nb.values())) > 0,
                  f"curve claim {cid}: near_best must be {{values: R}} or {{positions: R}}, got {nb!r}")
            check("threshold" not in c, f"curve claim {cid}: near_best and threshold exclude each other")
            pairs = c.get("pairs")
            check(isinstance(pairs, list) and pairs and all(
                isinstance(p, list) and len(p) == 2 and p[0] != p[1] and set(p) <= set(row_ids) for p in pairs),
                f"curve claim {cid}: pairs must be [[lower, higher], ...] of this table's row ids, got {pairs!r}")
            pub = c.get("published") or {}
            check(isinstance(pub, dict) and set(pub) <= set(row_ids) and all(
                isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)
                for v in pub.values()), f"curve claim {cid}: published maps row ids to [mean, std], got {pub!r}")
            continue
        th = c.get("threshold")
        check(isinstance(th, dict) and len(th) == 1 and next(iter(th)) in THRESHOLDS
              and isinstance(next(iter(th.values())), (int, float)) and next(iter(th.values())) >= 0,
              f"curve claim {cid}: threshold must be {{absolute: V}} or {{relative_to_best: R}}, got {th!r}")
        pairs = c.get("pairs")
        check(isinstance(pairs, list) and pairs and all(
            isinstance(p, list) and len(p) == 2 and p[0] != p[1] and set(p) <= set(row_ids) for p in pairs),
            f"curve claim {cid}: pairs must be [[faster, slower], ...] of this table's row ids, got {pairs!r}")
        pub = c.get("published") or {}
        check(isinstance(pub, dict) and set(pub) <= set(row_ids) | {"difference"}
              and all(isinstance(v, (int, float)) for v in pub.values()),
              f"curve claim {cid}: published maps row ids (or 'difference') to numbers, got {pub!r}")
