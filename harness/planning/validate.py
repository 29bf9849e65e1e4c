"""Validation before training: every split a plan touches is loaded and checked against its task kind's layout.

``harness matrix plan`` and ``matrix run`` call :func:`validate_plan` after planning and before any node runs, so
a label-less training file, a truncated test file or an unknown split fails in seconds, not after training. Each
error names the task, split, language, file and (where one exists) the line. The checks are the task type's
``validate`` (``harness.tasktypes``); metric names a task declares must be registered.

A split that passed is remembered in ``<output_dir>/validated/`` per (task, version, data fingerprint), so a
plan over unchanged data reads one small JSON file per task instead of loading the data again. Synthetic smoke data
not yet written is validated in a temporary folder (planning writes nothing but these verdicts).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.registry import registry
from harness.planning.runtime import check_models
from harness.planning.task_data import SYNTHETIC_MARK, _write_fixture
from harness.toolkit.data import DataInvalid, DataMissing, SplitRef, load_checked, pinned_source

# Bump when the checks change, so verdicts of an older validator are not trusted.
VALIDATOR_VERSION = "1"
MAX_SHOWN = 12  # problems listed in one error; the count says how many more there are


@dataclass(frozen=True)
class SplitUse:
    """One split of one task in one language, as the plan uses it (``purpose``: what the nodes do with it)."""

    task: str
    split: str
    language: str
    purpose: str


def planned_splits(plan) -> dict[str, list[SplitUse]]:
    """Per task: the splits its nodes load (intermediate and target training, selection, evaluation)."""
    uses: dict[str, dict[tuple[str, str, str], None]] = {}  # in first-use order; SplitUse made once per use

    def add(task: str, split: str, language: str, purpose: str) -> None:
        uses.setdefault(task, {})[split, language, purpose] = None

    reg = registry()
    for node in plan.nodes.values():
        p = node.params
        if node.stage == "intermediate":
            for info in p["tasks"]:
                spec = reg.task(info["name"]).spec
                add(info["name"], info.get("train_split") or spec.train_split, spec.train_language,
                    "intermediate training")
        elif node.stage == "target":
            # a generation target trains on every pair of its entry (bitext), others on the training language
            langs = p.get("languages") or [reg.task(p["task"]["name"]).spec.train_language]
            for lang in langs:
                add(p["task"]["name"], p["train_split"], lang, "target training")
                add(p["task"]["name"], p["select_split"], lang, "checkpoint selection")
        else:
            for split in p["splits"]:
                add(p["task"]["name"], split, p["language"], "evaluation")
    return {t: [SplitUse(t, *use) for use in u] for t, u in uses.items()}


def _task_sources(plan) -> dict[str, dict[str, Any]]:
    """Per task: its ``{name, version, data, fingerprint}`` as planned (the same for every node)."""
    out: dict[str, dict[str, Any]] = {}
    for node in plan.nodes.values():
        for info in node.params.get("tasks") or [node.params.get("task")]:
            if info:
                out.setdefault(info["name"], info)
    return out


def check_metrics(task_names) -> list[str]:
    """Metric names a task declares but no scorer provides (only for tasks scored by the metric registry)."""
    from harness.metrics import METRICS

    reg = registry()
    problems = []
    for name in sorted(task_names):
        task = reg.task(name)
        if task.score is not None or not getattr(reg.task_type(task.spec.kind), "registry_metrics", False):
            continue
        for metric in task.spec.metrics:
            if metric not in METRICS:
                from harness.core.registry import unknown

                problems.append(f"{name}: metric {metric!r}: {unknown('metric', metric, sorted(METRICS))}")
    return problems


def _verdict_file(output_dir: Path, info: dict[str, Any]) -> Path | None:
    """Where a task's passed splits are remembered (None: data not pinned to content, nothing is cached)."""
    fingerprint = str(info.get("fingerprint") or "")
    if not fingerprint or fingerprint.endswith("@main") or fingerprint.endswith("@None"):
        return None
    blob = f"{VALIDATOR_VERSION}|{info['name']}|{info.get('version')}|{fingerprint}"
    return output_dir / "validated" / f"{info['name']}-{hashlib.sha256(blob.encode()).hexdigest()[:24]}.json"


def _read_verdicts(path: Path | None) -> dict[str, int]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a torn verdict only costs a re-validation
    return {k: int(v) for k, v in (data.get("passed") or {}).items()}


