"""Task scores and benchmark scores (XTREME, XTREME-R) from leaderboard rows.

Protocols, each labelled in the output:

- **task score**: per language, the mean over seeds; then the unweighted mean over languages. Three views are
  kept apart: ``en`` (English alone), ``xx`` (mean over the non-English languages: zero-shot transfer) and
  ``all`` (mean over every evaluated language, English included: what the official XTREME ``evaluate.py``
  averages and what the published per-task numbers are).
- **benchmark score** (XTREME, XTREME-R, or any benchmark a task plugin declares): the unweighted mean of its
  task scores (``all`` view), a QA task contributing (F1 + EM) / 2 (the official ``avg_metric``); the
  ``<benchmark>_f1`` variant is the same with QA as F1 alone. XTREME has nine tasks, XTREME-R ten.

A benchmark score over fewer tasks than the benchmark has is reported as *partial* and names the missing tasks.
Which tasks a benchmark has, their category, the metric names that give each task score and the task order are
declared by the task plugins (``TaskSpec.benchmarks``, see :class:`harness.core.specs.BenchmarkEntry`); nothing here
names a task.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from harness.core.specs import BenchmarkEntry, TaskSpec
from harness.results.languages import is_english

# Row language of a published, already averaged task score (reference.jsonl): the XTREME "all languages" mean.
PUBLISHED_AVERAGE = "avg"


@dataclass(frozen=True)
class TaskScore:
    """How one benchmark task is scored from rows, gathered from its plugin's ``TaskSpec``.

    ``metrics``: every metric name any of its benchmarks reads, in declaration order; ``benchmarks``: the
    declared entry per benchmark id (``xtreme``, ``xtreme-r`` …).
    """

    name: str
    category: str
    metrics: tuple[str, ...]
    qa: bool = False
    aliases: tuple[str, ...] = ()
    benchmarks: dict[str, BenchmarkEntry] = field(default_factory=dict)


def _installed_specs() -> list[TaskSpec]:
    from harness.core.registry import registry

    return [task.spec for task in registry().tasks.values()]


def task_table(specs: list[TaskSpec] | None = None) -> dict[str, TaskScore]:
    """Every task that belongs to a benchmark, from the installed task plugins (or the given specs)."""
    out = {}
    for spec in _installed_specs() if specs is None else specs:
        if not spec.benchmarks:
            continue
        entries = list(spec.benchmarks.values())
        metrics = tuple(dict.fromkeys(m for e in entries for m in (*e.metrics, *e.em_metrics)))
        out[spec.name] = TaskScore(spec.name, entries[0].category, metrics, qa=any(e.qa for e in entries),
                                   aliases=spec.aliases, benchmarks=dict(spec.benchmarks))
    return out


def benchmark_key(benchmark: str) -> str:
    """The key a benchmark's score has in the output: ``xtreme-r`` → ``xtreme_r``."""
    return benchmark.replace("-", "_")


def benchmark_table(specs: list[TaskSpec] | None = None) -> dict[str, dict[str, Any]]:
    """Per benchmark score (``xtreme``, ``xtreme_f1``, ``xtreme_r`` …): its label, benchmark id, QA rule, tasks."""
    members: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for t in task_table(specs).values():
        for bench, entry in t.benchmarks.items():
            members[bench].append((entry.position, t.name))
    out: dict[str, dict[str, Any]] = {}
    for bench in sorted(members):
        tasks = [name for _, name in sorted(members[bench])]
        up, key = bench.upper(), benchmark_key(bench)
        out[key] = {"label": f"{up} score ({len(tasks)} tasks, QA = (F1+EM)/2, languages incl. English)",
                    "tasks_of": bench, "qa": "f1_em", "tasks": tasks}
        out[f"{key}_f1"] = {"label": f"{up} score, F1-only variant (QA = F1)", "tasks_of": bench, "qa": "f1",
                            "tasks": tasks}
    return out


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(".", "")


def canonical_task(task: str, table: dict[str, TaskScore] | None = None) -> str | None:
    """The benchmark task a row's task names (tolerating declared aliases), or None for a task in no benchmark."""
    table = task_table() if table is None else table
    aliases = {_norm(a): t.name for t in table.values() for a in (t.name, *t.aliases)}
    return aliases.get(_norm(task))


def _benchmark(benchmark: str, specs: list[TaskSpec] | None = None) -> dict[str, Any]:
    table = benchmark_table(specs)
    info = table.get(benchmark) or table.get(benchmark_key(benchmark))
    if info is None:
        raise ValueError(f"unknown benchmark {benchmark!r}; the installed task plugins declare: "
                         f"{', '.join(table) or 'none'}")
    return info


def benchmark_tasks(benchmark: str) -> list[str]:
    """The tasks of a benchmark (``xtreme``, ``xtreme-r`` or an output key such as ``xtreme_r_f1``), in order."""
    return list(_benchmark(benchmark)["tasks"])


