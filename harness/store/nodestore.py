"""The node store: a content-addressed cache of finished nodes, and how a node's integrity is checked.

Layout (``cache_dir``, shareable by many matrices and workers, on one machine or a shared file system)::

    nodes/KEY/        a finished node: its outputs, node.json, summary.json and DONE (written last)
    tmp/KEY.PID.RAND/ a node being written; renamed to nodes/KEY only when complete
    locks/KEY.lock    flock held while a worker runs KEY: one writer per node across processes and hosts
    failed/KEY.json   the error and traceback of the last failed attempt (removed when the node succeeds)

A node counts as finished only if ``nodes/KEY/DONE`` names KEY and every file it lists has the recorded size
(cheap: what ``matrix status`` checks); its files' sha256 are checked when they are used (``harness.store.integrity``).
Anything else found at ``nodes/KEY`` is stale and is removed, never trusted. Orphaned ``tmp/`` folders (their
node lock is free) are removed at the next run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.store.events import ensure_dir
from harness.store.integrity import DONE, manifest, quick_check  # noqa: F401 - DONE and manifest are re-exported

if TYPE_CHECKING:
    from harness.run.context import Context


def failed_path(ctx: Context, key: str) -> Path:
    return ctx.cache_dir / "failed" / f"{key}.json"


def lock_path(ctx: Context, key: str) -> Path:
    return ctx.cache_dir / "locks" / f"{key}.lock"


def is_done(ctx: Context, key: str) -> bool:
    """True only for a complete node: DONE (with content hashes) names ``key``, every listed file has its size."""
    return quick_check(ctx.node_dir(key), key) is None


@contextlib.contextmanager
def node_lock(ctx: Context, key: str) -> Iterator[None]:
    """Hold the node's exclusive lock (blocks while another worker, anywhere, is running it)."""
    path = lock_path(ctx, key)
    ensure_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    locked = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            locked = True
        except OSError as err:  # a file system without flock (e.g. Lustre mounted without it): go on unlocked
            if err.errno not in (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK, errno.EINVAL):
                raise
        yield
    finally:
        if locked:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def is_running(ctx: Context, key: str) -> bool:
    """Whether some worker holds the node's lock right now (probed without blocking)."""
    path = lock_path(ctx, key)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        return err.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


# The names execute.py gives its work folders and the stale node folders it moves aside (node keys: 20 hex digits).
OWN_TMP = re.compile(r"[0-9a-f]{20}\.(?:[0-9]+|stale)\.[0-9a-f]{8}")


def cleanup_tmp(ctx: Context, busy: Callable[[str], bool] | None = None) -> int:
    """Remove partial node folders left by killed workers (their node lock is free and ``busy(key)``, e.g. a
    live heartbeat, is false); returns how many. Only folders named as the harness names them
    (``KEY.PID.HEX`` work folders, ``KEY.stale.HEX`` trash) are touched: anything else in ``tmp/`` is not ours."""
    tmp = ctx.cache_dir / "tmp"
    removed = 0
    if not tmp.is_dir():
        return 0
    for path in tmp.iterdir():
        if not OWN_TMP.fullmatch(path.name) or path.is_symlink() or not path.is_dir():
            continue
        key = path.name.split(".", 1)[0]
        if not is_running(ctx, key) and not (busy is not None and busy(key)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def write_json_atomic(path: Path, data: Any) -> None:
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def read_failure(ctx: Context, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(failed_path(ctx, key).read_text())
    except (OSError, ValueError):
        return None
