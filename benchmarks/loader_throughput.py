"""Loader throughput: the prepared format (uint8 .npy memmap) against decoding the source JPEGs from a zip each step.

Why the prepared format is what it is (issue 3, "choose by measured throughput"): a torch DataLoader with 2 workers
and batch 64 reads one epoch of

- ``npy-item``: ``images.npy`` memory-mapped, one image per ``__getitem__`` (default collate);
- ``npy-batch``: the same array, one sorted fancy-indexed read per batch (what ``ganrepro.data.loader.BatchSampler`` does);
- ``jpeg-zip``: JPEGs read from a zip, decoded, centre-cropped and resized every step (what training straight from
  the source archive would cost).

Synthetic JPEGs of realistic size: 178x218 (CelebA aligned frames) for 64 px, 500x625 (Oxford Flowers-like) for
256 px, textured with noise (sigma 3) so that their mean file sizes (printed: about 7 KB and 41 KB) are near the
real ones (roughly archive size / image count: ~7 KB for CelebA's aligned JPEGs, ~40 KB for Oxford Flowers). The .npy
is written by the real ``ganrepro.data.prepare.prepare`` from the same zip. Timing starts after the first batch (worker
start-up excluded) and covers the loader only (uint8 batches, no conversion to float).

    python benchmarks/loader_throughput.py [--n64 4096] [--n256 1024] [--out benchmarks/results/loader_throughput.json]
    python benchmarks/loader_throughput.py --hdcgan512 [--n512 5461] [--tmp /tmp]   # HDCGAN's 512 px reads only

Figures depend on the machine and its load (recorded in the output); the README quotes one run.

``--hdcgan512`` (HDCGAN, hdcgan.txt Sec. 5: batch 32 of 512 x 512 images; the prepared CelebA-512 array is
202,599 x 512 x 512 x 3 bytes ~ 148 GiB, more than host memory, so training reads it from disk at random): writes a
prepared array in the suite's format (``images.npy`` + ``manifest.json``, ``--n512`` images, default 5,461 = 4.0 GiB,
many batches) under ``--tmp``, deleted afterwards, and reads random batches of 32 from it in one thread:
``sampler``, ``ganrepro.data.loader.BatchSampler.next()``, what the default training loop calls between steps (the sorted
fancy-indexed read plus the conversion to float NCHW in [-1, 1] on the host); ``uint8``,
``BatchSampler.next_uint8().contiguous()``, what the fast path's prefetch thread reads (``train.fast.prefetch``,
``ganrepro.train.fastpath``: the batch goes to the device as uint8 and is converted there); ``read``, the same indexed
read alone (uint8 NHWC as stored, no transpose): what the storage gives. Each is measured twice over
one shuffled epoch (every image read once): from the **page
cache** (the file just written, every page resident) and from **disk** (after ``fsync`` and
``posix_fadvise(DONTNEED)`` on the file with no mapping open; the drop of the page cache is checked in
/proc/meminfo and recorded). The result goes under ``hdcgan512`` in the output JSON, the other rows kept.
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
from ganrepro.data.fixtures import synthetic_images  # noqa: E402
from ganrepro.data.prepare import prepare, preprocess  # noqa: E402
from ganrepro.util.io import write_json  # noqa: E402


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


def _cached_kib() -> int:
    """The kernel's page cache ("Cached" in /proc/meminfo), KiB."""
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Cached:"))


def _drop_cache(path: Path) -> int:
    """Write back and drop ``path``'s pages from the page cache (no mapping of it may be open); returns KiB freed."""
    before = _cached_kib()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return before - _cached_kib()


def write_prepared_512(folder: Path, n: int, res: int = 512, chunk: int = 256) -> float:
    """A prepared array of ``n`` random uint8 images in the suite's format (``ganrepro.data.prepare``'s layout, a
    manifest that ``load_prepared`` accepts); returns the write rate in MiB/s."""
    from ganrepro.util.io import write_json

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    arr = np.lib.format.open_memmap(folder / "images.npy", mode="w+", dtype=np.uint8, shape=(n, res, res, 3))
    for i in range(0, n, chunk):
        arr[i:i + chunk] = rng.integers(0, 256, (min(chunk, n - i), res, res, 3), dtype=np.uint8)
    arr.flush()
    del arr
    write_json(folder / "manifest.json", {"count": n, "shape": [n, res, res, 3], "dtype": "uint8", "layout": "NHWC",
                                          "format_version": 1, "source": {"format": "benchmark fixture"}})
    return n * res * res * 3 / 2 ** 20 / (time.perf_counter() - t0)


