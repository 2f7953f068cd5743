"""Datasets: source formats, smoke fixtures in those formats, preprocessing, and the prepared training format.

Prepared format (one for every dataset): ``images.npy``, a uint8 array (N, H, W, 3) opened as a memory map, plus
``manifest.json`` (count, shape, source, checksum, preprocessing), written last so that a folder with a manifest is
complete. Readers turn each source format into PIL images; ``preprocess`` crops and resizes them with the filter the
config names (the filter changes FID, so it is recorded).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tarfile
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from ganrepro.io import atomic_path, read_json, write_json

FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "lanczos": Image.LANCZOS,
           "box": Image.BOX, "nearest": Image.NEAREST}
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


# ----------------------------------------------------------------------------------------------- integrity
def file_digest(path, algo: str = "sha256", chunk: int = 1 << 20) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class IntegrityError(RuntimeError):
    pass


def verify_file(path, expected: dict) -> dict:
    """Check size and digests listed in ``expected`` (keys: size, md5, sha256). Raises IntegrityError."""
    path = Path(path)
    if not path.exists():
        raise IntegrityError(f"{path}: missing")
    got = {"size": path.stat().st_size}
    if expected.get("size") is not None and got["size"] != expected["size"]:
        raise IntegrityError(f"{path}: size {got['size']} != expected {expected['size']} (truncated or wrong file)")
    for algo in ("md5", "sha256"):
        if expected.get(algo):
            got[algo] = file_digest(path, algo)
            if got[algo] != expected[algo]:
                raise IntegrityError(f"{path}: {algo} {got[algo]} != expected {expected[algo]}")
    if "sha256" not in got:
        got["sha256"] = file_digest(path, "sha256")
    return got


# ----------------------------------------------------------------------------------------------- readers
def _iter_cifar_pickle(path: Path, split: str) -> Iterator[Image.Image]:
    """CIFAR-10/100 python version: a tar.gz of pickled dicts with b'data' rows of 3072 uint8 (R, G, B planes)."""
    with tarfile.open(path, "r:*") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        names = {Path(m.name).name: m for m in members}
        if split == "train":
            wanted = [n for n in sorted(names) if n.startswith("data_batch_")] or ["train"]
        else:
            wanted = ["test_batch"] if "test_batch" in names else ["test"]
        for n in wanted:
            if n not in names:
                raise IntegrityError(f"{path}: no member {n!r} (is this a CIFAR python archive?)")
            d = pickle.load(tar.extractfile(names[n]), encoding="bytes")
            arr = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            for img in arr:
                yield Image.fromarray(img)


def _iter_stl_binary(path: Path, split: str) -> Iterator[Image.Image]:
    """STL-10 binary: ``stl10_binary/{split}_X.bin``, uint8 (N, 3, 96, 96) stored column-major per channel."""
    member = {"train": "train_X.bin", "test": "test_X.bin", "unlabeled": "unlabeled_X.bin"}[split]
    with tarfile.open(path, "r:*") as tar:
        m = next((m for m in tar.getmembers() if m.name.endswith(member)), None)
        if m is None:
            raise IntegrityError(f"{path}: no member {member!r}")
        f = tar.extractfile(m)
        while block := f.read(3 * 96 * 96):
            if len(block) != 3 * 96 * 96:
                raise IntegrityError(f"{path}: {member} is truncated")
            img = np.frombuffer(block, np.uint8).reshape(3, 96, 96).transpose(2, 1, 0)
            yield Image.fromarray(np.ascontiguousarray(img))


def _iter_image_zip(path: Path, split: str) -> Iterator[Image.Image]:
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if n.lower().endswith(IMAGE_EXT)):
            with z.open(name) as f:
                yield Image.open(io.BytesIO(f.read())).convert("RGB")


def _iter_image_tar(path: Path, split: str) -> Iterator[Image.Image]:
    with tarfile.open(path, "r:*") as tar:
        for m in sorted((m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith(IMAGE_EXT)),
                        key=lambda m: m.name):
            yield Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB")


def _iter_parquet(path: Path, split: str) -> Iterator[Image.Image]:
    """Hugging Face dataset parquet shards with an ``image`` column: a .parquet file, a folder of them, or a JSON
    snapshot record (``{"files": [...]}``, paths relative to it) as written by the hub download."""
    import datasets

    path = Path(path)
    if path.suffix == ".json":
        files = [str(path.parent / f) for f in read_json(path)["files"]]
    elif path.is_dir():
        files = sorted(str(p) for p in path.rglob("*.parquet"))
    else:
        files = [str(path)]
    ds = datasets.load_dataset("parquet", data_files={"train": files}, split="train")
    col = "image" if "image" in ds.column_names else next(c for c in ds.column_names if "im" in c.lower())
    for row in ds:
        img = row[col]
        if isinstance(img, dict):  # parquet written without the hub's feature metadata: raw {bytes, path}
            img = Image.open(io.BytesIO(img["bytes"]))
        yield img.convert("RGB")


def _iter_lmdb(path: Path, split: str) -> Iterator[Image.Image]:
    """LSUN: an LMDB environment (folder, or zip holding one) whose values are encoded images."""
    import lmdb

    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        out = path.with_name(path.name + ".extracted")
        if not (out / ".extracted").exists():
            with zipfile.ZipFile(path) as z:
                z.extractall(out)
            (out / ".extracted").touch()
        path = next(p.parent for p in out.rglob("data.mdb"))
    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, max_readers=1)
    with env.begin() as txn:
        for _, value in txn.cursor():
            yield Image.open(io.BytesIO(value)).convert("RGB")


READERS = {"cifar_pickle": _iter_cifar_pickle, "stl_binary": _iter_stl_binary, "image_zip": _iter_image_zip,
           "image_tar": _iter_image_tar, "parquet": _iter_parquet, "lmdb": _iter_lmdb}


def iter_source(fmt: str, path, split: str = "train") -> Iterator[Image.Image]:
    if fmt not in READERS:
        raise ValueError(f"unknown source format {fmt!r}; known: {sorted(READERS)}")
    return READERS[fmt](Path(path), split)


# ----------------------------------------------------------------------------------------------- preprocessing
def preprocess(img: Image.Image, resolution: int, center_crop: int | None = None, filter: str = "bicubic",
               square_crop: bool = True) -> np.ndarray:
    """Center-crop (to ``center_crop``, else to the short side when ``square_crop``), then resize to a square."""
    w, h = img.size
    side = center_crop or (min(w, h) if square_crop else None)
    if side:
        side = min(side, w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), FILTERS[filter])
    return np.asarray(img, dtype=np.uint8)


def prepare(fmt: str, source_path, out_dir, resolution: int, split: str = "train", center_crop: int | None = None,
            filter: str = "bicubic", limit: int | None = None, source_info: dict | None = None) -> dict:
    """Source archive -> ``out_dir/images.npy`` + ``out_dir/manifest.json`` (written last, atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    imgs = []
    for i, img in enumerate(iter_source(fmt, source_path, split)):
        if limit is not None and i >= limit:
            break
        imgs.append(preprocess(img, resolution, center_crop, filter))
    if not imgs:
        raise IntegrityError(f"{source_path}: no images found for format {fmt!r}, split {split!r}")
    arr = np.stack(imgs)
    with atomic_path(out_dir / "images.npy", suffix=".npy") as tmp:
        np.save(tmp, arr)
    manifest = {"count": int(arr.shape[0]), "shape": list(arr.shape), "dtype": "uint8", "layout": "NHWC",
                "source": {"format": fmt, "path": str(source_path), "split": split, **(source_info or {})},
                "preprocessing": {"resolution": resolution, "center_crop": center_crop, "filter": filter},
                "sha256": file_digest(out_dir / "images.npy")}
    write_json(out_dir / "manifest.json", manifest)
    return manifest


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


# ----------------------------------------------------------------------------------------------- smoke fixtures
def synthetic_images(n: int, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Deterministic smooth colour images (N, H, W, 3) uint8: a 4x4 random colour grid, upsampled, plus a disc."""
    rng = np.random.default_rng(seed)
    w, h = size
    out = np.empty((n, h, w, 3), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        grid = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((w, h), Image.BILINEAR)
        img = np.asarray(grid, dtype=np.float32)
        cx, cy, r = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, rng.uniform(0.15, 0.3) * min(w, h)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[disc] = 0.5 * img[disc] + 0.5 * rng.integers(0, 256, 3)
        out[i] = img.clip(0, 255).astype(np.uint8)
    return out


def _encode(img: np.ndarray, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt, quality=95)
    return buf.getvalue()


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_fixture(fmt: str, path, n: int, size: tuple[int, int], seed: int = 0, variant: str = "cifar10") -> Path:
    """Write ``n`` synthetic images of ``size`` (w, h) in the real on-disk source format ``fmt`` at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imgs = synthetic_images(n, size, seed)
    with atomic_path(path) as tmp:
        if fmt == "cifar_pickle":
            data = imgs.transpose(0, 3, 1, 2).reshape(n, -1)
            with tarfile.open(tmp, "w:gz") as tar:
                if variant == "cifar100":
                    _tar_add(tar, "cifar-100-python/train",
                             pickle.dumps({b"data": data, b"fine_labels": [0] * n, b"coarse_labels": [0] * n}))
                    _tar_add(tar, "cifar-100-python/test", pickle.dumps({b"data": data[:1], b"fine_labels": [0]}))
                else:
                    for b, chunk in enumerate(np.array_split(data, 5), start=1):
                        _tar_add(tar, f"cifar-10-batches-py/data_batch_{b}",
                                 pickle.dumps({b"data": chunk, b"labels": [0] * len(chunk)}))
                    _tar_add(tar, "cifar-10-batches-py/test_batch", pickle.dumps({b"data": data[:1], b"labels": [0]}))
        elif fmt == "stl_binary":
            raw = imgs.transpose(0, 3, 2, 1).tobytes()  # (N, 3, W, H): column-major per channel
            with tarfile.open(tmp, "w:gz") as tar:
                for split in ("train", "unlabeled"):
                    _tar_add(tar, f"stl10_binary/{split}_X.bin", raw)
        elif fmt == "image_zip":
            with zipfile.ZipFile(tmp, "w") as z:
                for i, img in enumerate(imgs):
                    z.writestr(f"images/{i:06d}.jpg", _encode(img))
        elif fmt == "image_tar":
            with tarfile.open(tmp, "w:gz") as tar:
                for i, img in enumerate(imgs):
                    _tar_add(tar, f"jpg/image_{i:05d}.jpg", _encode(img))
        elif fmt == "parquet":
            import datasets

            # written by `datasets` itself, so the shard carries the hub's feature metadata (Image feature)
            ds = datasets.Dataset.from_dict(
                {"image": [{"bytes": _encode(img, "PNG"), "path": None} for img in imgs], "label": [0] * n},
                features=datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")}))
            if path.suffix == ".json":  # a hub snapshot record pointing at the shard beside it
                shard = path.parent / "hf" / "train-00000-of-00001.parquet"
                shard.parent.mkdir(parents=True, exist_ok=True)
                ds.to_parquet(str(shard))
                Path(tmp).write_text(json.dumps({"files": [str(shard.relative_to(path.parent))], "fixture": True}))
            else:
                ds.to_parquet(str(tmp))
        elif fmt == "lmdb":
            import lmdb

            os.unlink(tmp)
            tmp.mkdir()
            env = lmdb.open(str(tmp), map_size=max(1 << 24, 4 * imgs.nbytes), subdir=True)
            with env.begin(write=True) as txn:
                for i, img in enumerate(imgs):
                    txn.put(f"{i:040x}".encode(), _encode(img))
            env.close()
            # LSUN ships the LMDB folder inside a zip: do the same
            zpath = Path(str(tmp) + ".zip")
            with zipfile.ZipFile(zpath, "w") as z:
                for f in tmp.iterdir():
                    z.write(f, f"fixture_train_lmdb/{f.name}")
            for f in tmp.iterdir():
                f.unlink()
            tmp.rmdir()
            os.replace(zpath, tmp)
        else:
            raise ValueError(f"unknown source format {fmt!r}")
    return path


# ----------------------------------------------------------------------------------------------- batches
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
