"""The node store's index of verified nodes, ``CACHE/verified.json``: for each node whose files were hashed and
matched its ``DONE``, the stat signature (size, mtime, ctime, inode) of ``DONE`` and of every listed file at that
moment, with what a rerun needs of the ``DONE`` (file names, digest, upstream digests). A later run trusts a node
whose files all still have that signature without reading them again, as git's index does; anything different
(a file edited, touched, replaced, restored or copied: new ctime or inode) and the node is hashed as before.

Sound because every write to a file sets its ctime to the current time, which no user call can set back. An entry
is recorded only when each file's ctime is at least :data:`MARGIN_NS` older than the check: a file changed within
the clock tick of its own last change would keep its ctime ("racily clean" in git), so such a node is simply
hashed again next time. The index is opened only by the driver of a run (:func:`open_index`), never by workers; a
damaged or foreign file is ignored (everything is hashed), and entries lost to a concurrent writer cost a re-hash.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import struct
import time
from pathlib import Path
from typing import Any

from harness.toolkit.filehash import stream_sha256

INDEX = "verified.json"
FORMAT = 1
MARGIN_NS = 2_000_000_000  # coarser than any file system's ctime granularity the cache may live on (FAT: 2 s)
_open: dict[str, Index] = {}


_PACK = struct.Struct("<qqqq").pack


def _pack(st: os.stat_result) -> bytes:
    return _PACK(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _sig(packed: bytes) -> str:
    return hashlib.blake2b(packed, digest_size=8).hexdigest()


class Index:
    """One cache's index: entries by node key, loaded once, new entries written back by :meth:`flush`."""

    def __init__(self, cache_dir: Path | str) -> None:
        self.path = Path(cache_dir) / INDEX
        # entries: key -> "DONE-signature files-signature digest names-id up-key=digest,...", one string per node
        # (it parses several times faster than a list: 200k nodes in about 0.5 s); boards: leaderboard path ->
        # {"stamp", "sha256"} of the last merge
        self.entries, self.names, self.boards = self._read()
        self.pending: dict[str, str] = {}
        self.dropped: set[str] = set()
        self.new_boards: dict[str, dict[str, str]] = {}
        self._names_id = {tuple(n): i for i, n in enumerate(self.names)}

    def _read(self) -> tuple[dict[str, str], list[list[str]], dict[str, dict[str, str]]]:
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("format") == FORMAT and isinstance(data.get("nodes"), dict) and \
                    isinstance(data.get("names"), list) and isinstance(data.get("leaderboards"), dict):
                return data["nodes"], data["names"], data["leaderboards"]
        except (OSError, ValueError, AttributeError):
            pass
        return {}, [], {}

    def trusted(self, key: str, folder: str) -> dict[str, Any] | None:
        """What the node's ``DONE`` says (key, file names, digest, upstream), if every file still has the signature
        it had when last verified; else None (hash it)."""
        entry = self.pending.get(key) or self.entries.get(key)
        if not isinstance(entry, str):
            return None
        stat, pack, base = os.stat, _pack, folder + os.sep
        try:
            done_sig, files_sig, digest, names_id, up = entry.split(" ")
            names = self.names[int(names_id)]
            if _sig(pack(stat(base + "DONE"))) != done_sig:
                return None
            packed = b"".join([pack(stat(base + n)) for n in names])
            upstream = {k: None if d == "-" else d for k, d in (x.split("=") for x in up.split(",") if x)}
        except (OSError, IndexError, TypeError, ValueError):
            return None
        if _sig(packed) != files_sig:
            return None
        return {"key": key, "format": 2, "files": dict.fromkeys(names), "upstream": upstream, "digest": digest}

    def done_unchanged(self, key: str, folder: str) -> bool:
        """Whether the node's ``DONE`` is the very file that was verified (one stat; its other files not looked at)."""
        entry = self.pending.get(key) or self.entries.get(key)
        try:
            return isinstance(entry, str) and _sig(_pack(os.stat(folder + os.sep + "DONE"))) == entry.split(" ", 1)[0]
        except OSError:
            return False

    def note(self, key: str, marker: dict[str, Any], done: os.stat_result, stats: list[tuple]) -> None:
        """Record a node whose files were just hashed and matched: ``stats`` holds ``(name, size, mtime_ns,
        ctime_ns, inode)`` of each file, in ``marker["files"]`` order."""
        names = tuple(marker["files"])
        if [s[0] for s in stats] != list(names) or \
                time.time_ns() - max(done.st_ctime_ns, *(s[3] for s in stats)) < MARGIN_NS:
            return  # a file missing (pruned) or racily new: hash it again next time
        names_id = self._names_id.get(names)
        if names_id is None:
            names_id = self._names_id[names] = len(self.names)
            self.names.append(list(names))
        digest, upstream = marker.get("digest"), marker.get("upstream") or {}
        if not isinstance(digest, str) or not isinstance(upstream, dict):
            return
        up = ",".join(f"{k}={d if isinstance(d, str) else '-'}" for k, d in upstream.items())
        files_sig = _sig(b"".join(_PACK(*s[1:]) for s in stats))
        self.pending[key] = f"{_sig(_pack(done))} {files_sig} {digest} {names_id} {up}"
        self.dropped.discard(key)

    def leaderboard_current(self, path: str, stamp: str) -> bool:
        """Whether the leaderboard at ``path`` is exactly what the last merge with this ``stamp`` wrote (its
        sha256, read now: a file written a moment ago has no trustworthy stat signature)."""
        record = self.new_boards.get(path) or self.boards.get(path)
        if not isinstance(record, dict) or record.get("stamp") != stamp:
            return False
        try:
            return stream_sha256(path) == record.get("sha256")
        except OSError:
            return False

    def note_leaderboard(self, path: str, stamp: str) -> None:
        """Record that the merge with ``stamp`` just wrote the leaderboard at ``path``."""
        try:
            self.new_boards[path] = {"stamp": stamp, "sha256": stream_sha256(path)}
        except OSError:
            pass

    def drop(self, key: str) -> None:
        self.pending.pop(key, None)
        if self.entries.pop(key, None) is not None:
            self.dropped.add(key)

    def flush(self) -> None:
        """Merge new entries into the file (under a lock, atomically): entries of other writers are kept."""
        if not self.pending and not self.dropped and not self.new_boards:
            return
        lock = os.open(self.path.with_name(f".{INDEX}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for stale in self.path.parent.glob(f".{INDEX}.*.tmp"):  # a writer killed mid-write (writers hold the lock)
                stale.unlink(missing_ok=True)
            nodes, names, boards = self._read()
            boards.update(self.new_boards)
            ids = {tuple(n): i for i, n in enumerate(names)}
            remap = {}
            for i, n in enumerate(self.names):
                remap[i] = ids.setdefault(tuple(n), len(names))
                if remap[i] == len(names):
                    names.append(n)
            for key in self.dropped:
                nodes.pop(key, None)
            for key, entry in self.pending.items():
                parts = entry.split(" ")
                parts[3] = str(remap[int(parts[3])])
                nodes[key] = " ".join(parts)
            tmp = self.path.with_name(f".{INDEX}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"format": FORMAT, "names": names, "leaderboards": boards, "nodes": nodes},
                                      separators=(",", ":")))
            os.replace(tmp, self.path)
            self.entries, self.names, self._names_id, self.boards = nodes, names, ids, boards
            self.pending, self.dropped, self.new_boards = {}, set(), {}
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)


def open_index(cache_dir: Path | str) -> Index:
    """The index of ``cache_dir`` for this process (loaded on first use): the driver of a run opens it; then
    :func:`harness.store.integrity.check_node` consults and feeds it."""
    key = os.fspath(cache_dir)
    if key not in _open:
        _open[key] = Index(cache_dir)
    return _open[key]


def index_for(cache_dir: Path | str) -> Index | None:
    """The index of ``cache_dir`` if this process opened it, else None."""
    return _open.get(os.fspath(cache_dir)) if _open else None


def flush(cache_dir: Path | str) -> None:
    index = index_for(cache_dir)
    if index is not None:
        index.flush()


def close_index(cache_dir: Path | str) -> None:
    """Write back and forget the index of ``cache_dir`` (the run that opened it ended)."""
    index = _open.pop(os.fspath(cache_dir), None)
    if index is not None:
        index.flush()
