"""Pieces of the static page (:mod:`harness.results.html`): cells, tables, sizes, the task and benchmark sections.

Scores follow the report's split: one split (or ``auto``, each task's own eval split) as asked; with every split
(``--split all``) each split present is scored on its own, never averaged with another, and every table says
which split each number comes from. A benchmark score averages tasks of one split kind (``dev``, ``test``: the
name before ``[``), naming each task's split.
"""

from __future__ import annotations

import html
from typing import Any

from harness.results.aggregate import benchmark_scores, task_scores
from harness.toolkit.units import fmt_params


def cell(value: Any, sort: Any = None) -> str:
    """One ``<td>``: floats with two decimals; numbers sort numerically (``data-sort``)."""
    if isinstance(value, float):
        text, sort = f"{value:.2f}", value if sort is None else sort
    else:
        text = "-" if value is None else str(value)
    cls = ' class="num"' if isinstance(sort, (int, float)) and not isinstance(sort, bool) else ""
    attr = f' data-sort="{html.escape(str(sort))}"' if sort is not None else ""
    return f"<td{cls}{attr}>{html.escape(text)}</td>"


def table(table_id: str, header: list[str], body: list[list[str]]) -> str:
    """A sortable table (click a header)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "\n".join("<tr>" + "".join(cells) + "</tr>" for cells in body)
    return (f'<div class="wide"><table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{rows}\n</tbody></table></div>")


SIZE_HEAD = ["embedding params", "non-embedding params"]


def size_cells(params: int | None, nonembed: int | None) -> list[str]:
    """Embedding and non-embedding parameter counts (the embedding part is the total minus the non-embedding one
    rows record as ``model_params_nonembed``); ``n/a`` where a row does not record it."""
    if not params or not nonembed:
        return [cell("n/a"), cell("n/a")]
    return [cell(fmt_params(params - nonembed), params - nonembed), cell(fmt_params(nonembed), nonembed)]


def splits_of(rows: list[dict[str, Any]]) -> list[str]:
    """The splits present in the rows (published rows aside), sorted."""
    return sorted({str(r.get("split")) for r in rows if not r.get("source")})


def _by_split(rows: list[dict[str, Any]], split: str | None, kind: bool = False) -> list[tuple[list, str | None]]:
    """(rows, split filter) to score: the report's split, or with None every split (``kind``: every split kind,
    ``dev`` for ``dev[0:100]``) on its own."""
    if split is not None:
        return [(rows, split)]
    key = (lambda s: s.split("[")[0]) if kind else (lambda s: s)
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(key(str(r.get("split"))), []).append(r)
    return [(rs, None) for _, rs in sorted(groups.items())]


def task_section(rows: list[dict[str, Any]], split: str | None, flagged, data_cell, data_head: list[str]) -> str:
    """Task scores per split: en, xx, all per (system, task, split, metric)."""
    body = []
    for part, chosen in _by_split(rows, split):
        for rec in task_scores(part, split=chosen):
            for metric, m in rec["metrics"].items():
                body.append([cell(rec["model"]), *size_cells(rec["model_params"], rec.get("model_params_nonembed")),
                             cell(rec["intermediate"]), cell(rec["task"]), cell(", ".join(rec["splits"])),
                             cell(metric), cell(m.get("en")), cell(m.get("xx")), cell(m.get("all")),
                             cell(len(m["languages"]), len(m["languages"])), *data_cell(flagged(rec))])
    return ("<h2>Task scores</h2><p class=note>Per language: mean over seeds; then unweighted means: en, xx "
            "(English excluded) and all (English included, the official XTREME protocol). Each split is scored "
            "on its own.</p>" + table("tasks", ["model", *SIZE_HEAD, "intermediate", "task", "split", "metric", "en",
                                                "xx", "all", "languages", *data_head], body))


def _tasks_text(s: dict[str, Any], splits: dict[str, list[str]]) -> str:
    text = ", ".join(f"{t} ({', '.join(s['splits'].get(t, []))})" for t in s["tasks"])
    other = [f"{t} ({', '.join(splits.get(t, []))}; {', '.join(ms)})" for t, ms in s.get("not_counted", {}).items()]
    return text + (f"; not counted (none of the benchmark's metrics): {', '.join(other)}" if other else "")


# why: one section in reading order (collect per split kind, fold the identical F1-only variants, complete
# scores in the table, partial ones pivoted into a folded table); its parts share the collected records.
def benchmark_section(rows: list[dict[str, Any]], split: str | None, flagged, data_cell,
                      data_head: list[str]) -> str:
    """Benchmark scores beside their coverage and the split of each task: complete ones in the table, partial ones
    folded into one line per system and split kind (a column per benchmark)."""
    complete, partial, names = [], {}, []
    for part, chosen in _by_split(rows, split, kind=True):
        splits = {rec["canonical"]: rec["splits"] for rec in task_scores(part, split=chosen) if rec["canonical"]}
        for b in benchmark_scores(part, split=chosen):
            flag = flagged(b)
            kind = sorted({sp.split("[")[0] for s in b["scores"].values() for sps in s["splits"].values()
                           for sp in sps}) or ["-"]
            for name, s in b["scores"].items():
                base = b["scores"].get(name.removesuffix("_f1")) if name.endswith("_f1") else None
                if s["value"] is None or (base is not None and base["value"] == s["value"]
                                          and base["tasks"] == s["tasks"]):
                    continue  # no task scored, or the F1-only variant equals the score (no QA task in it)
                if s["status"] == "complete":
                    complete.append([cell(b["model"]), cell(b["intermediate"]), cell(", ".join(kind)), cell(name),
                                     cell(s["value"]), cell(s["status"]), cell(_tasks_text(s, splits)),
                                     cell(s["label"]), *data_cell(flag)])
                    continue
                key = (b["model"], b["intermediate"], ", ".join(kind))
                line = partial.setdefault(key, {"tasks": _tasks_text(s, splits), "flag": flag, "scores": {}})
                line["scores"][name] = s
                names += [name] if name not in names else []
    out = ["<h2>Benchmark scores</h2><p class=note>A benchmark score averages every task of the benchmark, each "
           "on the split named beside it; one over fewer tasks is partial and not comparable with published "
           "scores. F1-only variants are shown only where they differ (a QA task is in the score).</p>"]
    head = ["model", "intermediate", "split", "score", "value", "coverage", "tasks (split)", "protocol", *data_head]
    out.append(table("benchmarks", head, complete) if complete else
               "<p class=note>No complete benchmark score: the rows do not cover every task of a benchmark.</p>")
    if partial:
        body = [[cell(m), cell(i), cell(k), cell(line["tasks"]),
                 *[cell(f"{s['value']:.2f} {s['status']}", s["value"]) if (s := line["scores"].get(n)) else cell(None)
                   for n in names], *data_cell(line["flag"])] for (m, i, k), line in sorted(partial.items())]
        folded = table("benchmarks-partial", ["model", "intermediate", "split", "tasks (split)", *names, *data_head],
                       body)
        out.append(f"<details><summary>{len(body)} systems × splits with partial benchmark scores (over some of "
                   f"the tasks only; not comparable)</summary>{folded}</details>")
    return "\n".join(out)
