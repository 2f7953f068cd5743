"""Source formats -> prepared dataset, on fixtures written in each real on-disk format; integrity failures."""
import hashlib
import time

import numpy as np
import pytest

from ganrepro import data as D
from ganrepro.download import SourceUnavailable, fetch

FORMATS = [  # (format, fixture size (w, h), extra)
    ("cifar_pickle", (32, 32), {}),
    ("cifar_pickle", (32, 32), {"variant": "cifar100"}),
    ("stl_binary", (96, 96), {}),
    ("image_zip", (178, 218), {}),
    ("image_tar", (80, 64), {}),
    ("parquet", (64, 64), {}),
    ("lmdb", (96, 64), {}),
]


@pytest.mark.parametrize("fmt,size,extra", FORMATS)
def test_fixture_to_prepared(tmp_path, fmt, size, extra):
    src = D.write_fixture(fmt, tmp_path / f"src.{fmt}", n=12, size=size, **extra)
    split = "unlabeled" if fmt == "stl_binary" else "train"
    m = D.prepare(fmt, src, tmp_path / "out", resolution=16, split=split, filter="bicubic")
    arr = D.load_prepared(tmp_path / "out")
    assert m["count"] == 12 and arr.shape == (12, 16, 16, 3) and arr.dtype == np.uint8
    assert 0 <= arr.min() and arr.max() <= 255 and arr.std() > 5  # real image content, not blank
    assert m["sha256"] == hashlib.sha256((tmp_path / "out" / "images.npy").read_bytes()).hexdigest()


def test_pixels_survive_lossless_formats(tmp_path):
    """CIFAR pickles and STL binaries are lossless: the prepared 32 px image equals the synthetic source exactly."""
    want = D.synthetic_images(6, (32, 32), seed=0)
    src = D.write_fixture("cifar_pickle", tmp_path / "c.tar.gz", n=6, size=(32, 32))
    D.prepare("cifar_pickle", src, tmp_path / "c", resolution=32)
    np.testing.assert_array_equal(D.load_prepared(tmp_path / "c"), want)
    want96 = D.synthetic_images(3, (96, 96), seed=0)
    src = D.write_fixture("stl_binary", tmp_path / "s.tar.gz", n=3, size=(96, 96))
    imgs = [np.asarray(i) for i in D.iter_source("stl_binary", src, "train")]
    np.testing.assert_array_equal(np.stack(imgs), want96)  # column-major layout decoded right


def test_celeba_center_crop(tmp_path):
    """CelebA: CenterCrop(178) of the 178x218 frame, then resize (GL-GAN code)."""
    img = np.zeros((218, 178, 3), np.uint8)
    img[20:198] = 200  # the central 178x178 square is bright, the 20-px bands top and bottom dark
    from PIL import Image

    out = D.preprocess(Image.fromarray(img), 64, center_crop=178, filter="bilinear")
    assert out.shape == (64, 64, 3) and out.min() == 200


def test_checksum_mismatch_leaves_nothing(tmp_path):
    ds = {"source": {"url": "http://127.0.0.1:9/never", "md5": "0" * 32}}
    placed = tmp_path / "a.tar.gz"
    placed.write_bytes(b"not the archive")
    with pytest.raises(D.IntegrityError, match="md5"):
        fetch("cifar10", ds, placed)


def test_truncated_archive_fails_size_and_read(tmp_path):
    src = D.write_fixture("stl_binary", tmp_path / "s.tar.gz", n=4, size=(96, 96))
    full = src.read_bytes()
    with pytest.raises(D.IntegrityError, match="size"):
        D.verify_file(src, {"size": len(full) + 10})
    src.write_bytes(full[: len(full) // 2])
    with pytest.raises(Exception):
        D.prepare("stl_binary", src, tmp_path / "out", resolution=16, split="train")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_offline_url_fails_fast_with_guidance(tmp_path):
    ds = {"source": {"url": "http://127.0.0.1:9/cifar-10-python.tar.gz"}}
    t0 = time.perf_counter()
    with pytest.raises(SourceUnavailable, match="place it at"):
        fetch("cifar10", ds, tmp_path / "cifar-10-python.tar.gz")
    assert time.perf_counter() - t0 < 10
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()


def test_offline_hub_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(SourceUnavailable, match="mattymchen/celeba-hq"):
        fetch("celebahq", {"source": {"hf": "mattymchen/celeba-hq"}}, tmp_path / "hf_snapshot.json")
    assert time.perf_counter() - t0 < 10


def test_manual_source_names_path(tmp_path):
    with pytest.raises(SourceUnavailable, match=r"manual download.*cz\.zip"):
        fetch("cz", {"source": {"manual": "the CZ archive"}}, tmp_path / "cz.zip")


def test_batch_sampler_resumable():
    imgs = D.synthetic_images(20, (8, 8))
    a = D.BatchSampler(imgs, 4, seed=3)
    for _ in range(7):  # crosses an epoch boundary
        a.next()
    state = a.state_dict()
    want = [a.next() for _ in range(5)]
    b = D.BatchSampler(imgs, 4, seed=99)
    b.load_state_dict(state)
    for w in want:
        assert (b.next() == w).all()
    assert want[0].min() >= -1 and want[0].max() <= 1 and want[0].shape == (4, 3, 8, 8)
