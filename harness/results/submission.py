"""Score a whole submission folder in the layout of google-research/xtreme's ``evaluate.py``.

``--prediction_folder`` and ``--label_folder`` hold one sub-folder per task and one file per language
(``{task}/test-{language}.{tsv,json,jsonl}``). Which tasks a benchmark has, their folder, file pattern, line
layout and official language list come from the task plugins (``TaskSpec.benchmarks[b].export``, an
:class:`harness.core.specs.ExportLayout`); nothing here names a task. The metric follows the file layout as the
official script does:

- ``label``, ``line_index``, ``label_jsonl``: accuracy (string / value equality per line, equal line counts);
- ``tags``: seqeval 0.0.12 chunk precision / recall / F1 over all sentences (POS included, as the script does);
- ``mined_pairs``: BUCC precision / recall / F1 of the ``src<TAB>trg`` pair sets;
- ``json``: QA EM and F1 with the task's declared metric functions (an unanswered question scores 0), or, for
  ``{id: [ranked ids]}`` files, ``map@20`` (Mewsli-X: the reciprocal rank of the first gold id in the top 20).

Per task: each metric per language, ``avg_<metric>`` over the languages scored and ``avg_metric`` — (EM + F1) / 2
for QA, else F1, else accuracy, else map@20. Groups (the declared categories) and ``all_task`` average
``avg_metric`` over tasks, reported only when every member task was scored; otherwise the score is *partial* and
the missing files and tasks are listed (the official script raises on a missing file instead).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

from harness.core.specs import BenchmarkEntry, ExportLayout
from harness.results.aggregate import task_table

TOP_K = 20


class SubmissionError(ValueError):
    """A submission or label file cannot be read or does not match its counterpart."""


def members(benchmark: str) -> list[tuple[str, BenchmarkEntry, ExportLayout, tuple[str, ...]]]:
    """``(task, entry, layout, languages)`` of every task the benchmark's submission folder holds, in order."""
    from harness.core.registry import registry

    out = []
    for t in task_table().values():
        entry = t.benchmarks.get(benchmark)
        if entry is None or entry.export is None:
            continue
        langs = entry.export.languages or registry().task(t.name).spec.languages
        out.append((entry.position, t.name, entry, entry.export, tuple(langs)))
    if not out:
        raise SubmissionError(f"unknown benchmark {benchmark!r}: no installed task plugin declares it")
    return [(name, entry, layout, langs) for _, name, entry, layout, langs in sorted(out, key=lambda x: x[:2])]


# ---- readers (the official script's semantics: lines stripped; a final newline adds no line) ----------------
def _lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [line.strip() for line in fh]


def _tags(path: Path) -> list[list[str]]:
    sentences: list[list[str]] = []
    current: list[str] = []
    for line in _lines(path):
        if line:
            current.append(line)
        else:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _json(path: Path) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SubmissionError(f"{path}: not JSON ({err})") from None
    return data["data"] if isinstance(data, dict) and "data" in data else data


