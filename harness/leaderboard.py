"""Reading leaderboard JSONL and printing it (the report, aggregate and HTML views build on this)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

from rich.console import Console
from rich.table import Table

from .results import read_jsonl
from .units import fmt_params

SYNTHETIC_TITLE = "SYNTHETIC smoke data: these numbers test the pipeline and the measurement, not languages"


def load_rows(*paths: str | Path) -> list[dict[str, Any]]:
    rows = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"leaderboard file {p} not found; `harness matrix run CONFIG` writes one")
        rows.extend(read_jsonl(p))
    return rows


def summary_table(rows: list[dict[str, Any]], max_languages: int = 12) -> tuple[list[str], list[list[str]]]:
    """Main metric per (model, intermediate, task, split): English, mean over the other languages, per language.

    Values are averaged over seeds; languages are averaged unweighted, English apart (XTREME convention).
    When any row comes from synthetic data, a ``data`` column says ``synthetic`` next to those rows.
    """
    cells: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    main: dict[str, tuple] = {}  # the first (metric, direction, variant) a task reports is its main score
    for r in rows:
        protocol = (r["metric"], r.get("direction"), r.get("variant"))
        if main.setdefault(r["task"], protocol) != protocol:
            continue
        label = r["metric"] + "".join(f" ({x})" for x in protocol[1:] if x)
        key = (r["model"], r.get("model_params") or 0, r["intermediate"], r["task"], r["split"], label,
               bool(r.get("synthetic")))
        cells[key][r.get("lang_pair") or r["language"]].append(r["value"])
    langs = sorted({lang for c in cells.values() for lang in c if lang != "en"})
    if len(langs) > max_languages:  # many languages: the means only (`show --json` has every row)
        langs = []
    any_synthetic = any(key[-1] for key in cells)
    header = ["model", "params", "intermediate", "task", "split", "metric", *(["data"] if any_synthetic else []),
              "en", "xx avg", *langs]
    body = []
    for (model, params, inter, task, split, metric, synthetic), by_lang in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2] != "none", kv[0][2], kv[0][3])):
        means = {lang: mean(v) for lang, v in by_lang.items()}
        others = [v for lang, v in means.items() if lang != "en"]  # unweighted over languages
        fmt = lambda v: f"{v:.2f}" if v is not None else "-"  # noqa: E731
        data = ["synthetic" if synthetic else ""] if any_synthetic else []
        body.append([model, fmt_params(params), inter, task, split, metric, *data, fmt(means.get("en")),
                     fmt(mean(others) if others else None), *[fmt(means.get(lang)) for lang in langs]])
    return header, body


def print_summary(console: Console, path: str | Path) -> None:
    rows = load_rows(path)
    header, body = summary_table(rows)
    title = f"{Path(path).name}: main metric, mean over seeds (xx avg excludes en)"
    if "data" in header:
        title += f"\n{SYNTHETIC_TITLE}"
    table = Table(*header, title=title)
    for line in body:
        table.add_row(*line)
    console.print(table)
