"""The one training loop shared by every GAN of the suite.

Method-specific parts (networks, discriminator and generator losses) come from ``ganrepro.methods.registry``. The loop
seeds everything, checkpoints atomically every ``ckpt_every`` steps and at the end (weights, optimisers, samplers,
RNGs, the method's ``ctx.state``, the generator EMA), resumes from the newest checkpoint after a kill (same final
weights as an uninterrupted run on CPU), and records a run whose loss became non-finite as ``diverged``, with the
step it happened at (the job still succeeds, so tables render).

One step (``train_step``) = ``n_critic`` discriminator updates (``d_step``) followed by one generator update
(``g_step``). Losses and statistics stay device tensors: ``_IntervalStats`` accumulates them and reads them to the
host once per ``log_every`` steps (a log row holds the interval's mean, max or last value per the method's
``log_keys``), and divergence is detected on the device (the first step with a non-finite loss) and checked at each
log and checkpoint step, so the loop makes no host synchronisation between log steps.

Options in the run's ``train`` section: ``fast`` (the fast-path switches, all off by default: ``ganrepro.train.fastpath``),
``ema_decay`` (an exponential moving average of G's weights, sampled and
evaluated instead of G when set; ``ema_start``: the step before which the average just copies G) and
``eval_points`` (steps at which a generator snapshot is kept for metrics over training, ``ganrepro.runs.snapshots``).
"""
from __future__ import annotations

import copy
import csv
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganrepro.methods import registry
from ganrepro.runs import snapshots
from ganrepro.train import fastpath
from ganrepro.util.env import code_version, hardware, pick_device
from ganrepro.util.io import atomic_path, write_json


