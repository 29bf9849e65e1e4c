"""Progress and cost of a matrix, read from the node store and the event log: per-stage counts, running,
interrupted and failed nodes, an ETA, and what checkpoint reuse saves.

*Running* means a live owner: the node's lock is held or its heartbeat's owner is alive (see
:mod:`harness.store.heartbeat`). A node that started and is neither finished nor running (its worker or driver was
killed, or it stopped gracefully for a requeue), or that has a resume checkpoint, is *interrupted*: a rerun
resumes it. Training nodes show the step of their newest resume checkpoint."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from harness.planning.plan import Node, Plan
from harness.run.context import Context
from harness.store.events import last_event_about, read_events
from harness.store.heartbeat import checkpoint_step, owner_alive, read_heartbeat
from harness.store.integrity import check_node, node_folder
from harness.store.nodestore import failed_path, is_running, read_failure
from harness.store.verified import INDEX, Index


def stage_seconds(events: list[dict[str, Any]]) -> dict[tuple[str, str | None], list[float]]:
    """Observed seconds of finished nodes by (stage, model label part) and by (stage, None)."""
    out: dict[tuple[str, str | None], list[float]] = {}
    for e in events:
        if e.get("event") == "finish" and e.get("seconds") is not None:
            model = (e.get("label") or "").split(" · ")[0]
            out.setdefault((e["stage"], model), []).append(float(e["seconds"]))
            out.setdefault((e["stage"], None), []).append(float(e["seconds"]))
    return out


def estimate_seconds(node: Node, history: dict[tuple[str, str | None], list[float]]) -> float | None:
    """Mean observed time of this stage for this model; None without such history. Never another model's
    timing: a tiny model's seconds say nothing about a 118M encoder's (an ETA of 7 s for minutes of work)."""
    model = node.params.get("model", {}).get("name") if isinstance(node.params.get("model"), dict) else None
    times = history.get((node.stage, model)) if model is not None else None
    return sum(times) / len(times) if times else None


STATES = ("nodes", "done", "running", "interrupted", "failed", "skipped", "pending")
TRAINING = ("intermediate", "target")
OPEN = ("start", "interrupted", "requeue")  # a node's last event that leaves it started but unfinished


def _listing(folder: Path, suffix: str = "") -> set[str] | None:
    """Names in ``folder`` (``suffix`` cut off; None if it cannot be listed: then every node is probed)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return set()
    except OSError:
        return None
    return {n[: len(n) - len(suffix)] for n in names if n.endswith(suffix)} if suffix else set(names)


def done_nodes(plan: Plan, ctx: Context) -> set[str]:
    """Keys of the plan's finished nodes. A node is finished when its ``DONE`` is the very file the last content
    check verified (the store's index, :mod:`harness.store.verified`: one stat), else when the quick check passes
    (``DONE`` names the node, every listed file has its size). No file is hashed here: a rerun does that."""
    listed = _listing(Path(ctx.cache_dir) / "nodes")
    index = Index(ctx.cache_dir) if (Path(ctx.cache_dir) / INDEX).exists() else None
    done, base = set(), node_folder(ctx, "")
    for k in plan.nodes:
        if listed is not None and k not in listed:
            continue
        if (index is not None and index.done_unchanged(k, base + k)) or check_node(ctx, k, verified=False)[0]:
            done.add(k)
    return done


def node_states(plan: Plan, ctx: Context, events: list[dict[str, Any]], done: set[str] | None = None) -> dict[str, str]:
    """done, running (a live owner), interrupted, failed, skipped or pending, for every node of the plan. The
    store's folders are listed once: a node without a folder, lock, heartbeat, failure record or resume
    checkpoint is not probed for it. ``done``: what :func:`done_nodes` found (else it is asked here)."""
    done = done_nodes(plan, ctx) if done is None else done
    last: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("node") in plan.nodes and e.get("event") in (*OPEN, "finish", "failed", "cached", "stale"):
            last[e["node"]] = e
    cache = Path(ctx.cache_dir)
    listed = {name: _listing(cache / name, suffix) for name, suffix in
              (("locks", ".lock"), ("heartbeats", ".json"), ("failed", ".json"), ("resume", ""))}

    def may(where: str, name: str) -> bool:
        return listed[where] is None or name in listed[where]

    state: dict[str, str] = {}
    for node in plan.nodes.values():
        k = node.key
        opened = last.get(k, {}).get("event") in OPEN
        if k in done:
            state[k] = "done"
        elif (may("locks", k) and is_running(ctx, k)) or (
                may("heartbeats", f"node-{k}") and owner_alive(read_heartbeat(ctx.cache_dir, f"node-{k}"))):
            state[k] = "running"
        elif may("failed", k) and failed_path(ctx, k).exists() and not opened:
            state[k] = "failed"
        elif opened or (node.stage in TRAINING and may("resume", k) and checkpoint_step(ctx.cache_dir, k) is not None):
            state[k] = "interrupted"
        elif any(state.get(d) in ("failed", "skipped") for d in node.deps):
            state[k] = "skipped"
        else:
            state[k] = "pending"
    return state


