"""Smoke-scale fixtures: deterministic synthetic images (``synthetic_images``) written in a dataset's real on-disk
source format (``write_fixture``), so that the smoke pipeline runs the real readers, verification and preprocessing."""
from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from ganrepro.util.integrity import file_digest
from ganrepro.util.io import atomic_path


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

            def shard(images, dest):  # written by `datasets` itself: the hub's feature metadata (Image feature)
                datasets.Dataset.from_dict(
                    {"image": [{"bytes": _encode(img, "PNG"), "path": None} for img in images],
                     "label": [0] * len(images)},
                    features=datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")}),
                ).to_parquet(str(dest))

            if path.suffix == ".json":  # a hub snapshot record (as ganrepro.data.download writes) + shards beside it
                k = n - n // 4 if n > 1 else n
                files, digests = [], {}
                for name, part in (("train", imgs[:k]), ("validation", imgs[k:])):
                    if len(part):
                        dest = path.parent / "hf" / "data" / f"{name}-00000-of-00001.parquet"
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shard(part, dest)
                        rel = str(dest.relative_to(path.parent))
                        files.append(rel)
                        digests[rel] = {"size": dest.stat().st_size, "sha256": file_digest(dest)}
                Path(tmp).write_text(json.dumps({"files": files, "file_digests": digests, "fixture": True}))
            else:
                shard(imgs, tmp)
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