@dataclass
class Context:
    """What a method's loss functions may use beside the networks.

    ``rng``: the run's generator (checkpointed); ``step``: generator steps done before this one; ``epoch``: passes
    over the data completed (0 for the on-the-fly mixtures); ``state``: the method's own running state (tensors or
    numbers, e.g. a calibration buffer), saved in every checkpoint and restored on resume; ``real`` / ``z``: the
    last real batch the discriminator saw and the latent batch of the current generator step (BRC, ProxGAN, LCGAN).
    ``z_rng``: a generator on the device for the latents (fast path ``z_on_device``; None: ``rng`` on the host);
    ``bf16``: forward passes and losses under bf16 autocast (fast path).
    """

    rng: torch.Generator
    device: str
    step: int = 0
    epoch: int = 0
    state: dict = field(default_factory=dict)
    real: torch.Tensor | None = None
    z: torch.Tensor | None = None
    z_rng: torch.Generator | None = None
    bf16: bool = False

    def latents(self, n: int, dim: int) -> torch.Tensor:
        if self.z_rng is not None:
            return torch.randn(n, dim, generator=self.z_rng, device=self.device)
        return torch.randn(n, dim, generator=self.rng).to(self.device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _checkpoints(ckpt_dir: Path) -> list[Path]:
    return sorted(ckpt_dir.glob("step*.pt"))


def _load_newest(ckpt_dir: Path, device: str):
    """Newest readable checkpoint (a corrupt newest one, e.g. from a crash mid-write elsewhere, is skipped).

    Loaded to the host whatever ``device`` is: the random generators' states must be CPU byte tensors
    (``Generator.set_state``, ``torch.cuda.set_rng_state_all``), and ``load_state_dict`` copies weights and optimiser
    state to their parameters' device itself. Mapping the file to CUDA broke every resume on a GPU ("RNG state must
    be a torch.ByteTensor", the GPU check on an H200, issue 29). The method's own state is moved to ``device``."""
    for path in reversed(_checkpoints(ckpt_dir)):
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
            state["method_state"] = _to_device(state.get("method_state", {}), device)
            return state, path
        except Exception as e:  # noqa: BLE001 - any unreadable file is skipped, loudly
            print(f"[train] skipping unreadable checkpoint {path}: {e}", file=sys.stderr)
    return None, None


def _to_device(obj, device: str):
    """Tensors inside dicts, lists and tuples moved to ``device`` (other values as they are)."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _save(path: Path, state: dict) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def _total_steps(tcfg: dict, n_images: int) -> int:
    if tcfg.get("steps"):
        return int(tcfg["steps"])
    per_epoch = n_images // tcfg["batch_size"]
    return int(math.ceil(tcfg["epochs"] * per_epoch / tcfg.get("n_critic", 1)))


# ------------------------------------------------------------------------------------------------ one step
@dataclass
class Nets:
    """The networks and optimisers of a run; ``G_ema`` is the EMA generator (None when ``ema_decay`` is unset)."""

    G: torch.nn.Module
    D: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    G_ema: torch.nn.Module | None = None
    ema_decay: float = 0.0
    ema_start: int = 0


def make_nets(method: registry.Method, params: dict, tcfg: dict, device: str = "cpu") -> Nets:
    """The method's G and D (``method.build(params)``) on ``device`` with the run's Adam optimisers (``tcfg``'s
    ``lr_g``, ``lr_d``, ``betas``; ``fast.fused_adam``, ``fast.channels_last``): what the training loop and the step
    benchmarks train. Seed torch first."""
    from ganrepro.train.fastpath import fast_options

    fast = fast_options(tcfg)
    G, D = method.build(params)
    G, D = G.to(device), D.to(device)
    if fast["channels_last"] and params.get("resolution"):
        # with ``compile`` G's weights stay as built and inductor chooses G's layouts: a channels_last G compiled by
        # torch 2.11's inductor failed its first backward on an H200 (assert_size_stride in convolution_backward of
        # the 1x1-input ConvTranspose; benchmarks/results/benchmarks_nvidia-h200.json, issue 29)
        D = D.to(memory_format=torch.channels_last)
        if not fast["compile"]:
            G = G.to(memory_format=torch.channels_last)
    betas = tuple(tcfg["betas"])
    extra = {"fused": True} if fast["fused_adam"] else {}
    return Nets(G, D, torch.optim.Adam(G.parameters(), lr=tcfg["lr_g"], betas=betas, **extra),
                torch.optim.Adam(D.parameters(), lr=tcfg["lr_d"], betas=betas, **extra))


def d_step(method: registry.Method, nets: Nets, real: torch.Tensor, params: dict, ctx: Context):
    """One discriminator update on ``real`` and a fresh fake batch; returns (loss, stats) as device tensors."""
    from ganrepro.train.fastpath import autocast

    z = ctx.latents(real.shape[0], params["z_dim"])
    with autocast(ctx.device, ctx.bf16):
        with torch.no_grad():
            fake = nets.G(z)
        d_loss, d_stats = method.d_loss(nets.D, real, fake, params, ctx)
    nets.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    nets.opt_d.step()
    if method.after_d_step is not None:
        method.after_d_step(nets.D, params)
    return d_loss, d_stats


def g_step(method: registry.Method, nets: Nets, batch_size: int, params: dict, ctx: Context):
    """One generator update (the method's generator loss or update-rule surrogate), then the EMA update."""
    from ganrepro.train.fastpath import autocast

    z = ctx.latents(batch_size, params["z_dim"])
    ctx.z = z
    with autocast(ctx.device, ctx.bf16):
        g_loss, g_stats = method.g_loss(nets.D, nets.G(z), params, ctx)
    nets.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    nets.opt_g.step()
    if nets.G_ema is not None:
        update_ema(nets.G_ema, nets.G, 0.0 if ctx.step < nets.ema_start else nets.ema_decay)
    return g_loss, g_stats


def train_step(method: registry.Method, nets: Nets, next_real: Callable[[], torch.Tensor], params: dict,
               ctx: Context) -> dict:
    """``n_critic`` discriminator updates, then one generator update. Returns the step's statistics as device
    tensors: ``d_loss`` (the last critic update's), ``g_loss`` and the method's own (the last critic update's
    discriminator statistics, the generator update's)."""
    for _ in range(int(params.get("n_critic", 1))):
        real = next_real()
        d_loss, d_stats = d_step(method, nets, real, params, ctx)
    ctx.real = real
    g_loss, g_stats = g_step(method, nets, real.shape[0], params, ctx)
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), **d_stats, **g_stats}


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers (BatchNorm statistics, spectral-norm
    vectors) are copied. ``decay`` 0 copies the model."""
    e, m = [p for p in ema.parameters()], [p for p in model.parameters()]
    if decay == 0.0:
        torch._foreach_copy_(e, m)
    else:
        torch._foreach_lerp_(e, m, 1.0 - decay)
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)


# ------------------------------------------------------------------------------------------------ logging
class _IntervalStats:
    """Device-side accumulation of one log interval's statistics, read to the host in one transfer.

    ``keys``: the column name -> reduction ("mean", "max", "last") of every statistic; a step that reports an
    undeclared key, or an interval in which a declared key was never reported, is an error naming the key.
    """

    def __init__(self, keys: dict[str, str], owner: str):
        self.keys, self.owner = keys, owner
        self.reset()

    def reset(self) -> None:
        self.acc: dict[str, object] = {}
        self.count: dict[str, int] = {}

    def add(self, stats: dict) -> None:
        for k, v in stats.items():
            red = self.keys.get(k)
            if red is None:
                raise KeyError(f"{self.owner} reported statistic {k!r}, which its log_keys do not declare "
                               f"(declared: {sorted(self.keys)})")
            if isinstance(v, torch.Tensor):
                v = v.detach().float().reshape(())
            prev = self.acc.get(k)
            if prev is None or red == "last":
                self.acc[k] = v
            elif red == "mean":
                self.acc[k] = prev + v
            else:
                self.acc[k] = torch.maximum(prev, v) if isinstance(v, torch.Tensor) else max(prev, v)
            self.count[k] = self.count.get(k, 0) + 1

    def read(self) -> dict[str, float]:
        """The interval's values on the host (one device-to-host copy), then a fresh interval."""
        missing = [k for k in self.keys if k not in self.acc]
        if missing:
            raise KeyError(f"{self.owner} declared statistic(s) {missing} in log_keys but did not report them")
        names = list(self.keys)
        tensors = [k for k in names if isinstance(self.acc[k], torch.Tensor)]
        values = dict(zip(tensors, torch.stack([self.acc[k] for k in tensors]).cpu().tolist())) if tensors else {}
        out = {}
        for k in names:
            v = values[k] if k in values else float(self.acc[k])
            out[k] = v / self.count[k] if self.keys[k] == "mean" else v
        self.reset()
        return out


