"""Benchmark: one HDCGAN training step (one D update + one G update) at 64 px on the CPU and, with CUDA, at 512 px.

    .venv/bin/python benchmarks/hdcgan_step.py [--repeats N] [--warmup N] [--threads 1] [--cpu-res 64]
                                               [--gpu-res 512] [--batch 32] [--width W] [--variant default]
                                               [--out benchmarks/results/hdcgan_step.json]

HDCGAN (hdcgan.txt Sec. 5: "batch size 32 and 512 x 512 training images with the number of filters of G and D
equal to 64"; Sec. 4.1: BatchNorm + SELU units, input noise; ``ganrepro/methods/papers/hdcgan.py``). What is timed is the training
loop's own ``ganrepro.train.loop.train_step`` (n_critic 1: one discriminator update on a real batch and a fresh fake
batch, then one generator update, Adam steps included) on the run ``hdcgan_celeba512 / hdcgan / <variant>``
resolved at scale ``full`` (widths 64, z 100, batch 32, lr 2e-4, betas (0.5, 0.999)), with the experiment's
resolution replaced by the one timed (DCGAN's rule: 64 px networks have 4 stride-2 units per network, 512 px 7).
Real batches are random tensors in [-1, 1], drawn once and cycled. ``images/s`` = batch / median step time: real
training images consumed per second, the rate the loader has to sustain (``benchmarks/loader_throughput.py
--hdcgan512``).

- **CPU** (always): ``--cpu-res`` (64) at ``--batch`` (32), ``--threads`` intra-op threads; the JSON records the
  1-minute load average before and after (the machine may be shared: rerun when idle).
- **GPU** (when ``torch.cuda.is_available()``): ``--gpu-res`` (512) at the same batch, four settings one after the
  other: fp32; bf16 autocast (the training loop's own switch, ``train.fast.bf16``: forward passes and losses under
  ``torch.autocast``, weights and Adam in fp32); channels_last (networks and real batches in
  ``torch.channels_last``); both. Every step is timed by the benchmark target's step timer
  (``ganrepro.tools.bench.interleave``). Seconds after
  ``torch.cuda.synchronize``, peak memory from ``torch.cuda.max_memory_allocated`` (reset per setting), out of
  memory recorded as such. Without CUDA the JSON says no GPU was present and nothing is timed there.
- **Memory and FLOP model at the GPU resolution** (always; no GPU needed): the networks built on the ``meta`` device
  (shapes only, no arithmetic): parameter counts, fp32 bytes of weights + gradients + Adam's two moments, the bytes
  of the activations autograd saves for backward in a D step and a G step (``torch.autograd.graph.saved_tensors_hooks``,
  each distinct tensor once, parameters excluded) and the step's FLOPs (``torch.utils.flop_counter``). The memory
  is a lower bound on the peak: no backward temporaries, cuDNN workspaces or allocator slack; measured peaks come
  from the GPU section. The FLOPs say how fast a GPU would have to run for the loader to fall behind.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganrepro.methods import registry  # noqa: E402
from ganrepro.config.config import load_config, resolve_run  # noqa: E402
from ganrepro.util.env import hardware, with_threads  # noqa: E402
from ganrepro.util.io import write_json  # noqa: E402
from ganrepro.train.loop import Context, make_nets  # noqa: E402

EXPERIMENT, METHOD = "hdcgan_celeba512", "hdcgan"
GPU_SETTINGS = {"fp32": (False, False), "bf16_autocast": (True, False), "channels_last": (False, True),
                "bf16_autocast+channels_last": (True, True)}  # name -> (autocast, channels_last)
N_BATCHES = 2
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "hdcgan_step.json"
GIB = 2 ** 30


def run_config(cfg: dict, res: int, variant: str, batch: int | None, width: int | None, seed: int = 0) -> dict:
    """The resolved full-scale run with the experiment's resolution set to ``res`` (and batch / widths if given)."""
    cfg = copy.deepcopy(cfg)
    cfg["experiments"][EXPERIMENT]["resolution"] = res
    rc = resolve_run(cfg, EXPERIMENT, METHOD, variant, seed)
    if batch:
        rc["train"]["batch_size"] = int(batch)
    if width:
        rc["method_params"].update(g_width=int(width), d_width=int(width))
    return rc


def _setup(rc: dict, device: str, channels_last: bool = False, seed: int = 0):
    method = registry.get(METHOD)
    params = dict(rc["method_params"])
    torch.manual_seed(seed)
    nets = make_nets(method, params, rc["train"], device)
    if channels_last:
        nets.G.to(memory_format=torch.channels_last)
        nets.D.to(memory_format=torch.channels_last)
    ctx = Context(rng=torch.Generator().manual_seed(seed + 1), device=device)  # latents drawn on the host, as train
    return method, nets, params, ctx


