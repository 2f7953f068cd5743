"""The package's folders are its layers (docs/architecture.md): a module imports only from its own layer and the
layers below it, read from every import statement (function-local ones too); no import circle is possible across
layers; the old top-level packages are gone; nothing in the package edits sys.path."""
import ast
from pathlib import Path

from conftest import ROOT

# bottom to top; a layer may import itself and any layer listed before it
LAYERS = [("util", "paths"), ("spec",), ("methods",), ("config",), ("data",), ("runs",), ("metrics",), ("train",),
          ("verdicts",), ("report",), ("tools",), ("cli", "__main__")]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
PACKAGE = ROOT / "ganrepro"


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "ganrepro":
                yield from (f"ganrepro.{a.name}" for a in node.names)
            else:
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_every_module_belongs_to_a_layer():
    modules = [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py"]
    assert modules and {_layer(p) for p in modules} <= set(RANK), {_layer(p) for p in modules} - set(RANK)


def test_layers_import_only_downwards():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "__init__.py":
            continue
        me = _layer(path)
        for mod in _imports(path):
            parts = mod.split(".")
            if parts[0] in ("models", "baselines"):
                bad.append(f"{path.relative_to(ROOT)} imports the old package {mod}")
            elif parts[0] == "ganrepro" and len(parts) > 1 and parts[1] not in ("ROOT", "__version__"):
                if RANK[parts[1]] > RANK[me]:
                    bad.append(f"{path.relative_to(ROOT)} ({me}) imports {mod} ({parts[1]})")
    assert bad == []


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule above can fail: a module of the spec layer importing the verdicts is caught."""
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from ganrepro.verdicts.cells import evaluate_table\n")
    assert list(_imports(f)) == ["ganrepro.verdicts.cells"] and RANK["verdicts"] > RANK["spec"]


def test_no_sys_path_edits_in_the_package():
    assert [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py") if "sys.path.insert" in p.read_text()] == []
    assert not (ROOT / "models").exists() and not (ROOT / "baselines").exists()


def test_tests_mirror_the_package():
    """Each stage folder of the package has its tests folder (tests/<layer>/), and no test module sits elsewhere but
    this one and the workflow's."""
    stages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    tests = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert stages - {"util", "runs"} <= tests, stages - tests
    assert [p.name for p in (ROOT / "tests").glob("test_*.py")] == ["test_layers.py"]
