"""Reading task data (file formats: ``harness.toolkit.formats``): hub loading, split slices and the zero-shot guard."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPLIT_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?:\[(?P<start>-?\d*):(?P<stop>-?\d*)\])?$")


class DataMissing(FileNotFoundError):
    """A data file is absent; the message names the path and how to get it."""


class DataInvalid(ValueError):
    """A data file cannot be read or its examples break their task kind's layout; the message names the task,
    split, language, file and (where one exists) the line."""


class ZeroShotViolation(AssertionError):
    """A non-English example reached target training or checkpoint selection."""


@dataclass(frozen=True)
class SplitRef:
    """A split name with an optional row slice, written like ``dev[0:300]`` (Hugging Face datasets' syntax)."""

    name: str
    start: int | None = None
    stop: int | None = None

    @classmethod
    def parse(cls, text: str) -> SplitRef:
        m = SPLIT_RE.match(text.strip())
        if not m:
            raise ValueError(f"split {text!r} is not NAME or NAME[START:STOP] (e.g. 'dev[0:300]')")
        conv = lambda s: int(s) if s not in (None, "") else None  # noqa: E731
        return cls(m["name"], conv(m["start"]), conv(m["stop"]))

    def apply(self, rows: list) -> list:
        return rows if self.start is None and self.stop is None else rows[self.start : self.stop]

    def __str__(self) -> str:
        if self.start is None and self.stop is None:
            return self.name
        return f"{self.name}[{'' if self.start is None else self.start}:{'' if self.stop is None else self.stop}]"


def check_split(task: str, split: str, allowed) -> None:
    """Refuse a split name the task does not have, listing the ones it has."""
    if split not in allowed:
        raise DataMissing(f"{task}: unknown split {split!r}; allowed: {', '.join(allowed)}")


def load_with_subfolders(load_dir, split: str, language: str, data_dir: Path | None,
                         subfolders: tuple[str, ...]) -> list[dict]:
    """``load_dir(split, language, data_dir)``; when ``data_dir`` lacks the files, try its sub-folders that hold
    another layout (e.g. XTREME's processed files in ``xtreme/`` beside the official release)."""
    try:
        return load_dir(split, language, data_dir)
    except DataMissing:
        if data_dir is None:
            raise
        for sub in subfolders:
            if (Path(data_dir) / sub).is_dir():
                try:
                    return load_dir(split, language, Path(data_dir) / sub)
                except DataMissing:
                    continue
        raise


# Hub dataset id -> the commit sha the plan resolved it to (lock file), set around a task's loader.
_PINNED: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("pinned_revisions", default=None)


@contextlib.contextmanager
def pinned_revision(dataset: str, revision: str | None) -> Iterator[None]:
    """Within this block :func:`load_hf` reads hub ``dataset`` at ``revision`` whatever its caller asks for."""
    current = _PINNED.get() or {}
    token = _PINNED.set({**current, dataset: revision} if revision else current)
    try:
        yield
    finally:
        _PINNED.reset(token)


@contextlib.contextmanager
def pinned_source(source: dict[str, Any]) -> Iterator[None]:
    """Pin a planned hub source: its dataset and every helper dataset (``source["helpers"]``) at their locked shas."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(pinned_revision(source["dataset"], source.get("revision")))
        for helper, rev in (source.get("helpers") or {}).items():
            stack.enter_context(pinned_revision(helper, rev))
        yield


class HubRead(dict):
    """What a loader asked :func:`load_hf` for (dataset, name, split, revision, data_files); see :func:`recording_hub_reads`."""


_RECORD: contextvars.ContextVar[list[HubRead] | None] = contextvars.ContextVar("hub_reads", default=None)


@contextlib.contextmanager
def recording_hub_reads() -> Iterator[list[HubRead]]:
    """Within this block :func:`load_hf` reads nothing: it records each request and returns no rows (the preflight
    learns which repo, config, split and files a task's loader needs without downloading them)."""
    reads: list[HubRead] = []
    token = _RECORD.set(reads)
    try:
        yield reads
    finally:
        _RECORD.reset(token)


FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def load_hf(dataset: str, name: str | None, split: str, revision: str | None = None,
            data_files: Any = None, **kw: Any):
    """Load a split of a Hugging Face dataset (hub id or local folder/files) pinned at ``revision`` (or at the
    locked commit sha of a run, see :func:`pinned_revision`).

    ``data_files`` (a glob inside the repo, e.g. ``MLQA.de.de/validation-*.parquet``) reads those Parquet files of
    the repo at the revision directly (``hf://datasets/ID@REV/GLOB``), never its loading script: the way to read
    a converted commit of a repo whose script ``datasets`` >= 4 refuses. Inside a planned run (a pin is active) a
    hub dataset that the plan did not lock is refused: declare it in the task's ``hf_helpers``."""
    import datasets

    pins = _PINNED.get()
    revision = (pins or {}).get(dataset, revision)
    if _RECORD.get() is not None:
        _RECORD.get().append(HubRead(dataset=dataset, name=name, split=split, revision=revision,
                                     data_files=data_files))
        return []
    if pins is not None and dataset not in pins and not (revision and FULL_SHA.match(revision)) \
            and not Path(dataset).exists() and "/" in dataset:  # a hub id (not a packaged builder like "parquet")
        raise DataMissing(f"hub dataset {dataset} is read by the task's loader but not locked by the plan (it would "
                          f"be read at {revision or 'main'}); declare it in the task's hf_helpers so the lock file "
                          "pins it, or give a local folder of the task's files")
    try:
        if isinstance(data_files, str):
            rev = revision or "main"
            url = f"hf://datasets/{dataset}@{rev.replace('/', '%2F')}/{data_files}"
            return datasets.load_dataset("parquet", data_files={split: url}, split=split, **kw)
        if data_files is not None:  # the caller's own files (a dict or list), passed through as before
            kw["data_files"] = data_files
        return datasets.load_dataset(dataset, name, split=split, revision=revision, **kw)
    except OSError as err:  # offline, unreachable, or not on the hub: one line, not a traceback
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") else ""
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DataMissing(f"hub dataset {dataset}{f' ({name})' if name else ''} split {split!r} at "
                          f"{revision or 'main'} cannot be loaded{offline}: {first}. Give a local folder of the "
                          "task's files instead, or load it once online so it is cached") from None


def fingerprint_paths(paths: Iterable[Path]) -> str:
    """sha256 over the relative names and contents of files (folders are walked in sorted order)."""
    h = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for f in files:
            if not f.exists():
                continue
            h.update(str(f.relative_to(root) if root.is_dir() else f.name).encode())
            _hash_into(h, f)
    return h.hexdigest()


def _hash_into(h: Any, path: Path) -> None:
    """Feed a file's bytes to the hash ``h`` in 1 MiB chunks."""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's contents."""
    h = hashlib.sha256()
    _hash_into(h, path)
    return h.hexdigest()


def guard_zero_shot(examples: list[dict], language: str, task: str, allowed: str = "en", purpose: str = "training") -> None:
    """Refuse non-English data for target training or checkpoint selection (the zero-shot protocol)."""
    if language != allowed:
        raise ZeroShotViolation(
            f"{task}: {purpose} data in language {language!r}; zero-shot transfer allows only {allowed!r} here"
        )
    bad = [e.get("id") for e in examples if e.get("language") != allowed]  # no language: refused too
    if bad:
        raise ZeroShotViolation(
            f"{task}: {len(bad)} {purpose} examples are not {allowed!r} (first id {bad[0]!r}); "
            "zero-shot transfer allows only English here (and an example must say its 'language')"
        )


# ---- reading a split with the files it read named on failure -------------------------------------------------
_READS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("files_read", default=None)
_HOOKED = False


def _audit(event: str, args: tuple) -> None:
    if event == "open":
        reads = _READS.get()
        if reads is not None and isinstance(args[0], (str, os.PathLike)):
            reads.append(os.fspath(args[0]))


@contextlib.contextmanager
def recording_reads() -> Iterator[list[str]]:
    """Within this block, every file the process opens is appended to the yielded list (Python's ``open``
    audit event, so any loader is covered, however it reads its files)."""
    global _HOOKED
    if not _HOOKED:  # an audit hook cannot be removed: one, idle outside this block
        sys.addaudithook(_audit)
        _HOOKED = True
    reads: list[str] = []
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def data_files(reads: list[str], root: Path | None) -> list[Path]:
    """The distinct files under ``root`` among ``reads``, in first-read order."""
    if root is None:
        return []
    root = Path(root).resolve()
    out: dict[Path, None] = {}
    for r in reads:
        path = Path(r).resolve()
        if path.is_file() and path.is_relative_to(root):
            out.setdefault(path)
    return list(out)


def load_checked(task, split: str, language: str, data_dir: Path | None, where: str) -> tuple[list[dict], list[Path]]:
    """``task.load(...)`` and the data files it read; any failure but a missing file becomes one
    :class:`DataInvalid` that starts with ``where`` and names the files (never a bare ``IndexError``)."""
    with recording_reads() as reads:
        try:
            examples = task.load(split=split, language=language, data_dir=data_dir)
        except DataMissing:
            raise
        except Exception as err:  # a loader meeting a truncated, empty, non-UTF-8 or half-written file
            files = data_files(reads, data_dir)
            named = ", ".join(map(str, files)) or (str(data_dir) if data_dir is not None else "the hub copy")
            if any(str(f) in str(err) for f in files):  # the reader named the file (harness.toolkit.formats does)
                text = str(err)
            elif isinstance(err, UnicodeDecodeError) and len(files) == 1:
                text = f"{files[0]}{_bad_utf8_line(files[0])}: not UTF-8; re-save the file as UTF-8"
            else:
                text = f"reading {named}: {type(err).__name__}: {err}"
            raise DataInvalid(f"{where}: {text}") from err
    if not isinstance(examples, list):
        raise DataInvalid(f"{where}: the task's loader returned a {type(examples).__name__}, not a list of examples")
    return examples, data_files(reads, data_dir)


def _bad_utf8_line(path: Path) -> str:
    """``:LINE`` of the first byte of ``path`` that is not UTF-8 ("" when it decodes)."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return f":{line}"
    return ""
