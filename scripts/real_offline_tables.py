"""Markdown tables for docs/real-offline.md, computed from the study's rows (no number is typed by hand).

    .venv/bin/python scripts/real_offline_tables.py leaderboards/real-offline.jsonl

Prints: the intermediate tasks' own English dev scores per depth and seed; per task, depth and intermediate setting
the English score and the mean over the other languages (mean of seeds, each seed listed); per-language scores of
the retrieval tasks; and the number of evaluated examples per task and language.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

MAIN = {"xnli": "accuracy", "panx": "ner_seqeval_f1", "tatoeba": "tatoeba_accuracy_xx2en",
        "bucc2018": "bucc_f1_margin_oracle"}  # BUCC: on its dev sample, the only F1 there is (see the doc)
ORDER = ["none", "sst2", "snli", "squad_v2"]


def _rows(path: Path) -> list[dict]:
    from harness.results.leaderboard import load_rows

    return [r for r in load_rows(path) if MAIN.get(r["task"]) == r["metric"]]


def _depth(model: str) -> int:
    return int(model.rsplit("@L", 1)[1]) if "@L" in model else 0


def _fmt(values: list[float]) -> str:
    mean = statistics.fmean(values)
    return f"{mean:.1f} ({', '.join(f'{v:.1f}' for v in values)})"


def dev_table(rows: list[dict]) -> str:
    seen: dict[tuple, dict] = {}
    for r in rows:
        for task, d in ((r.get("budget") or {}).get("intermediate_dev") or {}).items():
            seen[(r["model"], r["intermediate"], r["seed"])] = {"task": task, **d}
    out = ["| depth | intermediate | metric (split, n) | seed scores | mean |", "|---|---|---|---|---|"]
    groups: dict[tuple, list] = defaultdict(list)
    for (model, inter, _seed), d in sorted(seen.items(), key=lambda kv: (_depth(kv[0][0]), ORDER.index(kv[0][1]),
                                                                         kv[0][2])):
        groups[(model, inter, d.get("metric"), d.get("split"), d.get("n"))].append(d.get("value"))
    for (model, inter, metric, split, n), vals in groups.items():
        vals = [v for v in vals if v is not None]
        out.append(f"| {_depth(model)} | {inter} | {metric} ({split}, {n}) | {', '.join(f'{v:.1f}' for v in vals)} "
                   f"| {statistics.fmean(vals):.1f} |" if vals else f"| {_depth(model)} | {inter} | missing | | |")
    return "\n".join(out)


def score_table(rows: list[dict]) -> str:
    cell: dict[tuple, dict[int, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        cell[(r["task"], r["metric"], r["model"], r["intermediate"])][r["seed"]][r["language"]] = r["value"]
    out = ["| task | metric | depth | intermediate | en: mean (seeds) | non-English mean: mean (seeds) | "
           "xx gain vs none |", "|---|---|---|---|---|---|---|"]
    xx_none: dict[tuple, float] = {}
    keys = sorted(cell, key=lambda k: (list(MAIN).index(k[0]), k[1], _depth(k[2]), ORDER.index(k[3])))
    for task, metric, model, inter in keys:
        seeds = cell[(task, metric, model, inter)]
        en = [langs["en"] for langs in seeds.values() if "en" in langs]
        xx = [statistics.fmean(v for lang, v in langs.items() if lang != "en") for langs in seeds.values()
              if any(lang != "en" for lang in langs)]
        xx_mean = statistics.fmean(xx) if xx else None
        if inter == "none" and xx_mean is not None:
            xx_none[(task, metric, model)] = xx_mean
        gain = "" if inter == "none" or xx_mean is None or (task, metric, model) not in xx_none else \
            f"{xx_mean - xx_none[(task, metric, model)]:+.1f}"
        out.append(f"| {task} | {metric} | {_depth(model)} | {inter} | {_fmt(en) if en else '—'} | "
                   f"{_fmt(xx) if xx else '—'} | {gain} |")
    return "\n".join(out)


def language_table(rows: list[dict], task: str) -> str:
    per: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    langs: set[str] = set()
    for r in rows:
        if r["task"] == task and r["metric"] == MAIN[task]:
            per[(r["model"], r["intermediate"])][r["language"]].append(r["value"])
            langs.add(r["language"])
    order = sorted(langs)
    out = ["| depth | intermediate | " + " | ".join(order) + " |", "|---|---|" + "---|" * len(order)]
    for model, inter in sorted(per, key=lambda k: (_depth(k[0]), ORDER.index(k[1]))):
        vals = per[(model, inter)]
        out.append(f"| {_depth(model)} | {inter} | " + " | ".join(
            f"{statistics.fmean(vals[lang]):.1f}" if vals.get(lang) else "—" for lang in order) + " |")
    return "\n".join(out)


def counts_table(rows: list[dict]) -> str:
    n: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for r in rows:
        n[r["task"]][r["language"]].add(r["n"])
    out = ["| task | examples per language |", "|---|---|"]
    for task in MAIN:
        if task in n:
            out.append(f"| {task} | " + ", ".join(f"{lang} {'/'.join(map(str, sorted(v)))}"
                                                   for lang, v in sorted(n[task].items())) + " |")
    return "\n".join(out)


def gains_tables(path: Path) -> str:
    """The report's gains (paired bootstrap over seeds and, where predictions allow, examples) and trends."""
    from harness.results.gains import gains
    from harness.results.leaderboard import load_rows

    rep = gains(load_rows(path), split=None, metrics={"bucc2018": MAIN["bucc2018"]}, n_boot=1000, seed=0, level=0.95)

    def ci(g: dict | None) -> str:
        return "—" if not g else f"{g['gain']:+.1f} [{g['lo']:+.1f}, {g['hi']:+.1f}]"

    from harness.results.gains import fmt_ratio as ratio  # noqa: I001 - "*": the English gain's CI includes 0

    out = ["| task | depth | intermediate | en gain [95% CI] | xx gain [95% CI] | transfer ratio | interval |",
           "|---|---|---|---|---|---|---|"]
    for g in sorted(rep["gains"], key=lambda g: (list(MAIN).index(g["task"]), _depth(g["model"]),
                                                   ORDER.index(g["intermediate"]))):
        out.append(f"| {g['task']} | {_depth(g['model'])} | {g['intermediate']} | {ci(g.get('en'))} | "
                   f"{ci(g.get('xx'))} | {ratio(g.get('transfer_ratio'))} | {g['method']} |")
    out += ["", "| task | intermediate | en/xx | gain at depth 4 → 12 | verdict |", "|---|---|---|---|---|"]
    for t in sorted(rep["trends"], key=lambda t: (list(MAIN).index(t["task"]), ORDER.index(t["intermediate"]),
                                                    t["group"])):
        pts = " → ".join(f"{p['gain']:+.1f}" for p in t["points"])
        out.append(f"| {t['task']} | {t['intermediate']} | {t['group']} | {pts} | {t['verdict']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    path = Path((argv or sys.argv[1:] or ["leaderboards/real-offline.jsonl"])[0])
    rows = _rows(path)
    print("### Intermediate tasks: their own English dev score\n\n" + dev_table(rows) + "\n")
    print("### Scores by task, depth and intermediate setting\n\n" + score_table(rows) + "\n")
    for task in ("tatoeba", "bucc2018", "xnli", "panx"):
        print(f"### {task} per language (mean of seeds)\n\n" + language_table(rows, task) + "\n")
    print("### Evaluated examples\n\n" + counts_table(rows) + "\n")
    print("### Gain over none with intervals, and its trend along depth\n\n" + gains_tables(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
