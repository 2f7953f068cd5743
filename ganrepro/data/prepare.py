"""Preprocessing: a source archive -> the prepared training format (``prepare``).

Chain per dataset (workflows/data.smk): source archive (downloaded by ``ganrepro.data.download`` at full scale, a
synthetic fixture from ``ganrepro.data.fixtures`` in the same on-disk format at smoke scale) -> ``verify_archive``
(``ganrepro.data.readers``: reads the whole archive, counts the images) -> ``prepare``.

Prepared format (one for every dataset): ``images.npy``, a uint8 array (N, H, W, 3) opened as a memory map
(``ganrepro.data.loader``), plus ``manifest.json`` (count, shape, source and its checksum, preprocessing, statistics),
written last so that a folder with a manifest is complete. The array is filled in place
(``numpy.lib.format.open_memmap``), so preparing CelebA at 512 px never holds the dataset in memory.
``benchmarks/loader_throughput.py`` measures why this format was chosen over decoding JPEGs every step. The readers
turn each source format into PIL images; ``preprocess`` crops and resizes them with the filter the config names (the
filter changes FID, so it is recorded):

- CelebA: ``CenterCrop(178)`` then ``Resize`` (GL-GAN code; glgan.txt Sec. 4.1: 178x218 images resized to 128/64).
- LSUN church: "cropped and resized to 256x256 by bicubic interpolation" (glgan.txt Sec. 4.1): centre square crop,
  bicubic. GL-GAN reports 7,907 church images, the official train split has 126,227: ``limit`` chooses.
- Oxford Flowers: "resized to 256x256" (glgan.txt Sec. 4.1); ``crop: center`` or ``none`` (stretch) chooses.
- CIFAR-10/100 and STL-10: native, STL-10 resized to the experiment's resolution (32 for LGA, 48 as in SNGAN).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganrepro.data.readers import iter_source, verify_archive
from ganrepro.util.integrity import IntegrityError, file_digest
from ganrepro.util.io import atomic_path, write_json

FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "lanczos": Image.LANCZOS,
           "box": Image.BOX, "nearest": Image.NEAREST}


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
    from ganrepro.data.loader import stamp_verified

    stamp_verified(out_dir / "images.npy", manifest["sha256"])
    write_json(out_dir / "manifest.json", manifest)
    return manifest