def _real_batches(bs: int, res: int, device: str, channels_last: bool = False) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = [(torch.rand(bs, 3, res, res, generator=g) * 2 - 1).to(device) for _ in range(N_BATCHES)]
    return [x.contiguous(memory_format=torch.channels_last) for x in out] if channels_last else out


def _n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def bench_cpu(cfg, res: int, variant: str, batch, width, repeats: int, warmup: int) -> dict:
    """The step at ``res`` on the CPU, through the benchmark target's step timer (``ganrepro.tools.bench.interleave``)."""
    from ganrepro.tools.bench import interleave

    rc = run_config(cfg, res, variant, batch, width)
    method, nets, params, ctx = _setup(rc, "cpu")
    bs = int(rc["train"]["batch_size"])
    reals = _real_batches(bs, res, "cpu")
    times = []
    interleave([(method, nets, (lambda i: (lambda r=reals[i % N_BATCHES]: r)), params, ctx, times, None, None)],
                "cpu", repeats, warmup)
    med = statistics.median(times)
    return {"experiment": EXPERIMENT, "method": METHOD, "variant": variant, "resolution": res, "batch_size": bs,
            "g_width": params["g_width"], "d_width": params["d_width"], "z_dim": params["z_dim"],
            "params_G_M": round(_n_params(nets.G) / 1e6, 3), "params_D_M": round(_n_params(nets.D) / 1e6, 3),
            "repeats": repeats, "warmup": warmup, "seconds": round(med, 4), "images_per_s": round(bs / med, 2),
            "per_repeat_seconds": [round(t, 4) for t in times]}


def bench_gpu(cfg, res: int, variant: str, batch, width, repeats: int, warmup: int) -> dict:
    """The four settings at ``res`` on cuda:0, one after the other (each built afresh after the previous one is
    freed, so that each peak is its own and a 24 GB GPU holds one setting at a time); out of memory is recorded."""
    from ganrepro.tools.bench import interleave

    if not torch.cuda.is_available():
        return {"present": False, "note": "no GPU present (torch.cuda.is_available() is False): the 512 px step, "
                                          "bf16 autocast, channels_last and peak memory were not measured"}
    dev = "cuda"
    torch.backends.cudnn.benchmark = True
    rc = run_config(cfg, res, variant, batch, width)
    bs = int(rc["train"]["batch_size"])
    out = {"present": True, "device": torch.cuda.get_device_name(0), "resolution": res, "batch_size": bs,
           "variant": variant, "repeats": repeats, "warmup": max(1, warmup), "settings": {},
           "total_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / GIB, 2)}
    for name, (amp, cl) in GPU_SETTINGS.items():
        s = reals = None
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        times = []
        try:
            s = _setup(rc, dev, cl)
            s[3].bf16 = amp  # the training loop's own bf16 switch (train.fast.bf16)
            reals = _real_batches(bs, res, dev, cl)
            # the benchmark target's step timer; the warm-up steps reach the peak (cuDNN autotuning too)
            interleave([(*s[:2], (lambda i, reals=reals: (lambda r=reals[i % N_BATCHES]: r)), *s[2:], times, None,
                          None)], dev, repeats, max(1, warmup))
        except torch.OutOfMemoryError as e:
            out["settings"][name] = {"autocast_bf16": amp, "channels_last": cl,
                                     "out_of_memory": str(e).splitlines()[0]}
            continue
        finally:
            del s, reals
        med = statistics.median(times)
        out["settings"][name] = {"autocast_bf16": amp, "channels_last": cl, "seconds": round(med, 5),
                                 "images_per_s": round(bs / med, 2),
                                 "peak_memory_gib": round((torch.cuda.max_memory_allocated() - base) / GIB, 3),
                                 "per_repeat_seconds": [round(t, 5) for t in times]}
    return out


def memory_model(cfg, res: int, variant: str, batch, width) -> dict:
    """Parameter and saved-activation bytes of one D step and one G step at ``res``, on the meta device."""
    rc = run_config(cfg, res, variant, batch, width)
    method, params, bs = registry.get(METHOD), dict(rc["method_params"]), int(rc["train"]["batch_size"])
    with torch.device("meta"):
        G, D = method.build(params)
    param_ids = {id(p) for p in list(G.parameters()) + list(D.parameters())}
    n_g, n_d = _n_params(G), _n_params(D)
    saved: dict[int, tuple[torch.Tensor, int]] = {}

    def pack(t):
        if id(t) not in param_ids and not (t.is_leaf and t.requires_grad):
            saved[id(t)] = (t, t.numel() * t.element_size())  # the tensor is kept, so its id is not reused
        return t

    ctx = Context(rng=torch.Generator().manual_seed(0), device="meta")
    real = torch.empty(bs, 3, res, res, device="meta")
    z = torch.empty(bs, params["z_dim"], device="meta")
    out, flops = {}, {}

    def d_step():
        with torch.no_grad():
            fake = G(z)
        return method.d_loss(D, real, fake, params, ctx)[0]

    for step, fn in (("d_step", d_step), ("g_step", lambda: method.g_loss(D, G(z), params, ctx)[0])):
        saved.clear()
        counter = FlopCounterMode(display=False)
        with counter:
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                loss = fn()
            loss.backward()  # as d_step / g_step: the backward through both networks
        out[step], flops[step] = sum(b for _, b in saved.values()), counter.get_total_flops()
    states = (n_g + n_d) * 4 * 4  # fp32 weights, gradients, Adam exp_avg and exp_avg_sq
    return {"resolution": res, "batch_size": bs, "variant": variant, "g_width": params["g_width"],
            "params_G_M": round(n_g / 1e6, 3), "params_D_M": round(n_d / 1e6, 3),
            "params": n_g + n_d, "weights_grads_adam_fp32_bytes": states, "saved_activations_bytes": dict(out),
            "weights_grads_adam_fp32_gib": round(states / GIB, 3),
            "saved_activations_gib": {k: round(v / GIB, 3) for k, v in out.items()},
            "lower_bound_peak_gib": round((states + max(out.values())) / GIB, 3),
            "flops": {**flops, "step": sum(flops.values())}, "tflop_per_step": round(sum(flops.values()) / 1e12, 3),
            "flops_note": "torch.utils.flop_counter (PyTorch's formulas: convolutions and matmuls, forward and "
                          "backward; D step with G's no-grad forward, G step's backward through D and G; Adam not "
                          "counted)",
            "note": "meta device (shapes only): fp32 weights + grads + Adam moments, plus the activations autograd "
                    "saves for backward in the larger of the two steps; backward temporaries, cuDNN workspaces and "
                    "allocator slack come on top (a lower bound, not a measured peak)"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=8, help="timed steps (CPU and each GPU setting)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu-res", type=int, default=64)
    ap.add_argument("--gpu-res", type=int, default=512, help="GPU section and memory model resolution")
    ap.add_argument("--batch", type=int, default=None, help="override the experiment's batch (32)")
    ap.add_argument("--width", type=int, default=None, help="override g_width = d_width (64; tests use tiny ones)")
    ap.add_argument("--variant", default="default", choices=sorted(registry.get(METHOD).variants))
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="write the results as JSON here ('' = do not)")
    args = ap.parse_args(argv)
    return with_threads(args.threads, _run, args)


