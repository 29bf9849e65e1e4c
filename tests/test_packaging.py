"""Every package folder in the source tree is declared in pyproject.toml (so a wheel install is complete)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_declared():
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = cfg["package-dir"]
    declared = set(cfg["packages"])
    found = set()
    for top, folder in dirs.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([top, *rel.parts]))
    assert found == declared


def test_entry_points_name_existing_modules():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    dirs = data["tool"]["setuptools"]["package-dir"]
    for name, target in data["project"]["entry-points"]["xlt_harness"].items():
        top, *rest = target.split(":")[0].split(".")
        path = REPO / dirs[top] / Path(*rest)
        assert path.with_suffix(".py").exists() or (path / "__init__.py").exists(), f"entry point {name} -> {target}"


# distribution name -> the module it is imported as
IMPORT_NAME = {"pyyaml": "yaml", "faiss-cpu": "faiss"}


def _imported_top_modules() -> set[str]:
    import ast

    mods: set[str] = set()
    for folder in ("harness", "plugins"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    mods.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    mods.add(node.module.split(".")[0])
    return mods


def test_every_runtime_dependency_is_imported_by_the_package():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() for d in deps]
    imported = _imported_top_modules()
    unused = [n for n in names if IMPORT_NAME.get(n, n.replace("-", "_")) not in imported]
    assert unused == [], f"declared runtime dependencies that harness/ and plugins/ never import: {unused}"
    # Used only by a test (seqeval) or a benchmark (accelerate): not something every install needs.
    assert "seqeval" not in names and "accelerate" not in names
    # `leaderboard html` and `report --figures` draw with matplotlib: it must come with every install.
    assert "matplotlib" in names and "matplotlib" in imported


def test_extras_used_by_the_test_setup_stay_defined():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    setup = (REPO / "scripts" / "test.sh").read_text()
    wanted = re.search(r"EXTRAS=([\w,]+)", setup).group(1).split(",")
    assert set(wanted) <= set(extras), f"scripts/test.sh installs extras that pyproject.toml lacks: {wanted}"
    assert any(d.startswith("seqeval") for d in extras["dev"])


def test_row_library_list_names_only_scoring_libraries():
    from harness.core.rows import LIBRARIES

    assert "seqeval" not in LIBRARIES and "accelerate" not in LIBRARIES
