"""Task scores and benchmark scores (XTREME, XTREME-R) from leaderboard rows.

Protocols, each labelled in the output:

- **task score**: per language, the mean over seeds; then the unweighted mean over languages. Three views are
  kept apart: ``en`` (English alone), ``xx`` (mean over the non-English languages: zero-shot transfer) and
  ``all`` (mean over every evaluated language, English included: what the official XTREME ``evaluate.py``
  averages and what the published per-task numbers are).
- **XTREME score**: the unweighted mean of the nine XTREME task scores (``all`` view), a QA task contributing
  (F1 + EM) / 2 (the official ``avg_metric``); ``xtreme_f1`` is the same with QA as F1 alone.
- **XTREME-R score**: the unweighted mean of the ten XTREME-R task scores, QA as (F1 + EM) / 2;
  ``xtreme_r_f1`` with QA as F1 alone.

A benchmark score over fewer tasks than the benchmark has is reported as *partial* and names the missing tasks.
``TASK_SCORES`` below is the one table that maps leaderboard metric names to task scores; add a task there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from . import is_english

# Row language of a published, already averaged task score (reference.jsonl): the XTREME "all languages" mean.
PUBLISHED_AVERAGE = "avg"


@dataclass(frozen=True)
class TaskScore:
    """How one benchmark task is scored from rows.

    ``metrics``: candidate metric names for the task score, first present wins (QA: ``f1`` and ``exact_match``
    are both needed and combined). ``directions``/``variants``: preferred row ``direction``/``variant`` values in
    order (``None`` = rows without one). ``benchmarks``: which benchmark averages include the task, with the
    metric candidates that benchmark uses when they differ (XTREME POS: seqeval F1; XTREME-R POS: accuracy).
    """

    name: str
    category: str
    metrics: tuple[str, ...]
    qa: bool = False
    aliases: tuple[str, ...] = ()
    directions: tuple[str | None, ...] = (None,)
    variants: tuple[str | None, ...] = (None,)
    benchmarks: dict[str, tuple[str, ...]] = field(default_factory=dict)


QA_F1 = ("squad_v1_f1", "mlqa_f1", "f1")
QA_EM = ("squad_v1_exact_match", "mlqa_exact_match", "exact_match")
_QA = QA_F1 + QA_EM
TATOEBA_DIRECTIONS = ("xtreme-avg", "avg", "both", None, "xx->en")
TASK_SCORES: dict[str, TaskScore] = {t.name: t for t in (
    TaskScore("xnli", "classification", ("accuracy",), benchmarks={"xtreme": (), "xtreme_r": ()}),
    TaskScore("pawsx", "classification", ("accuracy",), aliases=("paws-x", "paws_x"), benchmarks={"xtreme": ()}),
    TaskScore("xcopa", "classification", ("accuracy",), benchmarks={"xtreme_r": ()}),
    TaskScore("udpos", "structured", ("pos_seqeval_f1", "pos_accuracy", "accuracy"),
              aliases=("pos", "ud_pos", "ud-pos"), variants=(None, "seqeval_f1", "token_accuracy"),
              benchmarks={"xtreme": ("pos_seqeval_f1", "f1"), "xtreme_r": ("pos_accuracy", "accuracy")}),
    TaskScore("panx", "structured", ("ner_seqeval_f1", "seqeval_f1", "f1"), aliases=("pan-x", "wikiann", "ner"),
              benchmarks={"xtreme": (), "xtreme_r": ()}),
    TaskScore("xquad", "qa", _QA, qa=True, benchmarks={"xtreme": (), "xtreme_r": ()}),
    TaskScore("mlqa", "qa", _QA, qa=True, benchmarks={"xtreme": (), "xtreme_r": ()}),
    TaskScore("tydiqa", "qa", _QA, qa=True, aliases=("tydiqa_goldp", "tydiqa-goldp", "tydi_qa"),
              benchmarks={"xtreme": (), "xtreme_r": ()}),
    TaskScore("bucc2018", "retrieval", ("bucc_f1_margin_dev_threshold", "bucc_f1", "f1"), aliases=("bucc",),
              variants=(None, "dev_threshold"), benchmarks={"xtreme": ()}),
    TaskScore("tatoeba", "retrieval", ("accuracy", "tatoeba_accuracy"), directions=TATOEBA_DIRECTIONS,
              benchmarks={"xtreme": (), "xtreme_r": ()}),
    TaskScore("mewslix", "retrieval", ("map_at_20", "map@20", "mAP@20"), aliases=("mewsli-x", "mewsli_x"),
              benchmarks={"xtreme_r": ()}),
    TaskScore("lareqa", "retrieval", ("map_at_20", "map@20", "mAP@20"), benchmarks={"xtreme_r": ()}),
)}

BENCHMARKS: dict[str, dict[str, Any]] = {
    "xtreme": {"label": "XTREME score (9 tasks, QA = (F1+EM)/2, languages incl. English)", "tasks_of": "xtreme",
               "qa": "f1_em"},
    "xtreme_f1": {"label": "XTREME score, F1-only variant (QA = F1)", "tasks_of": "xtreme", "qa": "f1"},
    "xtreme_r": {"label": "XTREME-R score (10 tasks, QA = (F1+EM)/2, languages incl. English)",
                 "tasks_of": "xtreme_r", "qa": "f1_em"},
    "xtreme_r_f1": {"label": "XTREME-R score, F1-only variant (QA = F1)", "tasks_of": "xtreme_r", "qa": "f1"},
}


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(".", "")


_ALIASES = {_norm(a): t.name for t in TASK_SCORES.values() for a in (t.name, *t.aliases)}


def canonical_task(task: str) -> str | None:
    """The ``TASK_SCORES`` name for a row's task (tolerating aliases), or None for a task outside the table."""
    return _ALIASES.get(_norm(task))