class _Log:
    """Step log CSV with the columns fixed up front; on resume, rows after the checkpoint's step are dropped so
    the log matches the weights (a log from older code with other columns is rewritten to these columns)."""

    def __init__(self, path: Path, resume_step: int, fields: list[str]):
        self.path, self.fields, self.file, self.writer = path, fields, None, None
        if path.exists():
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
            if rows:
                with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
                    w = csv.DictWriter(f, self.fields, extrasaction="ignore")
                    w.writeheader()
                    w.writerows(rows)
            else:
                path.unlink()

    def write(self, row: dict) -> None:
        if set(row) != set(self.fields):
            raise KeyError(f"log row keys {sorted(set(row) ^ set(self.fields))} differ from the log's columns")
        if self.file is None:
            new = not self.path.exists()
            self.file = open(self.path, "a", newline="")
            self.writer = csv.DictWriter(self.file, self.fields)
            if new:
                self.writer.writeheader()
        self.writer.writerow(row)

    def flush(self):
        if self.file:
            self.file.flush()
            os.fsync(self.file.fileno())

    def close(self):
        if self.file:
            self.file.close()


MONITOR_KEYS = ("test_fid", "test_js", "test_modes")


# ------------------------------------------------------------------------------------------------ data sources
class ImageData:
    """The batches of an image run: a prepared array (``ganrepro.data.loader``) read by the shuffled sampler, or,
    once ``start`` is called (after a resume has restored the sampler), by the fast path's prefetch thread or device
    copy; ``steps_per_epoch`` counts generator steps per pass."""

    mixtures = False

    def __init__(self, run_cfg: dict, params: dict, bs: int, seed: int, fast: dict, device: str):
        from ganrepro.data.loader import BatchSampler, load_prepared

        images = load_prepared(run_cfg["data_dir"])
        if images.shape[1] != params["resolution"]:
            raise ValueError(f"prepared data is {images.shape[1]} px but the run asks for {params['resolution']} px")
        self.n_images, self.device, self.fast = len(images), device, fast
        self.sampler = BatchSampler(images, bs, seed)
        self.source = self.sampler  # where batches come from: the sampler, or the prefetch thread / device copy
        self.memory = torch.channels_last if fast["channels_last"] else torch.contiguous_format

    def start(self) -> None:
        """The fast path's source, from the sampler's present state."""
        fast = self.fast
        if fast["data_on_device"]:
            self.source = fastpath.DeviceData(self.sampler, self.device, float(fast["data_on_device_max_gb"]))
        elif fast["prefetch"]:
            self.source = fastpath.Prefetcher(self.sampler, int(fast["prefetch"]), self.device,
                                              pin=bool(fast["pin_memory"]))

    def next_real(self):
        if self.source is self.sampler:
            return self.sampler.next().to(self.device, non_blocking=True).contiguous(memory_format=self.memory)
        return self.source.next().contiguous(memory_format=self.memory)

    def total_steps(self, tcfg: dict, n_critic: int) -> int:
        return _total_steps({**tcfg, "n_critic": n_critic}, self.n_images)

    def steps_per_epoch(self, bs: int, n_critic: int) -> float:
        return self.n_images / (bs * n_critic)

    def epochs_completed(self) -> int:
        """Whole passes over the data before the next batch (the sampler starts a new pass when fewer than a batch
        of images are left in the current one)."""
        s = self.source
        return s.epoch + int(s.pos + s.batch_size > len(s.perm))

    def epochs_done(self) -> float:
        """Passes over the data so far (fractional)."""
        return self.source.epoch + self.source.pos / len(self.source.perm)

    def state_dict(self) -> dict:
        return self.source.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.sampler.load_state_dict(state)

    def close(self) -> None:
        if self.source is not self.sampler:
            self.source.close()


