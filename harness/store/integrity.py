"""Content checks of cached nodes: the sha256 of every file in a node's ``DONE`` manifest, verified when the node's
outputs are about to be used (a downstream node loads them, or its rows are reported), never on ``matrix status``.

``DONE`` (format 2) holds ``{"key", "format": 2, "hash": "sha256", "files": {name: {"size", "sha256"}},
"upstream": {key: digest}, "digest"}``: ``digest`` hashes the file list (it names this exact content of the node)
and ``upstream`` the digests of the nodes it was computed from, so a redone upstream node makes it stale. A ``DONE``
without hashes (written by an older harness) is stale: the node is redone, never trusted by size alone.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.store.events import current_run, log_event
from harness.store.verified import index_for

if TYPE_CHECKING:
    from harness.planning.plan import Node
    from harness.run.context import Context

DONE = "DONE"
PRUNED = "PRUNED"  # written by harness.store.prune: the DONE-listed weight files deleted on purpose, with their hashes
PRUNE_REASON = "deleted by `harness matrix prune`"
FORMAT = 2
HASH = "sha256"
_CHUNK = 1 << 20
_verified: dict[tuple[str | None, str], int] = {}  # (run, folder) -> hash of the stat signature of a verified node


def _read_fd(fd: int, size: int) -> bytes:
    """All of an open file of (about) ``size`` bytes, in as few ``read`` calls as it takes."""
    parts = [os.read(fd, size + 1)]
    while parts[-1]:
        parts.append(os.read(fd, max(size, _CHUNK)))
    return b"".join(parts)


def _sha256_fd(fd: int, size: int) -> str:
    if size <= _CHUNK:  # small files (rows, summaries, DONE): one read, no 256 KiB buffer per file
        return hashlib.sha256(_read_fd(fd, size)).hexdigest()
    h, offset = hashlib.sha256(), 0  # (hashlib.file_digest is Python 3.11+)
    while chunk := os.pread(fd, _CHUNK, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


def hash_file(path: Path | str, fd: int | None = None, size: int | None = None) -> str:
    """sha256 of the file at ``path`` (read through ``fd`` of ``size`` bytes when the caller has it open)."""
    if fd is not None:
        return _sha256_fd(fd, os.fstat(fd).st_size if size is None else size)
    fd = os.open(path, os.O_RDONLY)
    try:
        return _sha256_fd(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file under ``folder`` by relative name, in one pass over the finished folder
    (just written, so read back from the page cache)."""
    return {str(p.relative_to(folder)): {"size": p.stat().st_size, HASH: hash_file(p)}
            for p in sorted(folder.rglob("*")) if p.is_file()}


