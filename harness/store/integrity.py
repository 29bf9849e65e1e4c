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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.store.events import current_run, log_event

if TYPE_CHECKING:
    from harness.planning.plan import Node
    from harness.run.context import Context

DONE = "DONE"
PRUNED = "PRUNED"  # written by harness.store.prune: the DONE-listed weight files deleted on purpose, with their hashes
PRUNE_REASON = "deleted by `harness matrix prune`"
FORMAT = 2
HASH = "sha256"
_CHUNK = 1 << 20
_verified: dict[tuple[str | None, str], tuple] = {}  # (run, folder) -> stat signature of a verified node


def hash_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, HASH).hexdigest()


def manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file under ``folder`` by relative name, in one pass over the finished folder
    (just written, so read back from the page cache)."""
    return {str(p.relative_to(folder)): {"size": p.stat().st_size, HASH: hash_file(p)}
            for p in sorted(folder.rglob("*")) if p.is_file()}


def files_digest(files: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((Path(folder) / DONE).read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


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


def quick_check(folder: Path, key: str) -> str | None:
    """Why the node at ``folder`` is not complete (None if it is), from its ``DONE`` and file sizes only. A file
    listed in ``PRUNED`` may be absent: the node is finished, its weights were deleted on purpose (whoever
    needs them verifies the node, which then fails and the node is redone)."""
    marker = read_marker(folder)
    if marker is None:
        return "no DONE marker"
    if marker.get("key") != key:
        return "DONE names another node"
    if marker.get("format") != FORMAT or not isinstance(marker.get("files"), dict):
        return "DONE has no content hashes (written by an older harness)"
    pruned: set[str] | None = None
    for name, info in marker["files"].items():
        try:
            if (folder / name).stat().st_size != info["size"]:
                return f"{name}: size differs from DONE"
        except FileNotFoundError:
            pruned = pruned_names(folder) if pruned is None else pruned
            if name not in pruned:
                return f"{name}: missing"
        except (OSError, TypeError, KeyError):
            return f"{name}: missing"
    return None


def _signature(folder: Path, names: list[str]) -> tuple:
    out = []
    for name in [DONE, *names]:
        st = os.stat(folder / name)
        out.append((name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return tuple(out)


def verify(ctx: Context, key: str) -> str | None:
    """Why the node's files do not match their ``DONE`` hashes (None if they all do): ``FILE: content differs``.

    A node verified once in this run is not hashed again unless one of its files changed (size, times, inode)."""
    folder = ctx.node_dir(key)
    problem = quick_check(folder, key)
    if problem is not None:
        return problem
    files = read_marker(folder)["files"]
    gone = sorted(name for name in pruned_names(folder) if name in files and not (folder / name).exists())
    if gone:
        return f"{gone[0]}: {PRUNE_REASON} (the node is redone for a node that reads it)"
    memo = (current_run(), str(folder))
    try:
        sig = _signature(folder, list(files))
    except OSError as err:
        return f"{err.filename}: missing"
    if _verified.get(memo) == sig:
        return None
    for name, info in files.items():
        if hash_file(folder / name) != info.get(HASH):
            return f"{name}: content differs from its sha256 in DONE"
    if files_digest(files) != read_marker(folder).get("digest"):
        return "DONE digest does not match its file list"
    _verified[memo] = sig
    return None


def stale_upstream(ctx: Context, node: Node) -> str | None:
    """Why ``node``'s cached outputs were computed from other versions of its inputs (None if not)."""
    marker = read_marker(ctx.node_dir(node.key)) or {}
    recorded = marker.get("upstream") or {}
    for key in inputs(node):
        if recorded.get(key) is None or recorded[key] != node_digest(ctx, key):
            return f"upstream node {key} was redone since"
    return None


def invalidate(ctx: Context, node: Node | None, key: str, reason: str) -> None:
    """Drop a node's ``DONE`` (so it is redone) and log why, naming the file when a content check failed."""
    try:
        (ctx.node_dir(key) / DONE).unlink()
    except FileNotFoundError:
        pass
    _verified.pop((current_run(), str(ctx.node_dir(key))), None)
    extra = {} if node is not None else {"node": key}
    name = "pruned_needed" if PRUNE_REASON in reason else "corrupt"
    log_event(ctx, node, name, reason=reason, file=reason.split(":", 1)[0], **extra)


def check_cached(nodes: list[Node], ctx: Context, cached: set[str]) -> dict[str, str]:
    """Shrink ``cached`` (keys of nodes with a complete ``DONE``) to the nodes that can be trusted; returns the
    reason for each node dropped. Checked by content: eval nodes (their rows are reported) and every node whose
    outputs a node still to run will read. Dropped: nodes whose files differ from their hashes (``DONE`` removed,
    event ``corrupt``) and, transitively, every node computed from a node that is redone."""
    by_key = {n.key: n for n in nodes}
    reasons: dict[str, str] = {}
    checked: set[str] = set()
    linked: set[str] = set()  # recorded upstream digests compared (on-disk digests do not change meanwhile)
    changed = True
    while changed:
        changed = False
        for node in nodes:  # topological order: invalidation flows downstream in one pass
            if node.key not in cached:
                continue
            redo = [k for k in inputs(node) if k in by_key and k not in cached]
            reason = f"upstream node {redo[0]} is redone" if redo else None
            if reason is None and node.key not in linked:
                linked.add(node.key)
                reason = stale_upstream(ctx, node)
            if reason is not None:
                cached.discard(node.key)
                reasons[node.key], changed = reason, True
        readers: set[str] = {k for n in nodes if n.key not in cached for k in inputs(n)}
        for node in reversed(nodes):
            if node.key in cached and node.key not in checked and (node.stage == "eval" or node.key in readers):
                checked.add(node.key)
                problem = verify(ctx, node.key)
                if problem is not None:
                    invalidate(ctx, node, node.key, problem)
                    cached.discard(node.key)
                    reasons[node.key], changed = problem, True
    return reasons
