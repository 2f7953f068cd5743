"""The GPU check (issue 29): ``bash scripts/gpu_check.sh`` (= ``python -m ganrepro gpucheck``).

One prepared command that proves the full-scale path on a GPU and measures what the bill needs, within a time
budget (``--budget``, default 400 s), the most valuable measurements first. Each stage's result is written to the
output JSON (``benchmarks_<gpu>.json`` in ``--out``, default ``$OUT`` or ``benchmarks/results/``) as soon as it is
measured, atomically, so a run cut short still returns what it got; a stage that fails records its error and
traceback and the check goes on. The stages, in order:

1. ``device``: GPU model, driver, torch, CUDA, cuDNN; the chip's stated peaks (``PEAKS``) and a measured matrix
   product rate (bf16 and fp32, PyTorch's defaults) as the ceilings the steps are read against.
2. ``hdcgan512``: HDCGAN at 512 px, batch 32, the paper's widths 64 (hdcgan.txt Sec. 5): one training step and
   its peak memory (``torch.cuda.max_memory_allocated`` over the warm-up steps, the networks, Adam state and batches
   included) with the default path, bf16 autocast, channels_last and both: the README's 24 GB, measured.
3. ``train_resume``: a real ``ganrepro.train.loop.train`` of GL-GAN's OURS run (``glgan_celeba128 / glgan /
   patch4_adaop``, 128 px, batch 64) for a few hundred steps on random prepared data, every fast-path switch on
   (prefetch with pinned memory, latents on the device, fused Adam, bf16, channels_last, compiled G): once
   uninterrupted, once killed after the middle checkpoint and resumed; the final weights compared. Then the same
   pair on the default path with deterministic algorithms (``torch.use_deterministic_algorithms``), where resume
   should be bit-identical. Then the run's samples and one evaluation through the real code path
   (``ganrepro.metrics.images.reference_stats`` / ``image_metrics``: clean-fid's resize and feature call, FID, KID, IS,
   MS-SSIM) with an Inception-v3 of the real architecture and random weights in place of the TorchScript file
   (absent on a machine without network), timed; and the projected hours of the whole run (its steps x the
   measured step) beside the paper's (GL-GAN Table 1, read from the table spec).
4. ``steps``: one representative variant of every image method (the variant most table cells use) at its first
   experiment's paper resolution, batch and widths: ms per ``train_step`` on the default path and two fast paths
   (``fast_fp32``: channels_last + fused Adam + latents on the device; ``fast_bf16``: the same with bf16 autocast),
   interleaved in one process (ratios per round), each path's peak memory, the FLOPs of one step counted with
   PyTorch's formulas (``ganrepro.util.flops``), achieved TFLOP/s and the share of the chip's stated bf16 peak.
5. ``fast_switches``: each fast-path switch on its own and all together on ``ganrepro.tools.bench.FAST_CASE`` (WGAN-GP,
   CIFAR-10 32 px, batches from a prepared memmap), ``torch.compile`` included (``ganrepro.tools.bench.bench_fast``).
6. ``variants``: every other planned (experiment, method, variant) of the image experiments, default and
   ``fast_fp32`` paths, as long as the budget lasts.

BRC's mixture runs train on CPUs (their cost comes from the committed CPU reference runs) and are not measured here.
``--device cpu --tiny`` runs every stage at toy sizes (16 px, widths 8, batch 4, a few steps, the smoke scale's
stand-in feature network) in well under a minute: ``tests/test_gpucheck.py`` runs it so the check cannot rot.

The JSON's ``steps`` rows are what ``python -m ganrepro cost --gpu <model>`` prices from (``ganrepro.tools.cost``): each
row has the experiment, method, variant, resolution, batch, the fast-path switches of its path and ``step_s``.
"""
from __future__ import annotations

import copy
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from ganrepro import paths
from ganrepro.config import config as C
from ganrepro.util import flops

GIB = 2 ** 30

PEAKS = flops.PEAKS   # the chips' stated peaks, one table (``ganrepro.util.flops``)

TRAIN_RUN = ("glgan_celeba128", "glgan", "patch4_adaop")   # GL-GAN Table 1's OURS row (config/tables/glgan_table1)
PAPER_HOURS_TABLE = "glgan_table1"

# the fast paths of the per-method steps (data switches do not apply: the batches are already on the device)
FAST_FP32 = {"channels_last": True, "fused_adam": True, "z_on_device": True}
FAST_BF16 = {**FAST_FP32, "bf16": True}
PATHS = {"default": {}, "fast_fp32": FAST_FP32, "fast_bf16": FAST_BF16}
HDCGAN_PATHS = {"default": {}, "bf16": {"bf16": True}, "channels_last": {"channels_last": True},
                "bf16+channels_last": {"bf16": True, "channels_last": True}}
# every switch of the training loop at once (the train-resume stage; compile only on CUDA)
FAST_ALL = {"prefetch": 2, "pin_memory": True, "z_on_device": True, "fused_adam": True, "bf16": True,
            "channels_last": True, "compile": True}