# Row variants that are not zero-shot transfer: kept out of task and benchmark scores.
NOT_ZERO_SHOT = ("translate-train", "translate-train-all", "translate-test")
# A retrieval row measured without the fine-tune its benchmark's protocol has (LAReQA, Mewsli-X under XTREME-R):
# used only where no fine-tuned row exists, and then named in the benchmark score's label.
PROBE = "training-free"


def _regime_variant(row: dict[str, Any]) -> dict[str, Any]:
    """A run's row of a task whose default regime is ``xtreme-r`` but that carries no ``retrieval_regime`` (written
    before fine-tuning existed, so training-free) gets the ``training-free`` variant; other rows are unchanged."""
    if row.get("retrieval_regime") is not None or row.get("variant") or row.get("source"):
        return row
    from harness.core.registry import registry

    task = registry().tasks.get(row.get("task") or "")
    if task is None or task.spec.defaults.get("retrieval_regime") != "xtreme-r":
        return row
    return {**row, "variant": PROBE}


def system_key(row: dict[str, Any]) -> tuple:
    """What identifies one system: model and intermediate setting (seeds and languages are averaged).

    A published row (one with a ``source``) is its own system per citing config, e.g.
    ``xlm-roberta-large (ref:hu2020-xtreme)``, so two papers' numbers are never averaged together.
    """
    model = row["model"]
    if row.get("source") and row.get("config_name"):
        model = f"{model} ({row['config_name']})"
    return (model, row.get("intermediate") or "none")


def _pick(rows: list[dict], key: str, preferred: tuple) -> list[dict]:
    present = {r.get(key) for r in rows}
    for p in preferred:
        if p in present:
            return [r for r in rows if r.get(key) == p]
    return []


def language_means(rows: list[dict]) -> dict[str, float]:
    """Per language, the mean over seeds (each seed's value counted once)."""
    by_lang: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        by_lang[r["language"]].append(float(r["value"]))
    return {lang: mean(v) for lang, v in sorted(by_lang.items())}


def views(per_lang: dict[str, float]) -> dict[str, float | None]:
    """``en``, ``xx`` (non-English mean) and ``all`` (every language) from per-language values."""
    if PUBLISHED_AVERAGE in per_lang:
        return {"en": per_lang.get("en"), "xx": per_lang.get("xx"), "all": per_lang[PUBLISHED_AVERAGE]}
    en = [v for k, v in per_lang.items() if is_english(k)]
    xx = [v for k, v in per_lang.items() if not is_english(k)]
    return {"en": mean(en) if en else None, "xx": mean(xx) if xx else None,
            "all": mean(per_lang.values()) if per_lang else None}


def _metric_rows(rows: list[dict], metric: str) -> list[dict]:
    """Rows of one metric, preferring those without a ``direction``/``variant`` when both kinds are present."""
    chosen = [r for r in rows if r["metric"] == metric]
    chosen = _pick(chosen, "direction", (None,)) or chosen
    return _pick(chosen, "variant", (None,)) or chosen


AUTO_SPLIT = "auto"


def eval_split(task: str) -> str:
    """The split a task is scored on: the first of its plugin's ``eval_splits`` (FLORES: ``devtest``), else
    ``test``."""
    from harness.core.registry import registry

    for t in registry().tasks.values():
        if _norm(task) in {_norm(t.spec.name), *(_norm(a) for a in t.spec.aliases)}:
            return t.spec.eval_splits[0] if t.spec.eval_splits else "test"
    return "test"


def in_split(row: dict, split: str | None) -> bool:
    """Whether a row belongs to ``split`` (None: every split; ``auto``: its task's own eval split)."""
    if split is None:
        return True
    want = eval_split(row["task"]) if split == AUTO_SPLIT else split
    got = row.get("split")
    return got in (want, None) or str(got or "").startswith(f"{want}[")


