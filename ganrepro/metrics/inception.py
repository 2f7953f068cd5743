"""The Inception network behind FID, KID and IS: one weights file, fetched by its own rule; and its stand-in.

Weights: ``inception-2015-12-05.pt``, the TorchScript translation of TensorFlow's 2015-12-05 Inception graph
(``http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz``) made for StyleGAN2-ADA and used by
clean-fid for its ``clean`` and ``legacy_tensorflow`` modes. It lives at ``<paths.data>/weights/`` (default
``data/weights/inception-2015-12-05.pt``), shared by every scale, and is fetched by the ``inception_weights`` rule.
Offline and without the file, every metric rule fails at once naming the URL and that path.

The TorchScript module is called as StyleGAN2-ADA's metrics call it (``metrics/metric_utils.py``,
``metrics/inception_score.py``): images (B, 3, H, W) with values in [0, 255], resized inside the network with
TensorFlow's bilinear resize to 299x299, and

- ``detector(x, return_features=True)`` -> (B, 2048) pool3 features (FID, KID; clean-fid's ``legacy_tensorflow``),
- ``detector(x, no_output_bias=True)`` -> (B, 1008) softmax of ``pool3 @ W`` without the logits' bias, which is what
  the original Inception Score code computes (Salimans et al. 2016, openai/improved-gan
  ``inception_score/model.py``: ``logits = tf.matmul(tf.squeeze(pool3), w)`` with ``w`` the softmax weights only).

clean-fid's ``clean`` mode resizes outside the network (PIL bicubic) and calls ``detector.layers`` on
``(x - 128) / 128`` (``cleanfid/inception_torchscript.py``): we build clean-fid's own ``InceptionV3W`` wrapper around
the same file for that.

**Unverified here:** this machine has no network, so the real weights file has never been loaded in this project's
tests; the calls above are checked with :class:`ganrepro.metrics.features.StandInInception`, a small deterministic module
with the same call signature. The first full-scale run's ``inception_weights`` job prints the file's sha256 and checks
the module's two output shapes (2048 and 1008); pin the digest in ``eval_defaults.inception_sha256`` afterwards.
"""
from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from ganrepro import paths

INCEPTION_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"
INCEPTION_FILE = paths.INCEPTION_FILE
POOL_DIM, N_CLASSES = 2048, 1008


class WeightsUnavailable(RuntimeError):
    pass


def weights_path(cfg: dict | None = None) -> Path:
    """``<paths.data>/weights/inception-2015-12-05.pt`` (shared by every scale)."""
    return paths.weights_file(cfg)


def inputs(cfg: dict, features: str) -> list[str]:
    """Snakemake input: the weights file when a metric uses the real Inception (nothing for the stand-in)."""
    return [str(weights_path(cfg))] if features == "inception" else []


def missing_message(path) -> str:
    return (f"the Inception weights are missing at {Path(path).resolve()}. Without network: download {INCEPTION_URL} "
            f"elsewhere and place it at that path (the `inception_weights` rule fetches it when online), then re-run.")


def fetch_weights(dest, sha256: str | None = None, url: str = INCEPTION_URL, timeout: float = 10.0) -> dict:
    """Put the weights at ``dest`` (atomic) and verify them; an existing file is verified, never fetched again.

    Raises :class:`WeightsUnavailable` at once (no retries inside) when the host cannot be reached.
    """
    from ganrepro.data.download import _reachable
    from ganrepro.util.integrity import verify_file
    from ganrepro.util.io import atomic_path

    dest = Path(dest)
    expected = {"sha256": sha256} if sha256 else {}
    if dest.exists():
        rec = verify_file(dest, expected)
        check_detector(load_detector(dest))
        return rec
    u = urlparse(url)
    if not _reachable(u.hostname, u.port or (443 if u.scheme == "https" else 80), timeout=timeout / 2):
        raise WeightsUnavailable(f"cannot reach {u.hostname} (offline?). " + missing_message(dest))
    with atomic_path(dest, suffix=".pt") as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except (urllib.error.URLError, OSError) as e:
            raise WeightsUnavailable(f"download of {url} failed ({e}). " + missing_message(dest)) from e
        rec = verify_file(tmp, expected)  # a digest mismatch raises: the temporary file is removed
        check_detector(load_detector(tmp))
    return rec


def load_detector(path, device: str = "cpu"):
    """The TorchScript Inception at ``path`` (fails with the URL and the path when it is absent)."""
    path = Path(path)
    if not path.exists():
        raise WeightsUnavailable(missing_message(path))
    import torch  # here, not at module level: the Snakefile imports this module for weights_path

    return torch.jit.load(str(path), map_location=device).eval()


def check_detector(det) -> None:
    """Both calls give the documented shapes (2048 pool features; 1008 probabilities summing to 1)."""
    import torch

    x = torch.full((2, 3, 32, 32), 128.0)
    with torch.no_grad():
        f = det(x, return_features=True)
        p = det(x, no_output_bias=True)
    if tuple(f.shape) != (2, POOL_DIM) or p.shape[0] != 2 or p.shape[1] != N_CLASSES:
        raise RuntimeError(f"unexpected Inception outputs: features {tuple(f.shape)}, probabilities {tuple(p.shape)}")
    if not torch.allclose(p.sum(1), torch.ones(2), atol=1e-3):
        raise RuntimeError("Inception no_output_bias output is not a softmax")


def fid_feature_model(det, mode: str):
    """clean-fid's feature function for ``mode`` around an already-loaded detector (same file for every mode)."""
    if mode == "legacy_tensorflow":
        return lambda x: det(x, return_features=True).view(x.shape[0], -1)
    if mode == "clean":  # as cleanfid.inception_torchscript.InceptionV3W(resize_inside=False)
        return lambda x: det.layers.forward((x - 128) / 128).view(x.shape[0], -1)
    raise ValueError(f"mode {mode!r} does not use the TorchScript Inception")


@contextmanager
def detector_stand_in(det):
    """Inside, ``load_detector`` returns ``det`` (e.g. ``ganrepro.metrics.features.InceptionSized``) whatever path it is
    given: the real evaluation code path with a network in place of the TorchScript file, where that file is absent
    (timing benchmarks, the GPU check). Yields ``det``."""
    global load_detector
    orig = load_detector
    load_detector = lambda path, device="cpu": det.to(device)  # noqa: E731
    try:
        yield det
    finally:
        load_detector = orig
