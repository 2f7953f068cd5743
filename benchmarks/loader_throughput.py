"""Loader throughput: the prepared format (uint8 .npy memmap) against decoding the source JPEGs from a zip each step.

Why the prepared format is what it is (issue 3, "choose by measured throughput"): a torch DataLoader with 2 workers
and batch 64 reads one epoch of

- ``npy-item``: ``images.npy`` memory-mapped, one image per ``__getitem__`` (default collate);
- ``npy-batch``: the same array, one sorted fancy-indexed read per batch (what ``ganrepro.loader.BatchSampler`` does);
- ``jpeg-zip``: JPEGs read from a zip, decoded, centre-cropped and resized every step (what training straight from
  the source archive would cost).

Synthetic JPEGs of realistic size: 178x218 (CelebA aligned frames) for 64 px, 500x625 (Oxford Flowers-like) for
256 px, textured with noise (sigma 3) so that their mean file sizes (printed: about 7 KB and 41 KB) are near the
real ones (roughly archive size / image count: ~7 KB for CelebA's aligned JPEGs, ~40 KB for Oxford Flowers). The .npy
is written by the real ``ganrepro.prepare.prepare`` from the same zip. Timing starts after the first batch (worker
start-up excluded) and covers the loader only (uint8 batches, no conversion to float).

    python benchmarks/loader_throughput.py [--n64 4096] [--n256 1024] [--out benchmarks/results/loader_throughput.json]

Figures depend on the machine and its load (recorded in the output); the README quotes one run.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")  # read-only memmap views
from ganrepro.fixtures import synthetic_images  # noqa: E402
from ganrepro.prepare import prepare, preprocess  # noqa: E402
from ganrepro.io import write_json  # noqa: E402


def write_jpeg_zip(path: Path, n: int, size: tuple[int, int], quality: int, seed: int = 0) -> float:
    """``n`` textured synthetic JPEGs of ``size`` (w, h) in a zip; returns the mean JPEG size in bytes."""
    rng = np.random.default_rng(seed)
    base = synthetic_images(min(n, 64), size, seed)
    total = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i in range(n):
            img = base[i % len(base)].astype(np.int16) + rng.normal(0, 3, base.shape[1:]).astype(np.int16)
            buf = io.BytesIO()
            Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=quality)
            total += buf.tell()
            z.writestr(f"img/{i:06d}.jpg", buf.getvalue())
    return total / n


class NpyItems(Dataset):
    def __init__(self, path: Path):
        self.path, self.arr = path, None
        self.n = len(np.load(path, mmap_mode="r"))

    def __len__(self):
        return self.n

    def _a(self):
        if self.arr is None:  # opened lazily in each worker
            self.arr = np.load(self.path, mmap_mode="r")
        return self.arr

    def __getitem__(self, i):
        if isinstance(i, list):  # a whole batch: one sorted fancy-indexed read
            return torch.from_numpy(np.ascontiguousarray(self._a()[np.sort(i)]))
        return torch.from_numpy(np.ascontiguousarray(self._a()[i]))


class ZipJpegs(Dataset):
    def __init__(self, path: Path, res: int, center_crop: int | None, filter: str):
        self.path, self.res, self.cc, self.filter, self.z = path, res, center_crop, filter, None
        with zipfile.ZipFile(path) as z:
            self.names = sorted(z.namelist())

    def __len__(self):
        return len(self.names)

    def __getitem__(self, i):
        if self.z is None:
            self.z = zipfile.ZipFile(self.path)
        img = Image.open(io.BytesIO(self.z.read(self.names[i]))).convert("RGB")
        return torch.from_numpy(preprocess(img, self.res, self.cc, self.filter).copy())


def images_per_s(ds: Dataset, batched: bool, epochs: int = 1, workers: int = 2, batch: int = 64) -> float:
    g = torch.Generator().manual_seed(0)
    if batched:
        dl = DataLoader(ds, batch_size=None, num_workers=workers,
                        sampler=BatchSampler(RandomSampler(ds, generator=g), batch, drop_last=True))
    else:
        dl = DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers, generator=g)
    n, t0 = 0, None
    for _ in range(epochs):
        for x in dl:
            if t0 is None:  # start the clock after the first batch (worker start-up excluded)
                t0 = time.perf_counter()
                continue
            n += x.shape[0]
    return n / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n64", type=int, default=4096)
    ap.add_argument("--n256", type=int, default=1024)
    ap.add_argument("--out", default="benchmarks/results/loader_throughput.json")
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    cases = [  # (res, n, source size (w, h), jpeg quality, center crop, filter)
        (64, a.n64, (178, 218), 90, 178, "bilinear"),
        (256, a.n256, (500, 625), 90, None, "bicubic"),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for res, n, size, q, cc, filt in cases:
            z = tmp / f"src{res}.zip"
            mean_bytes = write_jpeg_zip(z, n, size, q)
            t0 = time.perf_counter()
            prepare("image_zip", z, tmp / f"prep{res}", res, center_crop=cc, filter=filt)
            prep_s = time.perf_counter() - t0
            npy = tmp / f"prep{res}" / "images.npy"
            r = {"resolution": res, "images": n, "source_size": list(size), "jpeg_mean_kb": round(mean_bytes / 1024, 1),
                 "prepare_images_per_s_1proc": round(n / prep_s, 1)}
            r["npy_item"] = round(images_per_s(NpyItems(npy), batched=False, epochs=2), 1)
            r["npy_batch"] = round(images_per_s(NpyItems(npy), batched=True, epochs=2), 1)
            r["jpeg_zip"] = round(images_per_s(ZipJpegs(z, res, cc, filt), batched=False), 1)
            r["speedup_npy_batch_vs_jpeg"] = round(r["npy_batch"] / r["jpeg_zip"], 1)
            rows.append(r)
            print(r, flush=True)
    out = {"workers": 2, "batch": 64, "rows": rows, "machine": {
        "cpus": os.cpu_count(), "loadavg_at_end": os.getloadavg(), "python": platform.python_version(),
        "torch": torch.__version__, "platform": platform.platform()}}
    write_json(a.out, out)
    print("\n| px | source JPEG | npy memmap, per item | npy memmap, per batch | JPEG from zip | speed-up |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['resolution']} | {r['source_size'][0]}x{r['source_size'][1]}, {r['jpeg_mean_kb']} KB | "
              f"{r['npy_item']:.0f} img/s | {r['npy_batch']:.0f} img/s | {r['jpeg_zip']:.0f} img/s | "
              f"{r['speedup_npy_batch_vs_jpeg']}x |")


if __name__ == "__main__":
    main()
