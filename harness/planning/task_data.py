"""A task's data at run time: synthetic smoke data written on first use, and the examples of one split.

Planning never writes here: it only fingerprints (:func:`source_fingerprint`); the data is written when a run
needs it (before a run, and by :func:`load_split` in any worker), atomically, so
concurrent workers and matrices sharing an output folder see no folder or a complete one.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from harness.core.registry import registry
from harness.planning.config import ConfigError
from harness.toolkit.data import SplitRef, fingerprint_paths, load_checked, pinned_source

SYNTHETIC_MARK = "SYNTHETIC.md"


def _write_fixture(task: str, folder: Path) -> None:
    t = registry().task(task)
    if t.fixture is None:
        raise ConfigError(f"data.{task}: task {task!r} has no synthetic smoke data; point it at a folder of files")
    t.fixture(data_dir=folder)


def foreign_data(path: Path) -> bool:
    """Whether ``path`` holds something the harness did not write as synthetic data (a folder without the
    :data:`SYNTHETIC_MARK` that is not empty, or a file): synthetic data never replaces it."""
    if (path / SYNTHETIC_MARK).exists():
        return False
    if path.is_symlink() or path.is_file():
        return True
    return path.is_dir() and any(path.iterdir())


def refuse_foreign(path: Path, task: str) -> None:
    """Raise :class:`ConfigError` (one line) where synthetic data for ``task`` would replace files at ``path``."""
    if foreign_data(path):
        raise ConfigError(f"data.{task}: synthetic, but {path} holds files the harness did not write (no "
                          f"{SYNTHETIC_MARK}); nothing was replaced. Point data.{task} at that folder to use them, or "
                          "move them away, or choose another output_dir")


def prepare_data(source: dict[str, Any], task: str) -> None:
    """Write synthetic smoke data on first use (the task's own fixture in its official layout); idempotent.
    Never replaces a folder it did not write (see :func:`refuse_foreign`)."""
    if source["kind"] != "synthetic":
        return
    path = Path(source["path"])
    if (path / SYNTHETIC_MARK).exists():
        return
    refuse_foreign(path, task)
    # Written aside and renamed into place: a half-written folder would be trained on (and fingerprinted).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_fixture(task, tmp)
    if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):  # an empty folder: take its place
        path.rmdir()
    try:
        os.rename(tmp, path)
    except OSError:  # another process put a complete copy there first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


@functools.lru_cache(maxsize=256)
def _synthetic_fingerprint(task: str, version: str) -> str:
    """Fingerprint of a task's synthetic data, written to a throw-away folder (fixtures are seeded: the same
    bytes as the copy a run writes later)."""
    with tempfile.TemporaryDirectory(prefix=f"xlt-fixture-{task}-") as tmp:
        folder = Path(tmp) / task
        _write_fixture(task, folder)
        return fingerprint_paths([folder])


def source_fingerprint(source: dict[str, Any], task: str) -> str:
    """The identity of a task's data (part of every node key), computed without writing into the output folder."""
    if source["kind"] == "hub":
        return f"hub:{source['dataset']}@{source['revision'] or 'main'}"
    if source.get("missing"):  # matrix plan --before-download only
        return f"missing:{source['path']}"
    path = Path(source["path"])
    if source["kind"] == "synthetic" and not (path / SYNTHETIC_MARK).exists():
        return "sha256:" + _synthetic_fingerprint(task, registry().task(task).spec.version)
    return "sha256:" + fingerprint_paths([path])


def load_split(task_info: dict[str, Any], split: str, language: str) -> list[dict]:
    """Examples of ``split`` (``name`` or ``name[a:b]``) in ``language`` from the task's configured source."""
    ref = SplitRef.parse(split)
    task = registry().task(task_info["name"])
    source = task_info["data"]
    prepare_data(source, task_info["name"])
    where = f"{task_info['name']} · split {ref.name} · language {language}"  # a broken file is named, never a bare IndexError
    if source["kind"] == "hub":  # exactly the revision the plan resolved (the lock file's)
        with pinned_source(source):
            examples, _ = load_checked(task, ref.name, language, None, where)
    else:
        examples, _ = load_checked(task, ref.name, language, Path(source["path"]), where)
    return ref.apply(examples)