def _label_jsonl(path: Path) -> list[Any]:
    out = []
    for i, line in enumerate(_lines(path), 1):
        try:
            out.append(json.loads(line)["label"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise SubmissionError(f"{path}:{i}: expected a JSON object with a 'label' field per line") from None
    return out


# ---- metrics ------------------------------------------------------------------------------------------------
def _accuracy(gold: list, pred: list, where: str) -> dict[str, float]:
    if len(gold) != len(pred):
        raise SubmissionError(f"{where}: {len(pred)} predictions for {len(gold)} gold lines")
    if not pred:
        raise SubmissionError(f"{where}: empty file")
    return {"accuracy": 100.0 * sum(p == g for p, g in zip(pred, gold)) / len(pred)}


def _seqeval(gold: list, pred: list, where: str) -> dict[str, float]:
    from harness.metrics.seqeval_compat import prf

    if len(gold) != len(pred):
        raise SubmissionError(f"{where}: {len(pred)} predicted sentences for {len(gold)} gold sentences")
    p, r, f = prf(gold, pred)
    return {"f1": 100 * f, "precision": 100 * p, "recall": 100 * r}


def _pairs(gold: list[str], pred: list[str]) -> dict[str, float]:
    g = {tuple(x.split("\t")) for x in gold}
    p = {tuple(x.split("\t")) for x in pred}
    tp = len(g & p)
    if not tp:
        return {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    prec, rec = tp / len(p), tp / len(g)
    return {"f1": 100 * 2 * prec * rec / (prec + rec), "precision": 100 * prec, "recall": 100 * rec}


def _qa(entry: BenchmarkEntry, gold: list, pred: dict, language: str) -> dict[str, float]:
    """EM and F1 over every gold question; an unanswered one scores 0 (as the official scripts do)."""
    from harness.metrics import METRICS

    qas = [qa for article in gold for para in article["paragraphs"] for qa in para["qas"]]
    if not qas:
        raise SubmissionError("gold file has no questions")
    answered = [qa for qa in qas if qa["id"] in pred]
    out = {}
    for key, name in (("exact_match", entry.em_metrics[0]), ("f1", entry.metrics[0])):
        if not answered:
            out[key] = 0.0
            continue
        golds = [[a["text"] for a in qa["answers"]] for qa in answered]
        value = float(METRICS[name](golds, [str(pred[qa["id"]]) for qa in answered], language=language))
        out[key] = value * len(answered) / len(qas)
    return out


def _ranking(gold: dict, pred: dict) -> dict[str, float]:
    """Mean reciprocal rank of each query's first gold id within its top-20 predictions (×100)."""
    rr = []
    for qid, relevant in gold.items():
        first = str(relevant[0]).strip()
        ranked = list(pred.get(qid, []))[:TOP_K]
        rr.append(next((1.0 / i for i, c in enumerate(ranked, 1) if c == first), 0.0))
    return {"map@20": 100.0 * sum(rr) / len(rr) if rr else 0.0}


def score_file(entry: BenchmarkEntry, layout: ExportLayout, gold_path: Path, pred_path: Path,
               language: str) -> dict[str, float]:
    """The official metrics of one language file pair."""
    where = f"{pred_path} vs {gold_path}"
    lines = layout.lines
    if lines in ("label", "line_index"):
        return _accuracy(_lines(gold_path), _lines(pred_path), where)
    if lines == "label_jsonl":
        return _accuracy(_label_jsonl(gold_path), _label_jsonl(pred_path), where)
    if lines == "tags":
        return _seqeval(_tags(gold_path), _tags(pred_path), where)
    if lines == "mined_pairs":
        return _pairs(_lines(gold_path), _lines(pred_path))
    gold, pred = _json(gold_path), _json(pred_path)
    if not isinstance(pred, dict):
        raise SubmissionError(f"{pred_path}: expected a JSON object {{id: prediction}}")
    if entry.qa:
        return _qa(entry, gold, pred, language)
    if not isinstance(gold, dict):
        raise SubmissionError(f"{gold_path}: expected a JSON object {{id: [gold ids]}}")
    return _ranking(gold, pred)


def _task_average(score: dict[str, dict[str, float]], qa: bool) -> dict[str, float]:
    avg = {f"avg_{m}": mean(v.values()) for m, v in score.items() if v}
    if qa and "avg_exact_match" in avg:
        avg["avg_metric"] = (avg["avg_exact_match"] + avg["avg_f1"]) / 2
    else:
        for key in ("avg_f1", "avg_accuracy", "avg_map@20"):
            if key in avg:
                avg["avg_metric"] = avg[key]
                break
    return avg


def score_submission(benchmark: str, predictions: Path | str, labels: Path | str) -> dict[str, Any]:
    """Every task, language, task average, group and overall score of a submission folder (see module doc)."""
    predictions, labels = Path(predictions), Path(labels)
    for what, folder in (("--predictions", predictions), ("--labels", labels)):
        if not folder.is_dir():
            raise SubmissionError(f"{what} {folder}: not a folder (expected one sub-folder per task)")
    tasks: dict[str, Any] = {}
    missing_files: list[str] = []
    errors: list[str] = []
    groups: dict[str, list[str]] = defaultdict(list)
    all_tasks = []
    for name, entry, layout, langs in members(benchmark):
        all_tasks.append(name)
        groups[entry.category].append(name)
        folder = layout.folder or name
        score: dict[str, dict[str, float]] = defaultdict(dict)
        task_missing = []
        for lang in langs:
            gold_path = labels / folder / layout.file.format(language=lang)
            pred_path = predictions / folder / layout.file.format(language=lang)
            absent = [str(p) for p in (pred_path, gold_path) if not p.is_file()]
            if absent:
                task_missing.extend(absent)
                continue
            try:
                for metric, value in score_file(entry, layout, gold_path, pred_path, lang).items():
                    score[metric][lang] = value
            except (SubmissionError, ValueError, KeyError, TypeError) as err:
                errors.append(f"{name} [{lang}]: {err}")
        missing_files.extend(task_missing)
        if score:
            tasks[name] = {"languages": {m: dict(v) for m, v in score.items()}, **_task_average(score, entry.qa),
                           "category": entry.category, "missing_languages": len(langs) - len(
                               next(iter(score.values())))}
    complete = [t for t in all_tasks if t in tasks and not tasks[t]["missing_languages"]]
    out_groups = {g: mean(tasks[t]["avg_metric"] for t in ts) for g, ts in groups.items()
                  if all(t in complete for t in ts)}
    full = len(complete) == len(all_tasks) and not errors
    return {
        "benchmark": benchmark, "predictions": str(predictions), "labels": str(labels),
        "tasks": tasks, "groups": out_groups,
        "all_task": mean(tasks[t]["avg_metric"] for t in all_tasks) if full else None,
        "partial_score": mean(tasks[t]["avg_metric"] for t in tasks) if tasks and not full else None,
        "status": "complete" if full else f"partial ({len(complete)}/{len(all_tasks)} tasks complete)",
        "missing_tasks": [t for t in all_tasks if t not in complete],
        "missing_files": missing_files, "errors": errors,
    }
