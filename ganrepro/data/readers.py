"""Dataset source archives, one reader per on-disk format: ``iter_source`` turns an archive into PIL images in
source order, ``verify_archive`` reads a whole archive (a truncated or corrupt one raises ``IntegrityError`` naming
the file) and counts its images.

Formats (``READERS``): CIFAR-10/100's pickled python tar.gz, STL-10's binary tar.gz, a zip or tar of images (CZ,
Oxford Flowers), Hugging Face parquet shards (CelebA, CelebA-HQ) and LSUN's LMDB (a folder, or the zip holding one).
"""
from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from ganrepro.util.integrity import IntegrityError, file_digest, verify_file
from ganrepro.util.io import read_json

IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


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