def _run(args) -> int:
    cfg = load_config(overrides={"scale": "full"})
    load_before, t0 = os.getloadavg(), time.perf_counter()
    cpu = bench_cpu(cfg, args.cpu_res, args.variant, args.batch, args.width, args.repeats, args.warmup)
    print(f"CPU {cpu['resolution']} px, batch {cpu['batch_size']} ({args.threads} thread(s), median of "
          f"{cpu['repeats']}): {cpu['seconds']:.3f} s/step, {cpu['images_per_s']:.1f} images/s", flush=True)
    mem = memory_model(cfg, args.gpu_res, args.variant, args.batch, args.width)
    print(f"memory model {mem['resolution']} px, batch {mem['batch_size']}: weights+grads+Adam "
          f"{mem['weights_grads_adam_fp32_gib']} GiB, saved activations {mem['saved_activations_gib']} GiB "
          f"(lower bound {mem['lower_bound_peak_gib']} GiB); {mem['tflop_per_step']} TFLOP per step", flush=True)
    gpu = bench_gpu(cfg, args.gpu_res, args.variant, args.batch, args.width, args.repeats, args.warmup)
    for name, r in (gpu.get("settings") or {}).items():
        print(f"GPU {gpu['resolution']} px {name}: " + (f"{r['seconds']:.4f} s/step, {r['images_per_s']:.1f} "
              f"images/s, peak {r['peak_memory_gib']} GiB" if "seconds" in r else r["out_of_memory"]))
    if not gpu["present"]:
        print(gpu["note"])
    out = {"benchmark": "hdcgan_step", "method": METHOD, "threads": args.threads,
           "hardware": hardware("cuda" if gpu["present"] else "cpu"),
           "loadavg_1min": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
           "cpu_affinity": sorted(os.sched_getaffinity(0)), "wall_seconds": round(time.perf_counter() - t0, 1),
           "results": {"cpu": cpu, "gpu": gpu, "memory_model": mem}}
    if args.out:
        write_json(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
