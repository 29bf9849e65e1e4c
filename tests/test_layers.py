"""Floors and the plugin face: each folder of ``harness/`` imports only the floors below it, and every module under
``plugins/`` and ``examples/`` imports nothing from the harness but ``harness.api``.

The floor order is the one ``docs/architecture.md`` draws; a floor may import any floor of a lower level, none of
its own level or above (modules inside one floor import each other freely; ``test_architecture`` rules out cycles).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from test_architecture import _write, import_graph

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "harness"

# level -> the floors on it, bottom first (the package's own ``__init__`` holds the version: importable by all)
LEVELS: list[tuple[str, ...]] = [
    ("core",),                      # the plugin contract: hookspecs, specs, registry, rows, file names
    ("toolkit", "metrics"),         # file formats, data loading, synthetic fixtures; the official metrics
    ("modeling", "planning"),       # encoders and model facts; config -> plan (lock, provenance, validation)
    ("run", "search"),              # what a running node shares (context, stop signal); embeddings + FAISS
    ("training", "store"),          # the training loop, checkpoints, DDP; the node store and its integrity
    ("tasktypes", "results"),       # task kinds (heads, losses, decoding); leaderboard, report, export
    ("stages",),                    # what one node of each stage does
    ("orchestration",),             # scheduler, execute, the local executor and the executor contract
    ("cli", "api"),                 # the command line; the public module plugins import
]
LEVEL = {floor: i for i, floors in enumerate(LEVELS) for floor in floors}


def floor_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package itself


def layer_violations(root: Path = ROOT, level: dict[str, int] = LEVEL) -> list[str]:
    """``a -> b`` imports from a floor to one on its own level or above, and modules in no known floor."""
    bad = []
    for a, targets in sorted(import_graph(root).items()):
        fa = floor_of(a)
        if fa is None:
            if targets:
                bad.append(f"{a} (the package __init__) imports {sorted(targets)}")
            continue
        if fa not in level:
            bad.append(f"{a}: floor {fa!r} is in no level (add it to LEVELS and docs/architecture.md)")
            continue
        for b in sorted(targets):
            fb = floor_of(b)
            if fb is not None and fb != fa and level.get(fb, len(LEVELS)) >= level[fa]:
                bad.append(f"{a} -> {b}: floor {fa!r} (level {level[fa]}) imports {fb!r} "
                           f"(level {level.get(fb, '?')}), not below it")
    return bad


def foreign_imports(paths: list[Path]) -> list[str]:
    """Imports of a ``harness`` module other than ``harness.api`` (at any depth, relative ones aside)."""
    bad = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            for name in names:
                if (name == "harness" or name.startswith("harness.")) and name != "harness.api":
                    bad.append(f"{path.relative_to(path.parents[2]) if len(path.parents) > 2 else path}:"
                               f"{node.lineno}: imports {name}")
    return bad


def plugin_modules() -> list[Path]:
    out = sorted((REPO / "plugins").rglob("*.py")) + sorted((REPO / "examples").rglob("*.py"))
    return [p for p in out if "build" not in p.relative_to(REPO).parts]


# ----------------------------------------------------------------------------------------------- the checks


def test_each_floor_imports_only_floors_below_it() -> None:
    assert not layer_violations(), "imports against the floor order:\n" + "\n".join(layer_violations())


def test_every_folder_of_harness_is_a_floor() -> None:
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in ROOT.glob("*.py")} - {"__init__"}
    assert folders | modules == set(LEVEL), "floors in LEVELS and folders under harness/ differ"


def test_plugins_and_examples_import_only_the_api() -> None:
    paths = plugin_modules()
    assert len(paths) > 30, paths  # the built-in plugins and the template are all seen
    bad = foreign_imports(paths)
    assert not bad, "plugin modules importing harness internals:\n" + "\n".join(bad)


def test_the_api_names_what_it_exports() -> None:
    import harness.api as api

    missing = [n for n in api.__all__ if not hasattr(api, n)]
    assert not missing
    assert len(set(api.__all__)) == len(api.__all__)


# ------------------------------------------------------------------------- the checkers catch what they should


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    return tmp_path / "harness"


def test_an_upward_import_is_a_violation(pkg: Path) -> None:
    _write(pkg, {"__init__.py": "", "core/__init__.py": "", "core/specs.py": "def f():\n    from harness.run import x\n",
                 "run/__init__.py": "x = 1\n", "run/context.py": "from harness.core.specs import f\n"})
    assert layer_violations(pkg, {"core": 0, "run": 1}) == [
        "harness.core.specs -> harness.run: floor 'core' (level 0) imports 'run' (level 1), not below it"]


def test_a_sideways_import_and_an_unknown_floor_are_violations(pkg: Path) -> None:
    _write(pkg, {"__init__.py": "", "a/__init__.py": "", "a/m.py": "from harness.b import m\n",
                 "b/__init__.py": "", "b/m.py": "", "c/__init__.py": ""})
    assert layer_violations(pkg, {"a": 1, "b": 1}) == [
        "harness.a.m -> harness.b.m: floor 'a' (level 1) imports 'b' (level 1), not below it",
        "harness.c: floor 'c' is in no level (add it to LEVELS and docs/architecture.md)"]


def test_downward_imports_pass(pkg: Path) -> None:
    _write(pkg, {"__init__.py": "", "a/__init__.py": "", "a/m.py": "from harness.b.m import y\nfrom . import n\n",
                 "a/n.py": "", "b/__init__.py": "", "b/m.py": "y = 1\n"})
    assert layer_violations(pkg, {"a": 1, "b": 0}) == []


def test_a_plugin_reaching_past_the_api_is_caught(tmp_path: Path) -> None:
    files = _write(tmp_path / "repo" / "plugins" / "tasks", {
        "good.py": "from harness.api import Task\nimport json\n",
        "bad.py": "from harness.api import Task\n\ndef f():\n    from harness.core.specs import TaskSpec\n",
        "worse.py": "import harness.toolkit.formats as fmt\n",
    })
    got = foreign_imports(sorted(files.glob("*.py")))
    assert got == ["plugins/tasks/bad.py:4: imports harness.core.specs",
                   "plugins/tasks/worse.py:1: imports harness.toolkit.formats"]
