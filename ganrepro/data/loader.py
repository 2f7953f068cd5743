"""Training data loading: the prepared array as a memory map (``load_prepared``) and resumable shuffled batches of it
(``BatchSampler``); the prepared format is ``ganrepro.data.prepare``'s."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ganrepro.util.integrity import IntegrityError
from ganrepro.util.io import read_json

VERIFIED_STAMP = "images.npy.verified.json"


def _stamp_key(path: Path, sha256: str) -> dict:
    """What the verified stamp records of ``path``: its size and modification time now, and the digest checked."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}


def _check_digest(path: Path, expected: str | None) -> None:
    """``path``'s sha256 against the manifest's, once per version of the file: a stamp beside it records the size and
    modification time it was checked at (any later write to the file, e.g. corruption, changes them)."""
    from ganrepro.util.integrity import file_digest
    from ganrepro.util.io import write_json

    if not expected:
        return
    key = _stamp_key(path, expected)
    stamp = path.with_name(VERIFIED_STAMP)
    try:
        if read_json(stamp) == key:
            return
    except (OSError, ValueError):
        pass
    got = file_digest(path)
    if got != expected:
        raise IntegrityError(f"{path}: sha256 {got} differs from its manifest's {expected}: the prepared data is "
                             f"corrupt; delete {path.parent} and re-run (prepare)")
    write_json(stamp, key)


def stamp_verified(path, sha256: str) -> None:
    """Record that ``path`` (just written with digest ``sha256``) is verified as it is now: ``prepare`` calls this,
    so that no training job hashes a freshly prepared array again."""
    from ganrepro.util.io import write_json

    path = Path(path)
    write_json(path.with_name(VERIFIED_STAMP), _stamp_key(path, sha256))


def load_prepared(folder, verify: bool = True) -> np.ndarray:
    """Memory-mapped (N, H, W, 3) uint8 array of a prepared dataset. Raises, naming the file, if the manifest is
    missing, the array is truncated or of another shape, or (``verify``) its sha256 differs from the manifest's."""
    folder = Path(folder)
    if not (folder / "manifest.json").exists():
        raise FileNotFoundError(f"{folder}: no manifest.json: the dataset was not prepared completely")
    manifest = read_json(folder / "manifest.json")
    path = folder / "images.npy"
    try:
        arr = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as e:  # e.g. "mmap length is greater than file size" for a truncated file
        raise IntegrityError(f"{path}: unreadable prepared array ({e}); delete {folder} and re-run (prepare)") from None
    if list(arr.shape) != manifest["shape"]:
        raise IntegrityError(f"{path}: shape {arr.shape} != manifest {manifest['shape']}")
    if verify:
        _check_digest(path, manifest.get("sha256"))
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

    def next_indices(self) -> np.ndarray:
        """The next batch's image indices (sorted: one forward pass over the memmap), advancing the state."""
        if self.pos + self.batch_size > len(self.perm):
            self.epoch += 1
            self.pos = 0
            self.perm = self._torch.randperm(len(self.images), generator=self.gen)
        idx = np.sort(self.perm[self.pos:self.pos + self.batch_size].numpy())
        self.pos += self.batch_size
        return idx

    def next_block(self):
        """The next batch as read: a contiguous uint8 (B, H, W, 3) tensor."""
        return self._torch.from_numpy(np.ascontiguousarray(self.images[self.next_indices()]))

    def next_uint8(self):
        """The next batch as a uint8 (B, 3, H, W) tensor (a view of the read (B, H, W, 3) block)."""
        return self.next_block().permute(0, 3, 1, 2)

    def next(self):
        return to_float(self.next_uint8())

    def light_state(self) -> tuple:
        """The state without copying the permutation (replaced, never modified, at each new epoch)."""
        return self.epoch, self.pos, self.perm, self.gen.get_state()

    @staticmethod
    def state_of(light: tuple) -> dict:
        epoch, pos, perm, gen = light
        return {"epoch": epoch, "pos": pos, "perm": perm.clone(), "gen": gen}

    def state_dict(self):
        return {"epoch": self.epoch, "pos": self.pos, "perm": self.perm.clone(), "gen": self.gen.get_state()}

    def load_state_dict(self, s):
        self.epoch, self.pos, self.perm = s["epoch"], s["pos"], s["perm"].clone()
        self.gen.set_state(s["gen"])


def to_float(batch):
    """uint8 [0, 255] -> float [-1, 1] (x / 127.5 - 1), on whatever device the batch is."""
    return batch.float().div_(127.5).sub_(1.0)
