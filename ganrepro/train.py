"""The one training loop shared by every image GAN of the suite.

Method-specific parts (networks, discriminator and generator losses) come from ``ganrepro.registry``. The loop
seeds everything, checkpoints atomically every ``ckpt_every`` steps and at the end, resumes from the newest
checkpoint after a kill (same final weights as an uninterrupted run on CPU), and stops on a non-finite loss,
recording the run as ``diverged`` with the step (the job still succeeds, so tables render).

One step = ``n_critic`` discriminator updates followed by one generator update.
"""
from __future__ import annotations

import csv
import math
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganrepro import registry
from ganrepro.data import BatchSampler, load_prepared
from ganrepro.env import code_version, hardware, pick_device
from ganrepro.io import atomic_path, write_json


@dataclass
class Context:
    """What a method's loss functions may use beside the networks: the run's RNG (checkpointed) and device."""

    rng: torch.Generator
    device: str
    step: int = 0
    real: torch.Tensor | None = None  # the last real batch the discriminator saw (BRC, ProxGAN)
    z: torch.Tensor | None = None     # the latent batch of the current generator step (LCGAN)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _checkpoints(ckpt_dir: Path) -> list[Path]:
    return sorted(ckpt_dir.glob("step*.pt"))


def _load_newest(ckpt_dir: Path, device: str):
    """Newest readable checkpoint (a corrupt newest one, e.g. from a crash mid-write elsewhere, is skipped)."""
    for path in reversed(_checkpoints(ckpt_dir)):
        try:
            return torch.load(path, map_location=device, weights_only=False), path
        except Exception as e:  # noqa: BLE001 - any unreadable file is skipped, loudly
            print(f"[train] skipping unreadable checkpoint {path}: {e}", file=sys.stderr)
    return None, None


def _save(path: Path, state: dict) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def _total_steps(tcfg: dict, n_images: int) -> int:
    if tcfg.get("steps"):
        return int(tcfg["steps"])
    per_epoch = n_images // tcfg["batch_size"]
    return int(math.ceil(tcfg["epochs"] * per_epoch / tcfg.get("n_critic", 1)))


class _Log:
    """Step log CSV; on resume, rows after the checkpoint's step are dropped so the log matches the weights."""

    def __init__(self, path: Path, resume_step: int):
        self.path, self.writer, self.file, self.fields = path, None, None, None
        if path.exists():
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
            if rows:
                self.fields = list(rows[0].keys())
                with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
                    w = csv.DictWriter(f, self.fields)
                    w.writeheader()
                    w.writerows(rows)
            else:
                path.unlink()

    def write(self, row: dict) -> None:
        if self.file is None:
            new = not self.path.exists()
            self.fields = self.fields or list(row.keys())
            self.file = open(self.path, "a", newline="")
            self.writer = csv.DictWriter(self.file, self.fields, extrasaction="ignore")
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


def train(run_cfg: dict, run_dir, stop_after: int | None = None) -> dict:
    """Train one run (see ``_train``); the process's torch thread count is restored afterwards (MoG runs use one)."""
    threads = torch.get_num_threads()
    try:
        return _train(run_cfg, run_dir, stop_after)
    finally:
        torch.set_num_threads(threads)


