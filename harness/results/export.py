"""Export per-example predictions in a benchmark's submission layout (XTREME / XTREME-R's ``evaluate.py``).

Which tasks a format holds and how each is written are declared by the task plugins
(``TaskSpec.benchmarks[fmt].export``, a :class:`harness.core.specs.ExportLayout`): one folder per task, one file per
language (``test-{language}.tsv`` or ``.json``), lines as the layout's ``lines`` says: ``label`` (one label per
line), ``tags`` (one tag per line, a blank line between sentences), ``json`` (``{id: answer}`` for QA,
``{query id: [ranked candidate ids]}`` for ranking), ``line_index`` (the line index of the retrieved sentence
per query line, the ``fwd`` neighbour), ``mined_pairs`` (``src<TAB>tgt`` for every pair mined above the dev
threshold), ``label_jsonl`` (``{"label": x}`` per line). Files are built from the predictions files the rows
point to (sha256-checked), in example order. One submission folder is written per system (model, intermediate,
seed) — all of them, or those ``--model/--intermediate/--seed`` select — as ``OUT/<model>/<intermediate>/seed-<seed>``;
each folder's ``manifest.json`` records which row each file came from (paths relative to that folder), and
``OUT/manifest.json`` lists the folders. Rows from synthetic data (``"synthetic": true``, or for rows without that field a
synthetic source in the node's ``node.json``) are refused
unless ``allow_synthetic`` is set. ``labels`` also writes ``OUT/labels``, the gold label folder of the exported
split in the same layout (see :mod:`harness.results.export_labels`).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.core.specs import ExportLayout
from harness.results.aggregate import canonical_task, task_table
from harness.results.bootstrap import load_predictions


def formats() -> dict[str, list[tuple[str, ExportLayout]]]:
    """Per export format (a benchmark id), its ``(task, layout)`` pairs in the benchmark's task order."""
    out: dict[str, list[tuple[int, str, ExportLayout]]] = defaultdict(list)
    for t in task_table().values():
        for bench, entry in t.benchmarks.items():
            if entry.export is not None:
                out[bench].append((entry.position, t.name, entry.export))
    return {bench: [(name, layout) for _, name, layout in sorted(items, key=lambda x: x[:2])]
            for bench, items in sorted(out.items())}


class ExportError(ValueError):
    """The rows do not select one system, or a predictions file cannot be used."""


def _choices(rows: list[dict], key: str) -> list[str]:
    return sorted({str(r.get(key)) for r in rows})


def _value(row: dict, key: str) -> str:
    return str(row.get(key) or "none") if key == "intermediate" else str(row.get(key))


def select_systems(rows: list[dict], model: str | None, intermediate: str | None, seed: Any) -> dict[tuple, list]:
    """Rows per (model, intermediate, seed), restricted to the given values; an unknown value lists the choices."""
    for key, want in (("model", model), ("intermediate", intermediate), ("seed", seed)):
        if want is not None:
            picked = [r for r in rows if _value(r, key) == str(want)]
            if not picked:
                raise ExportError(f"no rows with {key}={want!r}; available: {', '.join(_choices(rows, key))}")
            rows = picked
    out: dict[tuple, list] = defaultdict(list)
    for r in rows:
        out[(_value(r, "model"), _value(r, "intermediate"), _value(r, "seed"))].append(r)
    return dict(sorted(out.items()))


def _mentions_synthetic(obj: Any) -> bool:
    if isinstance(obj, dict):
        return obj.get("kind") == "synthetic" or any(_mentions_synthetic(v) for v in obj.values())
    return isinstance(obj, list) and any(_mentions_synthetic(v) for v in obj)