# ------------------------------------------------------------------------------------------------ sizes
class Sizes:
    """What each stage runs at: the papers' sizes on a GPU, toy sizes with ``tiny``."""

    def __init__(self, tiny: bool, cuda: bool):
        self.tiny, self.cuda = tiny, cuda
        self.res_cap, self.width_cap, self.batch_cap = (16, 8, 4) if tiny else (None, None, None)
        self.hdcgan_res = 16 if tiny else 512
        self.train_steps, self.train_images = (8, 48) if tiny else (300, 1024)
        self.eval_samples = 20 if tiny else 2000
        self.repeats, self.warmup, self.min_seconds = (1, 1, 0.0) if tiny else (6, 3, 0.5)
        self.detector = "standin" if tiny else "inception"
        self.max_variants = 4 if tiny else None   # the variants stage in the CPU test: a few, not all


def shrink(rc: dict, sz: Sizes) -> dict:
    """The resolved run at the check's size: unchanged on a GPU; with ``tiny``, image resolution, widths and batch
    capped (a copy)."""
    rc = copy.deepcopy(rc)
    if not sz.tiny:
        return rc
    p = rc["method_params"]
    if rc.get("resolution"):
        rc["resolution"] = p["resolution"] = min(int(rc["resolution"]), sz.res_cap)
    for k in ("g_width", "d_width"):
        if k in p:
            p[k] = min(int(p[k]), sz.width_cap)
    rc["train"]["batch_size"] = min(int(rc["train"]["batch_size"]), sz.batch_cap)
    return rc


# ------------------------------------------------------------------------------------------------ the record
class Check:
    """The output JSON, rewritten atomically after every stage; the budget; stage errors kept, never raised."""

    def __init__(self, out_path: Path, budget: float, device: str, sz: Sizes):
        self.path, self.budget, self.device, self.sz = Path(out_path), float(budget), device, sz
        self.t0 = time.perf_counter()
        self.full: dict = {}   # the config at scale full (set by ``run``)
        self.res = {"benchmark": "ganrepro gpucheck", "device": device, "tiny": sz.tiny, "budget_s": budget,
                    "device_name": "", "steps": [], "sections": {}, "errors": [], "skipped": [],
                    "stage_seconds": {}}

    def add_rows(self, rows: list[dict]) -> None:
        """Timed rows into ``steps``, replacing earlier rows of the same run and path (a continued check)."""
        key = lambda r: (r["experiment"], r["method"], r["variant"], r["path"])  # noqa: E731
        new = {key(r) for r in rows if "step_s" in r}
        self.res["steps"] = [r for r in self.res["steps"] if key(r) not in new] + [r for r in rows if "step_s" in r]

    def timed(self, exp: str, m: str, v: str, paths) -> bool:
        have = {(r["experiment"], r["method"], r["variant"], r["path"]) for r in self.res["steps"]}
        return all((exp, m, v, p) in have for p in paths)

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.t0)

    def save(self) -> None:
        from ganrepro.util.io import write_json

        self.res["elapsed_s"] = round(time.perf_counter() - self.t0, 1)
        write_json(self.path, self.res)

    def stage(self, name: str, fn, need: float) -> None:
        """Run ``fn(self)`` (its return value becomes ``sections[name]``) when at least ``need`` seconds of the
        budget are left; an exception is recorded with its traceback and the check goes on."""
        if self.left() < need:
            self.res["skipped"].append({"stage": name, "reason": f"budget: {self.left():.0f} s left, the stage "
                                                                  f"needs about {need:.0f} s"})
            print(f"[gpucheck] {name}: skipped (budget)", flush=True)
            self.save()
            return
        print(f"[gpucheck] {name} ({self.left():.0f} s of the budget left)", flush=True)
        t = time.perf_counter()
        try:
            value = fn(self)
            if value is not None:
                self.res["sections"][name] = value
        except Exception as e:  # noqa: BLE001 - every failure is a finding: recorded, then the next stage
            self.error(name, e)
        finally:
            self.res["stage_seconds"][name] = round(time.perf_counter() - t, 1)
            _free(self.device)
            self.save()

    def error(self, where: str, e: BaseException) -> None:
        msg = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
        print(f"[gpucheck] {where}: ERROR {msg}", file=sys.stderr, flush=True)
        self.res["errors"].append({"stage": where, "error": msg, "traceback": traceback.format_exc()[-4000:]})


def _free(device: str) -> None:
    import gc

    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def _cuda(device: str) -> bool:
    return device.startswith("cuda")


def _mem(device: str) -> int:
    import torch

    return torch.cuda.memory_allocated() if _cuda(device) else 0


def _reset_peak(device: str) -> None:
    import torch

    if _cuda(device):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak_gib(device: str, base: int) -> float | None:
    import torch

    if not _cuda(device):
        return None
    torch.cuda.synchronize()
    return round((torch.cuda.max_memory_allocated() - base) / GIB, 3)


peaks_of = flops.peaks_of