def _train(run_cfg: dict, run_dir, stop_after: int | None = None) -> dict:
    """Train one run. ``run_cfg`` is the resolved run config (see ``ganrepro.config.resolve_run``).

    Writes ``run_dir/{config.json, log.csv, ckpt/step*.pt, final.pt, samples.png, train.json}``; ``train.json``
    is written last. ``stop_after`` ends the process-equivalent early (tests use it to simulate a kill).
    """
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "ckpt"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", run_cfg)
    tcfg, seed = run_cfg["train"], int(run_cfg["seed"])
    device = pick_device(run_cfg.get("device", "auto"))
    method = registry.get(run_cfg["method"])
    params = dict(run_cfg["method_params"])

    mog_spec = run_cfg.get("mog")
    if mog_spec is None:
        images = load_prepared(run_cfg["data_dir"])
        if images.shape[1] != params["resolution"]:
            raise ValueError(f"prepared data is {images.shape[1]} px but the run asks for {params['resolution']} px")
    seed_everything(seed)
    G, D = method.build(params)
    G, D = G.to(device), D.to(device)
    betas = tuple(tcfg["betas"])
    opt_g = torch.optim.Adam(G.parameters(), lr=tcfg["lr_g"], betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=tcfg["lr_d"], betas=betas)
    if mog_spec is None:
        sampler = BatchSampler(images, tcfg["batch_size"], seed)
    else:  # BRC's toy mixtures: sampled on the fly (ganrepro.mog); tiny MLPs run fastest on one thread
        from ganrepro.mog import MoGSampler

        torch.set_num_threads(1)

        sampler = MoGSampler(mog_spec, tcfg["batch_size"], seed)
    ctx = Context(rng=torch.Generator().manual_seed(seed + 1), device=device)
    n_critic = int(params.get("n_critic", 1))
    total = _total_steps({**tcfg, "n_critic": n_critic}, 0 if mog_spec else len(images))
    monitor = _mog_monitor(mog_spec, params, device, seed, int(tcfg.get("monitor_every") or 0)) if mog_spec else None

    step, train_seconds = 0, 0.0
    state, path = _load_newest(ckpt_dir, device)
    if state is not None:
        G.load_state_dict(state["G"]); D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"]); opt_d.load_state_dict(state["opt_d"])
        sampler.load_state_dict(state["sampler"]); ctx.rng.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        if device.startswith("cuda") and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        step, train_seconds = state["step"], state["train_seconds"]
        print(f"[train] resumed from {path.name} at step {step}/{total}", file=sys.stderr)
    log = _Log(run_dir / "log.csv", step)

    def snapshot() -> dict:
        return {"G": G.state_dict(), "D": D.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                "sampler": sampler.state_dict(), "rng": ctx.rng.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if device.startswith("cuda") else None,
                "step": step, "train_seconds": train_seconds, "total_steps": total}

    ckpt_every, log_every = int(tcfg["ckpt_every"]), int(tcfg.get("log_every", 10))
    interactive = sys.stderr.isatty() and not os.environ.get("SLURM_JOB_ID")
    bar = None
    if interactive:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=step, desc=run_cfg["run_id"], dynamic_ncols=True)
    z_dim, bs = params["z_dim"], tcfg["batch_size"]
    kill_at = int(os.environ["GANREPRO_TEST_KILL_AT_STEP"]) if os.environ.get("GANREPRO_TEST_KILL_AT_STEP") else None
    status, diverged_at = "finished", None
    G.train(); D.train()
    t0 = time.perf_counter()
    while step < total:
        ctx.step = step
        for _ in range(n_critic):
            real = sampler.next().to(device, non_blocking=True)
            z = torch.randn(bs, z_dim, generator=ctx.rng).to(device)
            with torch.no_grad():
                fake = G(z)
            d_loss, d_stats = method.d_loss(D, real, fake, params, ctx)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            if method.after_d_step is not None:
                method.after_d_step(D, params)
        z = torch.randn(bs, z_dim, generator=ctx.rng).to(device)
        ctx.real, ctx.z = real, z
        g_loss, g_stats = method.g_loss(D, G(z), params, ctx)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        step += 1
        d_val, g_val = d_loss.item(), g_loss.item()
        if not (math.isfinite(d_val) and math.isfinite(g_val)):
            status, diverged_at = "diverged", step
            print(f"[train] non-finite loss at step {step} (d={d_val}, g={g_val}): run diverged", file=sys.stderr)
            break
        if step % log_every == 0 or step == total:
            now = time.perf_counter()
            row = {"step": step, "wall_seconds": round(train_seconds + now - t0, 3), "d_loss": d_val, "g_loss": g_val,
                   **d_stats, **g_stats}
            if monitor is not None:  # MoG curves (brc.txt Fig. 2): metrics on the test samples, outside the clock
                row.update(monitor(G, step))
                t0 += time.perf_counter() - now
            log.write(row)
            if bar is None:
                print(f"[train] {run_cfg['run_id']} step {step}/{total} d={d_val:.4f} g={g_val:.4f}", file=sys.stderr,
                      flush=True)
        if bar is not None:
            bar.update(1)
        if step % ckpt_every == 0 or step == total:
            train_seconds += time.perf_counter() - t0
            log.flush()
            _save(ckpt_dir / f"step{step:08d}.pt", snapshot())
            for old in _checkpoints(ckpt_dir)[:-2]:
                old.unlink()
            t0 = time.perf_counter()
        if kill_at is not None and step == kill_at:  # test hook: die like a preempted job, no clean-up
            os.kill(os.getpid(), signal.SIGKILL)
        if stop_after is not None and step >= stop_after and step < total:
            log.close()
            return {"status": "interrupted", "step": step}
    train_seconds += time.perf_counter() - t0
    log.close()
    if bar is not None:
        bar.close()

    if status == "finished":
        _save(run_dir / "final.pt", {"G": G.state_dict(), "D": D.state_dict(), "step": step,
                                     "method_params": params})
        if mog_spec is None:
            _save_samples(G, run_dir / "samples.png", z_dim, device, seed)
    result = {"status": status, "step": step, "total_steps": total, "diverged_at": diverged_at,
              "train_seconds": round(train_seconds, 3), "gpu_hours": round(train_seconds / 3600 * (
                  1 if device.startswith("cuda") else 0), 6),
              "hardware": hardware(device), "code": code_version(), "run_id": run_cfg["run_id"]}
    write_json(run_dir / "train.json", result)
    return result


def _mog_monitor(spec: dict, params: dict, device: str, seed: int, every: int):
    """FID / JS / modes of fixed test latents every ``every`` logged steps (0: never)."""
    from ganrepro.mog_metrics import evaluate_samples

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
    from torchvision.utils import save_image

    G.eval()
    with torch.no_grad():
        z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed + 12345)).to(device)
        x = G(z).cpu()
    G.train()
    with atomic_path(path, suffix=".png") as tmp:
        save_image(x, tmp, nrow=8, normalize=True, value_range=(-1, 1))