def is_synthetic(row: dict) -> bool:
    """Whether a row was computed on synthetic (smoke) data: its ``synthetic`` field says so, or (rows written
    before that field, where the loader leaves it null) the ``node.json`` beside its predictions file lists a
    synthetic data source."""
    from harness.results.bootstrap import predictions_path

    if row.get("synthetic") is not None:
        return bool(row["synthetic"])
    path = predictions_path(row)
    node = path.parent / "node.json" if path is not None else None
    if node is None or not node.is_file():
        return False
    try:
        return _mentions_synthetic(json.loads(node.read_text(encoding="utf-8")))
    except json.JSONDecodeError:
        return False


def _index_line(pred: Any, position: dict) -> str:
    """The retrieved sentence's line index (the query→target ``fwd`` neighbour of a two-way prediction)."""
    if isinstance(pred, dict):
        pred = pred.get("fwd")
    return str(position.get(pred, pred))


def _pair_line(src_id: Any, pred: Any) -> str | None:
    """``src<TAB>tgt`` for a mined pair kept by the dev threshold; None when nothing is mined."""
    if isinstance(pred, (list, tuple)) and len(pred) == 2:
        return f"{pred[0]}\t{pred[1]}"
    if not isinstance(pred, dict) or pred.get("target") is None:
        return None
    thr = pred.get("dev_threshold")
    if thr is not None and pred.get("score") is not None and pred["score"] < thr:
        return None
    return f"{src_id}\t{pred['target']}"


def _lines(lines: str, preds: list[dict]) -> str:
    out: list[str] = []
    position = {p.get("id"): i for i, p in enumerate(preds)}
    for p in preds:
        pred = p.get("prediction")
        if lines == "line_index":
            out.append(_index_line(pred, position))
        elif lines == "mined_pairs":
            line = _pair_line(p.get("id"), pred)
            if line is not None:
                out.append(line)
        elif lines == "label_jsonl":
            out.append(json.dumps({"label": pred}, ensure_ascii=False))
        elif lines == "tags" and isinstance(pred, (list, tuple)):
            out.extend(str(t) for t in pred)
            out.append("")
        elif isinstance(pred, (list, tuple)):
            out.append("\t".join(str(x) for x in pred))
        else:
            out.append(str(pred))
    if out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def _json(preds: list[dict]) -> str:
    return json.dumps({str(p["id"]): p.get("prediction") for p in preds if p.get("prediction") is not None},
                      ensure_ascii=False, indent=1) + "\n"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name)


def export(rows: list[dict[str, Any]], out_dir: str | Path, *, fmt: str = "xtreme-r", split: str = "test",
           model: str | None = None, intermediate: str | None = None, seed: Any = None,
           allow_synthetic: bool = False, labels: bool = False) -> dict[str, Any]:
    """Write one submission folder per selected system (and, with ``labels``, the gold label folder
    ``OUT/labels`` the official script's ``--label_folder`` reads); returns what was written and what is missing."""
    layouts = formats()
    if fmt not in layouts:
        raise ExportError(f"unknown format {fmt!r}; allowed: {', '.join(layouts)}")
    rows = [r for r in rows if r.get("split") == split and r.get("predictions")]
    if not rows:
        raise ExportError(f"no rows of split {split!r} with a predictions file")
    synthetic = [r for r in rows if is_synthetic(r)]
    if synthetic and not allow_synthetic:
        raise ExportError(f"{len(synthetic)} rows come from synthetic data (e.g. {synthetic[0]['task']}); "
                          "a submission of them is meaningless — pass --allow-synthetic to export them anyway")
    out = Path(out_dir)
    systems, written, skipped = [], [], []
    for (m, inter, s), sys_rows in select_systems(rows, model, intermediate, seed).items():
        folder = out / _safe(m) / _safe(inter) / f"seed-{_safe(s)}"
        result = export_system(sys_rows, folder, fmt=fmt, split=split, labels_dir=out / "labels" if labels else None)
        written += result["written"]
        skipped += [t for t in result["skipped"] if t not in skipped]
        systems.append({"model": m, "intermediate": inter, "seed": s, "folder": str(folder.relative_to(out)),
                        "files": len(result["written"]), "missing": result["missing"]})
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps({"format": fmt, "split": split, "systems": systems,
                                                   "labels": "labels" if labels else None,
                                                   "synthetic": bool(synthetic)}, indent=1) + "\n",
                                       encoding="utf-8")
    return {"format": fmt, "out": str(out), "systems": systems,
            "written": written, "skipped": skipped, "synthetic": bool(synthetic)}


