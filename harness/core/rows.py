"""Leaderboard rows: one flat JSON object per (model, intermediate, target, language, split, metric, seed).

Every row carries its value and provenance: the model id and parameter counts, the config hash, the
harness version and *its own* git sha (not the working directory's), library versions, and a sacrebleu-style
signature of the metric. Files are written whole to a temporary name and renamed, so a kill never leaves a
torn line; appends go through one ``write`` of complete lines under an exclusive lock.
"""

from __future__ import annotations

import fcntl
import functools
import importlib.metadata as md
import io
import json
import os
import subprocess
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonlines

from harness import __version__

# 2: provenance (model source and weights sha256, the data's source, location, revision and fingerprint for the
# target and each intermediate task, ``synthetic``) and a UTC ``created`` time. Rows of version 1 load through
# :func:`upgrade_row`.
SCHEMA_VERSION = 2

# Keys every row has (values may be null where they do not apply), in this order.
ROW_KEYS = (
    "schema_version", "model", "model_id", "model_revision", "model_source", "model_weights_sha256", "model_weights_format",
    "model_family",
    "model_params", "model_params_nonembed", "intermediate", "intermediate_tasks", "exemptions", "task",
    "task_version", "task_kind", "data_source", "data_location", "data_revision", "data_fingerprint",
    "data_helpers", "intermediate_data", "synthetic", "language", "split", "metric", "value", "seed", "direction", "variant", "lang_pair", "n",
    "signature", "budget", "config_name", "config_hash", "node", "predictions", "predictions_sha256",
    "harness_version", "git_sha", "libraries", "created",
)

# Keys a row has only where they apply (absent otherwise): ``generation`` = decoding, prompt template and k,
# truncation counts and training source of a generation task (see harness.tasktypes.generation); ``depth`` = a
# depth ablation's ``{layers, of, of_layers, axis}`` (harness.core.specs.depth_ablation: the report's x-axis);
# ``retrieval_regime`` (``training-free`` | ``xtreme-r``) and, for xtreme-r, ``retrieval_finetune`` (the dual-encoder
# fine-tune recipe) on every retrieval row (harness.tasktypes.retrieval_train);
# ``seeds_plan`` = ``{seeds, stopped, record}`` of a ``matrix run --until-resolved`` (harness.results.seeds_plan).
OPTIONAL_ROW_KEYS = ("generation", "depth", "retrieval_regime", "retrieval_finetune", "seeds_plan")

# The type of each row key (the Parquet export's column types, :mod:`harness.core.rows_parquet`): ``str``,
# ``int``, ``float``, ``bool``, ``str_list``, or ``json`` for nested values (dicts, lists of dicts), kept exactly.
ROW_TYPES: dict[str, str] = {
    **{k: "str" for k in ROW_KEYS},
    **dict.fromkeys(("schema_version", "model_params", "model_params_nonembed", "seed", "n"), "int"),
    "value": "float", "synthetic": "bool", "intermediate_tasks": "str_list", "exemptions": "str_list",
    **dict.fromkeys(("model_weights_sha256", "data_helpers", "intermediate_data", "budget", "libraries"), "json"),
    **dict.fromkeys(OPTIONAL_ROW_KEYS, "json"),
}

# The libraries a score can depend on (seqeval is only a test reference: scoring uses harness.metrics).
LIBRARIES = ("torch", "transformers", "tokenizers", "datasets", "sacrebleu", "faiss-cpu", "numpy")


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str | None]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


# What "-dirty" is about: the code that computes results (a rewritten leaderboard, a page or a submission folder in
# the checkout is output, not a code change). Pathspecs from the top of the repository.
CODE_PATHS = (":/harness", ":/plugins", ":/pyproject.toml")


def checkout_sha(here: Path) -> str | None:
    """``HEAD``'s sha of the git checkout holding ``here`` (``-dirty`` when :data:`CODE_PATHS` hold uncommitted
    changes or new files); None outside a checkout."""
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", *CODE_PATHS],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


@functools.lru_cache(maxsize=1)
def harness_git_sha() -> str | None:
    """The git sha of the harness package itself: from its source checkout (:func:`checkout_sha`), else from
    pip's direct_url.json."""
    sha = checkout_sha(Path(__file__).resolve().parent)
    if sha is not None:
        return sha
    try:
        text = md.distribution("xlt-harness").read_text("direct_url.json")
        if text:
            return json.loads(text).get("vcs_info", {}).get("commit_id")
    except md.PackageNotFoundError:
        pass
    return None


def signature(metric: str, task: str, task_version: str, impl: str | None = None, *, lead: str | None = None,
              **extra: Any) -> str:
    """``metric|task:xnli@1|impl:...|harness:0.1.0`` plus any extra ``key:value`` fields, sacrebleu style.

    The one signature builder: ``lead`` goes right after the metric name (a scoring library's own signature,
    e.g. sacrebleu's); ``extra`` fields whose value is None are left out.
    """
    parts = [metric, *([lead] if lead else []), f"task:{task}@{task_version}"]
    if impl:
        parts.append(f"impl:{impl}")
    parts += [f"{k}:{v}" for k, v in extra.items() if v is not None]
    parts.append(f"harness:{__version__}")
    return "|".join(parts)


