"""ganrepro.methods.registry: variant names without importing the method modules (the cache keyed by the sources)."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT
from ganrepro.methods import registry


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "variants.json"
    monkeypatch.setattr(registry, "VARIANTS_CACHE", path)
    return path


def test_variant_names_are_the_registry_variants(cache, monkeypatch):
    monkeypatch.setattr(registry, "_CACHE", {})
    names = {m: registry.variant_names(m) for m in registry.registered()}
    assert cache.exists() and json.loads(cache.read_text())["key"] == registry._sources_key()
    for m in registry.registered():
        assert names[m] == tuple(registry.get(m).variants)
    assert registry.is_runnable("glgan", "patch8_adaop") and not registry.is_runnable("glgan", "patch9")
    assert not registry.is_runnable("no_such_method", "default")


def test_a_stale_cache_is_rebuilt_and_a_current_one_is_trusted(cache, monkeypatch):
    monkeypatch.setattr(registry, "_CACHE", {})
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({"key": "stale", "variants": {"vgan": ["bogus"]}}))
    assert "plain" in registry.variant_names("vgan") and "bogus" not in registry.variant_names("vgan")
    # a cache for the current sources is read as it is (what makes it cheap): here, a doctored one
    monkeypatch.setattr(registry, "_CACHE", {})
    cache.write_text(json.dumps({"key": registry._sources_key(), "variants": {"vgan": ["bogus"]}}))
    assert registry.variant_names("vgan") == ("bogus",)


def test_a_source_change_changes_the_key(tmp_path, monkeypatch):
    (tmp_path / "ganrepro" / "methods" / "papers").mkdir(parents=True)
    (tmp_path / "ganrepro" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(registry, "ROOT", tmp_path)
    k1 = registry._sources_key()
    (tmp_path / "ganrepro" / "a.py").write_text("x = 2\n")
    k2 = registry._sources_key()
    (tmp_path / "ganrepro" / "methods" / "papers" / "b.py").write_text("")   # a new module in a sub-folder
    k3 = registry._sources_key()
    monkeypatch.setitem(registry.METHOD_MODULES, "toy", "toy_gan")          # a method registered from elsewhere
    assert len({k1, k2, k3, registry._sources_key()}) == 4


def test_is_runnable_skips_torch_when_the_cache_is_current(tmp_path):
    """What the table-rendering jobs gain: with a current cache, no method module (and no torch) is imported."""
    code = ("import sys; sys.path.insert(0, %r); from ganrepro.methods import registry; registry.VARIANTS_CACHE = "
            "__import__('pathlib').Path(%r); print(registry.is_runnable('vgan', 'plain'), 'torch' in sys.modules)")
    args = (str(ROOT), str(tmp_path / "v.json"))
    first = subprocess.run([sys.executable, "-c", code % args], capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code % args], capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["True", "True"] and second.stdout.split() == ["True", "False"]


def test_the_alias_map_in_docs_is_the_registrys():
    """docs/architecture.md's table of unmodified variants is what ``Method.baseline_of`` gives."""
    text = (ROOT / "docs" / "architecture.md").read_text().split("## The unmodified variant of each method")[1]
    rows = {}
    for line in text.split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] in registry.METHOD_MODULES:
            rows[cells[0]] = cells[1]
    assert set(rows) == set(registry.registered())
    for m, cell in rows.items():
        M = registry.get(m)
        unmodified = [v for v in M.variants if M.baseline_of(v) is None]
        assert cell == (", ".join(unmodified) or "- (a modification of another method)"), m
