"""Reading leaderboard JSONL and printing it (the report, aggregate and HTML views build on this)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

from rich.console import Console
from rich.table import Table

from .results import read_jsonl

SOURCE_KEY = "_file"  # each loaded row remembers the leaderboard file it came from (predictions are relative to it)
REQUIRED_KEYS = ("model", "task", "metric", "value", "language")


def load_rows(*paths: str | Path) -> list[dict[str, Any]]:
    """Rows of every leaderboard file, each tagged with the absolute path of its file under ``_file``.

    The one row loader: a missing file or a row without a required key is a clear error naming the file.
    """
    rows: list[dict[str, Any]] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise FileNotFoundError(f"leaderboard file {path} not found; `harness matrix run CONFIG` writes one")
        for row in read_jsonl(path):
            for key in REQUIRED_KEYS:
                if key not in row:
                    raise ValueError(f"{path}: a row lacks the required key {key!r}")
            row[SOURCE_KEY] = str(path.resolve())
            rows.append(row)
    return rows


def without_source(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without the loader's private ``_file`` key (for printing or writing them)."""
    return [{k: v for k, v in r.items() if k != SOURCE_KEY} for r in rows]


def summary_table(rows: list[dict[str, Any]], max_languages: int = 12) -> tuple[list[str], list[list[str]]]:
    """Main metric per (model, intermediate, task, split): English, mean over the other languages, per language.

    Values are averaged over seeds; languages are averaged unweighted, English apart (XTREME convention).
    """
    cells: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    main: dict[str, tuple] = {}  # the first (metric, direction, variant) a task reports is its main score
    for r in rows:
        protocol = (r["metric"], r.get("direction"), r.get("variant"))
        if main.setdefault(r["task"], protocol) != protocol:
            continue
        label = r["metric"] + "".join(f" ({x})" for x in protocol[1:] if x)
        key = (r["model"], r.get("model_params") or 0, r["intermediate"], r["task"], r["split"], label)
        cells[key][r.get("lang_pair") or r["language"]].append(r["value"])
    langs = sorted({lang for c in cells.values() for lang in c if lang != "en"})
    if len(langs) > max_languages:  # many languages: the means only (`show --json` has every row)
        langs = []
    header = ["model", "params", "intermediate", "task", "split", "metric", "en", "xx avg", *langs]
    body = []
    for (model, params, inter, task, split, metric), by_lang in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2] != "none", kv[0][2], kv[0][3])):
        means = {lang: mean(v) for lang, v in by_lang.items()}
        others = [v for lang, v in means.items() if lang != "en"]  # unweighted over languages
        fmt = lambda v: f"{v:.2f}" if v is not None else "-"  # noqa: E731
        body.append([model, f"{params / 1e6:.2f}M" if params else "-", inter, task, split, metric,
                     fmt(means.get("en")), fmt(mean(others) if others else None),
                     *[fmt(means.get(lang)) for lang in langs]])
    return header, body


def print_summary(console: Console, path: str | Path) -> None:
    rows = load_rows(path)
    header, body = summary_table(rows)
    table = Table(*header, title=f"{Path(path).name}: main metric, mean over seeds (xx avg excludes en)")
    for line in body:
        table.add_row(*line)
    console.print(table)
