"""Who is alive: heartbeat files written by running nodes and drivers, owner liveness, and the last resume
checkpoint of a training node — what lets ``matrix status`` tell *running* from *interrupted*.

``cache_dir/heartbeats/NAME.json`` holds ``{"pid", "host", "started", "time", "interval"}``, rewritten every
``interval`` seconds (default 30, ``XLT_HARNESS_HEARTBEAT_S``) by a thread of the owner and removed when it ends.
An owner on this host is alive while its pid is (and is the same process: same start time); on another host,
while its heartbeat is younger than three intervals. A file left by a killed owner is stale, never "running".
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from harness.store.events import HOST
from harness.store.nodestore import write_json_atomic

INTERVAL_ENV = "XLT_HARNESS_HEARTBEAT_S"


def interval_s() -> float:
    return float(os.environ.get(INTERVAL_ENV) or 30.0)


def heartbeat_path(cache_dir: Path, name: str) -> Path:
    return Path(cache_dir) / "heartbeats" / f"{name}.json"


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc``; None where unavailable): tells a live
    owner from a new process that reuses its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def pid_alive(pid: int, started: str | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    if started is None:
        return True
    now = process_start(pid)
    return now is None or now == started


def owner_alive(record: dict[str, Any] | None, now: float | None = None) -> bool:
    """Whether the process that wrote ``record`` (a heartbeat, or an event with pid and host) still runs."""
    if not record or not record.get("pid"):
        return False
    if record.get("host") == HOST:
        return pid_alive(int(record["pid"]), record.get("started"))
    interval = float(record.get("interval") or interval_s())
    return (now or time.time()) - float(record.get("time") or 0) < 3 * interval


def read_heartbeat(cache_dir: Path, name: str) -> dict[str, Any] | None:
    try:
        data = json.loads(heartbeat_path(cache_dir, name).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Heartbeat:
    """``with Heartbeat(cache_dir, name, **info):`` keeps ``heartbeats/NAME.json`` fresh while the block runs."""

    def __init__(self, cache_dir: Path, name: str, **info: Any) -> None:
        self.path = heartbeat_path(cache_dir, name)
        self.interval = interval_s()
        self.record = {"pid": os.getpid(), "host": HOST, "started": process_start(os.getpid()),
                       "interval": self.interval, **info}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        write_json_atomic(self.path, {**self.record, "time": time.time()})

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except OSError:  # a full or vanished disk must not kill the node; status falls back to the lock
                pass

    def __enter__(self) -> Heartbeat:
        self.beat()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat {self.path.stem}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.path.unlink(missing_ok=True)


HEARTBEAT_KEYS = {"pid", "host", "started", "time", "interval"}


def cleanup_heartbeats(cache_dir: Path) -> int:
    """Remove heartbeat files whose owner is gone; returns how many. Only files that hold a heartbeat as the
    harness writes it (``pid``, ``host``, ``started``, ``time``, ``interval``) are touched: anything else is not ours."""
    folder = Path(cache_dir) / "heartbeats"
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.glob("*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or not HEARTBEAT_KEYS <= set(record) or path.is_symlink():
            continue
        if not owner_alive(record):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def checkpoint_step(cache_dir: Path, key: str) -> int | None:
    """Step of a training node's newest resume checkpoint (``cache_dir/resume/KEY``): ``latest.json``'s
    ``{"step": N}`` if present, else the newest complete ``ckpt-N`` folder; None when there is none or it is
    unreadable."""
    folder = Path(cache_dir) / "resume" / key
    try:
        step = json.loads((folder / "latest.json").read_text()).get("step")
        if isinstance(step, int) and not isinstance(step, bool):
            return step
    except (OSError, ValueError, AttributeError):
        pass
    try:
        steps = [int(m.group(1)) for p in folder.iterdir()
                 if (m := re.fullmatch(r"ckpt-(\d+)", p.name)) and (p / "state.json").exists()]
    except OSError:
        return None
    return max(steps) if steps else None
