"""The BRC benchmark script runs on the real methods and reports ratios measured in the same run.

Only the structure and the arithmetic of the report are asserted (one repeat each); timings themselves are never
asserted in tests.
"""
import importlib.util
import json

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
    variants = ["brc", "brc_rhg", "brc_bda", "brc_cg", "brc_neumann", "plain"]
    assert r["brc"]["ratio_to_brc"] == 1.0
    for v in variants:
        assert r[v]["ms"] > 0
        assert abs(r[v]["ratio_to_brc"] - r[v]["ms"] / r["brc"]["ms"]) < 0.01 * r[v]["ratio_to_brc"] + 1e-3


def test_no_registered_variant_syncs_the_host_between_log_steps(tmp_path):
    """benchmarks/host_syncs.py over every registered method and variant: 0 per step (the README's claim)."""
    spec_h = importlib.util.spec_from_file_location("host_syncs", ROOT / "benchmarks" / "host_syncs.py")
    host_syncs = importlib.util.module_from_spec(spec_h)
    spec_h.loader.exec_module(host_syncs)
    out = tmp_path / "syncs.json"
    assert host_syncs.main(["--steps", "1", "--out", str(out)]) == 0
    res = json.loads(out.read_text())["results"]
    from ganrepro import registry

    assert set(res) == {f"{m}/{v}" for m in registry.registered() for v in registry.get(m).variants}
    assert {k: r["syncs_per_step"] for k, r in res.items() if r["syncs_per_step"]} == {}
