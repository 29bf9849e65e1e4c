"""Reading leaderboard files (JSONL or Parquet) and printing them (the report, aggregate and HTML views build on this)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.core import files
from harness.core.rowfiles import read_rows
from harness.core.rows import DamagedFile, read_jsonl, upgrade_row
from harness.toolkit.units import fmt_params

SOURCE_KEY = "_file"  # each loaded row remembers the leaderboard file it came from (predictions are relative to it)
REQUIRED_KEYS = ("model", "task", "metric", "value", "language")
SET_KEYS = ("model", "task", "value")  # not null in any row of any schema version (schema 1 rows lack a metric)

if TYPE_CHECKING:
    from harness.planning.plan import Plan
    from harness.run.context import Context

SYNTHETIC_TITLE = "SYNTHETIC smoke data: these numbers test the pipeline and the measurement, not languages"


def load_rows(*paths: str | Path) -> list[dict[str, Any]]:
    """Rows of every leaderboard file, each tagged with the absolute path of its file under ``_file``.

    The one row loader, for JSONL and Parquet files alike (:func:`harness.core.rowfiles.read_rows` tells them apart by
    the ``.parquet`` suffix): a missing file or a row without a required key is a clear error naming the file.
    """
    rows: list[dict[str, Any]] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise FileNotFoundError(f"leaderboard file {path} not found; `harness matrix run CONFIG` writes one")
        for line, row in enumerate(map(upgrade_row, read_rows(path)), 1):
            for key in SET_KEYS:
                if row.get(key) is None:  # upgrade_row fills unknown keys with null: these must be set
                    raise ValueError(f"{path}: row {line} has no {key!r}; not a leaderboard row (rows are what "
                                     "`harness matrix run` writes)")
            row[SOURCE_KEY] = str(path.resolve())
            rows.append(row)
    return rows


class ConfigMix(ValueError):
    """Rows of several configs measure the same thing: averaging them would mix two studies."""


MEASUREMENT_KEYS = ("model", "intermediate", "task", "split", "metric", "language", "lang_pair", "seed", "direction",
                    "variant")


def config_of(row: dict[str, Any]) -> tuple[str | None, str | None]:
    return row.get("config_name"), row.get("config_hash")


def select_config(rows: list[dict[str, Any]], config: str | None = None,
                  config_sha: str | None = None) -> list[dict[str, Any]]:
    """The rows of one config (by ``config_name`` and/or a ``config_hash`` prefix); published rows (with a
    ``source``) are kept. Nothing matching is an error listing the configs present."""
    if config is None and config_sha is None:
        return rows
    keep = [r for r in rows if r.get("source") or (
        (config is None or r.get("config_name") == config)
        and (config_sha is None or str(r.get("config_hash") or "").startswith(config_sha)))]
    if not any(not r.get("source") for r in keep):
        present = sorted({f"{n} ({str(h or '')[:12]})" for n, h in map(config_of, rows)}, key=str)
        raise ValueError(f"no rows of config {config or ''}{' sha ' + config_sha if config_sha else ''}; the files "
                         f"hold: {', '.join(present) or 'none'}")
    return keep


def check_configs_apart(rows: list[dict[str, Any]]) -> None:
    """Refuse rows where two configs measured the same (model, intermediate, task, split, metric, language, seed,
    …): reports would average them together. Configs that measured different things share a file freely."""
    seen: dict[tuple, set] = defaultdict(set)
    for r in rows:
        if r.get("source"):
            continue
        key = tuple(r.get(k) or ("none" if k == "intermediate" else None) for k in MEASUREMENT_KEYS)
        seen[key].add(config_of(r))
    clash = [(k, v) for k, v in seen.items() if len(v) > 1]
    if not clash:
        return
    key, configs = clash[0]
    what = " / ".join(f"{k} {v}" for k, v in zip(MEASUREMENT_KEYS, key) if v is not None)
    names = ", ".join(f"{n!r} (sha {str(h or '-')[:12]})" for n, h in sorted(configs, key=str))
    raise ConfigMix(f"{len(clash)} measurements are in more than one config, e.g. {what}: {names}; their rows "
                    "would be averaged together. Select one with --config NAME or --config-sha HASH")


def select_languages(rows: list[dict[str, Any]], languages: list[str]) -> list[dict[str, Any]]:
    """The rows of ``languages`` (none given: every row), each in a task's own code or its ISO 639-3 / FLORES-200
    form (``jpn``, ``jpn_Jpan`` for ``ja``); a code that names no language of any task in the rows is an error
    naming each task's languages."""
    from harness.core.languages import UnknownLanguage, resolve_language

    if not languages:
        return rows
    by_task: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["language"] not in by_task[r["task"]]:
            by_task[r["task"]].append(r["language"])
    keep = set()
    for given in languages:
        found = [(task, resolve_language(given, langs, task, "--languages"))
                 for task, langs in by_task.items() if _names_one(given, langs, task)]
        if not found:
            raise UnknownLanguage(f"--languages: {given!r} is not a language of these rows; they hold "
                                  + "; ".join(f"{t}: {', '.join(ls)}" for t, ls in by_task.items())
                                  + " (codes as the task writes them, or their ISO 639-3 / FLORES-200 forms)")
        keep.update(found)
    return [r for r in rows if (r["task"], r["language"]) in keep]


