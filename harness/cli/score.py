"""``harness score TASK --data PATH --predictions PATH``: score any system's predictions like the official script.

Gold (``--data``): a single file in one of the task's layouts (read by the task's ``read_file(path,
language, split=)`` when it has one), or a folder read by the task's loader with ``--split`` (default: the task's first
evaluation split). ``--language`` defaults to the one language code found in the file name
(``xquad.de.json``, ``dev-context-zh-question-zh.json``, ``test-de.tsv``, ``es_gsd-ud-test.conllu``).

Predictions (``--predictions``), matched to gold by id where ids exist (ids that do not match are an error naming
the counts and the first ids on each side; ``--match-by-order`` pairs them by position instead), else by order.
A task module may read its own layouts with ``read_predictions(path)`` (None: the generic reader below):

- ``*.jsonl`` written by ``harness matrix run`` (``{"id", "prediction", ...}`` per line);
- ``*.json``: an object ``{id: answer}`` (SQuAD / XTREME QA layout) or a list in example order;
- any other text file, XTREME's submission layout: one label (classification, multiple choice) per line, or one
  tag per line with a blank line between sentences (tagging; ``token<TAB>tag`` lines use the last column);
- a layout only one task has (BUCC's ``src<TAB>trg`` pairs, Tatoeba's line indices, XCOPA's ``{"label": x}``
  lines, Mewsli-X rankings without candidate entries): read by the task module's ``read_predictions(path,
  examples, language)``, which returns None for files it leaves to the readers above.

Translation (kind ``generation``, FLORES): ``--data`` is a reference file (``deu_Latn.devtest``, one sentence
per line) or a FLORES folder (both directions of ``--language``), ``--predictions`` a hypothesis file (one line per
reference, empty lines kept) or a run's ``.jsonl``. chrF++ always prints; spBLEU needs the FLORES-200
SentencePiece model (``--spm``, ``$XLT_FLORES200_SPM`` or sacrebleu's cache): without it one line says how to
provide it and the other scores still print. Any other SentencePiece model (``--spm-name``) is labelled custom.
Each score prints with its signature exactly as sacrebleu writes it.

A QA question without a prediction is unanswered: it scores 0 (as the official v1.1 and MLQA scripts do, with a
warning); missing predictions for other kinds are an error. A split without gold (XTREME's label-stripped test files) exits with the
``MissingGold`` message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from harness.cli.console import console, emit_json, err_console, fail


def _own_code(language: str | None, spec) -> str | None:
    """``--language`` in the task's own code (``jpn`` and ``jpn_Jpan`` give ``ja``); an unknown one fails."""
    from harness.core.languages import UnknownLanguage, resolve_language

    try:
        return None if language is None else resolve_language(language, spec.languages, spec.name, "--language")
    except UnknownLanguage as err:
        fail(str(err))
    return None


def _infer_language(path: Path, languages: tuple[str, ...]) -> str | None:
    # split on "_" too (xquad.de.json, es_gsd-ud-test) and without it (FLORES-200 codes: deu_Latn.devtest)
    found = {tok for tok in re.split(r"[-._/]", path.name) + re.split(r"[-./]", path.name) if tok in languages}
    return found.pop() if len(found) == 1 else None


def _infer_split(path: Path, default: str) -> str:
    toks = set(re.split(r"[-._/]", path.name))
    for name in ("train", "dev", "val", "test"):
        if name in toks:
            return name
    return default


def read_gold(task, path: Path, language: str, split: str) -> list[dict]:
    """Gold examples from a file (the task's ``read_file``) or a folder (the task's loader); a file the
    loader cannot read is a ``DataInvalid`` naming it."""
    from types import SimpleNamespace

    from harness.toolkit.data import load_checked

    where = f"{task.name} · split {split} · language {language}"
    if path.is_dir():
        return load_checked(task, split, language, path, where)[0]
    read_file = task.read_file
    split = _infer_split(path, split)
    if read_file is not None:
        task = SimpleNamespace(load=lambda split, language, data_dir: read_file(path, language, split=split))
    return load_checked(task, split, language, path.parent, where)[0]


class BadPredictions(click.ClickException):
    """A predictions file that cannot be what it claims (a duplicate id, a shifted line, a value that is not a
    label): one line naming the file and line."""


