"""Training data loading: the prepared array as a memory map (``load_prepared``) and resumable shuffled batches of it
(``BatchSampler``); the prepared format is ``ganrepro.prepare``'s."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ganrepro.integrity import IntegrityError
from ganrepro.io import read_json


def load_prepared(folder) -> np.ndarray:
    """Memory-mapped (N, H, W, 3) uint8 array of a prepared dataset (raises if its manifest is missing)."""
    folder = Path(folder)
    if not (folder / "manifest.json").exists():
        raise FileNotFoundError(f"{folder}: no manifest.json: the dataset was not prepared completely")
    manifest = read_json(folder / "manifest.json")
    arr = np.load(folder / "images.npy", mmap_mode="r")
    if list(arr.shape) != manifest["shape"]:
        raise IntegrityError(f"{folder}: images.npy shape {arr.shape} != manifest {manifest['shape']}")
    return arr


class BatchSampler:
    """Shuffled epochs over a prepared array, resumable: its state is (epoch, position, generator state)."""

    def __init__(self, images: np.ndarray, batch_size: int, seed: int):
        if len(images) < batch_size:
            raise ValueError(f"dataset has {len(images)} images, fewer than the batch size {batch_size}")
        self.images, self.batch_size = images, batch_size
        import torch

        self._torch = torch
        self.gen = torch.Generator().manual_seed(seed)
        self.epoch, self.pos = 0, 0
        self.perm = torch.randperm(len(images), generator=self.gen)

    def next(self):
        torch = self._torch
        if self.pos + self.batch_size > len(self.perm):
            self.epoch += 1
            self.pos = 0
            self.perm = torch.randperm(len(self.images), generator=self.gen)
        idx = np.sort(self.perm[self.pos:self.pos + self.batch_size].numpy())
        self.pos += self.batch_size
        batch = torch.from_numpy(np.ascontiguousarray(self.images[idx]))
        return batch.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)

    def state_dict(self):
        return {"epoch": self.epoch, "pos": self.pos, "perm": self.perm.clone(), "gen": self.gen.get_state()}

    def load_state_dict(self, s):
        self.epoch, self.pos, self.perm = s["epoch"], s["pos"], s["perm"].clone()
        self.gen.set_state(s["gen"])
