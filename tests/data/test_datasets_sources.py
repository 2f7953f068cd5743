"""Each of the nine datasets: a fixture in its real source format, through the real verify + preprocess code, with the
config's own settings, at every resolution a paper uses, to a prepared array of the right shape, count and values."""
import numpy as np
import pytest
from PIL import Image

from ganrepro.data.fixtures import synthetic_images, write_fixture
from ganrepro.data.loader import load_prepared
from ganrepro.data.prepare import prepare, preprocess
from ganrepro.data.readers import verify_archive

# dataset -> resolutions the papers train at (glgan.txt 4.1, lga.txt 4, hdcgan.txt 5); the source split used
PAPER_RESOLUTIONS = {
    "celeba": [64, 128, 512], "celebahq": [256, 512], "flowers102": [256], "lsun_church": [256],
    "lsun_bedroom": [64], "cifar10": [32], "cifar100": [32], "stl10": [32, 48], "cz": [512],
}
N = 10


def test_the_nine_datasets_are_configured(cfg):
    image = sorted(n for n, d in cfg["datasets"].items() if d["format"] != "mog")
    assert image == sorted(PAPER_RESOLUTIONS)


@pytest.mark.parametrize("name", sorted(PAPER_RESOLUTIONS))
def test_fixture_verify_prepare(name, cfg, tmp_path):
    ds = cfg["datasets"][name]
    fx = ds.get("fixture", {})
    size = tuple(fx.get("size", (64, 64)))
    src = write_fixture(ds["format"], tmp_path / "raw" / name / ds["file"], n=N, size=size,
                          variant=fx.get("variant", ""))
    split = ds.get("split", "train")
    rec = verify_archive(ds["format"], src, split=split)
    assert rec["count"] == N and rec["format"] == ds["format"]
    want = synthetic_images(N, size, seed=0)  # what the fixture encoded, before any lossy encoding
    for res in PAPER_RESOLUTIONS[name]:
        out = tmp_path / "prepared" / f"{name}_{res}"
        m = prepare(ds["format"], src, out, res, split=split, center_crop=ds.get("center_crop"),
                      filter=ds.get("filter", "bicubic"), crop=ds.get("crop", "center"), limit=ds.get("limit"),
                      verified=rec, source_info={"dataset": name})
        arr = load_prepared(out)
        assert arr.shape == (N, res, res, 3) and arr.dtype == np.uint8 and m["count"] == N
        assert m["preprocessing"]["filter"] == ds.get("filter", "bicubic") and m["source"]["dataset"] == name
        assert arr.std() > 10 and 20 < arr.mean() < 235  # real image content across the 0..255 range
        # the same pixels as cropping/resizing the original image directly (JPEG loss aside), in source order
        ref = np.stack([preprocess(Image.fromarray(w), res, ds.get("center_crop"), ds.get("filter", "bicubic"),
                                     square_crop=ds.get("crop", "center") == "center") for w in want])
        err = np.abs(arr.astype(np.int16) - ref.astype(np.int16)).mean()
        assert err < 4.0, (name, res, err)
        lossless = ds["format"] in ("cifar_pickle", "stl_binary", "parquet")  # fixture parquet holds PNGs
        assert (err == 0) == lossless, (name, res, err)


def test_celeba_config_center_crop_178(cfg):
    """CelebA per GL-GAN's code: CenterCrop(178) on the 178x218 frame, then Resize (bilinear) to 64/128."""
    ds = cfg["datasets"]["celeba"]
    assert ds["center_crop"] == 178 and ds["filter"] == "bilinear" and ds["split"] == "all"
    img = np.zeros((218, 178, 3), np.uint8)
    img[20:198] = 200  # the central 178x178 square is bright, the 20-px bands top and bottom dark
    out = preprocess(Image.fromarray(img), 128, center_crop=178, filter=ds["filter"])
    assert out.shape == (128, 128, 3) and out.min() == 200


def test_lsun_church_paper_count_is_a_config_choice(cfg, tmp_path):
    """glgan.txt 4.1 reports 7,907 church images against 126,227 in the official split: `limit` chooses."""
    ds = cfg["datasets"]["lsun_church"]
    assert ds["count"] == 126227 and ds.get("limit") is None and ds["filter"] == "bicubic"
    src = write_fixture("lmdb", tmp_path / "church.zip", n=N, size=(96, 64))
    m = prepare("lmdb", src, tmp_path / "p", 32, limit=7, filter="bicubic")
    assert m["count"] == 7 and m["preprocessing"]["limit"] == 7
