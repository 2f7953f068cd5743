"""The GPU check (``ganrepro/tools/gpucheck.py``, ``scripts/gpu_check.sh``): its CPU mode end to end, its budget, what it
found on the H200 (each bug with the CPU test that would have caught it), and the bill reading its JSON."""
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganrepro.tools import cost
from ganrepro.tools import gpucheck
from ganrepro.config import config as C

ROOT = Path(__file__).resolve().parents[2]
H200_JSON = ROOT / "benchmarks" / "results" / "benchmarks_nvidia-h200.json"

# The GPU machine's Python has none of these (issue 29): the check must not import them.
BLOCKER = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"snakemake", "datasets", "lmdb", "snakemake_executor_plugin_slurm"}:
            raise ImportError(f"{name} is blocked: the GPU machine does not have it")
        return None
sys.meta_path.insert(0, _Block())
"""


def _check(tmp_path, *args):
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(site), "OUT": str(tmp_path / "unused")}
    return subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--device", "cpu", "--tiny",
                           "--out", str(tmp_path / "out"), *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=ROOT)


def test_tiny_check_runs_every_stage_without_the_pipeline_packages(tmp_path):
    """`bash scripts/gpu_check.sh --device cpu --tiny`: every stage at toy sizes under the import blocker, first
    cut to one stage, then continued (``--continue``) to the end; the JSON holds every stage's figures."""
    first = _check(tmp_path, "--stages", "hdcgan512")
    assert first.returncode == 0, first.stderr[-3000:]
    out = tmp_path / "out" / "benchmarks_cpu_tiny.json"
    part = json.loads(out.read_text())
    assert set(part["sections"]) == {"device", "hdcgan512"} and part["finished"]
    prev = tmp_path / "first.json"
    out.rename(prev)
    p = _check(tmp_path, "--continue", str(prev))
    assert p.returncode == 0, p.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["errors"] == [], res["errors"]
    assert set(res["sections"]) == {"device", "hdcgan512", "train_resume", "steps", "fast_switches", "variants"}
    assert res["continued_from"]["file"] == "first.json" and "hdcgan512" not in res["stage_seconds"]
    # hdcgan: the four paths, each timed, with FLOPs counted
    rows = {r["path"]: r for r in res["sections"]["hdcgan512"]["rows"]}
    assert set(rows) == set(gpucheck.HDCGAN_PATHS)
    assert all(r["step_s"] > 0 and r["flops"] > 0 for r in rows.values())
    # the training run: killed at the middle checkpoint, resumed, the same weights as the straight run (CPU)
    tr = res["sections"]["train_resume"]
    for path in ("fast_all", "default_deterministic"):
        assert tr[path]["interrupted_at"] == tr["steps"] // 2 and tr[path]["resumed"]["step"] == tr["steps"]
        assert tr[path]["weights"]["G"]["bit_identical"] and tr[path]["weights"]["D"]["bit_identical"]
    assert tr["samples_png"] and all(math.isfinite(v) for v in tr["evaluation"]["values_not_comparable"].values())
    assert tr["projection"]["paper"]["hours"] == 12.24 and tr["projection"]["paper"]["column"] == "time128"
    # one representative per image method on every path; the variants stage adds other runs
    reps = gpucheck.representatives(C.load_config(overrides={"scale": "full"}))
    have = {(r["experiment"], r["method"], r["variant"], r["path"]) for r in res["steps"]}
    assert all((*rep, p) in have for rep in reps for p in gpucheck.PATHS)
    assert {m for _, m, _ in reps} >= {"glgan", "hdcgan", "lga", "wgan_gp", "wgan_qc", "sagan"}
    assert res["sections"]["variants"]["timed"] >= 1
    fs = res["sections"]["fast_switches"]["switches"]
    assert {"default", "all", "bf16", "channels_last", "fused_adam"} <= set(fs)