class MixtureData:
    """BRC's toy mixtures, sampled on the fly (``ganrepro.data.mog``); no epochs. Tiny MLPs run fastest on one
    thread (``train`` restores the thread count)."""

    mixtures = True

    def __init__(self, run_cfg: dict, bs: int, seed: int, device: str):
        from ganrepro.data.mog import MoGSampler

        torch.set_num_threads(1)
        self.spec, self.device = run_cfg["mog"], device
        self.sampler = MoGSampler(self.spec, bs, seed)

    def start(self) -> None:
        pass

    def next_real(self):
        return self.sampler.next().to(self.device, non_blocking=True)

    def total_steps(self, tcfg: dict, n_critic: int) -> int:
        return _total_steps({**tcfg, "n_critic": n_critic}, 0)

    def steps_per_epoch(self, bs: int, n_critic: int) -> None:
        return None

    def epochs_completed(self) -> int:
        return 0

    def epochs_done(self) -> None:
        return None

    def state_dict(self) -> dict:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.sampler.load_state_dict(state)

    def close(self) -> None:
        pass


# ------------------------------------------------------------------------------------------------ the loop
def train(run_cfg: dict, run_dir, on_step: Callable[[int], bool] | None = None) -> dict:
    """Train one run (see ``_train``); the process's torch thread count (MoG runs use one) and cuDNN's benchmark
    flag are restored afterwards.

    ``on_step(step)`` is called after every completed step (after its checkpoint, if any); returning True stops the
    run there as if the process had been killed (``{"status": "interrupted"}``, no final files). Tests use it to
    simulate preemption; production runs pass nothing.
    """
    threads, cudnn_benchmark = torch.get_num_threads(), torch.backends.cudnn.benchmark
    try:
        return _train(run_cfg, run_dir, on_step)
    finally:
        torch.set_num_threads(threads)
        torch.backends.cudnn.benchmark = cudnn_benchmark


