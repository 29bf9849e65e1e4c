"""Every package folder in the source tree is declared in pyproject.toml (so a wheel install is complete)."""

from __future__ import annotations

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
