"""The DAG scheduler: drives any *backend* that can ``submit`` a node and ``wait`` for results (a local process or
pool, Ray tasks, SLURM jobs), and :func:`run_plan`, which runs a whole plan and merges its leaderboard.

A failing node records its error, its dependents are skipped and the other nodes go on. By default a rerun does not
retry nodes that failed in an earlier run (they are reported again with their recorded error, dependents skipped);
``retry_failed=True`` (``--retry-failed``) runs them again. A node stopped gracefully (``requeue``: a signal asked
for a stop, see :mod:`harness.run.signals`) is *interrupted*, not failed: its dependents wait, no new node starts,
and a rerun resumes it. Each eval node writes its own ``rows.jsonl``
atomically; after the run the whole leaderboard is rewritten (temp file + rename, under a lock) so concurrent
workers and matrices never interleave or lose rows.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.core.registry import registry
from harness.orchestration.contract import Backend
from harness.planning.plan import Node, Plan
from harness.planning.task_data import prepare_data
from harness.results.leaderboard import cleanup_leaderboard_tmp, merge_matrix
from harness.run.context import Context
from harness.run.stop import stop_requested
from harness.store.events import append_events, current_run, event, log_event, new_run_id, set_run
from harness.store.heartbeat import Heartbeat, cleanup_heartbeats, owner_alive, read_heartbeat
from harness.store.integrity import check_cached, inputs, scan_nodes
from harness.store.nodestore import cleanup_tmp, is_done, read_failure
from harness.store.verified import close_index, open_index
from harness.store.verified import flush as flush_index

FINISHED = ("done", "cached")


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    earlier: list[str] = field(default_factory=list)  # failed keys not retried (failed in an earlier run)
    interrupted: list[str] = field(default_factory=list)  # stopped gracefully (requeue): a rerun resumes them
    not_run: list[str] = field(default_factory=list)  # not started: a stop was requested or an upstream interrupted
    digests: dict[str, str | None] = field(default_factory=dict)  # cached nodes: the DONE digest triage verified

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.interrupted and not self.not_run

    def to_json(self) -> dict[str, Any]:
        return {"done": len(self.done), "cached": len(self.cached), "failed": len(self.failed),
                "skipped": len(self.skipped), "failed_earlier": len(self.earlier),
                "interrupted": len(self.interrupted), "not_run": len(self.not_run)}


def triage(nodes: list[Node], ctx: Context, retry_failed: bool, outcome: Outcome) -> dict[str, str]:
    """State of each node before running: ``cached``, ``failed`` (earlier, not retried) or ``todo``. Cached nodes
    about to be used or reported are checked by content first (:func:`harness.store.integrity.check_cached`)."""
    state: dict[str, str] = {}
    records = []  # one locked append for all of them: a cached rerun of a big matrix stays cheap
    scan = scan_nodes(nodes, ctx)  # each DONE read once; eval nodes hashed in the same pass
    cached = scan.cached
    by_key = {n.key: n for n in nodes}
    for key, reason in check_cached(nodes, ctx, cached, scan).items():  # redone, with everything computed from them
        records.append(event(by_key[key], "invalidated", reason=reason))
    for node in nodes:
        if node.key in cached:
            state[node.key] = "cached"
            outcome.cached.append(node.key)
            outcome.digests[node.key] = scan.digests.get(node.key)
            continue
        record = None if retry_failed else read_failure(ctx, node.key)
        if record is not None:
            state[node.key] = "failed"
            outcome.failed[node.key] = f"failed in an earlier run: {record.get('error')} (rerun with --retry-failed)"
            outcome.earlier.append(node.key)
            records.append(event(node, "failed_earlier", error=record.get("error")))
            continue
        state[node.key] = "todo"
    if outcome.cached:  # one record, not one per node: a cached rerun of 200k nodes must not add 200k lines
        stages = dict(Counter(by_key[key].stage for key in outcome.cached))
        records.append(event(None, "cached", count=len(outcome.cached), stages=stages))
    if records:
        append_events(ctx.cache_dir, records)
    flush_index(ctx.cache_dir)  # what was hashed here is kept even if the run is killed
    return state


def apply_result(node: Node, result: dict[str, Any], state: dict[str, str], outcome: Outcome) -> None:
    status = result.get("status")
    state[node.key] = status if status in ("done", "cached", "skipped") else "interrupted" if status == "requeue" \
        else "failed"
    if status == "requeue":
        outcome.interrupted.append(node.key)
    elif status == "done":
        outcome.done.append(node.key)
    elif status == "cached":
        outcome.cached.append(node.key)
    elif status == "skipped":
        outcome.skipped.append(node.key)
    else:
        outcome.failed[node.key] = result.get("error") or f"unknown worker result {result!r}"


# why: the ready queue, the skip closure and the wait loop share their state; split, they would pass it around.
def run_dag(nodes: list[Node], ctx: Context, backend: Backend, retry_failed: bool = False) -> Outcome:
    """Run ``nodes`` (topological order) on ``backend``: a node is submitted, in plan order, as soon as its
    upstream nodes finished and a slot is free; a failed node's dependents are skipped; everything else runs."""
    import heapq

    outcome = Outcome()
    state = triage(nodes, ctx, retry_failed, outcome)
    order = {n.key: i for i, n in enumerate(nodes)}
    children: dict[str, list[Node]] = {}
    waiting: dict[str, int] = {}
    ready: list[tuple[int, str]] = []
    by_key = {n.key: n for n in nodes}
    skip_records: list[dict[str, Any]] = []
    if ctx.prune:
        from harness.store.prune import prune_node, readers_of

        readers = readers_of(nodes)

    def prune_inputs(node: Node) -> None:
        """``--prune``: a training whose readers have all finished loses its weights (harness.store.prune)."""
        for k in inputs(node):
            if k in by_key and all(state.get(r.key) in FINISHED for r in readers.get(k, [])):
                prune_node(ctx, by_key[k])

    def skip(node: Node, reason: str) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            if state.get(n.key) == "skipped":
                continue
            state[n.key] = "skipped"
            outcome.skipped.append(n.key)
            skip_records.append(event(n, "skipped", reason=reason))
            stack.extend(children.get(n.key, []))

    for node in nodes:
        if state[node.key] != "todo":
            continue
        blocked, n_wait = False, 0
        for d in node.deps:
            if d not in state:  # upstream outside this node list: trust only the cache
                state[d] = "cached" if is_done(ctx, d) else "missing"
            s = state[d]
            if s in FINISHED:
                continue
            if s in ("failed", "skipped", "missing"):
                blocked = True
            else:
                n_wait += 1
                children.setdefault(d, []).append(node)
        if blocked:
            skip(node, "an upstream node failed or is missing")
        elif n_wait:
            waiting[node.key] = n_wait
        else:
            heapq.heappush(ready, (order[node.key], node.key))
    if skip_records:
        append_events(ctx.cache_dir, skip_records)
        skip_records.clear()

    inflight: dict[Any, Node] = {}
    try:
        while ready or inflight:
            while ready and len(inflight) < backend.slots and not stop_requested():
                _, key = heapq.heappop(ready)
                if state[key] != "todo":
                    continue
                state[key] = "running"
                inflight[backend.submit(by_key[key])] = by_key[key]
            if not inflight:
                break
            for handle, result in backend.wait(list(inflight)):
                node = inflight.pop(handle)
                apply_result(node, result, state, outcome)
                if ctx.prune and state[node.key] in FINISHED:
                    prune_inputs(node)
                if ctx.progress is not None and not getattr(backend, "reports_progress", False):
                    ctx.progress(node, {})  # remote nodes cannot report steps: count them as they finish
                for child in children.get(node.key, []):
                    if state[node.key] in FINISHED:
                        waiting[child.key] -= 1
                        if waiting[child.key] == 0 and state[child.key] == "todo":
                            heapq.heappush(ready, (order[child.key], child.key))
                    elif state[node.key] != "interrupted":  # an interrupted upstream resumes later: just wait
                        skip(child, "an upstream node failed")
            if skip_records:
                append_events(ctx.cache_dir, skip_records)
                skip_records.clear()
    finally:
        backend.close()
    stuck = [k for k, s in state.items() if s == "todo" and k in by_key]
    if stuck and (stop_requested() or outcome.interrupted):  # left for the rerun that resumes the interrupted
        outcome.not_run.extend(stuck)
    elif stuck:  # cannot happen with a topological order
        raise RuntimeError(f"scheduler stuck: {len(stuck)} nodes never became ready")
    return outcome




