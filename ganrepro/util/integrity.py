"""File integrity: digests, and size/digest checks against expected values (``IntegrityError`` names the file)."""
from __future__ import annotations

import hashlib
from pathlib import Path


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