def files_digest(files: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def load_marker(folder: Path | str) -> tuple[dict[str, Any] | None, os.stat_result | None]:
    """A node's ``DONE`` (None if absent or unreadable) and its stat, in one open."""
    try:
        fd = os.open(os.path.join(folder, DONE), os.O_RDONLY)
    except OSError:
        return None, None
    try:
        st = os.fstat(fd)
        marker = json.loads(_read_fd(fd, st.st_size))
    except (OSError, ValueError):
        return None, None
    finally:
        os.close(fd)
    return (marker, st) if isinstance(marker, dict) else (None, None)


def read_marker(folder: Path) -> dict[str, Any] | None:
    return load_marker(folder)[0]


def node_digest(ctx: Context, key: str) -> str | None:
    marker = read_marker(ctx.node_dir(key))
    return marker.get("digest") if marker else None


def inputs(node: Node) -> list[str]:
    """Keys of the nodes whose outputs ``node`` reads: its dependencies and the checkpoints its params name."""
    refs = [node.params.get(k) for k in ("upstream", "trained")]
    return list(dict.fromkeys([*node.deps, *(r for r in refs if isinstance(r, str))]))


def write_marker(ctx: Context, node: Node, work: Path) -> None:
    """Write ``work/DONE`` last: the content hashes of every file and the digests of the input nodes."""
    files = manifest(work)
    upstream = {k: node_digest(ctx, k) for k in inputs(node)}
    (work / DONE).write_text(json.dumps({"key": node.key, "format": FORMAT, "hash": HASH, "files": files,
                                         "upstream": upstream, "digest": files_digest(files)}))


def pruned_names(folder: Path) -> set[str]:
    """Names of the files ``harness matrix prune`` deleted from the finished node at ``folder`` (empty if none)."""
    try:
        record = json.loads((Path(folder) / PRUNED).read_text())
    except (OSError, ValueError):
        return set()
    files = record.get("files") if isinstance(record, dict) else None
    return set(files) if isinstance(files, dict) else set()


def node_folder(ctx: Context, key: str) -> str:
    """``str(ctx.node_dir(key))`` without building a Path (a big cached rerun asks for it a million times)."""
    return os.path.join(os.fspath(ctx.cache_dir), "nodes", key)


def _marker_problem(marker: dict[str, Any] | None, key: str) -> str | None:
    if marker is None:
        return "no DONE marker"
    if marker.get("key") != key:
        return "DONE names another node"
    if marker.get("format") != FORMAT or not isinstance(marker.get("files"), dict):
        return "DONE has no content hashes (written by an older harness)"
    return None


def _entry(name: str, st: os.stat_result) -> tuple:
    return (name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _scan(folder: str, key: str, marker: dict[str, Any] | None, hashes: bool) -> tuple[str | None, str | None, list]:
    """One pass over a node's listed files: (why it is not complete, why its content does not match, the stat
    signature). ``hashes``: read and hash every file in the same pass (else the content is not looked at)."""
    problem = _marker_problem(marker, key)
    if problem is not None:
        return problem, None, []
    pruned: set[str] | None = None
    gone: list[str] = []
    sig: list = []
    bad = None
    for name, info in marker["files"].items():
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY) if hashes else None
            st = os.fstat(fd) if fd is not None else os.stat(path)
        except FileNotFoundError:
            pruned = pruned_names(Path(folder)) if pruned is None else pruned
            if name not in pruned:
                return f"{name}: missing", None, []
            gone.append(name)
            continue
        except (OSError, TypeError, ValueError):
            return f"{name}: missing", None, []
        try:
            if st.st_size != info["size"]:
                return f"{name}: size differs from DONE", None, []
            sig.append(_entry(name, st))
            if fd is not None and bad is None and hash_file(path, fd, st.st_size) != info.get(HASH):
                bad = name
        except (OSError, TypeError, KeyError):
            return f"{name}: missing", None, []
        finally:
            if fd is not None:
                os.close(fd)
    if gone:
        return None, f"{sorted(gone)[0]}: {PRUNE_REASON} (the node is redone for a node that reads it)", sig
    if bad is not None:
        return None, f"{bad}: content differs from its sha256 in DONE", sig
    if hashes and files_digest(marker["files"]) != marker.get("digest"):
        return None, "DONE digest does not match its file list", sig
    return None, None, sig


def quick_check(folder: Path, key: str) -> str | None:
    """Why the node at ``folder`` is not complete (None if it is), from its ``DONE`` and file sizes only. A file
    listed in ``PRUNED`` may be absent: the node is finished, its weights were deleted on purpose (whoever
    needs them verifies the node, which then fails and the node is redone)."""
    return _scan(str(folder), key, read_marker(folder), hashes=False)[0]


def check_node(ctx: Context, key: str, hashes: bool = False,
               verified: bool = True) -> tuple[bool, str | None, dict[str, Any] | None]:
    """(finished, why its files do not match their ``DONE`` hashes, its ``DONE``): :func:`quick_check` and
    :func:`verify` in one read of ``DONE``. ``hashes``: read and hash each file in the pass that checks its size
    (for a node sure to be verified: one open per file instead of a stat and an open); ``content=False``: the
    quick check only (the second value is then the quick check's problem). Where the driver opened the store's
    index (:mod:`harness.store.verified`), a node whose files are unchanged since they were last hashed is
    trusted from it, and a node hashed here is added to it."""
    folder = node_folder(ctx, key)
    index = index_for(ctx.cache_dir)
    if index is not None:
        trusted = index.trusted(key, folder)
        if trusted is not None:
            return True, None, trusted
    return _check_files(key, folder, index, hashes, verified)


def _check_files(key: str, folder: str, index: Any, hashes: bool,
                 verified: bool) -> tuple[bool, str | None, dict[str, Any] | None]:
    """:func:`check_node` past the index: its ``DONE`` read, its files checked (and hashed), the index fed."""
    marker, st = load_marker(folder)
    memo = (current_run(), folder)
    problem, content, sig = _scan(folder, key, marker, hashes=hashes)
    if problem is not None or not verified:
        return problem is None, problem, marker
    if content is None and not hashes:
        if _verified.get(memo) == hash((_entry(DONE, st), *sig)):
            return True, None, marker
        problem, content, sig = _scan(folder, key, marker, hashes=True)
        content = problem or content
    if content is None:
        _verified[memo] = hash((_entry(DONE, st), *sig))
        if index is not None:
            index.note(key, marker, st, sig)
    return True, content, marker


def verify(ctx: Context, key: str) -> str | None:
    """Why the node's files do not match their ``DONE`` hashes (None if they all do): ``FILE: content differs``.

    A node verified once in this run is not hashed again unless one of its files changed (size, times, inode)."""
    return check_node(ctx, key)[1]


def stale_upstream(ctx: Context, node: Node, marker: dict[str, Any] | None = None,
                   digest_of: Callable[[str], str | None] | None = None, keys: list[str] | None = None) -> str | None:
    """Why ``node``'s cached outputs were computed from other versions of its inputs (None if not); ``keys``:
    its :func:`inputs`, when the caller has them."""
    marker = (read_marker(ctx.node_dir(node.key)) or {}) if marker is None else marker
    digest_of = digest_of or (lambda k: node_digest(ctx, k))
    recorded = marker.get("upstream") or {}
    for key in inputs(node) if keys is None else keys:
        if recorded.get(key) is None or recorded[key] != digest_of(key):
            return f"upstream node {key} was redone since"
    return None


def invalidate(ctx: Context, node: Node | None, key: str, reason: str) -> None:
    """Drop a node's ``DONE`` (so it is redone) and log why, naming the file when a content check failed."""
    try:
        (ctx.node_dir(key) / DONE).unlink()
    except FileNotFoundError:
        pass
    _verified.pop((current_run(), str(ctx.node_dir(key))), None)
    index = index_for(ctx.cache_dir)
    if index is not None:
        index.drop(key)
    extra = {} if node is not None else {"node": key}
    name = "pruned_needed" if PRUNE_REASON in reason else "corrupt"
    log_event(ctx, node, name, reason=reason, file=reason.split(":", 1)[0], **extra)


@dataclass
class Scan:
    """What one pass over a node list found (:func:`scan_nodes`)."""

    cached: set[str] = field(default_factory=set)  # complete DONE (quick check)
    stale: dict[str, str] = field(default_factory=dict)  # complete, but computed from other versions of its inputs
    content: dict[str, str | None] = field(default_factory=dict)  # eval nodes: verify's verdict, hashed in the pass
    digests: dict[str, str | None] = field(default_factory=dict)  # complete nodes: their DONE's digest
    inputs: dict[str, list[str]] = field(default_factory=dict)  # every node's :func:`inputs`, computed once


def scan_nodes(nodes: list[Node], ctx: Context) -> Scan:
    """Every node's ``DONE`` read once: complete or not, its recorded inputs compared with their current digests
    (what :func:`stale_upstream` says), and for eval nodes (always verified when cached) the content check made in
    the same pass. Nothing is acted on here: :func:`check_cached` decides, exactly as without the scan."""
    scan = Scan(inputs={n.key: inputs(n) for n in nodes})
    wanted = {k for ks in scan.inputs.values() for k in ks}
    digests: dict[str, str | None] = {}
    index, base = index_for(ctx.cache_dir), node_folder(ctx, "")
    for node in nodes:
        evaluated = node.stage == "eval"
        folder = base + node.key
        marker = index.trusted(node.key, folder) if index is not None else None
        if marker is not None:  # unchanged since it was last hashed (check_node's first step, inlined: 200k nodes)
            done, content = True, None
        else:
            done, content, marker = _check_files(node.key, folder, index, evaluated, evaluated)
        if node.key in wanted:
            digests[node.key] = marker.get("digest") if marker else None
        if not done:
            continue
        scan.cached.add(node.key)
        scan.digests[node.key] = marker.get("digest") if marker else None
        if evaluated:
            scan.content[node.key] = content
        ins = scan.inputs[node.key]
        for key in ins:
            if key not in digests:  # an upstream outside the list
                digests[key] = node_digest(ctx, key)
        reason = stale_upstream(ctx, node, marker, digests.__getitem__, ins)
        if reason is not None:
            scan.stale[node.key] = reason
    return scan


# why: one fixed-point loop; the two passes (upstream links, content checks) feed each other's ``changed``.
def check_cached(nodes: list[Node], ctx: Context, cached: set[str], scan: Scan | None = None) -> dict[str, str]:
    """Shrink ``cached`` (keys of nodes with a complete ``DONE``) to the nodes that can be trusted; returns the
    reason for each node dropped. Checked by content: eval nodes (their rows are reported) and every node whose
    outputs a node still to run will read. Dropped: nodes whose files differ from their hashes (``DONE`` removed,
    event ``corrupt``) and, transitively, every node computed from a node that is redone. ``scan``: what
    :func:`scan_nodes` found for these nodes (else each node is read here)."""
    by_key = {n.key: n for n in nodes}
    ins = scan.inputs if scan is not None and scan.inputs else {n.key: inputs(n) for n in nodes}
    reasons: dict[str, str] = {}
    checked: set[str] = set()
    linked: set[str] = set()  # recorded upstream digests compared (on-disk digests do not change meanwhile)
    changed = True
    while changed:
        changed = False
        for node in nodes:  # topological order: invalidation flows downstream in one pass
            if node.key not in cached:
                continue
            redo = [k for k in ins[node.key] if k in by_key and k not in cached]
            reason = f"upstream node {redo[0]} is redone" if redo else None
            if reason is None and node.key not in linked:
                linked.add(node.key)
                reason = scan.stale.get(node.key) if scan is not None else stale_upstream(ctx, node)
            if reason is not None:
                cached.discard(node.key)
                reasons[node.key], changed = reason, True
        readers: set[str] = {k for n in nodes if n.key not in cached for k in ins[n.key]}
        for node in reversed(nodes):
            if node.key in cached and node.key not in checked and (node.stage == "eval" or node.key in readers):
                checked.add(node.key)
                if scan is not None and node.key in scan.content:
                    problem = scan.content.pop(node.key)
                else:
                    problem = verify(ctx, node.key)
                if problem is not None:
                    invalidate(ctx, node, node.key, problem)
                    cached.discard(node.key)
                    reasons[node.key], changed = problem, True
    return reasons