def test_budget_skips_stages_and_says_so(tmp_path):
    path = gpucheck.run(device="cpu", tiny=False, budget=0, out_dir=str(tmp_path))
    res = json.loads(path.read_text())
    assert [s["stage"] for s in res["skipped"]] == [s[0] for s in gpucheck.STAGES]
    assert res["steps"] == [] and res["sections"] == {} and res["finished"]


def test_unknown_stage_is_refused(tmp_path):
    with pytest.raises(C.ConfigError, match="unknown stage"):
        gpucheck.run(device="cpu", tiny=True, out_dir=str(tmp_path), stages=("steps", "warp"))


def test_peaks_and_file_names():
    assert gpucheck.peaks_of("NVIDIA H200")["tensor16"] == 989.0
    assert gpucheck.peaks_of("Tesla V100-SXM2-32GB")["model"] == "V100"
    assert gpucheck.peaks_of("Intel(R) Xeon(R)") is None
    assert gpucheck.gpu_slug("NVIDIA H200") == "nvidia-h200"


# ------------------------------------------------------------------------------------------------ H200 findings
def test_checkpoints_load_to_the_host_whatever_the_device(tmp_path):
    """H200 finding: checkpoints were mapped to the run's device, so the samplers' and generators' states arrived
    as CUDA tensors and every resume on a GPU failed ('RNG state must be a torch.ByteTensor'). On a CPU the same
    mapping to another device fails too; here the non-CPU device is ``meta``."""
    from ganrepro.train.loop import _load_newest

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    torch.save({"rng": torch.Generator().manual_seed(0).get_state(), "step": 3,
                "method_state": {"history": torch.ones(2, 2), "n": 1}}, ckpt / "step00000003.pt")
    state, path = _load_newest(ckpt, "meta")
    assert path.name == "step00000003.pt"
    assert state["rng"].device.type == "cpu" and state["rng"].dtype == torch.uint8
    torch.Generator().set_state(state["rng"])  # what resume does
    assert state["method_state"]["history"].device.type == "meta" and state["method_state"]["n"] == 1


def test_compiled_generator_keeps_its_layout_under_channels_last():
    """H200 finding: a channels_last G compiled by inductor failed its first backward (assert_size_stride in the
    1x1-input ConvTranspose's convolution_backward); with ``compile`` G's weights stay as built, D goes
    channels_last."""
    from ganrepro.methods import registry
    from ganrepro.train.loop import make_nets

    cfg = C.load_config(overrides={"scale": "smoke"})
    rc = C.resolve_run(cfg, "glgan_celeba128", "glgan", "patch4_adaop", 0)
    convs = lambda net: [p for p in net.parameters() if p.dim() == 4 and p.shape[2] > 1]  # noqa: E731
    cl = torch.channels_last
    for compile_, g_cl in ((False, True), (True, False)):
        tcfg = {**rc["train"], "fast": {"channels_last": True, "compile": compile_}}
        nets = make_nets(registry.get("glgan"), dict(rc["method_params"]), tcfg)
        assert all(p.is_contiguous(memory_format=cl) for p in convs(nets.D))
        assert all(p.is_contiguous(memory_format=cl) == g_cl for p in convs(nets.G))


# ------------------------------------------------------------------------------------------------ the bill
def test_committed_h200_check_is_complete_where_it_ran():
    res = json.loads(H200_JSON.read_text())
    assert res["device_name"] == "NVIDIA H200" and res["sections"]["device"]["hardware"]["gpu"] == "NVIDIA H200"
    hd = {r["path"]: r for r in res["sections"]["hdcgan512"]["rows"]}
    assert hd["default"]["resolution"] == 512 and hd["default"]["batch_size"] == 32
    assert all(r["peak_memory_gib"] > 0 for r in hd.values())
    assert all(r["step_s"] > 0 and r["share_of_peak"] < 1 for r in res["steps"])


