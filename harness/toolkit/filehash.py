"""Full-content sha256 of files, computed once per version of a file and remembered across processes.

Local model weights are part of every node key, and the lock records them: a fingerprint from a file's size and
its first and last MiB let weights that differ only in their middle layers reuse results of the old ones. Every
byte is hashed now (streamed, 1 MiB chunks); the digest is remembered in ``hashes.json`` under the user's cache
folder, keyed by the file's real path and its (device, inode, size, mtime, ctime). ctime cannot be set from user
space: a file rewritten in place, replaced by a copy, or touched back to its old mtime (``touch -r``, ``cp -p``,
``rsync -t``) gets a new ctime, so a remembered digest is reused only for the very same, untouched file.

``XLT_HARNESS_HASH_CACHE`` names another cache file; ``off`` keeps digests in the process only.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from pathlib import Path

ENV = "XLT_HARNESS_HASH_CACHE"
MAX_ENTRIES = 20_000
_MEMO: dict[str, tuple[list[int], str]] = {}
_LOCK = threading.Lock()
_loaded: str | None = None


def cache_file() -> Path | None:
    """Where digests are remembered across processes (None: in this process only)."""
    env = os.environ.get(ENV)
    if env == "off":
        return None
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xlt-harness" / "hashes.json"


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _load(path: Path | None) -> None:
    global _loaded
    name = str(path)
    if _loaded == name:
        return
    _MEMO.clear()
    _loaded = name
    if path is None:
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # missing or damaged: it is only a cache, every digest is recomputed
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, list) and len(v) == 2 and isinstance(v[0], list) and isinstance(v[1], str):
                _MEMO[k] = (v[0], v[1])


def _save(path: Path | None) -> None:
    if path is None:
        return
    items = list(_MEMO.items())[-MAX_ENTRIES:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps({k: [ident, digest] for k, (ident, digest) in items}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: digests stay in this process


def stream_sha256(path: Path) -> str:
    """sha256 hex digest of every byte of ``path`` (1 MiB chunks; nothing is remembered)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """sha256 hex digest of the whole file, reused only while the file is untouched (see the module's doc)."""
    real = os.path.realpath(path)
    st = os.stat(real)
    ident = _identity(st)
    store = cache_file()
    with _LOCK:
        _load(store)
        hit = _MEMO.get(real)
        if hit is not None and hit[0] == ident:
            return hit[1]
    digest = stream_sha256(Path(real))
    if _identity(os.stat(real)) != ident:  # changed while being read: never remember a torn digest
        return digest
    with _LOCK:
        _load(store)
        _MEMO.pop(real, None)
        _MEMO[real] = (ident, digest)
        _save(store)
    return digest