def prepare_plan_data(plan: Plan) -> None:
    """Write every synthetic data folder the plan's nodes read: the run-time step that planning leaves out."""
    seen: set[str] = set()
    for node in plan.nodes.values():
        infos = list(node.params.get("tasks") or [])
        if "task" in node.params:
            infos.append(node.params["task"])
        for info in infos:
            if info["data"]["kind"] == "synthetic" and info["data"]["path"] not in seen:
                seen.add(info["data"]["path"])
                prepare_data(info["data"], info["name"])


def run_plan(plan: Plan, ctx: Context, executor: Any = None, retry_failed: bool = False) -> Outcome:
    """Run every node not yet cached, then merge the leaderboard from all finished eval nodes."""
    executor = executor or registry().executor("local")()
    ctx.cache_dir.mkdir(parents=True, exist_ok=True)
    prepare_plan_data(plan)
    set_run(new_run_id())
    cleanup_stale(plan, ctx)
    started = time.time()
    log_event(ctx, None, "run_start", config_name=plan.config.name, config_hash=plan.config_hash,
              executor=getattr(executor, "name", type(executor).__name__), workers=getattr(executor, "workers", None),
              nodes=len(plan.nodes), retry_failed=retry_failed)
    open_index(ctx.cache_dir)  # the driver's: files unchanged since they were last hashed are not hashed again
    try:
        with Heartbeat(ctx.cache_dir, f"run-{current_run()}", run=current_run()):
            outcome = executor.run(list(plan.nodes.values()), ctx, retry_failed=retry_failed)
        # nothing ran: the digests triage verified name every reported node (the merge may then be skipped)
        merge_matrix(plan, ctx, outcome.digests if len(outcome.cached) == len(plan.nodes) else None)
    except BaseException as err:
        status = "error" if isinstance(err, Exception) else "interrupted"
        log_event(ctx, None, "run_end", status=status, error=f"{type(err).__name__}: {err}",
                  seconds=round(time.time() - started, 3))
        raise
    finally:
        close_index(ctx.cache_dir)
    if ctx.prune:  # a last sweep (and the only one for executors that do not drive run_dag, e.g. SLURM)
        from harness.store.prune import prune

        prune(plan, ctx)
    status = "ok" if outcome.ok else "failed" if outcome.failed or outcome.skipped else "interrupted"
    log_event(ctx, None, "run_end", status=status, seconds=round(time.time() - started, 3), **outcome.to_json())
    return outcome


def cleanup_stale(plan: Plan, ctx: Context) -> dict[str, int]:
    """What killed runs left behind: partial node folders (``tmp/KEY.PID.RAND``), the leaderboard's temporary
    files, heartbeats of dead owners. Resume checkpoints (``cache_dir/resume``) are kept: they are the point."""
    def busy(key: str) -> bool:
        return owner_alive(read_heartbeat(ctx.cache_dir, f"node-{key}"))

    removed = {"tmp": cleanup_tmp(ctx, busy), "leaderboard_tmp": cleanup_leaderboard_tmp(plan.leaderboard),
               "heartbeats": cleanup_heartbeats(ctx.cache_dir)}
    if any(removed.values()):
        log_event(ctx, None, "cleanup", **removed)
    return removed