def _no_duplicate_keys(path: Path):
    def hook(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise BadPredictions(f"{path}: id {k!r} appears twice (the last copy would win); keep one per id")
            seen.add(k)
        return dict(pairs)
    return hook


def read_predictions(path: Path, kind: str) -> tuple[dict[str, Any] | list[Any], dict[str, int] | list[int]]:
    """(``{id: prediction}`` when the file carries ids, else a list in example order; the line each one is on)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        rows, lines = [], []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as err:
                    raise BadPredictions(f"{path}:{n}: not a JSON line ({err})") from None
                lines.append(n)
        if rows and isinstance(rows[0], dict) and "prediction" in rows[0]:
            if "id" not in rows[0]:
                return [r.get("prediction") for r in rows], lines
            out: dict[str, Any] = {}
            where: dict[str, int] = {}
            for r, n in zip(rows, lines):
                if not isinstance(r, dict) or "id" not in r or "prediction" not in r:
                    raise BadPredictions(f"{path}:{n}: not an {{\"id\", \"prediction\"}} object like line {lines[0]}")
                i = str(r["id"])
                if i in out:
                    raise BadPredictions(f"{path}:{n}: id {i!r} repeats line {where[i]} (the last copy would win); "
                                         "keep one prediction per id")
                out[i], where[i] = r["prediction"], n
            return out, where
        return rows, lines
    if path.suffix == ".json":
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys(path))
        if isinstance(data, dict):
            return {str(k): v for k, v in data.items()}, {}
        return list(data), []
    lines = text.replace("\r\n", "\n").split("\n")
    if kind == "generation":  # one hypothesis per line; an empty hypothesis is a line too
        kept = lines[:-1] if lines and lines[-1] == "" else lines
        return kept, list(range(1, len(kept) + 1))
    if kind == "tagging":
        sentences, current, starts = [], [], []
        for n, line in enumerate(lines, 1):
            if line.strip():
                if not current:
                    starts.append(n)
                current.append(line.split("\t")[-1].strip())
            elif current:
                sentences.append(current)
                current = []
        if current:
            sentences.append(current)
        return sentences, starts
    last = max((n for n, line in enumerate(lines, 1) if line.strip()), default=0)
    blank = next((n for n, line in enumerate(lines[:last], 1) if not line.strip()), None)
    if blank is not None:  # a blank line between labels shifts every later one by a line
        raise BadPredictions(f"{path}:{blank}: a blank line between predictions (every later line would pair with "
                             "the wrong example); XTREME's layout is one prediction per line")
    values, where = [], []
    for n, line in enumerate(lines[:last], 1):
        v = line.strip()
        if kind == "multiple_choice":
            try:
                v = int(v)
            except ValueError:
                raise BadPredictions(f"{path}:{n}: {v!r} is not a choice index (an integer)") from None
        values.append(v)
        where.append(n)
    return values, where


def _first(ids: list[str], n: int = 3) -> str:
    return ", ".join(repr(i) for i in ids[:n]) + (", …" if len(ids) > n else "")


def align(examples: list[dict], preds: dict[str, Any] | list[Any], kind: str, by_order: bool = False,
          lines: dict[str, int] | list[int] | None = None) -> tuple[list[Any], list[int | None]]:
    """(Predictions in example order, the line of each), matched by id (``by_order``: by position). Ids that do
    not match are an error; ``by_order`` is refused where the predictions' ids are gold ids at other positions; a
    QA question without a prediction is ``None`` (unanswered: it scores 0)."""
    gold = [str(e["id"]) for e in examples]
    if isinstance(preds, dict) and by_order:
        ids = list(preds)
        wrong = [p for p, (i, g) in enumerate(zip(ids, gold)) if i != g]
        if set(ids) & set(gold) and (wrong or len(ids) != len(gold)):
            if wrong:
                p = wrong[0]
                why = f"position {p + 1} holds id {ids[p]!r}, gold has {gold[p]!r} there"
            else:
                why = f"{len(ids)} predictions for {len(gold)} examples"
            raise click.ClickException(f"--match-by-order: the predictions carry gold ids that disagree with their "
                                       f"positions ({why}); drop --match-by-order to match by id")
        where = [lines.get(i) for i in ids] if isinstance(lines, dict) else [None] * len(ids)
        preds, lines = list(preds.values()), where
    if isinstance(preds, list):
        if len(preds) != len(examples):
            raise click.ClickException(f"{len(preds)} predictions for {len(examples)} examples (matched by order)")
        return preds, list(lines) if isinstance(lines, list) and len(lines) == len(preds) else [None] * len(preds)
    gold_ids = set(gold)
    missing = [g for g in gold if g not in preds]
    extra = [i for i in preds if i not in gold_ids]
    if extra or (missing and kind != "span_qa"):
        raise click.ClickException(
            f"prediction ids do not match gold ids: {len(examples)} gold examples, {len(preds)} predictions; "
            f"{len(missing)} gold ids have no prediction" + (f" (first {_first(missing)})" if missing else "")
            + f", {len(extra)} prediction ids are not gold ids" + (f" (first {_first(extra)})" if extra else "")
            + ". Fix the ids, or pass --match-by-order to pair predictions with gold by position")
    if missing:
        err_console.print(f"warning: {len(missing)} questions unanswered; they score 0 (first {_first(missing)})",
                          markup=False)
    where = lines if isinstance(lines, dict) else {}
    return [preds.get(g) for g in gold], [where.get(g) for g in gold]


def task_predictions(task, path: Path, examples: list[dict], language: str, kind: str,
                     by_order: bool = False) -> list[Any]:
    """Predictions in example order: the task's ``read_predictions(path, examples, language)`` when it
    reads this file (XTREME's own layouts: BUCC pair lists, Tatoeba line indices, ...), else the generic readers
    matched by id (``by_order``: by position). Each prediction is checked against its example (the kind's
    ``check_prediction``: a label of the task, a choice index in range, one tag per token)."""
    from harness.core.registry import registry

    reader = task.read_predictions
    preds = reader(path, examples, language) if reader is not None else None
    if preds is not None:
        lines: list[int | None] = [None] * len(preds)
    else:
        values, where = read_predictions(path, kind)
        preds, lines = align(examples, values, kind, by_order, where)
    ttype = registry().task_type(kind)
    bad = []
    for i, (e, p) in enumerate(zip(examples, preds)):
        problem = ttype.check_prediction(e, p, task.spec)
        if problem is not None:
            bad.append(f"{path}:{lines[i]}" if lines[i] else f"{path} (example {e.get('id')!r})")
            if len(bad) == 1:
                first = f"{bad[0]}: {problem}"
    if bad:
        raise BadPredictions(first + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    return preds


GOLD_CHECKS = ("repeats the id", "has no 'id'", ": label ", ": tag ", " tokens but ")


def check_gold(task, examples: list[dict], data: Path, language: str) -> None:
    """The gold file is validated like a task's data (unique ids, labels and tags of the task) and must be in
    ``language``: a file of another task or language is an error, never a score. Label-less files are left to
    the scorer (its ``MissingGold`` message says where XTREME keeps the labels)."""
    from harness.core.registry import registry

    spec = task.spec
    named = [e.get("language") for e in examples if isinstance(e, dict) and e.get("language")]
    other = set(named) - {language}
    if named and len(named) == len(examples) and language not in named:  # not one example in this language
        fail(f"{data}: the examples are in {', '.join(sorted(map(str, other)))}, not {language!r}; give the "
             "matching --language or file")
    # Ids, labels and tags only: XTREME's label files (BUCC pair lists, XCOPA label lines, Mewsli-X rankings) hold
    # the gold without the rest of the layout, and they are valid gold files.
    problems = [p for p in registry().task_type(spec.kind).validate(examples, spec)
                if "carries no gold" not in p.message and any(k in p.message for k in GOLD_CHECKS)]
    if problems:
        shown = "; ".join(p.message for p in problems[:3])
        fail(f"{data} is not a valid {spec.name} gold file ({len(problems)} problem(s)): {shown}"
             + ("; …" if len(problems) > 3 else ""))


def _score_submission(benchmark: str, task_name: str | None, data: Path | None, predictions: Path,
                      labels: Path | None, as_json: bool) -> None:
    """``score --benchmark``: a whole submission folder, scored as google-research/xtreme's evaluate.py does."""
    from harness.cli.score_benchmark import score_benchmark

    if task_name or data:
        fail("--benchmark scores a whole folder: give --predictions DIR --labels DIR, not TASK or --data")
    if labels is None:
        fail("--benchmark needs --labels DIR (the folder of gold files, one sub-folder per task)")
    score_benchmark(benchmark, predictions, labels, as_json)


@click.command()
@click.argument("task_name", metavar="TASK", required=False)
@click.option("--data", "data", default=None, type=click.Path(exists=True, path_type=Path),
              help="gold file (task layout) or folder")
@click.option("--predictions", "predictions", required=True, type=click.Path(exists=True, path_type=Path),
              help="predictions file (.jsonl from a run, .json id→answer, or XTREME's text layout); with "
                   "--benchmark, the submission folder")
@click.option("--benchmark", default=None, help="score a whole submission folder: xtreme or xtreme-r")
@click.option("--labels", default=None, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="with --benchmark: the label folder (evaluate.py's --label_folder)")
@click.option("--language", default=None, help="language code (default: inferred from the --data file name)")
@click.option("--split", default=None, help="split to read when --data is a folder (default: task's eval split)")
@click.option("--spm", "spm_model", default=None, type=click.Path(exists=True, dir_okay=False),
              help="translation: SentencePiece model for spBLEU (default: $XLT_FLORES200_SPM, sacrebleu's cache)")
@click.option("--spm-name", default=None, help="translation: name of a non-FLORES-200 SPM (scores labelled custom)")
@click.option("--match-by-order", is_flag=True,
              help="pair predictions with gold by position, ignoring ids (default: by id; a mismatch is an error)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def score(task_name: str | None, data: Path | None, predictions: Path, benchmark: str | None, labels: Path | None,
          language: str | None, split: str | None, spm_model: str | None, spm_name: str | None,
          match_by_order: bool, as_json: bool) -> None:
    """Score a predictions file against gold data the way the task's official script does.

    With ``--benchmark xtreme|xtreme-r --predictions DIR --labels DIR``: score a whole submission folder as
    google-research/xtreme's ``evaluate.py`` does.
    """
    if benchmark is not None:
        _score_submission(benchmark, task_name, data, predictions, labels, as_json)
        return
    if task_name is None or data is None:
        fail("give TASK and --data (or --benchmark xtreme|xtreme-r with --labels to score a submission folder)")
    from harness.core.registry import UnknownName, registry
    from harness.core.rows import signature
    from harness.metrics import IMPLEMENTATION, MissingGold, Value
    from harness.toolkit.data import DataMissing

    reg = registry()
    try:
        task = reg.task(task_name)
        ttype = reg.task_type(task.spec.kind)
    except UnknownName as err:
        fail(str(err))
    spec = task.spec
    language = _own_code(language, spec)
    named = _infer_language(data, spec.languages)
    if language is not None and named is not None and named != language and not data.is_dir():
        fail(f"--language {language}: the gold file {data.name} names {named!r}; give the file of {language!r} "
             f"or --language {named}")
    language = language or named
    if language is None:
        fail(f"--language: cannot infer it from {data.name}; give one of {', '.join(spec.languages)}")
    split = split or spec.eval_splits[0]
    try:
        examples = read_gold(task, data, language, split)
        check_gold(task, examples, data, language)
        preds = task_predictions(task, predictions, examples, language, spec.kind, match_by_order)
        if spec.kind == "generation" and task.score is None:
            scores = ttype.score(examples, preds, spec, language, {"spm_model": spm_model, "spm_name": spm_name},
                                 spm_optional=True)
            if "spbleu" in spec.metrics and not any(m.startswith("spbleu") for m in scores):
                from harness.metrics.mt import HOW_TO_GET

                err_console.print(f"spBLEU skipped: no FLORES-200 SentencePiece model; {HOW_TO_GET} (or --spm PATH)",
                                  highlight=False, markup=False)
        elif task.score is not None:
            scores = task.score(examples=examples, predictions=preds, language=language)
        else:
            scores = ttype.score(examples, preds, spec, language)
    except MissingGold as err:
        fail(f"{spec.name} [{language}] {data}: {err}")
    except (DataMissing, ValueError, KeyError) as err:
        fail(f"{spec.name} [{language}]: {err}")
    out: dict[str, Any] = {}
    for metric, value in scores.items():
        entries = []
        for v in value if isinstance(value, list) else [value]:  # a list: one value per translation direction
            v = v if isinstance(v, Value) else Value(float(v))
            extra = v.extra or {}
            entries.append({"value": v.value, "variant": v.variant, "direction": v.direction,
                            "lang_pair": extra.get("lang_pair"), "n": v.n,
                            "sacrebleu_signature": extra.get("sacrebleu"),
                            "signature": v.signature or signature(metric, spec.name, spec.version,
                                                                  IMPLEMENTATION.get(metric), avg=spec.average)})
        out[metric] = entries if isinstance(value, list) else entries[0]
    if as_json:
        emit_json({"task": spec.name, "language": language, "data": str(data), "predictions": str(predictions),
                   "n": len(examples), "scores": out})
        return
    for metric, entries in out.items():
        for v in entries if isinstance(entries, list) else [entries]:
            variant = f" ({v['variant']})" if v["variant"] else ""
            where = f" {v['lang_pair']}" if v.get("lang_pair") else ""
            n = v["n"] if v.get("n") is not None else len(examples)
            line = f"{spec.name} [{language}]{where} n={n} {metric}{variant}: {v['value']:.4f}"
            if v.get("sacrebleu_signature"):
                line += f"  {v['sacrebleu_signature']}"
            console.print(line, highlight=False, markup=False)