def gpu_slug(name: str) -> str:
    """``NVIDIA H200`` -> ``nvidia-h200``: the output file's name part."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unknown"


# ------------------------------------------------------------------------------------------------ stage 1
def stage_device(ck: Check) -> dict:
    import torch

    from ganrepro.util.env import hardware

    info = {"hardware": hardware(ck.device), "torch": torch.__version__, "python": platform.python_version(),
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if _cuda(ck.device) else None}
    if _cuda(ck.device):
        props = torch.cuda.get_device_properties(0)
        info.update(name=props.name, total_memory_gib=round(props.total_memory / GIB, 2),
                    multiprocessors=props.multi_processor_count, capability=f"{props.major}.{props.minor}",
                    tf32_conv=torch.backends.cudnn.allow_tf32, tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
        try:
            q = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                               capture_output=True, text=True, timeout=20)
            info["driver"] = q.stdout.strip().splitlines()[0] if q.returncode == 0 and q.stdout.strip() else None
        except (OSError, subprocess.SubprocessError):
            info["driver"] = None
    else:
        info["name"] = info["hardware"]["cpu"]
    ck.res["device_name"] = info["name"]
    info["stated_peaks_tflops"] = peaks_of(info["name"])
    info["matmul_tflops"] = _matmul_rates(ck.device, 256 if ck.sz.tiny else 8192)
    return info


def _matmul_rates(device: str, n: int) -> dict:
    """Measured n x n x n matrix product rates (bf16, and fp32 with PyTorch's default precision): the mean of ten
    products after three warm-ups, the clock read after synchronising."""
    import torch

    from ganrepro.train.fastpath import sync

    out = {"n": n}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        g = torch.Generator(device=device).manual_seed(0)
        a = torch.randn(n, n, device=device, dtype=dtype, generator=g)
        b = torch.randn(n, n, device=device, dtype=dtype, generator=g)
        for _ in range(3):
            a @ b
        sync(device)
        t = time.perf_counter()
        for _ in range(10):
            a @ b
        sync(device)
        out[name] = round(2 * n ** 3 * 10 / (time.perf_counter() - t) / 1e12, 2)
    return out


# ------------------------------------------------------------------------------------------------ step timing
def _setup_path(method, params: dict, tcfg: dict, fast: dict, device: str, res: int, batch: int, epochs: int):
    """Networks, context and two device batches of one fast path (``make_nets`` with the switches)."""
    import torch

    from ganrepro.train import fastpath
    from ganrepro.train.loop import Context, make_nets

    fo = fastpath.fast_options({"fast": fast})
    torch.manual_seed(0)
    nets = make_nets(method, params, {**tcfg, "fast": fast}, device)
    if fo["compile"]:
        fastpath.compile_generator(nets.G, params["z_dim"], device)
    ctx = Context(rng=torch.Generator().manual_seed(1), device=device, epoch=epochs, bf16=bool(fo["bf16"]))
    if fo["z_on_device"]:
        ctx.z_rng = torch.Generator(device=device).manual_seed(2)
    if method.bench_state is not None:
        ctx.state.update(method.bench_state(params))
    g = torch.Generator().manual_seed(3)
    mf = torch.channels_last if fo["channels_last"] else torch.contiguous_format
    reals = [(torch.rand(batch, 3, res, res, generator=g) * 2 - 1).to(device).contiguous(memory_format=mf)
             for _ in range(2)]
    return nets, ctx, reals


def time_paths(ck: Check, exp: str, m: str, v: str, paths: dict[str, dict], count_flops: bool = True,
               repeats: int | None = None, cfg: dict | None = None) -> list[dict]:
    """One ``train_step`` of the run (exp, m, v) at the check's size on each path: each path built and warmed up on
    its own (its peak memory: networks, Adam state, batches and the step's activations), then timed rounds of all
    paths interleaved (``ganrepro.tools.bench.interleave``; ratio to ``default`` = the median of per-round ratios). A path
    that runs out of memory or fails is recorded in its row and left out of the timing."""
    import torch

    from ganrepro.methods import registry
    from ganrepro.tools.bench import interleave
    from ganrepro.train.loop import train_step
    from ganrepro.util.flops import count_flops as flops_of

    sz, dev = ck.sz, ck.device
    rc = shrink(C.resolve_run(cfg or ck.full, exp, m, v, 0), sz)
    params, tcfg = dict(rc["method_params"]), dict(rc["train"])
    res, batch = int(rc["resolution"]), int(tcfg["batch_size"])
    method = registry.get(m)
    base_row = {"experiment": exp, "method": m, "variant": v, "resolution": res, "batch_size": batch,
                "n_critic": int(params.get("n_critic", 1)),
                **{k: params[k] for k in ("g_width", "d_width") if k in params}}
    members, rows, flops = [], {}, None
    for name, fast in paths.items():
        row = {**base_row, "path": name, "fast": dict(fast)}
        rows[name] = row
        _free(dev)
        base = _mem(dev)
        _reset_peak(dev)
        try:
            nets, ctx, reals = _setup_path(method, params, tcfg, fast, dev, res, batch,
                                           int(tcfg.get("epochs") or 0))
            member = [method, nets, (lambda i, reals=reals: (lambda: reals[i % 2])), params, ctx, [], None, None]
            interleave([tuple(member)], dev, 0, sz.warmup)  # warm-up alone: this path's own peak
            row["peak_warmup_gib"] = _peak_gib(dev, base)
            _reset_peak(dev)
            interleave([tuple(member)], dev, 0, 1)  # one more step: the steady peak (allocator and cuDNN settled)
            row["peak_memory_gib"] = _peak_gib(dev, base)
            if count_flops and flops is None:
                flops = flops_of(lambda: train_step(method, nets, lambda: reals[0], params, ctx))
            members.append((name, member))
        except torch.OutOfMemoryError as e:
            row["out_of_memory"] = str(e).splitlines()[0][:300]
        except Exception as e:  # noqa: BLE001 - a path that fails is a finding, kept in its row
            row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
            ck.error(f"{exp}/{m}/{v} path {name}", e)
    if members:
        try:
            interleave([tuple(mb) for _, mb in members], dev, repeats or sz.repeats, 0, sz.min_seconds)
        except Exception as e:  # noqa: BLE001
            ck.error(f"{exp}/{m}/{v} timed rounds", e)
            return list(rows.values())
    times = {name: mb[5] for name, mb in members}
    peak = (ck.res["sections"].get("device") or {}).get("stated_peaks_tflops") or {}
    for name, ts in times.items():
        row = rows[name]
        if not ts:
            continue
        row["step_s"] = round(statistics.median(ts), 6)
        row["repeats"] = len(ts)
        if flops:
            row["flops"] = flops
            row["tflops"] = round(flops / row["step_s"] / 1e12, 3)
            if peak.get("tensor16"):
                row["share_of_peak"] = round(row["tflops"] / peak["tensor16"], 4)
        if "default" in times and name != "default" and times["default"]:
            row["ratio_to_default"] = round(statistics.median(t / b for t, b in zip(ts, times["default"])), 3)
    for _, mb in members:
        mb[1] = None
    return list(rows.values())


def _log_rows(rows: list[dict]) -> None:
    for r in rows:
        what = (f"{1000 * r['step_s']:.2f} ms" if "step_s" in r else r.get("out_of_memory") or r.get("error") or "-")
        extra = "".join(f", {k} {r[k]}" for k in ("ratio_to_default", "peak_memory_gib", "tflops") if k in r)
        print(f"  {r['experiment']}/{r['method']}/{r['variant']} {r['resolution']} px b{r['batch_size']} "
              f"{r['path']}: {what}{extra}", flush=True)


# ------------------------------------------------------------------------------------------------ stage 2
def stage_hdcgan512(ck: Check) -> dict:
    """HDCGAN at ``hdcgan_res`` (512), batch 32, widths 64 on the four paths; the step's FLOPs once."""
    full = copy.deepcopy(ck.full)
    full["experiments"]["hdcgan_celeba512"]["resolution"] = ck.sz.hdcgan_res
    rows = time_paths(ck, "hdcgan_celeba512", "hdcgan", "default", HDCGAN_PATHS, cfg=full)
    _log_rows(rows)
    ck.add_rows([r for r in rows if r["path"] in ("default", "bf16+channels_last")])
    return {"rows": rows, "paper_memory_gb": ck.full["experiments"]["hdcgan_celeba512"].get("gpu_mem_gb"),
            "note": "peak_memory_gib = torch.cuda.max_memory_allocated over one step after the warm-up, minus what "
                    "was allocated before the path was built: weights, gradients, Adam state, two real batches and "
                    "the step; peak_warmup_gib: over the warm-up steps (first-call allocations included). cuDNN as "
                    "the training loop leaves it (torch.backends.cudnn.benchmark off)"}


# ------------------------------------------------------------------------------------------------ stage 3
def _fixture_data(folder: Path, n: int, res: int) -> Path:
    """A prepared-format dataset (``images.npy`` uint8 (n, res, res, 3) + ``manifest.json``) of random images."""
    from ganrepro.tools.bench import random_memmap
    from ganrepro.util.io import write_json

    folder.mkdir(parents=True, exist_ok=True)
    random_memmap(folder / "images.npy", n, res)
    write_json(folder / "manifest.json", {"count": n, "shape": [n, res, res, 3], "dtype": "uint8",
                                          "layout": "NHWC", "source": "gpucheck random fixture"})
    return folder


def _weights(run_dir: Path) -> dict:
    import torch

    return torch.load(run_dir / "final.pt", map_location="cpu", weights_only=True)


def compare_weights(a: dict, b: dict) -> dict:
    """Bit-identity and the largest absolute difference of two final checkpoints' G and D weights."""
    out = {}
    for net in ("G", "D"):
        diffs = [(a[net][k].float() - b[net][k].float()).abs().max().item() for k in a[net]
                 if a[net][k].is_floating_point() and a[net][k].numel()]
        same = all(bool((a[net][k] == b[net][k]).all()) for k in a[net])
        scale = max(a[net][k].float().abs().max().item() for k in a[net] if a[net][k].is_floating_point()
                    and a[net][k].numel())
        out[net] = {"bit_identical": same, "max_abs_diff": max(diffs) if diffs else 0.0,
                    "max_abs_weight": scale}
    return out


def _train_pair(rc: dict, root: Path, name: str) -> dict:
    """An uninterrupted run and one killed after the middle checkpoint then resumed; their final weights."""
    from ganrepro.train.loop import train

    steps = int(rc["train"]["steps"])
    a, b = root / f"{name}_straight", root / f"{name}_resumed"
    ra = train(rc, a)
    rb1 = train(rc, b, on_step=lambda s: s == steps // 2)
    rb2 = train(rc, b)
    return {"straight": {k: ra[k] for k in ("status", "step", "train_seconds")},
            "interrupted_at": rb1.get("step"), "resumed": {k: rb2[k] for k in ("status", "step", "train_seconds")},
            "ms_per_step_overall": round(1000 * ra["train_seconds"] / max(1, ra["step"]), 3),
            "ms_per_step": steady_ms_per_step(a / "log.csv"),
            "weights": compare_weights(_weights(a), _weights(b))}


def steady_ms_per_step(log_csv: Path) -> float:
    """ms per step after the first third of a run (compilation, autotuning and allocator warm-up excluded), from
    its ``log.csv`` (``wall_seconds``: training time only, checkpoints excluded)."""
    import csv

    with open(log_csv, newline="") as f:
        rows = [(int(r["step"]), float(r["wall_seconds"])) for r in csv.DictReader(f)]
    last = rows[-1]
    first = next((r for r in rows if r[0] >= last[0] / 3 and r[0] < last[0]), rows[0])
    if first[0] == last[0]:
        return round(1000 * last[1] / max(1, last[0]), 3)
    return round(1000 * (last[1] - first[1]) / (last[0] - first[0]), 3)


def _paper_hours(cfg: dict, exp: str, m: str, v: str) -> dict | None:
    """The published training hours of (exp, m, v) in ``PAPER_HOURS_TABLE``, with where they are printed."""
    from ganrepro.spec import tables as T

    spec = T.get_spec(PAPER_HOURS_TABLE)
    for cell in spec.cells():
        r = cell.run or {}
        if cell.metric == "train_hours" and cell.published is not None and (r.get("experiment"), r.get("method"),
                                                                            r.get("variant")) == (exp, m, v):
            return {"hours": cell.published.mean, "table": spec.id, "row": cell.row_id, "column": cell.col_id,
                    "source": f"{spec.source.get('file')} {spec.source.get('table')}",
                    "gpu": "V100" if not (cell.published.note and "TITAN" in cell.published.note) else "TITAN Xp"}
    return None


def stage_train_resume(ck: Check) -> dict:
    import torch

    from ganrepro.metrics import inception
    from ganrepro.metrics.features import InceptionSized, StandInInception
    from ganrepro.metrics.images import image_metrics, load_reference, reference_stats
    from ganrepro.runs.snapshots import load_generator
    from ganrepro.tools.cost import run_steps

    exp, m, v = TRAIN_RUN
    sz, dev = ck.sz, ck.device
    full_rc = C.resolve_run(ck.full, exp, m, v, 0)
    rc = shrink(full_rc, sz)
    res, steps = int(rc["resolution"]), sz.train_steps
    root = Path(tempfile.mkdtemp(prefix="ganrepro-gpucheck-"))
    out: dict = {"run": "/".join(TRAIN_RUN), "resolution": res, "batch_size": rc["train"]["batch_size"],
                 "steps": steps, "data": f"{sz.train_images} random images (prepared format)"}
    try:
        data = _fixture_data(root / "data", sz.train_images, res)
        rc["train"].update(steps=steps, epochs=None, ckpt_every=steps // 2, log_every=max(1, steps // 10))
        rc.update(device=dev, data_dir=str(data))
        fast = {**FAST_ALL, "compile": _cuda(dev)}
        rc_fast = copy.deepcopy(rc)
        rc_fast["train"]["fast"] = fast
        out["fast_all"] = {"switches": fast, **_train_pair(rc_fast, root, "fast")}
        ck.res["sections"]["train_resume"] = out
        ck.save()
        w = out["fast_all"]["weights"]["G"]
        print(f"  fast path: {out['fast_all']['ms_per_step']} ms/step; resumed vs straight G bit-identical "
              f"{w['bit_identical']}, max |diff| {w['max_abs_diff']:.3g}", flush=True)
        full_steps = run_steps(ck.full, full_rc)
        step_s = out["fast_all"]["ms_per_step"] / 1000
        out["projection"] = {"full_steps": full_steps, "hours_fast_path": round(full_steps * step_s / 3600, 3),
                             "paper": _paper_hours(ck.full, *TRAIN_RUN),
                             "note": "steps x the fast-path run's ms per step after its first third (log.csv; "
                                     "logging included, checkpoints not; at the check's size when tiny)"}
        if ck.left() > (10 if sz.tiny else 60):
            rc_det = copy.deepcopy(rc)
            rc_det["train"]["fast"] = {}
            before = torch.are_deterministic_algorithms_enabled()
            bench_before = torch.backends.cudnn.benchmark
            torch.use_deterministic_algorithms(True, warn_only=False)
            torch.backends.cudnn.benchmark = False
            try:
                out["default_deterministic"] = _train_pair(rc_det, root, "det")
            except Exception as e:  # noqa: BLE001 - an op without a deterministic kernel is a finding
                ck.error("train_resume default_deterministic", e)
            finally:
                torch.use_deterministic_algorithms(before)
                torch.backends.cudnn.benchmark = bench_before
            d = out.get("default_deterministic")
            if d:
                out["projection"]["hours_default_path_deterministic"] = round(full_steps * d["ms_per_step"] / 1000 / 3600, 3)
                print(f"  default path, deterministic: {d['ms_per_step']} ms/step; resumed G bit-identical "
                      f"{d['weights']['G']['bit_identical']}", flush=True)
        ck.res["sections"]["train_resume"] = out
        ck.save()
        # samples (written by train) and one evaluation through the real code path
        run_dir = root / "fast_straight"
        out["samples_png"] = (run_dir / "samples.png").exists()
        ev = copy.deepcopy(rc["eval"])
        n = sz.eval_samples
        ev.update(features=sz.detector, is_samples=n, ms_ssim_pairs=n // 4, kid_subset_size=min(n, 1000),
                  kid_subsets=10 if sz.tiny else 100, is_splits=10)
        det = InceptionSized() if sz.detector == "inception" else StandInInception()
        images = __import__("numpy").load(data / "images.npy", mmap_mode="r")
        with inception.detector_stand_in(det):
            t = time.perf_counter()
            ref_info = reference_stats(images, root / "ref.npz", sz.detector, ev["fid_mode"], dev,
                                       count=len(images))
            t_ref = time.perf_counter() - t
            G, _ = load_generator(run_dir, dev)
            t = time.perf_counter()
            values, protocol = image_metrics(G, int(rc["method_params"]["z_dim"]), dev, 999, ev, [n],
                                             load_reference(root / "ref.npz"))
            t_eval = time.perf_counter() - t
        full_ev = full_rc["eval"]
        n_full = max(max(full_ev["fid_counts"]), int(full_ev.get("is_samples") or 0),
                     2 * int(full_ev.get("ms_ssim_pairs") or 0))
        out["evaluation"] = {
            "detector": "Inception-v3 architecture, random weights (timing only)" if sz.detector == "inception"
            else "smoke stand-in", "mode": ev["fid_mode"], "samples": n, "reference_images": ref_info["count"],
            "reference_seconds": round(t_ref, 2), "seconds": round(t_eval, 2),
            "generated_images_per_s": round(max(n, 2 * (n // 4)) / t_eval, 1),
            "timings": protocol.get("timings_seconds"), "values_not_comparable": {k: round(float(x), 4)
                                                                                  for k, x in values.items()},
            "full_protocol_images": n_full,
            "full_protocol_seconds_projected": round(t_eval * n_full / max(n, 2 * (n // 4)), 1)}
        print(f"  evaluation of {n} samples: {t_eval:.1f} s ({out['evaluation']['generated_images_per_s']} "
              f"images/s); reference stats {t_ref:.1f} s", flush=True)
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ stages 4-6
def image_runs(cfg: dict) -> list[tuple[str, str, str]]:
    """The planned full-scale (experiment, method, variant) of the image experiments, in DAG order."""
    from ganrepro.methods import registry

    return [(e, m, v) for e, m, v in C.planned_runs(cfg)
            if not C.is_mog(cfg, e) and registry.is_runnable(m, v)]


def representatives(cfg: dict) -> list[tuple[str, str, str]]:
    """One (experiment, method, variant) per image method: the variant in most table cells, at the first planned
    experiment that trains it."""
    runs = image_runs(cfg)
    cells: dict = {}
    for _, cell in C.cells_of_run(cfg):
        r = cell.run
        cells[(r["method"], r["variant"])] = cells.get((r["method"], r["variant"]), 0) + 1
    out = {}
    for e, m, v in runs:
        best = out.get(m)
        if best is None or cells.get((m, v), 0) > cells.get((m, best[2]), 0):
            out[m] = (e, m, v)
    return sorted(out.values(), key=lambda r: r[1])


def stage_steps(ck: Check) -> dict:
    done = []
    for exp, m, v in representatives(ck.full):
        if ck.timed(exp, m, v, PATHS):  # a continued check: timed by the run it continues
            continue
        if ck.left() < (1 if ck.sz.tiny else 8):
            ck.res["skipped"].append({"stage": "steps", "reason": f"budget: {exp}/{m}/{v} and later not timed"})
            break
        rows = time_paths(ck, exp, m, v, PATHS)
        _log_rows(rows)
        ck.add_rows(rows)
        done.append(rows)
        ck.save()
    return {"runs": len(done), "paths": PATHS}


def stage_fast_switches(ck: Check) -> dict:
    from ganrepro.tools.bench import bench_fast

    caps = {"cpu_resolution": ck.sz.res_cap or 10 ** 6, "cpu_batch": ck.sz.batch_cap or 10 ** 6}
    r = bench_fast(ck.full, ck.device, ck.sz.repeats, ck.sz.warmup, n_images=256 if ck.sz.tiny else 2048,
                   with_all=True, **caps)
    for sw, x in r["switches"].items():
        print(f"  {r['case']} {sw}: {1000 * x['step_s']:.2f} ms ({x['ratio_to_default']}x)", flush=True)
    return r


def stage_variants(ck: Check) -> dict:
    seen = {(r["experiment"], r["method"], r["variant"]) for r in ck.res["steps"]}
    timed, left = 0, []
    runs = [r for r in image_runs(ck.full) if r not in seen][:ck.sz.max_variants]
    for i, (exp, m, v) in enumerate(runs):
        if ck.left() < (1 if ck.sz.tiny else 6):
            left = ["/".join(r) for r in runs[i:]]
            ck.res["skipped"].append({"stage": "variants", "reason": f"budget: {len(left)} runs not timed"})
            break
        rows = time_paths(ck, exp, m, v, {"default": {}, "fast_fp32": FAST_FP32}, repeats=max(1, ck.sz.repeats // 2))
        _log_rows(rows)
        ck.add_rows(rows)
        timed += 1
        ck.save()
    return {"timed": timed, "not_timed": left}


STAGES = (("device", stage_device, 5), ("hdcgan512", stage_hdcgan512, 20), ("train_resume", stage_train_resume, 60),
          ("steps", stage_steps, 30), ("fast_switches", stage_fast_switches, 40), ("variants", stage_variants, 10))


def run(device: str = "auto", tiny: bool = False, budget: float = 400.0, out_dir: str | None = None,
        stages: tuple[str, ...] | None = None, continue_from: str | None = None) -> Path:
    """Run the check; returns the JSON's path. ``stages``: only these (``device`` always runs). ``continue_from``:
    an earlier check's JSON (a run cut short by its budget): its results are kept, and a stage it completed without
    error is not run again unless ``stages`` names it (the steps stage skips the runs it timed)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before the first cuBLAS call: deterministic mode
    import torch

    from ganrepro.util.env import pick_device

    device = pick_device(device)
    if _cuda(device) and not torch.cuda.is_available():
        raise C.ConfigError("gpucheck: --device cuda but torch.cuda.is_available() is False on this machine")
    sz = Sizes(tiny, _cuda(device))
    out_dir = Path(out_dir or os.environ.get("OUT") or paths.BENCHMARK_RESULTS)
    name = torch.cuda.get_device_name(0) if _cuda(device) else "cpu"
    path = out_dir / f"benchmarks_{gpu_slug(name)}{'_tiny' if tiny else ''}.json"
    ck = Check(path, budget, device, sz)
    ck.full = C.load_config(overrides={"scale": "full"})
    unknown = set(stages or ()) - {s[0] for s in STAGES}
    if unknown:
        raise C.ConfigError(f"gpucheck: unknown stage(s) {sorted(unknown)}; known: {[s[0] for s in STAGES]}")
    done: set = set()
    if continue_from:
        import json

        prev = json.loads(Path(continue_from).read_text())
        if prev.get("device_name") not in ("", None, name if _cuda(device) else prev.get("device_name")):
            raise C.ConfigError(f"gpucheck --continue: {continue_from} was measured on {prev.get('device_name')!r}, "
                                f"not on this {name!r}")
        rerun = set(stages or ())
        failed = {e["stage"] for e in prev.get("errors", [])} | {k["stage"] for k in prev.get("skipped", [])}
        done = {k for k in prev.get("sections", {}) if k not in failed and k not in rerun and k != "variants"}
        ck.res["sections"] = {k: v for k, v in prev.get("sections", {}).items() if k not in rerun}
        ck.res["steps"] = list(prev.get("steps", []))
        ck.res["errors"] = [e for e in prev.get("errors", []) if e["stage"] in done]
        ck.res["continued_from"] = {"file": Path(continue_from).name, "elapsed_s": prev.get("elapsed_s"),
                                    "stage_seconds": prev.get("stage_seconds"), "skipped": prev.get("skipped")}
    for stage_name, fn, need in STAGES:
        if stage_name != "device" and (stage_name in done or stages and stage_name not in stages
                                       and not continue_from):
            continue
        ck.stage(stage_name, fn, 0 if sz.tiny else need)
    ck.res["finished"] = True
    ck.save()
    write_markdown(path)
    print(f"[gpucheck] wrote {path} ({len(ck.res['steps'])} step rows, {len(ck.res['errors'])} errors, "
          f"{ck.res['elapsed_s']} s)", flush=True)
    return path


# ------------------------------------------------------------------------------------------------ rendering
def render_markdown(res: dict) -> str:
    """The check's JSON as a page: device, HDCGAN's memory, the training run, the fast switches, every step row."""
    dev = res.get("sections", {}).get("device", {})
    lines = [f"# GPU check: {res.get('device_name') or '?'}", "",
             f"Written by `python -m ganrepro gpucheck` (`ganrepro/tools/gpucheck.py`) from `{res.get('file', 'its JSON')}`; "
             f"torch {dev.get('torch')}, CUDA {dev.get('cuda')}, cuDNN {dev.get('cudnn')}, driver {dev.get('driver')}; "
             f"{res.get('elapsed_s')} s of a {res.get('budget_s')} s budget"
             + (f", continuing a check of {res['continued_from']['elapsed_s']} s" if res.get("continued_from") else "")
             + ". Timings are medians, reported, never asserted.", ""]
    if res.get("provenance"):
        lines += [f"Provenance: {res['provenance']}", ""]
    mm, pk = dev.get("matmul_tflops") or {}, dev.get("stated_peaks_tflops") or {}
    if mm:
        lines += [f"Measured matrix products ({mm.get('n')}^3): bf16 {mm.get('bf16')} TFLOP/s, fp32 {mm.get('fp32')} "
                  f"TFLOP/s; stated dense peaks: 16-bit tensor {pk.get('tensor16')}, fp32 {pk.get('fp32')} "
                  f"({pk.get('source', '-')}). Share of peak = achieved / the 16-bit tensor peak.", ""]
    hd = res.get("sections", {}).get("hdcgan512")
    if hd:
        lines += ["## HDCGAN 512 px, batch 32, widths 64", "", "| path | ms per step | × default | peak GiB "
                  "(steady) | peak GiB (warm-up) | TFLOP/s |", "|---|---|---|---|---|---|"]
        for r in hd["rows"]:
            lines.append(f"| {r['path']} | {_ms(r)} | {r.get('ratio_to_default', '-')} | {r.get('peak_memory_gib')} "
                         f"| {r.get('peak_warmup_gib', '-')} | {r.get('tflops', '-')} |")
        lines += ["", f"The paper's setting: {hd.get('paper_memory_gb')} GB (hdcgan.txt 4.1). {hd.get('note')}.", ""]
    tr = res.get("sections", {}).get("train_resume")
    errs = [e for e in res.get("errors", []) if e["stage"].startswith("train_resume")]
    lines += ["## Training run, checkpoint, kill, resume", ""]
    if tr:
        for path in ("fast_all", "default_deterministic"):
            if path in tr:
                w = tr[path]["weights"]["G"]
                lines.append(f"- {path}: {tr[path]['ms_per_step']} ms per step; resumed G bit-identical "
                             f"{w['bit_identical']}, max |diff| {w['max_abs_diff']:.3g}")
        if tr.get("evaluation"):
            ev = tr["evaluation"]
            lines.append(f"- evaluation of {ev['samples']} samples ({ev['detector']}): {ev['seconds']} s; the full "
                         f"protocol ({ev['full_protocol_images']} images) projected at "
                         f"{ev['full_protocol_seconds_projected']} s"
                         + (f" (of which {', '.join(f'{k} {v} s' for k, v in ev['timings'].items())})"
                            if ev.get("timings") else ""))
        pr = tr.get("projection")
        if pr:
            pp = pr.get("paper") or {}
            lines.append(f"- {tr.get('run')} at full scale ({pr['full_steps']} steps): {pr['hours_fast_path']} h on the "
                         f"fast path, {pr['hours_default_path_deterministic']} h on the deterministic default path; "
                         f"the paper: {pp.get('hours')} h on a {pp.get('gpu')} ({pp.get('source')}, row "
                         f"{pp.get('row')}, column {pp.get('column')}). {pr.get('note', '')}")
    for e in errs:
        lines.append(f"- failed: `{e['error']}`")
    lines.append("")
    fs = res.get("sections", {}).get("fast_switches")
    if fs:
        lines += [f"## Fast-path switches on {fs['case']} ({fs['resolution']} px, batch {fs['batch_size']})", "",
                  "| switch | ms per step | × default |", "|---|---|---|"]
        lines += [f"| {sw} | {1000 * x['step_s']:.2f} | {x['ratio_to_default']} |" for sw, x in fs["switches"].items()]
        lines.append("")
    lines += ["## One training step per run and path", "",
              "| experiment | method/variant | px | batch | path | ms | × default | peak GiB | TFLOP/s | share of peak |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(res.get("steps", []), key=lambda r: (r["experiment"], r["method"], r["variant"], r["path"])):
        path = r["path"] + (" (cuDNN autotuned)" if (r.get("fast") or {}).get("cudnn_benchmark") else "")
        lines.append(f"| {r['experiment']} | {r['method']}/{r['variant']} | {r['resolution']} | {r['batch_size']} | "
                     f"{path} | {_ms(r)} | {r.get('ratio_to_default', '-')} | {r.get('peak_memory_gib')} | "
                     f"{r.get('tflops', '-')} | {r.get('share_of_peak', '-')} |")
    if res.get("skipped"):
        lines += ["", "Skipped: " + "; ".join(f"{s['stage']} ({s['reason']})" for s in res["skipped"])]
    lines.append("")
    return "\n".join(lines)


def _ms(r: dict) -> str:
    return f"{1000 * r['step_s']:.2f}" if r.get("step_s") else (r.get("out_of_memory") or r.get("error") or "-")


def write_markdown(json_path) -> Path:
    """``benchmarks_<gpu>.md`` beside the JSON."""
    import json

    from ganrepro.util.io import write_text

    json_path = Path(json_path)
    res = {**json.loads(json_path.read_text()), "file": f"benchmarks/results/{json_path.name}"}
    out = json_path.with_suffix(".md")
    write_text(out, render_markdown(res))
    return out