def driver_alive(ctx: Context, run_start: dict[str, Any]) -> bool:
    """Whether the driver of a run is alive: its heartbeat, else the pid and host of its ``run_start``."""
    beat = read_heartbeat(ctx.cache_dir, f"run-{run_start.get('run')}")
    return owner_alive(beat if beat is not None else run_start)


def matrix_status(plan: Plan, ctx: Context, workers: int = 1, per_node: bool = True) -> dict[str, Any]:
    """Progress of a running or finished matrix, from the cache (DONE markers, locks, heartbeats, failure
    records, resume checkpoints) and the events log: per-stage counts, running, interrupted and failed nodes,
    timing and an ETA; ``per_node``: also every node's state (``nodes``)."""
    done = done_nodes(plan, ctx)
    finished = len(done) == len(plan.nodes)
    # a finished matrix needs only its runs' events (found without parsing the rest of a big log)
    events = read_events(ctx.cache_dir, only=("run_start", "run_end") if finished else None)
    resume = _listing(Path(ctx.cache_dir) / "resume")

    def resumable(key: str) -> bool:
        return resume is None or key in resume

    keys = plan.nodes
    mine = [] if finished else [e for e in events if e.get("node") in keys]
    last_start = {e["node"]: e for e in mine if e["event"] == "start"}
    newest = last_event_about(ctx.cache_dir, keys) if finished else (mine[-1] if mine else None)
    state = {k: "done" for k in plan.nodes} if finished else node_states(plan, ctx, events, done)
    stages: dict[str, dict[str, int]] = {}
    for node in plan.nodes.values():
        s = stages.setdefault(node.stage, {k: 0 for k in STATES})
        s["nodes"] += 1
        s[state[node.key]] += 1
    totals = {k: sum(s[k] for s in stages.values()) for k in STATES}
    history = stage_seconds(events)
    left = [estimate_seconds(n, history) for n in plan.nodes.values()
            if state[n.key] in ("pending", "running", "interrupted")]
    known = [x for x in left if x is not None]
    runs = [e for e in events if e.get("event") == "run_start" and e.get("config_name") == plan.config.name]
    last_run = runs[-1] if runs else None
    end = None
    if last_run:
        ends = [e for e in events if e.get("event") == "run_end" and e.get("run") == last_run.get("run")]
        end = ends[-1] if ends else None
    now = time.time()
    if totals["running"]:
        phase = "running"
    elif totals["done"] == totals["nodes"]:
        phase = "finished"
    elif totals["failed"]:
        phase = "failed"
    elif last_run and end is None and driver_alive(ctx, last_run):
        phase = "running"  # between nodes
    elif totals["interrupted"] or (last_run and (end is None or end.get("status") == "interrupted")):
        phase = "interrupted"  # the driver was killed or stopped: a rerun resumes
    else:
        phase = "incomplete" if totals["done"] else "not started"
    return {
        "config": plan.config.name, "config_hash": plan.config_hash, "cache_dir": str(ctx.cache_dir),
        "phase": phase, "progress": round(totals["done"] / totals["nodes"], 4) if totals["nodes"] else 1.0,
        "totals": totals, "stages": stages,
        "running": [{"node": k, "label": plan.nodes[k].label, "since": last_start.get(k, {}).get("time"),
                     "host": last_start.get(k, {}).get("host"), "pid": last_start.get(k, {}).get("pid")}
                    for k, s in state.items() if s == "running"],
        "interrupted": [{"node": k, "label": plan.nodes[k].label, "checkpoint_step": checkpoint_step(ctx.cache_dir, k),
                         "since": last_start.get(k, {}).get("time")}
                        for k, s in state.items() if s == "interrupted"],
        "failed": [{"node": k, "label": plan.nodes[k].label, **{f: (read_failure(ctx, k) or {}).get(f)
                                                               for f in ("error", "attempts", "time")}}
                   for k, s in state.items() if s == "failed"],
        "last_run": None if last_run is None else {
            "run": last_run.get("run"), "started": last_run.get("time"), "executor": last_run.get("executor"),
            "ended": end.get("time") if end else None, "status": end.get("status") if end else None,
            "elapsed_s": round((end["time"] if end else now) - last_run["time"], 1),
        },
        # an ETA only when every node left has a timing of its own stage and model: else "unknown", not a number
        "eta_s": (round(sum(known) / max(1, workers), 1) if len(known) == len(left) else None) if left else 0.0,
        "eta_basis": (f"mean observed seconds per stage and model over {sum(len(v) for k, v in history.items() if k[1] is None)} "
                      f"finished nodes, {max(1, workers)} worker(s)") if len(known) == len(left) else
                     f"unknown: {len(left) - len(known)} of {len(left)} nodes left have no finished node of their "
                     "stage and model to time them by",
        "last_event": newest["time"] if newest else None,
        "leaderboard": str(plan.leaderboard),
        "leaderboard_rows": count_rows(plan.leaderboard) if plan.leaderboard.exists() else 0,
        "nodes": [{"node": n.key, "stage": n.stage, "label": n.label, "state": state[n.key],
                   **({"checkpoint_step": checkpoint_step(ctx.cache_dir, n.key) if resumable(n.key) else None}
                      if n.stage in TRAINING else {})}
                  for n in plan.nodes.values()] if per_node else None,
    }


