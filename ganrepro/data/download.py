"""Fetching source archives: verified, never half-written, fail-fast offline with what to fetch and where.

One entry point, ``fetch(name, ds, dest)``, for the three kinds of source a dataset's config names:

- ``url`` (official archives: CIFAR, STL-10, Flowers, LSUN): streamed into a temporary file beside ``dest``, checked
  against the pinned ``size`` / ``md5`` / ``sha256``, renamed onto ``dest`` only when it matches. A mismatch, an
  interrupted transfer or a kill leaves no ``dest`` (Snakemake never sees a complete-looking output).
- ``hf`` (Hugging Face dataset repositories: CelebA, CelebA-HQ): the parquet shards of the pinned ``revision`` (a
  commit id) into ``hf/`` beside ``dest``; ``dest`` is a JSON record (repo, commit, shards with size and sha256),
  written last.
- ``manual`` (sources behind a licence click-through or a Google Drive link: CZ): never fetched; the message names
  the file, the path to place it at and the size/checksum expected.

Offline, a URL or hub fetch fails within seconds (a connection probe with a hard time limit, DNS included) with a
message naming what to download and where to put it. A ``dest`` already present is verified and never fetched again.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from ganrepro.util.integrity import IntegrityError, file_digest, verify_file
from ganrepro.util.io import atomic_path, write_json

PROBE_TIMEOUT_S = 5.0
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


class SourceUnavailable(RuntimeError):
    """The source cannot be fetched here (offline, manual download, server error): the message says what to do."""


def expected_digests(src: dict) -> dict:
    return {k: src[k] for k in ("size", "md5", "sha256") if src.get(k) is not None}


def _describe_expected(name: str, src: dict) -> str:
    exp = expected_digests(src)
    if exp:
        return "expected " + ", ".join(f"{k} {v}" for k, v in exp.items())
    return (f"its size and checksum are not pinned in this suite (unknown here): once you trust your copy, pin "
            f"them as datasets.{name}.source.sha256 and datasets.{name}.source.size in config/config.yaml")


def _reachable(host: str, port: int, timeout: float | None = None) -> bool:
    """TCP connect to host:port within ``timeout`` seconds in all (the probe runs in a thread so that a slow DNS
    resolver cannot stretch it). ``GANREPRO_OFFLINE=1`` answers False at once."""
    if os.environ.get("GANREPRO_OFFLINE") == "1":
        return False
    timeout = PROBE_TIMEOUT_S if timeout is None else timeout
    result: list[bool] = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return bool(result and result[0])


def fetch(name: str, ds: dict, dest, timeout: float = 10.0) -> dict:
    """Put dataset ``name``'s source at ``dest`` (verified). Returns the verification record."""
    dest = Path(dest)
    src = ds.get("source", {})
    if dest.exists():  # already present (placed by hand or fetched before): verify, never fetch again
        if "hf" in src:
            return {"fetched": False, "record": str(dest)}
        return {"fetched": False, **verify_file(dest, expected_digests(src))}
    if "manual" in src:
        raise SourceUnavailable(
            f"dataset {name!r} needs a manual download: {src['manual']}. Place the file named {dest.name!r} at "
            f"{dest.resolve()} ({_describe_expected(name, src)}), then re-run.")
    if "url" in src:
        return _fetch_url(name, src, dest, timeout)
    if "hf" in src:
        return _fetch_hub(name, src, dest)
    raise IntegrityError(f"dataset {name!r} has no source (url, hf or manual)")