def _names_one(given: str, languages: list[str], task: str) -> bool:
    from harness.core.languages import AmbiguousLanguage, UnknownLanguage, resolve_language

    try:
        resolve_language(given, languages, task, "--languages")
    except AmbiguousLanguage:
        raise
    except UnknownLanguage:
        return False
    return True


def without_source(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without the loader's private ``_file`` key (for printing or writing them)."""
    return [{k: v for k, v in r.items() if k != SOURCE_KEY} for r in rows]


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
    table = Table(*map(escape, header), title=escape(title))
    for line in body:  # model, task and language names are user-controlled: never rich markup
        table.add_row(*(escape(str(cell)) for cell in line))
    console.print(table)


# ------------------------------------------------------------------------- collecting a matrix's rows
# (imports kept local below: this section is merged separately from the row-loading code above)


def finished_evals(plan: Plan, ctx: Context) -> list[tuple[Any, str | None]]:
    """Every finished eval node of the plan whose files match their sha256, with its ``DONE`` digest. One that
    fails is invalidated (a rerun redoes it), named on stderr and left out."""
    import sys

    from harness.store.integrity import check_node, invalidate

    out = []
    for node in plan.by_stage("eval"):
        done, problem, marker = check_node(ctx, node.key)  # complete (DONE, sizes), then its content (once per run)
        if not done:
            continue
        if problem is not None:
            invalidate(ctx, node, node.key, problem)
            print(f"warning: node {node.key} ({node.label}) left out of the leaderboard: {problem}; "
                  "a rerun redoes it", file=sys.stderr)
            continue
        out.append((node, (marker or {}).get("digest")))
    return out


def collect_rows(plan: Plan, ctx: Context, finished: list[tuple[Any, str | None]] | None = None) -> list[dict[str, Any]]:
    """Rows of every finished eval node of the plan (``finished``: what :func:`finished_evals` found), stamped
    with this matrix's name and config hash and their predictions' path relative to the leaderboard."""
    import os

    rows = []
    for node, _ in finished_evals(plan, ctx) if finished is None else finished:
        for row in read_jsonl(ctx.node_dir(node.key) / files.ROWS, torn_tail=False):
            row["config_name"] = plan.config.name
            row["config_hash"] = plan.config_hash
            pred = ctx.cache_dir / row["predictions"]
            try:
                row["predictions"] = os.path.relpath(pred, plan.leaderboard.parent)
            except ValueError:
                row["predictions"] = str(pred)
            rows.append(row)
    return rows


MERGE_STAMP = 1  # bump when collect_rows changes what it writes: every leaderboard is then merged again


def merge_matrix(plan: Plan, ctx: Context, verified: dict[str, str | None] | None = None) -> bool:
    """Merge this matrix's rows into its leaderboard, unless the file is byte for byte what the last merge of
    exactly these nodes (same digests) wrote: a cached rerun of 200k nodes then reads no row file. Whether it
    wrote. The record of the last merge lives in the store's index (:mod:`harness.store.verified`).
    ``verified``: the digest of every node, verified by this run (nothing ran since), else each node is checked
    here; the rows read for a merge are always checked first."""
    import hashlib
    import json

    from harness.store.verified import index_for

    index = index_for(ctx.cache_dir)
    where = str(Path(plan.leaderboard).resolve())

    def stamp_of(done: list[tuple[Any, str | None]]) -> str:
        return hashlib.sha256(json.dumps([MERGE_STAMP, plan.config.name, plan.config_hash, where,
                                          [(n.key, d) for n, d in done]]).encode()).hexdigest()

    if verified is not None and index is not None and \
            index.leaderboard_current(where, stamp_of([(n, verified.get(n.key)) for n in plan.by_stage("eval")])):
        return False
    finished = finished_evals(plan, ctx)
    stamp = stamp_of(finished)
    if index is not None and index.leaderboard_current(where, stamp):
        return False
    merge_leaderboard(plan.leaderboard, plan.config.name, collect_rows(plan, ctx, finished))
    if index is not None:
        index.note_leaderboard(where, stamp)
    return True


def merge_leaderboard(path: Path, config_name: str, rows: list[dict[str, Any]]) -> None:
    """Replace this matrix's rows in the leaderboard file, keep other matrices' rows; whole-file atomic write
    under an exclusive lock, so concurrent matrices sharing one file never lose or interleave rows."""
    import fcntl
    import os

    from harness.core.rows import write_jsonl_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:  # a damaged line is refused, never dropped: rewriting the file would delete that row for good
            kept = read_jsonl(path, torn_tail=False) if path.exists() else []
        except DamagedFile as err:
            raise DamagedFile(f"{err}; this matrix's rows are safe in its node store and a rerun after the repair "
                             "merges them (nothing was recomputed)") from None
        others = [r for r in kept if r.get("config_name") != config_name]
        write_jsonl_atomic(path, others + rows)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def cleanup_leaderboard_tmp(path: Path) -> int:
    """Remove temporary files (``.NAME.PID.tmp``) that killed merges left beside the leaderboard ``path``; under
    the merge lock, so a merge in progress is never touched. Returns how many."""
    import fcntl
    import os

    path = Path(path)
    if not path.parent.is_dir():
        return 0
    stale = list(path.parent.glob(f".{path.name}.*.tmp"))
    if not stale:
        return 0
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        stale = list(path.parent.glob(f".{path.name}.*.tmp"))
        for tmp in stale:
            tmp.unlink(missing_ok=True)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return len(stale)
