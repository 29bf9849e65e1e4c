"""Running one node: into a temporary folder renamed into the node store only when complete; the same entry point
(:func:`execute`, plain JSON in and out) serves every executor's workers, which report a node's failure instead of
raising it. A node interrupted by Ctrl-C or a kill leaves no failure record, so a rerun simply runs it; a training
node stopped gracefully (SIGTERM/SIGUSR1, see :mod:`harness.run.signals`) reports ``requeue`` and a rerun resumes it
from its checkpoint. While a node runs it keeps a heartbeat file (``heartbeats/node-KEY.json``) fresh."""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from harness.planning.plan import Node
from harness.run.context import Context
from harness.run.stop import Preempted, stop_requested
from harness.stages import STAGE_FUNCTIONS
from harness.store.events import HOST, current_run, ensure_dir, log_event, set_run
from harness.store.heartbeat import Heartbeat
from harness.store.integrity import inputs, invalidate, quick_check, stale_upstream, verify, write_marker
from harness.store.nodestore import failed_path, is_done, node_lock, read_failure, write_json_atomic


class UpstreamMissing(RuntimeError):
    """A node was asked to run before all its upstream nodes finished."""


def device_kind(device: str) -> str | None:
    """The cost table's kind (``harness.planning.cost_devices``) of the device this node ran on: its ``finish``
    event carries it, so ``matrix plan`` calibrates an estimate only on nodes that ran on the same kind."""
    from harness.planning.cost_devices import kind_of

    if str(device) == "cpu":
        return "cpu"
    import torch

    if str(device).startswith(("cuda", "auto")) and torch.cuda.is_available():
        return kind_of(torch.cuda.get_device_name())
    return "cpu" if str(device) == "auto" else None

def run_node(node: Node, ctx: Context) -> dict[str, Any]:
    """Run one node unless the cache has it; atomic: the node folder appears complete or not at all.

    Raises :class:`UpstreamMissing` if an upstream node is not finished, :class:`Preempted` if a graceful stop
    was requested (before the node started, or by the stage at a step boundary: no failure record), and
    re-raises the stage's own error after recording it under ``failed/KEY.json``.
    """
    missing = [d for d in inputs(node) if not is_done(ctx, d)]
    if missing:
        raise UpstreamMissing(f"upstream node(s) not finished: {', '.join(missing)}")
    for key in inputs(node):  # about to be read: check their content (hashed once per run and process)
        problem = verify(ctx, key)
        if problem is not None:
            invalidate(ctx, None, key, problem)
            raise UpstreamMissing(f"upstream node {key} failed its content check ({problem}); a rerun redoes it")
    final = ctx.node_dir(node.key)
    with node_lock(ctx, node.key):
        stale = quick_check(final, node.key) or stale_upstream(ctx, node)
        if stale is None:
            log_event(ctx, node, "cached")
            return {**json.loads((final / "summary.json").read_text()), "cached": True}
        if final.exists():  # a partial, tampered or outdated node: never trusted
            log_event(ctx, node, "stale", reason=f"node folder removed: {stale}")
            trash = ctx.cache_dir / "tmp" / f"{node.key}.stale.{uuid.uuid4().hex[:8]}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        if stop_requested():  # a stop arrived while this node waited: do not start it
            log_event(ctx, node, "requeue", reason="stop requested before the node started")
            raise Preempted(0, "stop requested before the node started")
        work = ensure_dir(ctx.cache_dir / "tmp") / f"{node.key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        work.mkdir()
        log_event(ctx, node, "start")
        started = time.time()
        try:
            with Heartbeat(ctx.cache_dir, f"node-{node.key}", node=node.key, run=current_run()):
                summary = STAGE_FUNCTIONS[node.stage](node, work, ctx)
            summary = {**summary, "seconds": round(time.time() - started, 3)}
            (work / "node.json").write_text(json.dumps(node.to_json(), indent=2, sort_keys=True))
            (work / "summary.json").write_text(json.dumps(summary))
            write_marker(ctx, node, work)
            ensure_dir(final.parent)
            try:
                os.rename(work, final)
            except OSError:
                if not is_done(ctx, node.key):  # not a complete copy by another worker (unlocked file system)
                    raise
                shutil.rmtree(work, ignore_errors=True)
        except Preempted as err:  # checkpoint written (cache_dir/resume/KEY): not a failure, resume on rerun
            log_event(ctx, node, "requeue", step=err.step, reason=str(err), seconds=round(time.time() - started, 3))
            shutil.rmtree(work, ignore_errors=True)
            raise
        except Exception as err:
            previous = read_failure(ctx, node.key) or {}
            write_json_atomic(failed_path(ctx, node.key), {
                "node": node.key, "stage": node.stage, "label": node.label, "error": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(), "time": time.time(), "host": HOST, "run": current_run(),
                "attempts": int(previous.get("attempts", 0)) + 1,
            })
            log_event(ctx, node, "failed", error=f"{type(err).__name__}: {err}", seconds=round(time.time() - started, 3))
            shutil.rmtree(work, ignore_errors=True)
            raise
        except BaseException:  # Ctrl-C, SystemExit: not the node's fault, no failure record, rerun next time
            log_event(ctx, node, "interrupted")
            shutil.rmtree(work, ignore_errors=True)
            raise
        failed_path(ctx, node.key).unlink(missing_ok=True)
        log_event(ctx, node, "finish", seconds=summary["seconds"], device_kind=device_kind(ctx.device))
    return summary


def context_to_json(ctx: Context) -> dict[str, Any]:
    """What a remote worker needs of the context (no callbacks)."""
    return {"cache_dir": str(ctx.cache_dir), "device": ctx.device, "config_name": ctx.config_name,
            "config_hash": ctx.config_hash, "run": current_run(), "nproc": ctx.nproc, "strategy": ctx.strategy, "threads": ctx.threads,
            "loggers": list(ctx.loggers), "log_dir": str(ctx.log_dir) if ctx.log_dir is not None else None}


def execute(node_json: dict[str, Any], ctx_json: dict[str, Any]) -> dict[str, Any]:
    """Worker entry point (any executor): run one node from plain JSON; report, never raise, its failure."""
    if ctx_json.get("run"):
        set_run(ctx_json["run"])
    node = Node(**node_json)
    ctx = Context(cache_dir=Path(ctx_json["cache_dir"]), device=ctx_json.get("device") or "auto",
                  config_name=ctx_json.get("config_name"), config_hash=ctx_json.get("config_hash"),
                  nproc=int(ctx_json.get("nproc") or 1), strategy=ctx_json.get("strategy") or "ddp",
                  threads=ctx_json.get("threads"), loggers=tuple(ctx_json.get("loggers") or ()),
                  log_dir=Path(ctx_json["log_dir"]) if ctx_json.get("log_dir") else None)
    return execute_node(node, ctx)


def execute_node(node: Node, ctx: Context) -> dict[str, Any]:
    worker = f"{HOST}:{os.getpid()}"
    try:
        summary = run_node(node, ctx)
    except UpstreamMissing as err:
        log_event(ctx, node, "skipped", reason=str(err))
        return {"key": node.key, "status": "skipped", "error": str(err), "worker": worker}
    except Preempted as err:
        return {"key": node.key, "status": "requeue", "error": str(err), "step": err.step, "worker": worker}
    except Exception as err:
        return {"key": node.key, "status": "failed", "error": f"{type(err).__name__}: {err}", "worker": worker}
    status = "cached" if summary.pop("cached", False) else "done"
    return {"key": node.key, "status": status, "summary": summary, "worker": worker}
