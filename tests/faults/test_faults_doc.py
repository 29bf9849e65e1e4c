"""docs/reliability.md names only tests that exist: the table of promises cannot point at nothing."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_test_the_reliability_table_names_exists():
    text = (REPO / "docs" / "reliability.md").read_text(encoding="utf-8")
    checked, current = 0, None  # "…::name" is a test of the file named last above it
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| class"):
            continue
        for ref in re.findall(r"`([^`]+\.py[^`]*|…::[^`]+)`", line.split("|")[-2]):
            name, _, test = ref.partition("::")
            if not name.startswith("…"):
                current = REPO / "tests" / name
            assert current is not None and current.is_file(), (line, ref)
            if test:
                assert f"def {test}(" in current.read_text(encoding="utf-8"), (line, ref)
            checked += 1
    assert checked >= 40
