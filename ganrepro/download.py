"""Fetching source archives: verified, never half-written, fail-fast offline with what to fetch and where."""
from __future__ import annotations

import os
import shutil
import socket
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from ganrepro.data import IntegrityError, verify_file
from ganrepro.io import atomic_path, write_json


class SourceUnavailable(RuntimeError):
    pass


def _expected(src: dict) -> dict:
    return {k: src[k] for k in ("size", "md5", "sha256") if src.get(k) is not None}


def _reachable(host: str, port: int, timeout: float = 5.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def fetch(name: str, ds: dict, dest, timeout: float = 10.0) -> dict:
    """Put dataset ``name``'s source archive at ``dest`` (verified). Returns the verification record."""
    dest = Path(dest)
    src = ds.get("source", {})
    if dest.exists():  # already present (placed by hand or fetched before): verify, never fetch again
        return verify_file(dest, _expected(src))
    if "manual" in src:
        raise SourceUnavailable(
            f"dataset {name!r} needs a manual download: {src['manual']}. Place the file at {dest.resolve()}"
            + (f" (expected: {_expected(src)})" if _expected(src) else "") + ", then re-run.")
    if "url" in src:
        u = urlparse(src["url"])
        if not _reachable(u.hostname, u.port or (443 if u.scheme == "https" else 80), timeout=timeout / 2):
            raise SourceUnavailable(f"dataset {name!r}: cannot reach {u.hostname} (offline?). Download {src['url']} "
                                    f"and place it at {dest.resolve()}, then re-run.")
        with atomic_path(dest) as tmp:
            try:
                with urllib.request.urlopen(src["url"], timeout=timeout) as r, open(tmp, "wb") as f:
                    shutil.copyfileobj(r, f, 1 << 20)
            except (urllib.error.URLError, OSError) as e:
                raise SourceUnavailable(f"dataset {name!r}: download of {src['url']} failed ({e}). Download it and "
                                        f"place it at {dest.resolve()}") from e
            rec = verify_file(tmp, _expected(src))  # a mismatch raises: the temp file is removed, no output left
        return rec
    if "hf" in src:
        if os.environ.get("HF_HUB_OFFLINE") == "1" or not _reachable("huggingface.co", 443, timeout=timeout / 2):
            raise SourceUnavailable(
                f"dataset {name!r}: the Hugging Face hub is unreachable (offline?). Fetch the parquet files of "
                f"dataset repo {src['hf']} (revision {src.get('revision', 'main')}) and place them under "
                f"{dest.resolve()}/, then re-run.")
        from huggingface_hub import snapshot_download

        local = dest.parent / "hf"
        snapshot_download(src["hf"], repo_type="dataset", revision=src.get("revision"), local_dir=local,
                          allow_patterns=["*.parquet"])
        files = sorted(str(p.relative_to(dest.parent)) for p in local.rglob("*.parquet"))
        if not files:
            raise IntegrityError(f"dataset {name!r}: hub repo {src['hf']} has no parquet files")
        rec = {"hf": src["hf"], "revision": src.get("revision"), "files": files}
        write_json(dest, rec)  # the snapshot record is written last: its presence means the download completed
        return rec
    raise IntegrityError(f"dataset {name!r} has no source (url, hf or manual)")
