"""``scripts/setup.sh`` skips pip when nothing it installs has changed (issue 17: a cached quickstart rerun in
seconds). Run against a stub interpreter that records every call, in a copy of the files the stamp covers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

STUB = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../calls.log"
case "$*" in *"print("*) echo "torch stub";; esac
exit 0
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum not installed")
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    plugin = tmp_path / "examples" / "plugin-template"
    plugin.mkdir(parents=True)
    (plugin / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    for name in ("python", "harness"):
        (venv / name).write_text(STUB)
        (venv / name).chmod(0o755)
    return tmp_path


def _setup(tree: Path, **env: str) -> list[str]:
    log = tree / "venv" / "calls.log"
    log.unlink(missing_ok=True)
    full = {**os.environ, "VENV": str(tree / "venv"), "EXTRAS": "dev", **env}
    subprocess.run(["bash", str(tree / "scripts" / "setup.sh")], check=True, env=full, capture_output=True)
    return [line for line in (log.read_text().splitlines() if log.exists() else []) if "pip install" in line]


def test_second_run_installs_nothing_until_an_input_changes(tree: Path):
    first = _setup(tree)
    assert any("-e .[dev]" in c for c in first)
    assert not any("plugin-template" in c for c in first)  # the example plugin is installed by test.sh only
    assert _setup(tree) == []  # nothing changed: no pip at all
    assert _setup(tree, EXTRAS="dev,report") != []  # other extras
    assert _setup(tree, EXTRAS="dev,report") == []
    with open(tree / "pyproject.toml", "a") as fh:
        fh.write("\n# changed\n")
    assert _setup(tree, EXTRAS="dev,report") != []  # pyproject (dependencies, entry points) changed
    assert _setup(tree, EXTRAS="dev,report", FORCE_SETUP="1") != []
