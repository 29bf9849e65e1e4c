"""The cache's event log (``cache_dir/events.jsonl``): which run this process belongs to, and one JSON line per
run start/end and node start/finish/failed/cached/skipped/stale, appended whole under a lock."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.planning.plan import Node
    from harness.run.context import Context

EVENTS = "events.jsonl"
HOST = socket.gethostname()

_run_id: str | None = None
_made_dirs: set[str] = set()


def ensure_dir(path: Path) -> Path:
    """``mkdir -p`` once per process and folder (a big run would otherwise spend its time in mkdir calls)."""
    key = str(path)
    if key not in _made_dirs:
        Path(path).mkdir(parents=True, exist_ok=True)
        _made_dirs.add(key)
    return Path(path)


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def current_run() -> str | None:
    return _run_id


def set_run(run_id: str | None) -> None:
    """Name the run that events of this process belong to (workers get it from the driver)."""
    global _run_id
    if run_id != _run_id:
        _made_dirs.clear()  # folders may have been removed between runs
    _run_id = run_id


def event(node: Node | None, name: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"time": time.time(), "event": name, "run": _run_id}
    if node is not None:
        record.update(node=node.key, stage=node.stage, label=node.label)
    record.update(host=HOST, pid=os.getpid(), **extra)
    return record


def append_events(cache_dir: Path, records: list[dict[str, Any]]) -> None:
    """Append complete lines in one ``write`` under an exclusive lock. No fsync: the log describes the cache, it
    is not what makes a node trusted (the DONE manifest is), and an fsync per event would dominate a big run."""
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    path = ensure_dir(Path(cache_dir)) / EVENTS
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":  # a writer was killed mid-line: start a fresh line
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def log_event(ctx: Context, node: Node | None, name: str, **extra: Any) -> None:
    """Append one event (complete line, under a lock) to ``cache_dir/events.jsonl``."""
    append_events(ctx.cache_dir, [event(node, name, **extra)])


_warned: set[tuple[str, int]] = set()


def _lines_with(data: bytes, names: tuple[str, ...]) -> list[bytes]:
    """The lines of ``data`` that record an event named in ``names`` (found by bytes search, not parsed)."""
    lines = []
    for name in names:
        needle, pos = f'"event": {json.dumps(name)}'.encode(), 0
        while (hit := data.find(needle, pos)) >= 0:
            start, end = data.rfind(b"\n", 0, hit) + 1, data.find(b"\n", hit)
            end = len(data) if end < 0 else end
            lines.append((start, data[start:end]))
            pos = end
    return [line for _, line in sorted(lines)]


def read_events(cache_dir: Path, only: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Every event of the log (``only``: just those of these names, found without parsing the rest); a line that
    is not a JSON object (torn by a kill during an append) is skipped with one warning line on stderr naming the
    file and line number."""
    path = Path(cache_dir) / EVENTS
    if not path.exists():
        return []
    with open(path, "rb") as fh:
        data = fh.read()
    if only is not None:
        out = []
        for raw in _lines_with(data, only):
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # a torn line: the full read names it
            if isinstance(record, dict) and record.get("event") in only:
                out.append(record)
        return out
    lines = [raw for raw in data.split(b"\n") if raw.strip()]
    try:  # one parse for the whole log (a big run's log has a million lines); any bad line: line by line
        out = json.loads(b"[" + b",".join(lines) + b"]")
        if len(out) == len(lines) and all(isinstance(r, dict) for r in out):
            return out
    except ValueError:
        pass
    out = []
    lineno = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            if isinstance(record, dict):
                out.append(record)
            elif (str(path), lineno) not in _warned:
                _warned.add((str(path), lineno))
                print(f"warning: {path}: line {lineno} is not a complete event (torn write?); skipped",
                      file=sys.stderr)
    return out


def last_event_about(cache_dir: Path, keys: set[str] | dict[str, Any], chunk: int = 1 << 20) -> dict[str, Any] | None:
    """The newest event about one of the nodes ``keys``, read backwards from the end of the log (None if none)."""
    path = Path(cache_dir) / EVENTS
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        end, rest = os.fstat(fd).st_size, b""
        while end > 0:
            start = max(0, end - chunk)
            lines = (os.pread(fd, end - start, start) + rest).split(b"\n")
            rest = lines.pop(0) if start > 0 else b""  # maybe a partial line: joined to the next chunk
            for raw in reversed(lines):
                if raw.strip():
                    try:
                        record = json.loads(raw)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and record.get("node") in keys:
                        return record
            end = start
        return None
    finally:
        os.close(fd)
