"""Reading task data (file formats: ``harness.formats``): hub loading, split slices and the zero-shot guard."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPLIT_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?:\[(?P<start>-?\d*):(?P<stop>-?\d*)\])?$")


class DataMissing(FileNotFoundError):
    """A data file is absent; the message names the path and how to get it."""


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


def load_hf(dataset: str, name: str | None, split: str, revision: str | None = None, **kw: Any):
    """Load a split of a Hugging Face dataset (hub id or local folder/files) pinned at ``revision`` (or at the
    locked commit sha of a run, see :func:`pinned_revision`)."""
    import datasets

    revision = (_PINNED.get() or {}).get(dataset, revision)
    return datasets.load_dataset(dataset, name, split=split, revision=revision, **kw)


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
    bad = [e.get("id") for e in examples if e.get("language", allowed) != allowed]
    if bad:
        raise ZeroShotViolation(
            f"{task}: {len(bad)} {purpose} examples are not {allowed!r} (first id {bad[0]!r}); "
            "zero-shot transfer allows only English here"
        )