@dataclass
class _Run:
    """One run's moving parts, as ``_train``'s steps share them."""

    cfg: dict
    dir: Path
    method: registry.Method
    params: dict
    nets: Nets
    data: ImageData | MixtureData
    ctx: Context
    device: str
    total: int
    step: int = 0
    train_seconds: float = 0.0


def _setup(run_cfg: dict, run_dir: Path) -> _Run:
    """Seeds, networks (with EMA and the fast path's compile), the data source and the method's context."""
    tcfg, seed = run_cfg["train"], int(run_cfg["seed"])
    device = pick_device(run_cfg.get("device", "auto"))
    method = registry.get(run_cfg["method"])
    params = dict(run_cfg["method_params"])
    fast = fastpath.fast_options(tcfg)
    bs = tcfg["batch_size"]
    mixtures = run_cfg.get("mog") is not None
    if not mixtures:  # the prepared array is checked before anything is built
        data = ImageData(run_cfg, params, bs, seed, fast, device)
    seed_everything(seed)
    nets = make_nets(method, params, tcfg, device)
    if tcfg.get("ema_decay") is not None:
        nets.G_ema = copy.deepcopy(nets.G).requires_grad_(False)
        nets.ema_decay, nets.ema_start = float(tcfg["ema_decay"]), int(tcfg.get("ema_start") or 0)
    if fast["cudnn_benchmark"]:
        torch.backends.cudnn.benchmark = True
    if fast["compile"]:
        fastpath.compile_generator(nets.G, params["z_dim"], device)
    data = MixtureData(run_cfg, bs, seed, device) if mixtures else data
    ctx = Context(rng=torch.Generator().manual_seed(seed + 1), device=device, bf16=bool(fast["bf16"]))
    if fast["z_on_device"]:
        ctx.z_rng = torch.Generator(device=device).manual_seed(seed + 2)
    total = data.total_steps(tcfg, int(params.get("n_critic", 1)))
    if method.init_state is not None and run_cfg.get("depends_on"):  # e.g. thresholds from another run's log
        ctx.state.update(method.init_state(params, {k: Path(v) for k, v in run_cfg["depends_on"].items()},
                                           data.steps_per_epoch(bs, int(params.get("n_critic", 1)))))
    return _Run(run_cfg, run_dir, method, params, nets, data, ctx, device, total)


def _restore(run: _Run) -> None:
    """Resume from the newest readable checkpoint (weights, optimisers, sampler, random generators, EMA, the
    method's state, step and clock); a fresh start removes an earlier attempt's snapshots instead."""
    state, path = _load_newest(run.dir / "ckpt", run.device)
    if state is None:  # snapshots of an earlier attempt (maybe another schedule) must not join this run's curve
        for old in snapshots.list_snapshots(run.dir):
            old.unlink()
        return
    nets, ctx = run.nets, run.ctx
    nets.G.load_state_dict(state["G"]); nets.D.load_state_dict(state["D"])
    nets.opt_g.load_state_dict(state["opt_g"]); nets.opt_d.load_state_dict(state["opt_d"])
    run.data.load_state_dict(state["sampler"]); ctx.rng.set_state(state["rng"])
    if ctx.z_rng is not None and state.get("z_rng") is not None:
        ctx.z_rng.set_state(state["z_rng"])
    torch.set_rng_state(state["torch_rng"])
    if run.device.startswith("cuda") and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    if nets.G_ema is not None:
        nets.G_ema.load_state_dict(state["G_ema"])
    ctx.state = state.get("method_state", {})
    run.step, run.train_seconds = state["step"], state["train_seconds"]
    print(f"[train] resumed from {path.name} at step {run.step}/{run.total}", file=sys.stderr)


