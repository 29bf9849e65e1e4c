"""Export per-example predictions in the XTREME / XTREME-R submission layout.

One folder per task (``xnli``, ``xcopa``, ``udpos``, ``panx``, ``xquad``, ``mlqa``, ``tydiqa``, ``mewslix``,
``lareqa``, ``tatoeba``; ``pawsx`` and ``bucc2018`` for XTREME), one file per language named
``test-{lang}.{ext}``: ``json`` for QA (``{id: answer}``) and the ranking tasks Mewsli-X / LAReQA
(``{query id: [ranked candidate ids]}``), ``tsv`` otherwise: one label per line (classification, multiple
choice), one tag per line with a blank line between sentences (tagging), the line index of the retrieved
English sentence per line (Tatoeba, xx→en cosine neighbour ``fwd``), ``src<TAB>tgt`` for every pair mined
above the dev threshold (BUCC). Files are built
from the predictions files the rows point to (sha256-checked), in example order, for one system (model,
intermediate, seed); ``manifest.json`` records which row each file came from.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .aggregate import canonical_task
from .bootstrap import load_predictions

FORMATS = {
    "xtreme-r": ("xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "mewslix", "lareqa", "tatoeba"),
    "xtreme": ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"),
}
JSON_TASKS = {"xquad", "mlqa", "tydiqa", "mewslix", "lareqa"}


class ExportError(ValueError):
    """The rows do not select one system, or a predictions file cannot be used."""


def _choices(rows: list[dict], key: str) -> list[str]:
    return sorted({str(r.get(key)) for r in rows})


def select_system(rows: list[dict], model: str | None, intermediate: str | None, seed: Any) -> list[dict]:
    """Rows of exactly one (model, intermediate, seed); a clear error lists the choices when ambiguous."""
    for key, want in (("model", model), ("intermediate", intermediate), ("seed", seed)):
        if want is not None:
            picked = [r for r in rows if str(r.get(key) if key != "intermediate" else r.get(key) or "none")
                      == str(want)]
            if not picked:
                raise ExportError(f"no rows with {key}={want!r}; available: {', '.join(_choices(rows, key))}")
            rows = picked
        elif len(_choices(rows, key)) > 1:
            raise ExportError(f"rows hold several {key} values ({', '.join(_choices(rows, key))}); "
                              f"choose one with --{key}")
    return rows


def _tatoeba_line(pred: Any, position: dict) -> str:
    """The retrieved sentence's line index (xx→en, cosine: the ``fwd`` neighbour) as XTREME expects."""
    if isinstance(pred, dict):
        pred = pred.get("fwd")
    return str(position.get(pred, pred))


def _bucc_line(src_id: Any, pred: Any) -> str | None:
    """``src<TAB>tgt`` for a mined pair kept by the dev threshold; None when nothing is mined."""
    if isinstance(pred, (list, tuple)) and len(pred) == 2:
        return f"{pred[0]}\t{pred[1]}"
    if not isinstance(pred, dict) or pred.get("target") is None:
        return None
    thr = pred.get("dev_threshold")
    if thr is not None and pred.get("score") is not None and pred["score"] < thr:
        return None
    return f"{src_id}\t{pred['target']}"


def _lines(task: str, kind: str | None, preds: list[dict]) -> str:
    out: list[str] = []
    position = {p.get("id"): i for i, p in enumerate(preds)}
    for p in preds:
        pred = p.get("prediction")
        if task == "tatoeba":
            out.append(_tatoeba_line(pred, position))
        elif task == "bucc2018":
            line = _bucc_line(p.get("id"), pred)
            if line is not None:
                out.append(line)
        elif kind == "tagging" or (isinstance(pred, list) and task in ("udpos", "panx")):
            out.extend(str(t) for t in pred)
            out.append("")
        elif isinstance(pred, (list, tuple)):
            out.append("\t".join(str(x) for x in pred))
        else:
            out.append(str(pred))
    if out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def export(rows: list[dict[str, Any]], out_dir: str | Path, *, fmt: str = "xtreme-r", split: str = "test",
           model: str | None = None, intermediate: str | None = None, seed: Any = None) -> dict[str, Any]:
    """Write the submission folders; returns ``{"written": [...], "missing": {task: [...]}, "skipped": [...]}``."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    rows = [r for r in rows if r.get("split") == split and r.get("predictions")]
    if not rows:
        raise ExportError(f"no rows of split {split!r} with a predictions file")
    rows = select_system(rows, model, intermediate, seed)
    tasks = FORMATS[fmt]
    files: dict[tuple[str, str], dict] = {}
    skipped: list[str] = []
    for r in rows:
        canon = canonical_task(r["task"])
        if canon not in tasks:
            if r["task"] not in skipped:
                skipped.append(r["task"])
            continue
        files.setdefault((canon, r["language"]), r)
    out = Path(out_dir)
    written, manifest = [], []
    for (task, lang), r in sorted(files.items()):
        preds, why = load_predictions(r)
        if preds is None:
            raise ExportError(f"{task}/{lang}: {why}")
        folder = out / task
        folder.mkdir(parents=True, exist_ok=True)
        if task in JSON_TASKS:
            path = folder / f"test-{lang}.json"
            path.write_text(json.dumps({str(p["id"]): p.get("prediction") for p in preds
                                        if p.get("prediction") is not None}, ensure_ascii=False, indent=1) + "\n",
                            encoding="utf-8")
        else:
            path = folder / f"test-{lang}.tsv"
            path.write_text(_lines(task, r.get("task_kind"), preds), encoding="utf-8")
        written.append(str(path))
        manifest.append({"file": str(path.relative_to(out)), "task": r["task"], "language": lang,
                         "model": r["model"], "intermediate": r.get("intermediate"), "seed": r.get("seed"),
                         "split": split, "predictions": r.get("predictions"),
                         "predictions_sha256": r.get("predictions_sha256"), "node": r.get("node"),
                         "examples": len(preds)})
    have = defaultdict(list)
    for task, lang in files:
        have[task].append(lang)
    missing = {t: "no predictions" for t in tasks if t not in have}
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps({"format": fmt, "files": manifest, "missing_tasks": missing,
                                                   "skipped_tasks": skipped}, indent=1) + "\n", encoding="utf-8")
    return {"format": fmt, "written": written, "missing": missing, "skipped": skipped, "out": str(out)}