def random_batches_per_s(folder: Path, batch: int, how: str, seed: int) -> dict:
    """One shuffled epoch of random batches (``how``: ``uint8`` reads, or ``sampler``: BatchSampler.next())."""
    from ganrepro.data.loader import BatchSampler, load_prepared

    images = load_prepared(folder, verify=False)
    sampler = BatchSampler(images, batch, seed)
    steps = len(images) // batch
    t0 = time.perf_counter()
    for _ in range(steps):
        if how == "sampler":  # the default path: read + conversion to float NCHW on the host
            x = sampler.next()
        elif how == "uint8":  # what the fast path's prefetch thread reads (ganrepro.train.fastpath.Prefetcher): uint8 NCHW
            x = sampler.next_uint8().contiguous()
        else:  # "read": the same sorted fancy-indexed read alone (uint8 NHWC, no transpose): the storage's share
            x = np.ascontiguousarray(images[sampler.next_indices()])
        assert x.shape[0] == batch
    dt = time.perf_counter() - t0
    image_bytes = int(np.prod(images.shape[1:]))
    del images, sampler, x  # no mapping of the file stays open (the disk tier drops its pages next)
    return {"batches": steps, "seconds": round(dt, 3), "images_per_s": round(steps * batch / dt, 1),
            "mib_per_s": round(steps * batch * image_bytes / 2 ** 20 / dt, 1)}


def bench_hdcgan512(n: int, tmp_root: str, batch: int = 32) -> dict:
    """HDCGAN's 512 px random-batch reads, from the page cache and from disk (module docstring)."""
    import shutil

    tmp = Path(tempfile.mkdtemp(prefix="hdcgan512_loader_", dir=tmp_root))
    try:
        folder = tmp / "celeba_512"
        write_mib_s = write_prepared_512(folder, n)
        npy = folder / "images.npy"
        out = {"images": n, "resolution": 512, "batch": batch, "file_gib": round(npy.stat().st_size / 2 ** 30, 2),
               "dir": str(tmp_root), "write_mib_per_s": round(write_mib_s, 1), "threads": torch.get_num_threads(),
               "process": "one thread, batches read back to back (no training in between)", "cpu_affinity":
               sorted(os.sched_getaffinity(0)), "loadavg_1min_start": round(os.getloadavg()[0], 2)}
        for k, how in enumerate(("read", "uint8", "sampler")):
            for tier in ("page_cache", "disk"):
                if tier == "page_cache":
                    np.asarray(np.load(npy, mmap_mode="r")).sum(dtype=np.uint64)  # every page resident
                    freed = None
                else:
                    freed = _drop_cache(npy)
                r = random_batches_per_s(folder, batch, how, seed=10 * k + (tier == "disk"))
                if freed is not None:
                    r["page_cache_dropped_gib"] = round(freed / 2 ** 20, 2)
                out[f"{how}_{tier}"] = r
                print(f"512 px, batch {batch}, {how}, {tier}: {r['images_per_s']} images/s ({r['mib_per_s']} MiB/s)"
                      + (f"; page cache dropped by {r['page_cache_dropped_gib']} GiB first" if freed is not None
                         else ""), flush=True)
        out["loadavg_1min_end"] = round(os.getloadavg()[0], 2)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n64", type=int, default=4096)
    ap.add_argument("--n256", type=int, default=1024)
    ap.add_argument("--out", default="benchmarks/results/loader_throughput.json")
    ap.add_argument("--hdcgan512", action="store_true", help="only HDCGAN's 512 px random-batch reads (docstring)")
    ap.add_argument("--n512", type=int, default=5461, help="images of the 512 px fixture (5461 = 4.0 GiB)")
    ap.add_argument("--tmp", default="/tmp", help="where the 512 px fixture is written (and deleted)")
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    if a.hdcgan512:
        from ganrepro.util.io import read_json

        res = bench_hdcgan512(a.n512, a.tmp)
        prev = read_json(a.out) if Path(a.out).exists() else {}
        write_json(a.out, {**prev, "hdcgan512": {**res, "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "platform": platform.platform()}}})
        return
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