def _checkpoint_state(run: _Run) -> dict:
    nets, ctx = run.nets, run.ctx
    return {"G": nets.G.state_dict(), "D": nets.D.state_dict(), "opt_g": nets.opt_g.state_dict(),
            "opt_d": nets.opt_d.state_dict(), "sampler": run.data.state_dict(), "rng": ctx.rng.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if run.device.startswith("cuda") else None,
            "G_ema": None if nets.G_ema is None else nets.G_ema.state_dict(), "method_state": ctx.state,
            "z_rng": None if ctx.z_rng is None else ctx.z_rng.get_state(),
            "step": run.step, "train_seconds": run.train_seconds, "total_steps": run.total}


def _train(run_cfg: dict, run_dir, on_step=None) -> dict:
    """Train one run. ``run_cfg`` is the resolved run config (see ``ganrepro.config.config.resolve_run``).

    Writes ``run_dir/{config.json, log.csv, ckpt/step*.pt, snapshots/step*.pt, final.pt, samples.png, train.json}``;
    ``train.json`` is written last. The steps: ``_setup``, ``_restore``, the loop (a step, divergence, the log, a
    snapshot, a checkpoint), ``_finish``.
    """
    run_dir = Path(run_dir)
    (run_dir / "ckpt").mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", run_cfg)
    run = _setup(run_cfg, run_dir)
    _restore(run)
    run.data.start()
    method, params, nets, data, ctx, device = run.method, run.params, run.nets, run.data, run.ctx, run.device
    tcfg, total = run_cfg["train"], run.total
    bs, n_critic = tcfg["batch_size"], int(params.get("n_critic", 1))
    eval_at = set(snapshots.eval_steps(tcfg, total, data.steps_per_epoch(bs, n_critic)))
    monitor = _mog_monitor(data.spec, params, device, int(run_cfg["seed"]),
                           int(tcfg.get("monitor_every") or 0)) if data.mixtures else None
    stat_keys = {"d_loss": "mean", "g_loss": "mean", **method.stat_keys(params)}
    stats = _IntervalStats(stat_keys, f"method {method.name!r}")
    log = _Log(run_dir / "log.csv", run.step, ["step", "wall_seconds", *stat_keys, *(MONITOR_KEYS if monitor else ())])
    ckpt_every, log_every = int(tcfg["ckpt_every"]), int(tcfg.get("log_every", 10))
    bar = None
    if sys.stderr.isatty() and not os.environ.get("SLURM_JOB_ID"):
        from tqdm import tqdm

        bar = tqdm(total=total, initial=run.step, desc=run_cfg["run_id"], dynamic_ncols=True)
    status, diverged_at = "finished", None
    # divergence on the device: the first step whose losses are not finite (0: none yet); no host sync per step
    step_dev = torch.tensor(run.step, device=device)
    bad_at = torch.zeros((), dtype=step_dev.dtype, device=device)
    nets.G.train(); nets.D.train()
    t0 = time.perf_counter()
    while run.step < total:
        ctx.step, ctx.epoch = run.step, data.epochs_completed()
        s = train_step(method, nets, data.next_real, params, ctx)
        run.step += 1
        step = run.step
        step_dev += 1
        finite = torch.isfinite(s["d_loss"]) & torch.isfinite(s["g_loss"])
        bad_at = torch.where((bad_at == 0) & ~finite, step_dev, bad_at)
        stats.add(s)
        is_log, is_ckpt = step % log_every == 0 or step == total, step % ckpt_every == 0 or step == total
        if is_log or is_ckpt or step in eval_at:
            first_bad = int(bad_at)  # the host reads the device: once per log / checkpoint / snapshot step
            if first_bad:
                status, diverged_at = "diverged", first_bad
                print(f"[train] non-finite loss at step {first_bad}: run diverged", file=sys.stderr)
                break
        if is_log:
            row = {"step": step, **stats.read()}
            fastpath.sync(device)
            now = time.perf_counter()
            row["wall_seconds"] = round(run.train_seconds + now - t0, 3)
            if monitor is not None:  # MoG curves (brc.txt Fig. 2): metrics on the test samples, outside the clock
                row.update(monitor(nets.G, step))
                t0 += time.perf_counter() - now
            log.write(row)
            if bar is None:
                print(f"[train] {run_cfg['run_id']} step {step}/{total} d={row['d_loss']:.4f} g={row['g_loss']:.4f}",
                      file=sys.stderr, flush=True)
        if bar is not None:
            bar.update(1)
        if step in eval_at:  # a generator snapshot for metrics over training (kept), outside the clock
            fastpath.sync(device)
            now = time.perf_counter()
            snapshots.save(run_dir, step=step, epoch=data.epochs_done(), G=nets.G, G_ema=nets.G_ema,
                           train_seconds=run.train_seconds + now - t0)
            t0 += time.perf_counter() - now
        if is_ckpt:
            fastpath.sync(device)
            run.train_seconds += time.perf_counter() - t0
            log.flush()
            _save(run_dir / "ckpt" / f"step{step:08d}.pt", _checkpoint_state(run))
            for old in _checkpoints(run_dir / "ckpt")[:-2]:
                old.unlink()
            t0 = time.perf_counter()
        if on_step is not None and on_step(step) and step < total:
            log.close()
            data.close()
            return {"status": "interrupted", "step": step}
    fastpath.sync(device)
    run.train_seconds += time.perf_counter() - t0
    log.close()
    data.close()
    if bar is not None:
        bar.close()
    return _finish(run, status, diverged_at)