def count_rows(path: Path) -> int:
    """Rows in a leaderboard file, as ``len(read_jsonl(path))`` counts them (blank lines skipped, a torn last line
    not counted) without parsing every row."""
    lines = Path(path).read_bytes().split(b"\n")
    n = sum(1 for line in lines if line and not line.isspace())  # (no copy per line, unlike strip)
    if lines[-1] and not lines[-1].isspace():  # an unterminated last line counts only if it is a whole row
        try:
            json.loads(lines[-1])
        except ValueError:
            n -= 1
    return n


def plan_costs(plan: Plan, ctx: Context, workers: int = 1, done: set[str] | None = None,
               events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Estimated cost of the plan from the timings in this cache's events log: seconds left to run, a wall-clock
    estimate at ``workers`` (the larger of total/workers and the DAG's critical path), and the seconds that
    checkpoint reuse saves versus running every cell independently (its own intermediate and target training)."""
    history = stage_seconds(read_events(ctx.cache_dir) if events is None else events)
    est = {k: estimate_seconds(n, history) for k, n in plan.nodes.items()}
    done = done_nodes(plan, ctx) if done is None else done
    todo = [k for k in plan.nodes if k not in done]
    unknown = sum(est[k] is None for k in todo)
    left = sum(est[k] or 0.0 for k in todo)
    finish: dict[str, float] = {}  # critical path over nodes still to run
    for k, n in plan.nodes.items():
        own = (est[k] or 0.0) if k in todo else 0.0
        finish[k] = own + max((finish.get(d, 0.0) for d in n.deps), default=0.0)
    all_nodes = sum(v or 0.0 for v in est.values())
    independent = 0.0
    for n in plan.by_stage("eval"):
        chain = [n.key] + [k for k in (n.params.get("trained"), n.params.get("upstream")) if k]
        independent += sum(est.get(k) or 0.0 for k in chain)
    timed = sum(len(v) for k, v in history.items() if k[1] is None)
    if not timed:
        return {"seconds_to_run": None, "wall_seconds": None, "saved_by_reuse_seconds": None, "nodes_unestimated":
                len(todo), "basis": "no finished nodes in this cache yet: run once (or share a cache) to estimate"}
    return {
        "seconds_to_run": round(left, 1),
        "wall_seconds": round(max(left / max(1, workers), max(finish.values(), default=0.0)), 1),
        "seconds_all_nodes": round(all_nodes, 1),
        "seconds_without_reuse": round(independent, 1),
        "saved_by_reuse_seconds": round(independent - all_nodes, 1),
        "nodes_unestimated": unknown,
        "basis": f"mean observed seconds per stage and model over {timed} finished nodes in this cache, "
                 f"{max(1, workers)} worker(s)",
    }
