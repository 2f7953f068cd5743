"""Datasets: source formats, smoke fixtures in those formats, preprocessing, and the prepared training format.

Chain per dataset (workflows/data.smk): source archive (downloaded by ``ganrepro.download`` at full scale, a
synthetic fixture in the same on-disk format at smoke scale) -> ``verify_archive`` (reads the whole archive: a
truncated or corrupt one raises ``IntegrityError``; counts the images) -> ``prepare``.

Prepared format (one for every dataset): ``images.npy``, a uint8 array (N, H, W, 3) opened as a memory map, plus
``manifest.json`` (count, shape, source and its checksum, preprocessing, statistics), written last so that a folder
with a manifest is complete. The array is filled in place (``numpy.lib.format.open_memmap``), so preparing CelebA at
512 px never holds the dataset in memory. ``benchmarks/loader_throughput.py`` measures why this format was chosen
over decoding JPEGs every step. Readers turn each source format into PIL images; ``preprocess`` crops and resizes
them with the filter the config names (the filter changes FID, so it is recorded):

- CelebA: ``CenterCrop(178)`` then ``Resize`` (GL-GAN code; glgan.txt Sec. 4.1: 178x218 images resized to 128/64).
- LSUN church: "cropped and resized to 256x256 by bicubic interpolation" (glgan.txt Sec. 4.1): centre square crop,
  bicubic. GL-GAN reports 7,907 church images, the official train split has 126,227: ``limit`` chooses.
- Oxford Flowers: "resized to 256x256" (glgan.txt Sec. 4.1); ``crop: center`` or ``none`` (stretch) chooses.
- CIFAR-10/100 and STL-10: native, STL-10 resized to the experiment's resolution (32 for LGA, 48 as in SNGAN).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tarfile
import zipfile
import zlib
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


def _parquet_files(path: Path, split: str) -> list[Path]:
    """Shards of a hub snapshot record (``{"files": [...]}``, paths relative to it), a folder or one .parquet file;
    ``split`` keeps the shards named ``{split}-*`` (``all`` keeps every shard)."""
    path = Path(path)
    if path.suffix == ".json":
        files = [path.parent / f for f in read_json(path)["files"]]
    elif path.is_dir():
        files = sorted(path.rglob("*.parquet"))
    else:
        return [path]
    if split != "all":
        files = [f for f in files if f.name.startswith(f"{split}-") or f.name.startswith(f"{split}.")]
    return files


def _image_column(schema) -> str:
    names = schema.names
    return "image" if "image" in names else next(c for c in names if "im" in c.lower())


def _iter_parquet(path: Path, split: str) -> Iterator[Image.Image]:
    """Hugging Face dataset parquet shards with an ``image`` column (struct of encoded ``bytes`` and ``path``), read
    with pyarrow batch by batch (no copy into the ``datasets`` cache)."""
    import pyarrow.parquet as pq

    files = _parquet_files(path, split)
    if not files:
        raise IntegrityError(f"{path}: no parquet shard for split {split!r}")
    for f in files:
        pf = pq.ParquetFile(f)
        col = _image_column(pf.schema_arrow)
        for batch in pf.iter_batches(columns=[col], batch_size=256):
            for cell in batch.column(0).to_pylist():
                data = cell["bytes"] if isinstance(cell, dict) else cell
                yield Image.open(io.BytesIO(data)).convert("RGB")


def _lmdb_dir(path: Path) -> Path:
    """The LMDB environment folder: ``path`` itself, or the one inside the LSUN zip (extracted once, beside it)."""
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        out = path.with_name(path.name + ".extracted")
        if not (out / ".extracted").exists():
            with zipfile.ZipFile(path) as z:
                z.extractall(out)
            (out / ".extracted").touch()
        found = [p.parent for p in out.rglob("data.mdb")]
        if not found:
            raise IntegrityError(f"{path}: no data.mdb inside (is this an LSUN *_lmdb.zip?)")
        return found[0]
    return path


def _iter_lmdb(path: Path, split: str) -> Iterator[Image.Image]:
    """LSUN: an LMDB environment (folder, or zip holding one) whose values are encoded images, in key order."""
    import lmdb

    env = lmdb.open(str(_lmdb_dir(path)), readonly=True, lock=False, readahead=False, max_readers=1)
    with env.begin() as txn:
        for _, value in txn.cursor():
            yield Image.open(io.BytesIO(value)).convert("RGB")


READERS = {"cifar_pickle": _iter_cifar_pickle, "stl_binary": _iter_stl_binary, "image_zip": _iter_image_zip,
           "image_tar": _iter_image_tar, "parquet": _iter_parquet, "lmdb": _iter_lmdb}


def iter_source(fmt: str, path, split: str = "train") -> Iterator[Image.Image]:
    if fmt not in READERS:
        raise ValueError(f"unknown source format {fmt!r}; known: {sorted(READERS)}")
    return READERS[fmt](Path(path), split)


# ----------------------------------------------------------------------------------------------- verification
STL_IMAGE_BYTES = 3 * 96 * 96


def _read_through(f, chunk: int = 1 << 22) -> int:
    n = 0
    while block := f.read(chunk):
        n += len(block)
    return n


def _count_archive(fmt: str, path: Path, split: str) -> dict:
    if fmt == "cifar_pickle":
        return {"count": sum(1 for _ in _iter_cifar_pickle(path, split))}
    if fmt == "stl_binary":
        member = {"train": "train_X.bin", "test": "test_X.bin", "unlabeled": "unlabeled_X.bin"}[split]
        with tarfile.open(path, "r:*") as tar:
            m = next((m for m in tar.getmembers() if m.name.endswith(member)), None)
            if m is None:
                raise IntegrityError(f"{path}: no member {member!r} (is this stl10_binary.tar.gz?)")
            size = _read_through(tar.extractfile(m))
        if size != m.size or size % STL_IMAGE_BYTES:
            raise IntegrityError(f"{path}: {member} has {size} bytes, not a whole number of 96x96x3 images")
        return {"count": size // STL_IMAGE_BYTES}
    if fmt in ("image_zip", "lmdb") and path.is_file():
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()  # reads every member and checks its CRC
            if bad is not None:
                raise IntegrityError(f"{path}: member {bad!r} is corrupt (CRC mismatch)")
            if fmt == "image_zip":
                return {"count": sum(n.lower().endswith(IMAGE_EXT) for n in z.namelist())}
    if fmt == "lmdb":
        import lmdb

        env = lmdb.open(str(_lmdb_dir(path)), readonly=True, lock=False, max_readers=1)
        return {"count": int(env.stat()["entries"])}
    if fmt == "image_tar":
        count = 0
        with tarfile.open(path, "r:*") as tar:
            for m in tar:
                if m.isfile():
                    if _read_through(tar.extractfile(m)) != m.size:
                        raise IntegrityError(f"{path}: member {m.name!r} is truncated")
                    count += m.name.lower().endswith(IMAGE_EXT)
        return {"count": count}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        files = _parquet_files(path, split)
        if not files:
            raise IntegrityError(f"{path}: no parquet shard for split {split!r}")
        expected = {}
        if path.suffix == ".json":  # the hub download recorded each shard's size and sha256
            expected = read_json(path).get("file_digests", {})
        count = 0
        for f in files:
            if not f.exists():
                raise IntegrityError(f"{path}: shard {f} is missing")
            rel = str(f.relative_to(path.parent)) if path.suffix == ".json" else f.name
            if rel in expected:
                verify_file(f, expected[rel])
            count += pq.ParquetFile(f).metadata.num_rows
        return {"count": count, "shards": len(files)}
    raise ValueError(f"unknown source format {fmt!r}; known: {sorted(READERS)}")


def verify_archive(fmt: str, path, split: str = "train", expected_count: int | None = None) -> dict:
    """Read the whole source archive and count its images; a truncated or corrupt archive (or a count other than
    ``expected_count``) raises ``IntegrityError`` naming the file. Returns ``{count, size, sha256, ...}``."""
    path = Path(path)
    if not path.exists():
        raise IntegrityError(f"{path}: missing")
    try:
        rec = _count_archive(fmt, path, split)
    except IntegrityError:
        raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, pickle.UnpicklingError, KeyError,
            ValueError, OSError) as e:
        raise IntegrityError(f"{path}: corrupt or truncated {fmt} archive ({type(e).__name__}: {e})") from e
    except Exception as e:  # lmdb.Error, pyarrow.ArrowInvalid: library-specific corruption errors
        raise IntegrityError(f"{path}: corrupt {fmt} source ({type(e).__name__}: {e})") from e
    if rec["count"] == 0:
        raise IntegrityError(f"{path}: no images found for format {fmt!r}, split {split!r}")
    if expected_count is not None and rec["count"] != expected_count:
        raise IntegrityError(f"{path}: {rec['count']} images in split {split!r}, expected {expected_count}")
    rec.update(format=fmt, split=split, path=str(path))
    if path.is_file():
        rec.update(size=path.stat().st_size, sha256=file_digest(path))
    return rec


# ----------------------------------------------------------------------------------------------- preprocessing
def preprocess(img: Image.Image, resolution: int, center_crop: int | None = None, filter: str = "bicubic",
               square_crop: bool = True) -> np.ndarray:
    """Center-crop (to ``center_crop``, else to the short side when ``square_crop``; ``square_crop=False`` and no
    ``center_crop`` stretches the whole frame), then resize to a ``resolution`` square with ``filter``."""
    w, h = img.size
    side = center_crop or (min(w, h) if square_crop else None)
    if side:
        side = min(side, w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), FILTERS[filter])
    return np.asarray(img, dtype=np.uint8)


def preprocessing_settings(ds: dict) -> dict:
    """The settings of a dataset's config entry that determine its prepared array (Snakemake re-runs prepare when
    they change)."""
    return {k: ds.get(k) for k in ("format", "split", "crop", "center_crop", "filter", "limit")}


def prepare(fmt: str, source_path, out_dir, resolution: int, split: str = "train", center_crop: int | None = None,
            filter: str = "bicubic", limit: int | None = None, source_info: dict | None = None, crop: str = "center",
            verified: dict | None = None) -> dict:
    """Source archive -> ``out_dir/images.npy`` + ``out_dir/manifest.json`` (each written atomically, manifest last).

    ``verified`` is ``verify_archive``'s record (computed here when absent): its count sizes the memory-mapped array,
    which is filled image by image. ``limit`` keeps the first ``limit`` images in source order. ``crop``: ``center``
    (square centre crop, or ``center_crop`` pixels) or ``none`` (resize the whole frame, aspect ratio not kept).
    """
    if crop not in ("center", "none"):
        raise ValueError(f"crop must be 'center' or 'none', not {crop!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    verified = verified or verify_archive(fmt, source_path, split)
    n = verified["count"] if limit is None else min(limit, verified["count"])
    sides, upsampled = [], 0
    with atomic_path(out_dir / "images.npy", suffix=".npy") as tmp:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, resolution, resolution, 3))
        for i, img in enumerate(iter_source(fmt, source_path, split)):
            if i >= n:
                break
            w, h = img.size
            side = min(center_crop or min(w, h), w, h) if crop == "center" else min(w, h)
            sides.append(side)
            upsampled += side < resolution
            arr[i] = preprocess(img, resolution, center_crop if crop == "center" else None, filter,
                                square_crop=crop == "center")
        arr.flush()
        del arr
        if len(sides) != n:
            raise IntegrityError(f"{source_path}: read {len(sides)} images, verification counted {n}")
    manifest = {"count": n, "shape": [n, resolution, resolution, 3], "dtype": "uint8", "layout": "NHWC",
                "format_version": 1,
                "source": {"format": fmt, "path": str(source_path), "split": split, "count": verified["count"],
                           **{k: verified[k] for k in ("size", "sha256") if k in verified}, **(source_info or {})},
                "preprocessing": {"resolution": resolution, "crop": crop, "center_crop": center_crop,
                                  "filter": filter, "limit": limit, "order": "source order"},
                "stats": {"crop_side_min": int(min(sides)), "crop_side_max": int(max(sides)),
                          "upsampled": int(upsampled)},
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

            def shard(images, dest):  # written by `datasets` itself: the hub's feature metadata (Image feature)
                datasets.Dataset.from_dict(
                    {"image": [{"bytes": _encode(img, "PNG"), "path": None} for img in images],
                     "label": [0] * len(images)},
                    features=datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")}),
                ).to_parquet(str(dest))

            if path.suffix == ".json":  # a hub snapshot record (as ganrepro.download writes) + shards beside it
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