def export_parquet(rows: list[dict[str, Any]], out: str | Path) -> dict[str, Any]:
    """Write ``rows`` (as :func:`harness.results.leaderboard.load_rows` gives them) to the Parquet file ``out``,
    typed as :data:`harness.core.rows.ROW_TYPES` says; relative ``predictions`` paths are rewritten relative to
    ``out``'s folder, so reports on the Parquet file find the same predictions files."""
    from harness.core.rows_parquet import write_parquet
    from harness.results.bootstrap import predictions_path
    from harness.results.leaderboard import SOURCE_KEY

    out = Path(out)
    if out.suffix.lower() != ".parquet" or out.is_dir():
        raise ExportError(f"--out {out}: a Parquet export is one file whose name ends in .parquet, e.g. "
                          "--out leaderboard.parquet")
    moved = []
    for r in rows:
        row = {k: v for k, v in r.items() if k != SOURCE_KEY}
        source = predictions_path(r)
        if source is not None and not Path(r["predictions"]).is_absolute():
            row["predictions"] = os.path.relpath(source.resolve(), out.resolve().parent)
        moved.append(row)
    write_parquet(out, moved)
    return {"format": "parquet", "out": str(out), "rows": len(moved)}


def _write_gold(path: Path, lines: str, preds: list[dict], qa: bool, where: str) -> None:
    """The gold label file beside the submission; systems that ran the same split must agree on it."""
    from harness.results.export_labels import NoGold, gold_text

    try:
        text = gold_text(lines, preds, qa)
    except NoGold as err:
        raise ExportError(f"{where}: cannot write its label file: {err}") from None
    if path.exists() and path.read_text(encoding="utf-8") != text:
        raise ExportError(f"{where}: the systems' predictions files hold different gold for {path}; export "
                          "them one at a time (--model/--intermediate/--seed)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def export_system(rows: list[dict[str, Any]], out: Path, *, fmt: str, split: str,
                  labels_dir: Path | None = None) -> dict[str, Any]:
    """One system's submission folder (its rows already selected) with its ``manifest.json``; with
    ``labels_dir``, the gold label files too."""
    from harness.results.bootstrap import predictions_path

    tasks = dict(formats()[fmt])
    table = task_table()
    files: dict[tuple[str, str], dict] = {}
    skipped: list[str] = []
    for r in rows:
        canon = canonical_task(r["task"], table)
        if canon not in tasks:
            if r["task"] not in skipped:
                skipped.append(r["task"])
            continue
        files.setdefault((canon, r["language"]), r)
    written, manifest = [], []
    for (task, lang), r in sorted(files.items()):
        preds, why = load_predictions(r)
        if preds is None:
            raise ExportError(f"{task}/{lang}: {why}")
        layout = tasks[task]
        folder = out / (layout.folder or task)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / layout.file.format(language=lang)
        text = _json(preds) if layout.lines == "json" else _lines(layout.lines, preds)
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
        if labels_dir is not None:
            _write_gold(labels_dir / (layout.folder or task) / path.name, layout.lines, preds, table[task].qa,
                        f"{task}/{lang}")
        source = predictions_path(r)
        manifest.append({"file": str(path.relative_to(out)), "task": r["task"], "language": lang,
                         "model": r["model"], "intermediate": r.get("intermediate"), "seed": r.get("seed"),
                         "split": split, "metric": r.get("metric"), "value": r.get("value"),
                         "predictions": os.path.relpath(source.resolve(), out.resolve()) if source else None,
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
