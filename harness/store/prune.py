"""Free disk: delete the weights of finished training nodes that no node of the plan still needs.

Every intermediate and target training keeps its fine-tuned model as safetensors (the real study's 44 trainings of
me5-small: 19 GB; XLM-R large would be ~2 GB each). Once every node that reads a training node (its target
trainings and evaluations) is finished and computed from this very version of it, the weights are dead weight.
:func:`prune` deletes them and writes ``PRUNED`` (the deleted files with their sizes and sha256) beside the node's
``DONE``, which stays as it was: the node still counts as finished, so its readers' rows stay trusted and a rerun
reports them without retraining. A node added later that reads a pruned node (a new language, a new target task)
makes the run verify it; that check fails on the deleted files and the node is redone (and, as for any redone
node, what was computed from it is recomputed). Only nodes of the given plan count as readers: a cache shared
with another matrix may see that matrix's nodes redo a training.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.planning.plan import Node, Plan
from harness.run.context import Context
from harness.store.events import log_event
from harness.store.integrity import PRUNED, inputs, read_marker, stale_upstream
from harness.store.nodestore import is_done, node_lock, write_json_atomic

WEIGHTS = (".safetensors",)
"""Suffixes of the files pruned: model weights. Configs, logs, summaries and predictions are kept."""


@dataclass
class Pruned:
    """What :func:`prune` did (or, with ``dry_run``, would do) to one training node."""

    key: str
    label: str
    stage: str
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    kept: str | None = None  # why the weights stay (a reader is not finished), None when pruned

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def readers_of(nodes: Iterable[Node]) -> dict[str, list[Node]]:
    """For each node key, the nodes among ``nodes`` that read its outputs."""
    out: dict[str, list[Node]] = {}
    for node in nodes:
        for key in inputs(node):
            out.setdefault(key, []).append(node)
    return out


def _waiting_reader(readers: list[Node], ctx: Context) -> str | None:
    """The label of a reader that is not finished from the current version of its input (None if all are)."""
    for node in readers:
        if not is_done(ctx, node.key) or stale_upstream(ctx, node) is not None:
            return node.label
    return None


def _write_record(folder: Path, files: dict[str, Any]) -> None:
    """Add ``files`` to the node's ``PRUNED`` record (temp file + rename: never a torn record)."""
    try:
        record = json.loads((folder / PRUNED).read_text())
    except (OSError, ValueError):
        record = {}
    write_json_atomic(folder / PRUNED, {"format": 1, "files": {**(record.get("files") or {}), **files}})


def _weights(ctx: Context, node: Node) -> tuple[Pruned, dict[str, Any]] | None:
    """The weight files a finished training node still has (as a :class:`Pruned` entry, with their ``DONE``
    records), or None when it is an evaluation, not finished or has none left."""
    if node.stage == "eval" or not is_done(ctx, node.key):
        return None
    folder = ctx.node_dir(node.key)
    listed = (read_marker(folder) or {}).get("files") or {}
    # A file already in PRUNED but still on disk is what a prune killed between its record and the deletions
    # left behind: it is deleted now (never kept for good).
    names = [n for n in listed if n.endswith(WEIGHTS) and (folder / n).exists()]
    if not names:
        return None
    return (Pruned(node.key, node.label, node.stage, names, sum(listed[n]["size"] for n in names)),
            {n: listed[n] for n in names})


def prune_node(ctx: Context, node: Node) -> Pruned | None:
    """Delete a finished training node's weight files (record first, then the files); None if it has none
    left or is not finished. The caller has checked that no node still needs them."""
    found = _weights(ctx, node)
    if found is None:
        return None
    entry, records = found
    folder = ctx.node_dir(node.key)
    with node_lock(ctx, node.key):  # never under a worker that is redoing the node right now
        _write_record(folder, records)
        for n in entry.files:
            (folder / n).unlink(missing_ok=True)
    log_event(ctx, node, "pruned", files=entry.files, bytes=entry.bytes)
    return entry


def prune(plan: Plan, ctx: Context, dry_run: bool = False) -> list[Pruned]:
    """Delete the weight files of every finished training node whose readers in ``plan`` are all finished.

    The record is written before any file is deleted, so a kill in between leaves a node that is still finished
    (a listed file may be present or absent). Returns one entry per finished training node that still had
    weights: pruned (``kept`` None) or kept, with the reason."""
    out: list[Pruned] = []
    readers = readers_of(plan.nodes.values())
    for node in plan.nodes.values():
        found = _weights(ctx, node)
        if found is None:
            continue
        entry = found[0]
        waiting = _waiting_reader(readers.get(node.key, []), ctx)
        if waiting is not None:
            entry.kept = f"{waiting} still needs it"
        elif not dry_run:
            entry = prune_node(ctx, node)
            if entry is None:  # finished or pruned meanwhile by another process
                continue
        out.append(entry)
    return out
