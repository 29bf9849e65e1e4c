"""Running a plan: each node once, into a content-addressed cache, resumable after any crash.

A node writes into ``cache/tmp/KEY.PID`` and is renamed to ``cache/nodes/KEY`` only when complete (with a
``DONE`` marker last), so a killed run leaves no partial node that a rerun could trust. A failing node records
its error under ``cache/failed/KEY.json`` and its dependents are skipped; other nodes go on. Every start,
finish, failure and cache hit is appended to ``cache/events.jsonl``. At the end the eval nodes' rows are merged
into the leaderboard file (written whole, then renamed).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from .hookspecs import hookimpl
from .plan import Node, Plan
from .results import append_jsonl, read_jsonl, write_jsonl_atomic
from .stages import STAGE_FUNCTIONS, Context

DONE = "DONE"


def is_done(ctx: Context, key: str) -> bool:
    return (ctx.node_dir(key) / DONE).exists()


def log_event(ctx: Context, node: Node, event: str, **extra: Any) -> None:
    append_jsonl(ctx.cache_dir / "events.jsonl", [{
        "time": time.time(), "event": event, "node": node.key, "stage": node.stage, "label": node.label,
        "pid": os.getpid(), **extra,
    }])


def run_node(node: Node, ctx: Context) -> dict[str, Any]:
    """Run one node unless the cache has it; atomic: the node folder appears complete or not at all."""
    final = ctx.node_dir(node.key)
    if (final / DONE).exists():
        log_event(ctx, node, "cached")
        return json.loads((final / "summary.json").read_text())
    work = ctx.cache_dir / "tmp" / f"{node.key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    failed = ctx.cache_dir / "failed" / f"{node.key}.json"
    log_event(ctx, node, "start")
    started = time.time()
    try:
        summary = STAGE_FUNCTIONS[node.stage](node, work, ctx)
    except BaseException as err:
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_text(json.dumps({"node": node.key, "label": node.label, "error": f"{type(err).__name__}: {err}",
                                      "traceback": traceback.format_exc()}, indent=2))
        log_event(ctx, node, "failed", error=f"{type(err).__name__}: {err}")
        shutil.rmtree(work, ignore_errors=True)
        raise
    summary = {**summary, "seconds": round(time.time() - started, 3)}
    (work / "node.json").write_text(json.dumps(node.to_json(), indent=2, sort_keys=True))
    (work / "summary.json").write_text(json.dumps(summary))
    (work / DONE).write_text("")
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(work, final)
    except OSError:  # another worker finished the same node first: keep theirs
        shutil.rmtree(work, ignore_errors=True)
    failed.unlink(missing_ok=True)
    log_event(ctx, node, "finish", seconds=summary["seconds"])
    return summary


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


class LocalExecutor:
    """Runs nodes one after another in this process, in topological order."""

    name = "local"

    def __init__(self, workers: int = 1, **_: Any) -> None:
        self.workers = workers

    def run(self, nodes: list[Node], ctx: Context, retry_failed: bool = True) -> Outcome:
        outcome = Outcome()
        blocked: set[str] = set()
        for node in nodes:
            if any(d in blocked for d in node.deps):
                blocked.add(node.key)
                outcome.skipped.append(node.key)
                log_event(ctx, node, "skipped", reason="an upstream node failed")
                continue
            if is_done(ctx, node.key):
                log_event(ctx, node, "cached")
                outcome.cached.append(node.key)
                continue
            if not retry_failed and (ctx.cache_dir / "failed" / f"{node.key}.json").exists():
                blocked.add(node.key)
                outcome.skipped.append(node.key)
                continue
            try:
                run_node(node, ctx)
                outcome.done.append(node.key)
            except KeyboardInterrupt:
                raise
            except Exception as err:
                blocked.add(node.key)
                outcome.failed[node.key] = f"{type(err).__name__}: {err}"
        return outcome


@hookimpl
def register_executors(register) -> None:
    register("local", LocalExecutor)


def collect_rows(plan: Plan, ctx: Context) -> list[dict[str, Any]]:
    """Rows of every finished eval node of the plan, stamped with this matrix's name and config hash."""
    rows = []
    for node in plan.by_stage("eval"):
        path = ctx.node_dir(node.key) / "rows.jsonl"
        if not (ctx.node_dir(node.key) / DONE).exists():
            continue
        for row in read_jsonl(path):
            row["config_name"] = plan.config.name
            row["config_hash"] = plan.config_hash
            pred = ctx.cache_dir / row["predictions"]
            try:
                row["predictions"] = os.path.relpath(pred, plan.leaderboard.parent)
            except ValueError:
                row["predictions"] = str(pred)
            rows.append(row)
    return rows


def run_plan(plan: Plan, ctx: Context, executor: Any = None, retry_failed: bool = True) -> Outcome:
    """Run every node not yet cached, then write the leaderboard from all finished eval nodes."""
    executor = executor or LocalExecutor()
    ctx.cache_dir.mkdir(parents=True, exist_ok=True)
    outcome = executor.run(list(plan.nodes.values()), ctx, retry_failed=retry_failed)
    write_jsonl_atomic(plan.leaderboard, collect_rows(plan, ctx))
    return outcome
