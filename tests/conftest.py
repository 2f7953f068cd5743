import copy
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from ganrepro.config import config as C  # noqa: E402


@pytest.fixture(scope="session")
def base_cfg():
    return C.load_config()


@pytest.fixture
def cfg(base_cfg):
    return copy.deepcopy(base_cfg)


@pytest.fixture
def full_cfg(cfg, tmp_path):
    """The default config at full scale, with data/results/report under tmp_path."""
    cfg = copy.deepcopy(cfg)
    cfg["scale"] = "full"
    cfg["paths"] = {"data": str(tmp_path / "d"), "results": str(tmp_path / "r"), "report": str(tmp_path / "rep")}
    return cfg


@pytest.fixture
def smoke_run_cfg(cfg, tmp_path):
    """A resolved smoke-scale run over a freshly prepared tiny CIFAR-format dataset."""
    from ganrepro.data.fixtures import write_fixture
    from ganrepro.data.prepare import prepare

    src = write_fixture("cifar_pickle", tmp_path / "raw" / "cifar.tar.gz", n=32, size=(32, 32))
    prepare("cifar_pickle", src, tmp_path / "prepared", resolution=16)
    run = C.resolve_run(cfg, "lga_cifar10", "wgan_gp", "default", 0)
    run["data_dir"] = str(tmp_path / "prepared")
    run["device"] = "cpu"
    run["train"].update(steps=6, batch_size=8, ckpt_every=2, log_every=1)
    return run


def docs_text() -> str:
    """README.md and docs/*.md, whitespace-normalised: where the tests look for the sentences the documentation
    states."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return " ".join(" ".join(f.read_text().split()) for f in files)


def counts() -> dict:
    """docs/counts.json: the counts the documentation states (``python -m ganrepro counts --write``)."""
    from ganrepro.tools.counts import load

    return load()