def _fetch_url(name: str, src: dict, dest: Path, timeout: float) -> dict:
    url = src["url"]
    u = urlparse(url)
    guidance = f"Download {url} and place it at {dest.resolve()} ({_describe_expected(name, src)}), then re-run."
    if u.scheme not in ("http", "https"):
        raise SourceUnavailable(f"dataset {name!r}: unsupported URL scheme {u.scheme!r}. {guidance}")
    if not _reachable(u.hostname, u.port or (443 if u.scheme == "https" else 80), timeout=min(timeout, PROBE_TIMEOUT_S)):
        raise SourceUnavailable(f"dataset {name!r}: cannot reach {u.hostname} (offline?). {guidance}")
    with atomic_path(dest) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except (urllib.error.URLError, OSError) as e:
            raise SourceUnavailable(f"dataset {name!r}: download of {url} failed ({e}). {guidance}") from e
        # a mismatch raises here: the temporary file is removed and dest never appears
        rec = verify_file(tmp, expected_digests(src))
    rec.update(fetched=True, url=url, pinned=bool({"md5", "sha256"} & set(expected_digests(src))))
    if not rec["pinned"]:
        print(f"WARNING: dataset {name!r}: no checksum pinned for {url}; downloaded file has sha256 {rec['sha256']} "
              f"and size {rec['size']} (recorded in the manifest)")
    return rec


def _fetch_hub(name: str, src: dict, dest: Path) -> dict:
    repo, revision = src["hf"], src.get("revision", "main")
    guidance = (f"Fetch the parquet files of Hugging Face dataset repo {repo} at revision {revision} (e.g. "
                f"`huggingface-cli download {repo} --repo-type dataset --revision {revision} --include '*.parquet' "
                f"--local-dir {dest.parent.resolve() / 'hf'}` on a machine with access), copy them to "
                f"{dest.parent.resolve() / 'hf'}/, then run `python -m ganrepro.data.download --record {name}` or re-run.")
    if os.environ.get("HF_HUB_OFFLINE") == "1" or not _reachable("huggingface.co", 443):
        raise SourceUnavailable(f"dataset {name!r}: the Hugging Face hub is unreachable (offline?). {guidance}")
    from huggingface_hub import HfApi, snapshot_download

    commit = HfApi().dataset_info(repo, revision=revision).sha
    if not COMMIT_RE.match(str(revision)):
        print(f"WARNING: dataset {name!r}: revision {revision!r} is not a commit id; resolved to {commit} "
              f"(pin it as datasets.{name}.source.revision)")
    local = dest.parent / "hf"
    snapshot_download(repo, repo_type="dataset", revision=commit, local_dir=local, allow_patterns=["*.parquet"])
    return write_hub_record(name, dest, repo=repo, commit=commit)


def write_hub_record(name: str, dest, repo: str, commit: str | None) -> dict:
    """Record the parquet shards under ``hf/`` beside ``dest`` (size and sha256 of each), written last."""
    dest = Path(dest)
    files = sorted(str(p.relative_to(dest.parent)) for p in (dest.parent / "hf").rglob("*.parquet"))
    if not files:
        raise IntegrityError(f"dataset {name!r}: no parquet files under {dest.parent / 'hf'} (hub repo {repo})")
    digests = {f: {"size": (dest.parent / f).stat().st_size, "sha256": file_digest(dest.parent / f)} for f in files}
    rec = {"hf": repo, "commit": commit, "files": files, "file_digests": digests}
    write_json(dest, rec)  # the snapshot record is written last: its presence means the download completed
    return {"fetched": True, **rec}


def _main(argv=None) -> None:
    """``python -m ganrepro.data.download --record DATASET``: write the snapshot record for shards copied by hand."""
    import argparse

    from ganrepro.config import config as C

    ap = argparse.ArgumentParser(description=_main.__doc__)
    ap.add_argument("--record", required=True, metavar="DATASET")
    ap.add_argument("--scale", default="full")
    a = ap.parse_args(argv)
    cfg = C.load_config(overrides={"scale": a.scale})
    ds = cfg["datasets"][a.record]
    dest = Path(C.paths(cfg)["raw"]) / a.record / ds["file"]
    src = ds["source"]
    rec = write_hub_record(a.record, dest, repo=src["hf"], commit=src.get("revision"))
    print(f"wrote {dest}: {len(rec['files'])} shards")


if __name__ == "__main__":
    _main()
