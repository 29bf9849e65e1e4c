"""Leaderboards and the scale report: aggregate scores, bootstrap intervals, gains over ``none``, figures,
a static HTML page and the XTREME-R submission export. Nothing here imports torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..results import read_jsonl

SOURCE_KEY = "_file"  # each loaded row remembers the leaderboard file it came from (predictions are relative to it)


def load_leaderboards(*paths: str | Path) -> list[dict[str, Any]]:
    """Rows of every file, each tagged with the absolute path of its file under ``_file``."""
    rows: list[dict[str, Any]] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise FileNotFoundError(f"leaderboard file {path} not found; `harness matrix run CONFIG` writes one")
        for row in read_jsonl(path):
            for key in ("model", "task", "metric", "value", "language"):
                if key not in row:
                    raise ValueError(f"{path}: a row lacks the required key {key!r}")
            row[SOURCE_KEY] = str(path.resolve())
            rows.append(row)
    return rows


def is_english(language: str | None) -> bool:
    """English in the codes our tasks use: ``en``, ``eng``, ``eng_Latn``, ``en-US``."""
    if not language:
        return False
    lang = language.lower()
    return lang in ("en", "eng") or lang.startswith(("en-", "en_", "eng_", "eng-"))
