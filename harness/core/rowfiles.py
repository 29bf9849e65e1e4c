"""Leaderboard files in either format: :func:`read_rows` is the one place that tells JSONL from Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.rows import read_jsonl
from harness.core.rows_parquet import read_parquet

PARQUET_SUFFIX = ".parquet"


def read_rows(path: Path | str) -> list[dict[str, Any]]:
    """Rows of a leaderboard file: Parquet when its name ends in ``.parquet``, else JSONL (a bad line is damage,
    never a torn tail: leaderboards are replaced atomically). A damaged file is a ``DamagedFile`` naming it."""
    path = Path(path)
    if path.suffix.lower() == PARQUET_SUFFIX:
        return read_parquet(path)
    return read_jsonl(path, torn_tail=False)