def _write_verdicts(path: Path, info: dict[str, Any], passed: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"task": info["name"], "version": info.get("version"),
                               "fingerprint": info.get("fingerprint"), "validator": VALIDATOR_VERSION,
                               "passed": passed}, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def _data_dir(info: dict[str, Any]) -> Iterator[Path | None]:
    """The folder to read a task's data from: its own, a temporary copy of synthetic data not yet written, or
    None for the hub (at the locked revision)."""
    source = info["data"]
    if source["kind"] == "hub":
        with pinned_source(source):
            yield None
    elif source["kind"] == "synthetic" and not (Path(source["path"]) / SYNTHETIC_MARK).exists():
        with tempfile.TemporaryDirectory(prefix=f"xlt-validate-{info['name']}-") as tmp:
            folder = Path(tmp) / info["name"]
            _write_fixture(info["name"], folder)
            yield folder
    else:
        yield Path(source["path"])


def _line_of(path: Path, n_examples: int, index: int) -> int | None:
    """The line of example ``index`` in a line-oriented file, when the file maps one-to-one onto the examples
    (one example per non-blank line, after at most a header line, or one per blank-separated block)."""
    if path.suffix == ".json":
        return None
    lines = path.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    filled = [i + 1 for i, line in enumerate(lines) if line.strip()]
    if len(filled) in (n_examples, n_examples + 1):
        return filled[index + len(filled) - n_examples]
    starts = [i + 1 for i, line in enumerate(lines) if line.strip() and (i == 0 or not lines[i - 1].strip())]
    return starts[index] if len(starts) == n_examples else None


def _where(use: SplitUse, files: list[Path], examples: list, index: int | None) -> str:
    head = f"{use.task} · split {use.split} · language {use.language} ({use.purpose})"
    if len(files) != 1:
        return head + (f" · files {', '.join(map(str, files))}" if files else "")
    line = _line_of(files[0], len(examples), index) if index is not None else None
    return f"{head} · {files[0]}" + (f":{line}" if line else "")


def _check_task(info: dict[str, Any], uses: list[SplitUse], output_dir: Path) -> list[str]:
    """Problems of one task's planned splits; passed splits are remembered by data fingerprint."""
    reg = registry()
    task = reg.task(info["name"])
    ttype = reg.task_type(task.spec.kind)
    verdict_file = _verdict_file(output_dir, info)
    passed = _read_verdicts(verdict_file)
    todo = [u for u in uses if f"{SplitRef.parse(u.split).name}|{u.language}" not in passed]
    problems: list[str] = []
    if todo:
        with _data_dir(info) as folder:
            for use in todo:
                name = SplitRef.parse(use.split).name
                if f"{name}|{use.language}" in passed:
                    continue
                head = f"{use.task} · split {name} · language {use.language} ({use.purpose})"
                try:
                    examples, files = load_checked(task, name, use.language, folder, head)
                except (DataMissing, DataInvalid) as err:
                    problems.append(str(err) if str(err).startswith(head) else f"{head}: {err}")
                    continue
                found = ttype.validate(examples, task.spec)
                problems += [f"{_where(use, files, examples, p.index)}: {p.message}" for p in found]
                if not found:
                    passed[f"{name}|{use.language}"] = len(examples)
        if verdict_file is not None:
            _write_verdicts(verdict_file, info, passed)
    for use in uses:  # a slice of a valid split may still be empty (``dev[400:600]`` of 300 rows)
        ref, n = SplitRef.parse(use.split), passed.get(f"{SplitRef.parse(use.split).name}|{use.language}")
        if n is not None and not ref.apply(range(n)):
            problems.append(f"{use.task} · split {use.split} · language {use.language} ({use.purpose}): the slice "
                            f"is empty ({ref.name} has {n} examples)")
    return problems


def validate_plan(plan) -> None:
    """Check every split the plan touches (and the metric names its tasks declare) before anything trains;
    raise one :class:`DataInvalid` listing the problems."""
    uses = planned_splits(plan)
    sources = _task_sources(plan)
    problems = check_metrics(uses) + check_models(plan)
    for name in sorted(uses):
        problems += _check_task(sources[name], uses[name], plan.output_dir)
    if problems:
        shown = "\n  ".join(problems[:MAX_SHOWN])
        more = f"\n  … and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        raise DataInvalid(f"validation found {len(problems)} problem(s); nothing was run:\n  {shown}{more}")