def make_row(**fields: Any) -> dict[str, Any]:
    """A row with every key of ``ROW_KEYS`` (missing ones null) and the provenance filled in."""
    row = {k: None for k in ROW_KEYS}
    row.update({"schema_version": SCHEMA_VERSION, "harness_version": __version__, "git_sha": harness_git_sha(),
                "libraries": library_versions(), "created": utc_now()})
    unknown = set(fields) - set(ROW_KEYS) - set(OPTIONAL_ROW_KEYS)
    if unknown:
        raise KeyError(f"unknown row keys {sorted(unknown)}; allowed: {', '.join(ROW_KEYS)}")
    row.update(fields)
    return row


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second (``2025-01-31T12:00:00+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# The measured part of a row's ``budget`` (harness.stages.common.measured, harness.stages.evaluate): per stage that
# produced the row, the training node's key, wall seconds, tokens and examples processed, device ``{kind, count}``
# and GPU energy in joules (null where the platform does not report it); the evaluating process's torch and CUDA.
STAGE_BUDGET_KEYS = ("node", "seconds", "tokens", "examples", "device", "energy_j")
EVAL_BUDGET_KEYS = ("eval_seconds", "eval_tokens", "eval_device", "eval_energy_j", "torch_version", "cuda_version")
# What differs between two runs of the same plan on the same machine (timings, energy): not part of a result.
VARYING_BUDGET_KEYS = ("intermediate_seconds", "intermediate_energy_j", "target_seconds", "target_energy_j",
                       "eval_seconds", "eval_energy_j")


def upgrade_budget(budget: dict[str, Any] | None) -> dict[str, Any]:
    """A budget of any version with the measured keys a current row of its kind has (absent ones null: unknown)."""
    out = {**{k: None for k in EVAL_BUDGET_KEYS}, **(budget or {})}
    for stage in ("intermediate", "target"):
        if f"{stage}_steps" in out:  # that stage trained: its measured keys belong to the row
            out = {**{f"{stage}_{k}": None for k in STAGE_BUDGET_KEYS}, **out}
    return out


def upgrade_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of any schema version with every current key (those an old version lacks are null: unknown)."""
    return {**{k: None for k in ROW_KEYS}, **row, "budget": upgrade_budget(row.get("budget"))}


def without_timings(row: dict[str, Any]) -> dict[str, Any]:
    """The row minus what two runs of one plan legitimately differ in inside its budget (seconds, energy)."""
    budget = {k: v for k, v in (row.get("budget") or {}).items() if k not in VARYING_BUDGET_KEYS}
    return {**row, "budget": budget}


# One JSON object per line, keys in insertion order, non-ASCII kept (the layout of every committed leaderboard);
# NaN and infinities are refused (they are not JSON: a row holding one would break every reader).
_dumps = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False)
dumps_row = _dumps  # one row as its leaderboard line (no newline)


def write_jsonl_atomic(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write all rows to ``path`` via a temp file and an atomic rename (readers see old or new, never half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            with jsonlines.Writer(fh, dumps=_dumps) as writer:
                writer.write_all(rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, a NaN, a kill: the old file stays whole and no temp file is left
        tmp.unlink(missing_ok=True)
        raise


def append_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Append complete lines in one write under an exclusive lock (safe with concurrent writers)."""
    buf = io.StringIO()
    with jsonlines.Writer(buf, dumps=_dumps) as writer:
        writer.write_all(rows)
    data = buf.getvalue().encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class DamagedFile(ValueError):
    """A JSONL file with a line that is not JSON; the message names the file, the line and what to do."""


def read_jsonl(path: Path, torn_tail: bool = True) -> list[dict[str, Any]]:
    """Rows of a JSONL file. A malformed line is an error naming the file and line, except, with ``torn_tail``, an
    unterminated last line (an append-only log whose writer was killed mid-line), which is ignored. Files the
    harness replaces atomically (leaderboards) are read with ``torn_tail=False``: a bad line there is damage."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    body = [line for line in lines if line.rstrip()]
    if not any(line.startswith(("\x1e", "\ufeff")) for line in body):
        try:  # every line in one parse (a leaderboard has a row per line); any doubt: jsonlines, line by line
            values = json.loads("[" + ",".join(body) + "]")
            if len(values) == len(body) and all(v is not None for v in values):
                return values
        except ValueError:
            pass
    reader = jsonlines.Reader(lines)
    try:
        rows.extend(reader.iter(skip_empty=True))
    except jsonlines.InvalidLineError as err:
        if not torn_tail or err.lineno != len(lines):  # only an unterminated last line can be torn
            raise DamagedFile(f"{path}: line {err.lineno} is not JSON (torn or edited by hand); repair or delete "
                             "that line, nothing was read from the file") from None
    return rows
