"""The fast path of the shared training loop (issue 19): switches of a run's ``train.fast`` section, all off by
default (the default path is the one whose resume is bit-identical on CPU; ``tests/test_fastpath.py``).

| key | what it does | same results as the default path? |
|---|---|---|
| ``prefetch: K`` | a background thread reads the next K batches from the prepared memmap (uint8 as stored, (B, H, W, 3): no transpose on the host; pinned when ``pin_memory``) while the GPU trains; batches are copied to the device as uint8, transposed and converted to float there | the same batches, in the same order; a checkpoint records the sampler state after the last batch consumed, so resume is exact |
| ``pin_memory`` | page-locked host batches, so ``non_blocking`` copies overlap compute (CUDA only; ignored on CPU) | yes |
| ``data_on_device`` | the whole prepared array copied to the device once (uint8), batches indexed there (small datasets: CIFAR, STL at 32 px; refused when larger than ``data_on_device_max_gb``) | the same batches |
| ``z_on_device`` | latents drawn on the device by a device generator (no host-to-device copy per step) | a different random stream (seeded, checkpointed) |
| ``fused_adam`` | ``torch.optim.Adam(fused=True)`` | equal up to floating-point rounding |
| ``bf16`` | ``torch.autocast(dtype=torch.bfloat16)`` around every forward pass and loss (backward outside); opt in per method in the config (``experiments.X.methods.M.train.fast.bf16``) | within bf16 tolerance: losses within 5 %, gradient cosine >= 0.99 without BatchNorm (measured 0.999 for WGAN-GP and LGA), >= 0.9 with it (DCGAN deep_conv: 0.94-0.97) |
| ``channels_last`` | G, D and the real batches in ``torch.channels_last`` memory format (image runs) | equal up to floating-point rounding |
| ``cudnn_benchmark`` | ``torch.backends.cudnn.benchmark`` on for the run (CUDA): cuDNN times its algorithms at each new input shape and keeps the fastest | equal up to rounding; the first step of each shape is slow and can take far more memory (HDCGAN 512 px on an H200: 41.4 GiB in the warm-up against 10.4 GiB without; ``benchmarks/results/benchmarks_nvidia-h200.json``) |
| ``compile`` | ``torch.compile`` of G's forward (D stays eager: the gradient penalty and the BRC solvers differentiate D twice, which compiled graphs do not support); where compilation fails the run says so once and stays eager | equal up to rounding |

On CUDA the loop synchronises before it reads the clock (log and checkpoint steps only).
"""
from __future__ import annotations

import queue
import sys
import threading

import torch

FAST_DEFAULTS = {"prefetch": 0, "pin_memory": False, "data_on_device": False, "data_on_device_max_gb": 4.0,
                 "z_on_device": False, "fused_adam": False, "bf16": False, "channels_last": False, "compile": False, "cudnn_benchmark": False}


def fast_options(tcfg: dict) -> dict:
    """The run's ``train.fast`` over the defaults; an unknown key is an error naming it."""
    given = dict(tcfg.get("fast") or {})
    unknown = set(given) - set(FAST_DEFAULTS)
    if unknown:
        raise ValueError(f"train.fast: unknown key(s) {sorted(unknown)}; known: {sorted(FAST_DEFAULTS)}")
    return {**FAST_DEFAULTS, **given}


class Prefetcher:
    """A background thread keeping ``depth`` uint8 batches of ``sampler`` (a ``BatchSampler``) ready.

    ``next()`` returns the next batch as float in [-1, 1] on ``device`` (copied as uint8, converted there);
    ``state_dict()`` is the sampler's state after the last batch handed out (not after the ones read ahead), so
    a checkpoint taken now resumes at the next unconsumed batch. ``epoch``, ``pos``, ``perm``, ``batch_size``: the
    same, for the loop's epoch counting."""

    def __init__(self, sampler, depth: int, device: str, pin: bool = False):
        from ganrepro.data.loader import BatchSampler

        self.sampler, self.device = sampler, device
        self.pin = pin and device.startswith("cuda")
        self.batch_size = sampler.batch_size
        self._light = sampler.light_state()
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._state_of = BatchSampler.state_of
        self._thread = threading.Thread(target=self._work, name="ganrepro-prefetch", daemon=True)
        self._thread.start()

    def _work(self):
        try:
            while not self._stop.is_set():
                b = self.sampler.next_block()  # (B, H, W, 3) as read: no transpose on the host
                if self.pin:
                    b = b.pin_memory()
                item = (b, self.sampler.light_state())
                while not self._stop.is_set():
                    try:
                        self._q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            self._q.put((e, None))

    def next(self):
        from ganrepro.data.loader import to_float

        b, light = self._q.get()
        if isinstance(b, BaseException):
            raise b
        self._light = light
        return to_float(b.to(self.device, non_blocking=True).permute(0, 3, 1, 2))

    def state_dict(self) -> dict:
        return self._state_of(self._light)

    @property
    def epoch(self):
        return self._light[0]

    @property
    def pos(self):
        return self._light[1]

    @property
    def perm(self):
        return self._light[2]

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)


class DeviceData:
    """The whole prepared array on ``device`` as uint8 (B, 3, H, W); the sampler gives the indices, so the batches
    are those of the default path. Same state interface as the sampler."""

    def __init__(self, sampler, device: str, max_gb: float):
        gb = sampler.images.nbytes / 2**30
        if gb > max_gb:
            raise ValueError(f"train.fast.data_on_device: the prepared array is {gb:.1f} GiB, more than "
                             f"data_on_device_max_gb = {max_gb}; use prefetch instead")
        self.sampler, self.batch_size = sampler, sampler.batch_size
        self.data = torch.from_numpy(sampler.images[:]).to(device).permute(0, 3, 1, 2)
        self._index_device = device

    def next(self):
        from ganrepro.data.loader import to_float

        idx = torch.from_numpy(self.sampler.next_indices()).to(self._index_device)
        return to_float(self.data.index_select(0, idx))

    def state_dict(self):
        return self.sampler.state_dict()

    def load_state_dict(self, s):
        self.sampler.load_state_dict(s)

    def __getattr__(self, name):  # epoch, pos, perm: the sampler's
        return getattr(self.sampler, name)

    def close(self):
        pass


def autocast(device: str, enabled: bool):
    """bf16 autocast on ``device``'s type when ``enabled`` (a no-op context otherwise)."""
    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                          enabled=enabled)


def compile_generator(G, z_dim: int, device: str) -> bool:
    """Replace G's forward by ``torch.compile(G.forward)``, tried once on a small batch; on failure say why once and
    keep the eager forward. Returns whether G is compiled."""
    eager, mode = G.forward, G.training
    try:
        G.forward = torch.compile(eager)
        G.eval()  # the trial call must not touch BatchNorm's running statistics
        with torch.no_grad():
            G(torch.zeros(2, z_dim, device=device))
        G.train(mode)
        return True
    except Exception as e:  # noqa: BLE001 - any compiler failure: fall back, loudly
        G.forward = eager
        G.train(mode)
        print(f"[train] train.fast.compile: torch.compile is unavailable here ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:200]}); G stays eager", file=sys.stderr)
        return False


def sync(device: str) -> None:
    """Wait for the device's queued work (before the loop reads the clock); nothing on CPU."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