def _finish(run: _Run, status: str, diverged_at: int | None) -> dict:
    """``final.pt`` and ``samples.png`` of a finished run, then ``train.json`` (last: its presence means done)."""
    nets, device = run.nets, run.device
    if status == "finished":
        final = {"G": nets.G.state_dict(), "D": nets.D.state_dict(), "step": run.step, "method_params": run.params}
        if nets.G_ema is not None:
            final["G_ema"] = nets.G_ema.state_dict()
        _save(run.dir / "final.pt", final)
        if not run.data.mixtures:
            _save_samples(nets.G_ema or nets.G, run.dir / "samples.png", run.params["z_dim"], device,
                          int(run.cfg["seed"]))
    summary = run.method.summary(run.ctx.state, run.params) if run.method.summary else None
    result = {"status": status, "step": run.step, "total_steps": run.total, "diverged_at": diverged_at,
              "train_seconds": round(run.train_seconds, 3), "gpu_hours": round(run.train_seconds / 3600 * (
                  1 if device.startswith("cuda") else 0), 6),
              "hardware": hardware(device), "code": code_version(), "run_id": run.cfg["run_id"],
              "method_summary": _json_summary(summary) if summary is not None else None}
    write_json(run.dir / "train.json", result)
    return result


def _json_summary(summary: dict) -> dict:
    """A method's end-of-run summary with tensors read to the host (numbers or lists)."""
    return {k: v.tolist() if isinstance(v, torch.Tensor) else v for k, v in summary.items()}


def _mog_monitor(spec: dict, params: dict, device: str, seed: int, every: int):
    """FID / JS / modes of fixed test latents every ``every`` logged steps (0: never)."""
    from ganrepro.metrics.mog_metrics import evaluate_samples

    z = torch.randn(512, params["z_dim"], generator=torch.Generator().manual_seed(seed + 999)).to(device)

    def monitor(G, step):
        if not every or step % every:  # same columns in every row of log.csv
            return {"test_fid": float("nan"), "test_js": float("nan"), "test_modes": float("nan")}
        with torch.no_grad():
            x = G(z).cpu().numpy()
        m = evaluate_samples(x, spec)
        return {"test_fid": m["fid"], "test_js": m["js"], "test_modes": m["modes"]}

    return monitor


def _save_samples(G, path: Path, z_dim: int, device: str, seed: int, n: int = 64) -> None:
    from ganrepro.util.io import write_image_grid

    G.eval()
    with torch.no_grad():
        z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed + 12345)).to(device)
        x = G(z).cpu()
    G.train()
    # torchvision's save_image(normalize=True, value_range=(-1, 1)): clamp, shift to [0, 1], x * 255 + 0.5, floor
    u8 = ((x.clamp(-1, 1) + 1) / 2).mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    write_image_grid(path, u8, nrow=8)