def benchmark_tasks(benchmark: str) -> list[str]:
    of = BENCHMARKS[benchmark]["tasks_of"]
    return [t.name for t in TASK_SCORES.values() if of in t.benchmarks]


# Row variants that are not zero-shot transfer: kept out of task and benchmark scores.
NOT_ZERO_SHOT = ("translate-train", "translate-train-all", "translate-test")


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


def _metric_rows(rows: list[dict], spec: TaskScore, candidates: tuple[str, ...]) -> tuple[str | None, list[dict]]:
    metrics = {r["metric"] for r in rows}
    for m in candidates:
        if m in metrics:
            chosen = [r for r in rows if r["metric"] == m]
            chosen = _pick(chosen, "direction", spec.directions) or chosen
            chosen = _pick(chosen, "variant", spec.variants) or chosen
            return m, chosen
    return None, []


def task_scores(rows: list[dict], split: str | None = "test") -> list[dict[str, Any]]:
    """One record per (system, task): per-language means and the ``en``/``xx``/``all`` views, per metric.

    Rows whose task is not in ``TASK_SCORES`` are scored too, on their first metric, so nothing is dropped
    silently; ``benchmark`` membership is then empty. ``split=None`` keeps every split.
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("variant") in NOT_ZERO_SHOT:
            continue
        if split is not None and r.get("split") not in (split, None) and not str(r.get("split", "")).startswith(
                f"{split}["):
            continue
        groups[(*system_key(r), r["task"])].append(r)
    out = []
    for (model, inter, task), rs in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        canon = canonical_task(task)
        spec = TASK_SCORES.get(canon) if canon else None
        rec: dict[str, Any] = {"model": model, "intermediate": inter, "task": task, "canonical": canon,
                               "model_params": next((r.get("model_params") for r in rs if r.get("model_params")),
                                                    None),
                               "category": spec.category if spec else None, "metrics": {}}
        if spec is None:
            first = rs[0]["metric"]
            chosen = [r for r in rs if r["metric"] == first and not r.get("direction") and not r.get("variant")]
            chosen = chosen or [r for r in rs if r["metric"] == first]
            per_lang = language_means(chosen)
            rec["metrics"][first] = {"languages": per_lang, **views(per_lang), "seeds": _seeds(chosen)}
        else:
            wanted = {m for cands in spec.benchmarks.values() for m in cands} | set(spec.metrics)
            for name in (list(spec.metrics) if spec.qa else [None]):
                cands = (name,) if name else tuple(dict.fromkeys([*spec.metrics, *wanted]))
                for m in cands:
                    metric, chosen = _metric_rows(rs, spec, (m,))
                    if metric and metric not in rec["metrics"]:
                        per_lang = language_means(chosen)
                        rec["metrics"][metric] = {"languages": per_lang, **views(per_lang), "seeds": _seeds(chosen),
                                                  "direction": chosen[0].get("direction"),
                                                  "variant": chosen[0].get("variant")}
        out.append(rec)
    return out


def _seeds(rows: list[dict]) -> list:
    return sorted({r.get("seed") for r in rows}, key=lambda s: (s is None, str(s)))


def task_value(rec: dict[str, Any], benchmark: str, view: str = "all") -> float | None:
    """The task's contribution to ``benchmark`` (QA per the benchmark's ``qa`` rule), or None when missing."""
    spec = TASK_SCORES.get(rec["canonical"] or "")
    if spec is None:
        return None
    metrics = rec["metrics"]
    if spec.qa:
        f1 = next((metrics[m].get(view) for m in QA_F1 if m in metrics), None)
        em = next((metrics[m].get(view) for m in QA_EM if m in metrics), None)
        if BENCHMARKS[benchmark]["qa"] == "f1":
            return f1
        return (f1 + em) / 2 if f1 is not None and em is not None else None
    cands = spec.benchmarks.get(BENCHMARKS[benchmark]["tasks_of"]) or spec.metrics
    for m in cands:
        if m in metrics and metrics[m].get(view) is not None:
            return metrics[m][view]
    return None


def benchmark_scores(rows: list[dict], split: str | None = "test", view: str = "all") -> list[dict[str, Any]]:
    """Per system, every benchmark score with the task values it averages and what is missing.

    ``view="all"`` is the official protocol (English included in each task's language mean); ``"xx"`` gives the
    transfer-only variant (English excluded).
    """
    recs = task_scores(rows, split=split)
    systems: dict[tuple, list[dict]] = defaultdict(list)
    for rec in recs:
        systems[(rec["model"], rec["intermediate"])].append(rec)
    out = []
    for (model, inter), trs in systems.items():
        by_task = {r["canonical"]: r for r in trs if r["canonical"]}
        entry: dict[str, Any] = {"model": model, "intermediate": inter, "view": view,
                                 "model_params": next((r["model_params"] for r in trs if r["model_params"]), None),
                                 "scores": {}}
        for bench, info in BENCHMARKS.items():
            tasks = benchmark_tasks(bench)
            values = {t: task_value(by_task[t], bench, view) for t in tasks if t in by_task}
            values = {t: v for t, v in values.items() if v is not None}
            missing = [t for t in tasks if t not in values]
            score = mean(values.values()) if values else None
            entry["scores"][bench] = {
                "label": info["label"] + ("" if view == "all" else f" [{view} view]"),
                "value": score, "tasks": values, "missing": missing, "complete": not missing,
                "status": "complete" if not missing else (f"partial ({len(values)}/{len(tasks)} tasks)"
                                                          if values else "no tasks"),
            }
        out.append(entry)
    return out


def xtreme_average(task_values: dict[str, Any], benchmark: str = "xtreme") -> float:
    """The benchmark average from published per-task numbers: ``{task: value | (f1, em)}``.

    QA tasks take an ``(f1, em)`` pair (or a dict with ``f1``/``exact_match``); every task of the benchmark
    must be given.
    """
    tasks = benchmark_tasks(benchmark)
    missing = [t for t in tasks if t not in task_values]
    if missing:
        raise ValueError(f"{benchmark}: missing task values for {', '.join(missing)}")
    vals = []
    for t in tasks:
        v = task_values[t]
        if TASK_SCORES[t].qa:
            f1, em = (v["f1"], v["exact_match"]) if isinstance(v, dict) else v
            vals.append(f1 if BENCHMARKS[benchmark]["qa"] == "f1" else (f1 + em) / 2)
        else:
            vals.append(float(v))
    return mean(vals)
