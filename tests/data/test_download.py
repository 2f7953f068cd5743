"""Fetching sources: checksum mismatch leaves nothing, no re-fetch, offline fails fast with guidance, manual sources."""
import hashlib
import http.server
import socket
import threading
import time

import pytest

from ganrepro.data import download as DL
from ganrepro.data.download import SourceUnavailable, fetch
from ganrepro.data.fixtures import write_fixture
from ganrepro.util.integrity import IntegrityError, file_digest
from ganrepro.data.readers import verify_archive


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www; yields (base_url, hit counter)."""
    www = tmp_path / "www"
    www.mkdir()
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(www), **k)

        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", www, hits
    srv.shutdown()
    srv.server_close()


def test_download_verified_then_not_fetched_again(http_server, tmp_path):
    base, www, hits = http_server
    payload = write_fixture("cifar_pickle", www / "cifar-10-python.tar.gz", n=10, size=(32, 32)).read_bytes()
    src = {"url": f"{base}/cifar-10-python.tar.gz", "md5": hashlib.md5(payload).hexdigest(), "size": len(payload)}
    dest = tmp_path / "raw" / "cifar10" / "cifar-10-python.tar.gz"
    rec = fetch("cifar10", {"source": src}, dest)
    assert rec["fetched"] and rec["pinned"] and dest.read_bytes() == payload
    assert rec["sha256"] == hashlib.sha256(payload).hexdigest() and len(hits) == 1
    rec2 = fetch("cifar10", {"source": src}, dest)  # present: verified, not fetched again
    assert rec2["fetched"] is False and rec2["md5"] == src["md5"] and len(hits) == 1


def test_checksum_mismatch_clear_error_no_output(http_server, tmp_path):
    base, www, hits = http_server
    (www / "a.tar.gz").write_bytes(b"x" * 1000)
    dest = tmp_path / "raw" / "a.tar.gz"
    with pytest.raises(IntegrityError, match=r"sha256 [0-9a-f]{64} != expected 0{64}"):
        fetch("cifar10", {"source": {"url": f"{base}/a.tar.gz", "sha256": "0" * 64}}, dest)
    assert len(hits) == 1
    assert list(dest.parent.iterdir()) == []  # neither the file nor a temporary left behind


def test_truncated_download_rejected_by_size(http_server, tmp_path):
    base, www, _ = http_server
    full = write_fixture("stl_binary", www / "full.tar.gz", n=4, size=(96, 96)).read_bytes()
    (www / "stl10_binary.tar.gz").write_bytes(full[: len(full) // 2])  # the server delivers a cut-off file
    dest = tmp_path / "raw" / "stl10_binary.tar.gz"
    with pytest.raises(IntegrityError, match="truncated or wrong file"):
        fetch("stl10", {"source": {"url": f"{base}/stl10_binary.tar.gz", "size": len(full)}}, dest)
    assert not dest.exists()


def test_placed_file_with_wrong_checksum_is_rejected(tmp_path):
    placed = tmp_path / "a.tar.gz"
    placed.write_bytes(b"not the archive")
    with pytest.raises(IntegrityError, match="md5"):
        fetch("cifar10", {"source": {"url": "http://127.0.0.1:9/never", "md5": "0" * 32}}, placed)


def test_offline_url_fails_fast_with_guidance(tmp_path):
    ds = {"source": {"url": "http://127.0.0.1:9/cifar-10-python.tar.gz", "md5": "c" * 32}}
    t0 = time.perf_counter()
    with pytest.raises(SourceUnavailable, match=r"Download http://127.0.0.1:9/cifar-10-python.tar.gz and place it "
                                                 r"at .*cifar-10-python.tar.gz \(expected md5 c{32}\)"):
        fetch("cifar10", ds, tmp_path / "cifar-10-python.tar.gz")
    assert time.perf_counter() - t0 < 10
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()


def test_hanging_network_probe_is_cut_off(tmp_path, monkeypatch):
    """A resolver or firewall that never answers: the probe gives up after PROBE_TIMEOUT_S, not minutes."""
    def hang(*a, **k):  # the probe's daemon thread outlives the test: end as an unreachable host would
        time.sleep(60)
        raise OSError("no answer")

    monkeypatch.setattr(socket, "create_connection", hang)
    monkeypatch.setattr(DL, "PROBE_TIMEOUT_S", 1.0)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    t0 = time.perf_counter()
    with pytest.raises(SourceUnavailable, match="hub is unreachable"):
        fetch("celebahq", {"source": {"hf": "mattymchen/celeba-hq", "revision": "a" * 40}},
              tmp_path / "hf_snapshot.json")
    assert time.perf_counter() - t0 < 5


def test_offline_hub_fails_fast_with_guidance(tmp_path, monkeypatch, cfg):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = cfg["datasets"]["celebahq"]["source"]
    t0 = time.perf_counter()
    with pytest.raises(SourceUnavailable) as e:
        fetch("celebahq", {"source": src}, tmp_path / "celebahq" / "hf_snapshot.json")
    assert time.perf_counter() - t0 < 10
    msg = str(e.value)
    assert "mattymchen/celeba-hq" in msg and src["revision"] in msg and str(tmp_path / "celebahq" / "hf") in msg
    assert not (tmp_path / "celebahq" / "hf_snapshot.json").exists()


def test_hub_record_for_hand_copied_shards(tmp_path):
    """Shards copied by hand (offline cluster): the record names each with size and sha256, and verify checks them."""
    rec_path = tmp_path / "celebahq" / "hf_snapshot.json"
    write_fixture("parquet", rec_path, n=8, size=(32, 32))
    rec_path.unlink()
    rec = DL.write_hub_record("celebahq", rec_path, repo="mattymchen/celeba-hq", commit="a" * 40)
    assert len(rec["files"]) == 2 and rec_path.exists()
    assert verify_archive("parquet", rec_path, split="all")["count"] == 8
    shard = tmp_path / "celebahq" / rec["files"][0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: same size, different sha256
    shard.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        verify_archive("parquet", rec_path, split="all")


def test_cz_missing_manual_archive_names_path_and_checksum(tmp_path, cfg):
    dest = tmp_path / "raw" / "cz" / "cz.zip"
    with pytest.raises(SourceUnavailable) as e:  # the suite's own entry: size/checksum unknown, said so
        fetch("cz", cfg["datasets"]["cz"], dest)
    msg = str(e.value)
    assert "manual download" in msg and "'cz.zip'" in msg and str(dest.resolve()) in msg
    assert "not pinned" in msg and "datasets.cz.source.sha256" in msg
    pinned = {"source": {"manual": "the CZ archive", "size": 123, "sha256": "ab" * 32}}
    with pytest.raises(SourceUnavailable, match=rf"{dest.resolve()} \(expected size 123, sha256 (ab){{32}}\)"):
        fetch("cz", pinned, dest)
    assert not dest.exists()


def test_cz_placed_archive_is_verified(tmp_path):
    dest = write_fixture("image_zip", tmp_path / "cz.zip", n=5, size=(64, 64))
    good = {"source": {"manual": "x", "size": dest.stat().st_size, "sha256": file_digest(dest)}}
    assert fetch("cz", good, dest)["fetched"] is False
    with pytest.raises(IntegrityError, match="sha256"):
        fetch("cz", {"source": {"manual": "x", "sha256": "0" * 64}}, dest)
