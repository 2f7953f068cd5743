"""Source formats -> prepared dataset, on fixtures written in each real on-disk format; integrity failures."""
import hashlib
import re

import numpy as np
import pytest

from ganrepro.data.fixtures import synthetic_images, write_fixture
from ganrepro.util.integrity import IntegrityError
from ganrepro.data.loader import BatchSampler, load_prepared
from ganrepro.data.prepare import prepare, preprocess
from ganrepro.data.readers import iter_source, verify_archive

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
    src = write_fixture(fmt, tmp_path / f"src.{fmt}", n=12, size=size, **extra)
    split = "unlabeled" if fmt == "stl_binary" else "train"
    m = prepare(fmt, src, tmp_path / "out", resolution=16, split=split, filter="bicubic")
    arr = load_prepared(tmp_path / "out")
    assert m["count"] == 12 and arr.shape == (12, 16, 16, 3) and arr.dtype == np.uint8
    assert 0 <= arr.min() and arr.max() <= 255 and arr.std() > 5  # real image content, not blank
    assert m["sha256"] == hashlib.sha256((tmp_path / "out" / "images.npy").read_bytes()).hexdigest()


def test_pixels_survive_lossless_formats(tmp_path):
    """CIFAR pickles and STL binaries are lossless: the prepared 32 px image equals the synthetic source exactly."""
    want = synthetic_images(6, (32, 32), seed=0)
    src = write_fixture("cifar_pickle", tmp_path / "c.tar.gz", n=6, size=(32, 32))
    prepare("cifar_pickle", src, tmp_path / "c", resolution=32)
    np.testing.assert_array_equal(load_prepared(tmp_path / "c"), want)
    want96 = synthetic_images(3, (96, 96), seed=0)
    src = write_fixture("stl_binary", tmp_path / "s.tar.gz", n=3, size=(96, 96))
    imgs = [np.asarray(i) for i in iter_source("stl_binary", src, "train")]
    np.testing.assert_array_equal(np.stack(imgs), want96)  # column-major layout decoded right


def test_celeba_center_crop(tmp_path):
    """CelebA: CenterCrop(178) of the 178x218 frame, then resize (GL-GAN code)."""
    img = np.zeros((218, 178, 3), np.uint8)
    img[20:198] = 200  # the central 178x178 square is bright, the 20-px bands top and bottom dark
    from PIL import Image

    out = preprocess(Image.fromarray(img), 64, center_crop=178, filter="bilinear")
    assert out.shape == (64, 64, 3) and out.min() == 200


TRUNCATABLE = [("cifar_pickle", (32, 32), "train"), ("stl_binary", (96, 96), "unlabeled"),
               ("image_zip", (64, 64), "train"), ("image_tar", (64, 64), "train"), ("parquet", (32, 32), "train"),
               ("lmdb", (64, 48), "train")]


@pytest.mark.parametrize("fmt,size,split", TRUNCATABLE)
def test_truncated_archive_fails_verify_and_prepare(tmp_path, fmt, size, split):
    """Every source format cut in half: verify names the file, prepare leaves no manifest."""
    src = write_fixture(fmt, tmp_path / f"src.{fmt}", n=12, size=size)
    assert verify_archive(fmt, src, split)["count"] == 12
    full = src.read_bytes()
    src.write_bytes(full[: len(full) // 2])
    with pytest.raises(IntegrityError, match=str(src)):
        verify_archive(fmt, src, split)
    with pytest.raises(IntegrityError):
        prepare(fmt, src, tmp_path / "out", resolution=16, split=split)
    assert not (tmp_path / "out" / "manifest.json").exists() and not (tmp_path / "out" / "images.npy").exists()
    assert not any(p.name.endswith(".tmp.npy") for p in (tmp_path / "out").iterdir())


def test_corrupt_zip_member_detected_by_crc(tmp_path):
    src = write_fixture("image_zip", tmp_path / "cz.zip", n=6, size=(64, 64))
    data = bytearray(src.read_bytes())
    data[200] ^= 0xFF  # inside the first member's compressed bytes; size unchanged
    src.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupt"):
        verify_archive("image_zip", src)


def test_expected_count_mismatch(tmp_path):
    src = write_fixture("cifar_pickle", tmp_path / "c.tar.gz", n=10, size=(32, 32))
    with pytest.raises(IntegrityError, match="10 images in split 'train', expected 50000"):
        verify_archive("cifar_pickle", src, "train", expected_count=50000)


def test_limit_crop_and_stats(tmp_path):
    """``limit`` keeps the first images in source order; ``crop: none`` stretches; upsampling is counted."""
    src = write_fixture("lmdb", tmp_path / "church.zip", n=10, size=(96, 64))
    m = prepare("lmdb", src, tmp_path / "lim", resolution=32, limit=7)
    full = prepare("lmdb", src, tmp_path / "all", resolution=32)
    assert m["count"] == 7 and full["count"] == 10 and m["source"]["count"] == 10
    np.testing.assert_array_equal(load_prepared(tmp_path / "lim"), load_prepared(tmp_path / "all")[:7])
    assert full["stats"] == {"crop_side_min": 64, "crop_side_max": 64, "upsampled": 0}
    big = prepare("lmdb", src, tmp_path / "big", resolution=128)
    assert big["stats"]["upsampled"] == 10
    from PIL import Image

    img = np.zeros((64, 96, 3), np.uint8)
    img[:, :16] = 255  # a bright band at the left edge: cropped away by `center`, kept (squeezed) by `none`
    c = preprocess(Image.fromarray(img), 32, filter="bilinear", square_crop=True)
    n = preprocess(Image.fromarray(img), 32, filter="bilinear", square_crop=False)
    assert c[:, :4].max() == 0 and n[:, :4].min() == 255


def test_batch_sampler_resumable():
    imgs = synthetic_images(20, (8, 8))
    a = BatchSampler(imgs, 4, seed=3)
    for _ in range(7):  # crosses an epoch boundary
        a.next()
    state = a.state_dict()
    want = [a.next() for _ in range(5)]
    b = BatchSampler(imgs, 4, seed=99)
    b.load_state_dict(state)
    for w in want:
        assert (b.next() == w).all()
    assert want[0].min() >= -1 and want[0].max() <= 1 and want[0].shape == (4, 3, 8, 8)


def test_corrupt_or_truncated_prepared_data_fails_before_training_naming_the_file(tmp_path):
    """Random bytes under an intact header used to train to the end on garbage; a truncated array failed with
    numpy's 'mmap length is greater than file size' naming no file."""
    from ganrepro.util.integrity import IntegrityError
    from ganrepro.data.loader import VERIFIED_STAMP

    src = write_fixture("cifar_pickle", tmp_path / "c.tar.gz", n=6, size=(32, 32))
    prepare("cifar_pickle", src, tmp_path / "c", resolution=32)
    path = tmp_path / "c" / "images.npy"
    load_prepared(tmp_path / "c")  # checked once, then stamped
    assert (tmp_path / "c" / VERIFIED_STAMP).exists()
    data = bytearray(path.read_bytes())
    data[-100:] = bytes(range(100))  # the pixels change, the header does not
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=re.escape(str(path)) + ": sha256 .* differs from its manifest"):
        load_prepared(tmp_path / "c")
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(IntegrityError, match=re.escape(str(path)) + ": unreadable prepared array"):
        load_prepared(tmp_path / "c")