def test_cost_prices_h200_runs_from_the_committed_check(full_cfg):
    res = json.loads(H200_JSON.read_text())
    measured: dict = {}  # the training loop's own path (cuDNN as it leaves it); runs of one size share a row
    for r in res["steps"]:
        if r["path"] == "default" and not r["fast"]:
            measured.setdefault((r["method"], r["variant"], r["resolution"], r["batch_size"]), []).append(r["step_s"])
    rows, _ = cost.estimate(full_cfg, "all", gpu="H200")
    exact = [r for r in rows if r.source == "benchmark (NVIDIA H200)"]
    assert len(exact) >= 40
    # the measured step is the range's low end, the training loop's overhead (the check's train_resume run) its high
    assert all(r.sps_low == statistics.median(measured[(r.method, r.variant, r.resolution, r.batch)])
               and r.sps_high == pytest.approx(r.sps_low * cost.loop_overhead(res)) for r in exact)
    # GL-GAN Table 1's OURS was timed only with cuDNN autotuning (the first call): that row prices it, flagged
    ours = next(r for r in rows if (r.experiment, r.method, r.variant) == ("glgan_celeba128", "glgan", "patch4_adaop"))
    assert ours.source == "benchmark (NVIDIA H200; timed with cudnn.benchmark on)"
    # the same runs on the V100 have no measurement: the papers' hours, as before
    v100, _ = cost.estimate(full_cfg, "glgan_table1", gpu="V100")
    assert all(not r.source.startswith("benchmark") for r in v100)


def test_cost_matches_the_runs_fast_path():
    rows = [{"device_name": "NVIDIA H200", "method": "m", "variant": "a", "resolution": 32, "batch_size": 8,
             "step_s": 2.0, "fast": {}},
            {"device_name": "NVIDIA H200", "method": "m", "variant": "a", "resolution": 32, "batch_size": 8,
             "step_s": 1.0, "fast": {"bf16": True, "channels_last": True}},
            {"device_name": "NVIDIA H200", "method": "m", "variant": "b", "resolution": 32, "batch_size": 8,
             "step_s": 3.0}]
    assert cost.bench_step(rows, "h200", "m", "a", 32, 8, None) == (2.0, "benchmark (NVIDIA H200)")
    assert cost.bench_step(rows, "H200", "m", "a", 32, 8, {"channels_last": True, "bf16": True,
                                                            "prefetch": 0})[0] == 1.0
    # another variant is priced by the method's achieved FLOP/s (cost.bench_rates), not by its step time
    assert cost.bench_step(rows, "H200", "m", "c", 32, 8, {}) is None
    rows[0]["flops"] = 10 ** 12
    assert cost.bench_rates(rows, "H200", "m", {}) == [5e11]
    assert cost.bench_step(rows, "H200", "m", "a", 64, 8, {}) is None
    assert cost.bench_step(rows, "A100", "m", "a", 32, 8, {}) is None


def test_readme_and_docs_state_what_the_h200_check_measured(full_cfg):
    """The README's H200 total is what `cost all --gpu H200` prints; the HDCGAN peaks it and docs/gpu.md quote are
    the committed JSON's; the committed Markdown page is the JSON's rendering."""
    rows, notes = cost.estimate(full_cfg, "all", gpu="H200")
    total = cost.render(rows, notes, "all", "H200").splitlines()[-1]
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "gpu.md").read_text()
    assert f"    {total}\n" in readme
    hd = {r["path"]: r for r in json.loads(H200_JSON.read_text())["sections"]["hdcgan512"]["rows"]}
    for text in (readme, docs):
        assert f"{hd['default']['peak_memory_gib']:.2f} GiB" in text
        assert f"{hd['bf16+channels_last']['peak_memory_gib']:.2f} GiB" in text
    res = {**json.loads(H200_JSON.read_text()), "file": f"benchmarks/results/{H200_JSON.name}"}
    assert H200_JSON.with_suffix(".md").read_text() == gpucheck.render_markdown(res)