def task_scores(rows: list[dict], split: str | None = "test") -> list[dict[str, Any]]:
    """One record per (system, task): per-language means and the ``en``/``xx``/``all`` views, per metric.

    Rows of a task in no benchmark, or with none of its benchmark's metrics (BUCC's oracle-threshold F1), are
    scored too, on their first metric, so nothing is dropped silently; they count in no benchmark score. ``split=None`` keeps every split; ``split="auto"`` scores each task
    on its own eval split (``test``; FLORES ``devtest``).
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("variant") in NOT_ZERO_SHOT:
            continue
        if not in_split(r, split):
            continue
        groups[(*system_key(r), r["task"])].append(_regime_variant(r))
    table = task_table()
    out = []
    for (model, inter, task), rs in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        canon = canonical_task(task, table)
        spec = table.get(canon) if canon else None
        rec: dict[str, Any] = {"model": model, "intermediate": inter, "task": task, "canonical": canon,
                               "model_params": next((r.get("model_params") for r in rs if r.get("model_params")),
                                                    None),
                               "model_params_nonembed": next((r.get("model_params_nonembed") for r in rs
                                                              if r.get("model_params_nonembed")), None),
                               "splits": sorted({str(r.get("split")) for r in rs}),
                               "category": spec.category if spec else None, "metrics": {}}
        if spec is None or not {r["metric"] for r in rs} & set(spec.metrics):  # none of a benchmark's metrics:
            first = rs[0]["metric"]                                               # shown, never in its score
            chosen = [r for r in rs if r["metric"] == first and not r.get("direction") and not r.get("variant")]
            chosen = chosen or [r for r in rs if r["metric"] == first]
            per_lang = language_means(chosen)
            rec["metrics"][first] = {"languages": per_lang, **views(per_lang), "seeds": _seeds(chosen)}
        else:
            present = {r["metric"] for r in rs}
            for metric in spec.metrics:
                if metric in present:
                    chosen = _metric_rows(rs, metric)
                    per_lang = language_means(chosen)
                    rec["metrics"][metric] = {"languages": per_lang, **views(per_lang), "seeds": _seeds(chosen),
                                              "direction": chosen[0].get("direction"),
                                              "variant": chosen[0].get("variant")}
        out.append(rec)
    return out


def _seeds(rows: list[dict]) -> list:
    return sorted({r.get("seed") for r in rows}, key=lambda s: (s is None, str(s)))


def _first(metrics: dict[str, Any], names: tuple[str, ...], view: str) -> float | None:
    return next((metrics[m][view] for m in names if m in metrics and metrics[m].get(view) is not None), None)


def task_value(rec: dict[str, Any], benchmark: str, view: str = "all",
               table: dict[str, TaskScore] | None = None) -> float | None:
    """The task's contribution to ``benchmark`` (QA per the benchmark's ``qa`` rule), or None when missing."""
    table = task_table() if table is None else table
    info = _benchmark(benchmark)
    spec = table.get(rec["canonical"] or "")
    entry = spec.benchmarks.get(info["tasks_of"]) if spec else None
    if entry is None:
        return None
    f1 = _first(rec["metrics"], entry.metrics, view)
    if not entry.qa or info["qa"] == "f1":
        return f1
    em = _first(rec["metrics"], entry.em_metrics, view)
    return (f1 + em) / 2 if f1 is not None and em is not None else None


def benchmark_scores(rows: list[dict], split: str | None = "test", view: str = "all") -> list[dict[str, Any]]:
    """Per system, every benchmark score with the task values it averages and what is missing.

    ``view="all"`` is the official protocol (English included in each task's language mean); ``"xx"`` gives the
    transfer-only variant (English excluded).
    """
    recs = task_scores(rows, split=split)
    table, benches = task_table(), benchmark_table()
    systems: dict[tuple, list[dict]] = defaultdict(list)
    for rec in recs:
        systems[(rec["model"], rec["intermediate"])].append(rec)
    out = []
    for (model, inter), trs in systems.items():
        by_task = {r["canonical"]: r for r in trs if r["canonical"]}
        entry: dict[str, Any] = {"model": model, "intermediate": inter, "view": view,
                                 "model_params": next((r["model_params"] for r in trs if r["model_params"]), None),
                                 "scores": {}}
        for bench, info in benches.items():
            tasks = info["tasks"]
            values = {t: task_value(by_task[t], bench, view, table) for t in tasks if t in by_task}
            values = {t: v for t, v in values.items() if v is not None}
            missing = [t for t in tasks if t not in values]
            score = mean(values.values()) if values else None
            probes = [t for t in values if any(m.get("variant") == PROBE for m in by_task[t]["metrics"].values())]
            probe_note = (f"; {', '.join(probes)} {PROBE}, not the {info['tasks_of']} fine-tune protocol"
                          if probes else "")
            entry["scores"][bench] = {
                "label": info["label"] + probe_note + ("" if view == "all" else f" [{view} view]"),
                "training_free": probes,
                "value": score, "tasks": values, "missing": missing, "complete": not missing,
                "splits": {t: by_task[t]["splits"] for t in values},
                "not_counted": {t: sorted(by_task[t]["metrics"]) for t in tasks if t in by_task and t not in values},
                "status": "complete" if not missing else (f"partial ({len(values)}/{len(tasks)} tasks)"
                                                          if values else "no tasks"),
            }
        out.append(entry)
    return out


def xtreme_average(task_values: dict[str, Any], benchmark: str = "xtreme") -> float:
    """A benchmark average from published per-task numbers: ``{task: value | (f1, em)}``.

    QA tasks take an ``(f1, em)`` pair (or a dict with ``f1``/``exact_match``); every task of the benchmark
    must be given.
    """
    info, table = _benchmark(benchmark), task_table()
    tasks = info["tasks"]
    missing = [t for t in tasks if t not in task_values]
    if missing:
        raise ValueError(f"{benchmark}: missing task values for {', '.join(missing)}")
    vals = []
    for t in tasks:
        v = task_values[t]
        if table[t].benchmarks[info["tasks_of"]].qa:
            f1, em = (v["f1"], v["exact_match"]) if isinstance(v, dict) else v
            vals.append(f1 if info["qa"] == "f1" else (f1 + em) / 2)
        else:
            vals.append(float(v))
    return mean(vals)
