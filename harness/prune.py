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
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .events import log_event
from .integrity import PRUNED, inputs, pruned_names, read_marker, stale_upstream
from .nodestore import is_done, node_lock
from .plan import Node, Plan
from .stages import Context

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
        return {"key": self.key, "label": self.label, "stage": self.stage, "files": self.files,
                "bytes": self.bytes, "kept": self.kept}


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


def _write_record(folder: Any, files: dict[str, Any]) -> None:
    """Add ``files`` to the node's ``PRUNED`` record (temp file + rename: never a torn record)."""
    path = folder / PRUNED
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        record = {}
    merged = {**(record.get("files") or {}), **files}
    tmp = folder / f".{PRUNED}.{os.getpid()}"
    tmp.write_text(json.dumps({"format": 1, "files": merged}, sort_keys=True))
    os.replace(tmp, path)


def prune_node(ctx: Context, node: Node) -> Pruned | None:
    """Delete a finished training node's weight files (record first, then the files); None if it has none
    left or is not finished. The caller has checked that no node still needs them."""
    if node.stage == "eval" or not is_done(ctx, node.key):
        return None
    folder = ctx.node_dir(node.key)
    listed = (read_marker(folder) or {}).get("files") or {}
    gone = pruned_names(folder)
    names = [n for n in listed if n.endswith(WEIGHTS) and n not in gone and (folder / n).exists()]
    if not names:
        return None
    with node_lock(ctx, node.key):  # never under a worker that is redoing the node right now
        _write_record(folder, {n: listed[n] for n in names})
        for n in names:
            (folder / n).unlink(missing_ok=True)
    entry = Pruned(node.key, node.label, node.stage, names, sum(listed[n]["size"] for n in names))
    log_event(ctx, node, "pruned", files=names, bytes=entry.bytes)
    return entry


def prune(plan: Plan, ctx: Context, dry_run: bool = False) -> list[Pruned]:
    """Delete the weight files of every finished training node whose readers in ``plan`` are all finished.

    The record is written before any file is deleted, so a kill in between leaves a node that is still finished
    (a listed file may be present or absent). Returns one entry per finished training node that still had
    weights: pruned (``kept`` None) or kept, with the reason."""
    out: list[Pruned] = []
    readers = readers_of(plan.nodes.values())
    for node in plan.nodes.values():
        if node.stage == "eval" or not is_done(ctx, node.key):
            continue
        folder = ctx.node_dir(node.key)
        listed = (read_marker(folder) or {}).get("files") or {}
        gone = pruned_names(folder)
        names = [n for n in listed if n.endswith(WEIGHTS) and n not in gone and (folder / n).exists()]
        if not names:
            continue
        waiting = _waiting_reader(readers.get(node.key, []), ctx)
        if waiting is not None or dry_run:
            kept = f"{waiting} still needs it" if waiting is not None else None
            out.append(Pruned(node.key, node.label, node.stage, names, sum(listed[n]["size"] for n in names), kept))
            continue
        entry = prune_node(ctx, node)
        if entry is not None:
            out.append(entry)
    return out
