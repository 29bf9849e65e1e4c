"""Running a plan: each node once, into a content-addressed cache, resumable after any crash or ``kill -9``.

Cache layout (``cache_dir``, shareable by many matrices and workers, on one machine or a shared file system)::

    nodes/KEY/        a finished node: its outputs, node.json, summary.json and DONE (written last)
    tmp/KEY.PID.RAND/ a node being written; renamed to nodes/KEY only when complete
    locks/KEY.lock    flock held while a worker runs KEY: one writer per node across processes and hosts
    failed/KEY.json   the error and traceback of the last failed attempt (removed when the node succeeds)
    events.jsonl      one line per run start/end and node start/finish/failed/cached/skipped/stale

A node counts as finished only if ``nodes/KEY/DONE`` names KEY and every file it lists has the recorded size;
anything else found at ``nodes/KEY`` is stale and is removed, never trusted. Orphaned ``tmp/`` folders (their
node lock is free) are removed at the next run. A failing node records its error, its dependents are skipped and
the other nodes go on. By default a rerun does not retry nodes that failed in an earlier run (they are reported
again with their recorded error, dependents skipped); ``retry_failed=True`` (``--retry-failed``) runs them again.
A node interrupted by Ctrl-C or a kill leaves no failure record, so a rerun simply runs it.

Executors are plugins (``register_executors``); the DAG scheduler here (:func:`run_dag`) drives any *backend*
that can ``submit`` a node and ``wait`` for results: in this process (``local``, ``workers: 1``), a pool of
spawned worker processes with one GPU each (``local``, ``workers: N``), Ray tasks (``ray``). Workers receive
plain JSON (:func:`execute`) and report a status dict; they never raise for a node's own failure. Each eval node
writes its own ``rows.jsonl`` atomically; after the run :func:`merge_leaderboard` rewrites the whole leaderboard
(temp file + rename, under a lock) so concurrent workers and matrices never interleave or lose rows.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import socket
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .hookspecs import hookimpl
from .plan import Node, Plan
from .results import read_jsonl, write_jsonl_atomic
from .stages import STAGE_FUNCTIONS, Context

DONE = "DONE"
EVENTS = "events.jsonl"
HOST = socket.gethostname()
FINISHED = ("done", "cached")

_run_id: str | None = None
_made_dirs: set[str] = set()


def ensure_dir(path: Path) -> Path:
    """``mkdir -p`` once per process and folder (a big run would otherwise spend its time in mkdir calls)."""
    key = str(path)
    if key not in _made_dirs:
        Path(path).mkdir(parents=True, exist_ok=True)
        _made_dirs.add(key)
    return Path(path)


class UpstreamMissing(RuntimeError):
    """A node was asked to run before all its upstream nodes finished."""


# --------------------------------------------------------------------------------------------------- paths & log


def failed_path(ctx: Context, key: str) -> Path:
    return ctx.cache_dir / "failed" / f"{key}.json"


def lock_path(ctx: Context, key: str) -> Path:
    return ctx.cache_dir / "locks" / f"{key}.lock"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def current_run() -> str | None:
    return _run_id


def set_run(run_id: str | None) -> None:
    """Name the run that events of this process belong to (workers get it from the driver)."""
    global _run_id
    if run_id != _run_id:
        _made_dirs.clear()  # folders may have been removed between runs
    _run_id = run_id


def event(node: Node | None, name: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"time": time.time(), "event": name, "run": _run_id}
    if node is not None:
        record.update(node=node.key, stage=node.stage, label=node.label)
    record.update(host=HOST, pid=os.getpid(), **extra)
    return record


def append_events(cache_dir: Path, records: list[dict[str, Any]]) -> None:
    """Append complete lines in one ``write`` under an exclusive lock. No fsync: the log describes the cache, it
    is not what makes a node trusted (the DONE manifest is), and an fsync per event would dominate a big run."""
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    path = ensure_dir(Path(cache_dir)) / EVENTS
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def log_event(ctx: Context, node: Node | None, name: str, **extra: Any) -> None:
    """Append one event (complete line, under a lock) to ``cache_dir/events.jsonl``."""
    append_events(ctx.cache_dir, [event(node, name, **extra)])


def read_events(cache_dir: Path) -> list[dict[str, Any]]:
    path = Path(cache_dir) / EVENTS
    return read_jsonl(path) if path.exists() else []


# ------------------------------------------------------------------------------------------------ node integrity


def _manifest(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def is_done(ctx: Context, key: str) -> bool:
    """True only for a complete node: DONE names ``key`` and every listed file is there with its size."""
    folder = ctx.node_dir(key)
    try:
        marker = json.loads((folder / DONE).read_text())
        if marker.get("key") != key:
            return False
        for name, size in marker["files"].items():
            if (folder / name).stat().st_size != size:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


@contextlib.contextmanager
def node_lock(ctx: Context, key: str) -> Iterator[None]:
    """Hold the node's exclusive lock (blocks while another worker, anywhere, is running it)."""
    path = lock_path(ctx, key)
    ensure_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    locked = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            locked = True
        except OSError as err:  # a file system without flock (e.g. Lustre mounted without it): go on unlocked
            if err.errno not in (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK, errno.EINVAL):
                raise
        yield
    finally:
        if locked:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def is_running(ctx: Context, key: str) -> bool:
    """Whether some worker holds the node's lock right now (probed without blocking)."""
    path = lock_path(ctx, key)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        return err.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def cleanup_tmp(ctx: Context) -> int:
    """Remove partial node folders left by killed workers (their node lock is free); returns how many."""
    tmp = ctx.cache_dir / "tmp"
    removed = 0
    if not tmp.is_dir():
        return 0
    for path in tmp.iterdir():
        key = path.name.split(".", 1)[0]
        if not is_running(ctx, key):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _write_json_atomic(path: Path, data: Any) -> None:
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def read_failure(ctx: Context, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(failed_path(ctx, key).read_text())
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------------ one node


def run_node(node: Node, ctx: Context) -> dict[str, Any]:
    """Run one node unless the cache has it; atomic: the node folder appears complete or not at all.

    Raises :class:`UpstreamMissing` if an upstream node is not finished, and re-raises the stage's own error
    after recording it under ``failed/KEY.json``.
    """
    missing = [d for d in node.deps if not is_done(ctx, d)]
    if missing:
        raise UpstreamMissing(f"upstream node(s) not finished: {', '.join(missing)}")
    final = ctx.node_dir(node.key)
    with node_lock(ctx, node.key):
        if is_done(ctx, node.key):
            log_event(ctx, node, "cached")
            return {**json.loads((final / "summary.json").read_text()), "cached": True}
        if final.exists():  # a partial or tampered node: never trusted
            log_event(ctx, node, "stale", reason="incomplete or altered node folder removed")
            trash = ctx.cache_dir / "tmp" / f"{node.key}.stale.{uuid.uuid4().hex[:8]}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        work = ensure_dir(ctx.cache_dir / "tmp") / f"{node.key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        work.mkdir()
        log_event(ctx, node, "start")
        started = time.time()
        try:
            summary = STAGE_FUNCTIONS[node.stage](node, work, ctx)
            summary = {**summary, "seconds": round(time.time() - started, 3)}
            (work / "node.json").write_text(json.dumps(node.to_json(), indent=2, sort_keys=True))
            (work / "summary.json").write_text(json.dumps(summary))
            (work / DONE).write_text(json.dumps({"key": node.key, "files": _manifest(work)}))
            ensure_dir(final.parent)
            try:
                os.rename(work, final)
            except OSError:
                if not is_done(ctx, node.key):  # not a complete copy by another worker (unlocked file system)
                    raise
                shutil.rmtree(work, ignore_errors=True)
        except Exception as err:
            previous = read_failure(ctx, node.key) or {}
            _write_json_atomic(failed_path(ctx, node.key), {
                "node": node.key, "stage": node.stage, "label": node.label, "error": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(), "time": time.time(), "host": HOST, "run": _run_id,
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
        log_event(ctx, node, "finish", seconds=summary["seconds"])
    return summary


def context_to_json(ctx: Context) -> dict[str, Any]:
    """What a remote worker needs of the context (no callbacks)."""
    return {"cache_dir": str(ctx.cache_dir), "device": ctx.device, "config_name": ctx.config_name,
            "config_hash": ctx.config_hash, "run": _run_id, "nproc": ctx.nproc, "strategy": ctx.strategy}


def execute(node_json: dict[str, Any], ctx_json: dict[str, Any]) -> dict[str, Any]:
    """Worker entry point (any executor): run one node from plain JSON; report, never raise, its failure."""
    if ctx_json.get("run"):
        set_run(ctx_json["run"])
    node = Node(**node_json)
    ctx = Context(cache_dir=Path(ctx_json["cache_dir"]), device=ctx_json.get("device") or "auto",
                  config_name=ctx_json.get("config_name"), config_hash=ctx_json.get("config_hash"),
                  nproc=int(ctx_json.get("nproc") or 1), strategy=ctx_json.get("strategy") or "ddp")
    return execute_node(node, ctx)


def execute_node(node: Node, ctx: Context) -> dict[str, Any]:
    worker = f"{HOST}:{os.getpid()}"
    try:
        summary = run_node(node, ctx)
    except UpstreamMissing as err:
        log_event(ctx, node, "skipped", reason=str(err))
        return {"key": node.key, "status": "skipped", "error": str(err), "worker": worker}
    except Exception as err:
        return {"key": node.key, "status": "failed", "error": f"{type(err).__name__}: {err}", "worker": worker}
    status = "cached" if summary.pop("cached", False) else "done"
    return {"key": node.key, "status": status, "summary": summary, "worker": worker}


# ------------------------------------------------------------------------------------------------- the scheduler


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    earlier: list[str] = field(default_factory=list)  # failed keys not retried (failed in an earlier run)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def to_json(self) -> dict[str, Any]:
        return {"done": len(self.done), "cached": len(self.cached), "failed": len(self.failed),
                "skipped": len(self.skipped), "failed_earlier": len(self.earlier)}


class Backend(Protocol):
    """Where nodes run: ``submit`` returns a handle; ``wait`` blocks until at least one handle has a result."""

    slots: int

    def submit(self, node: Node) -> Any: ...

    def wait(self, handles: list[Any]) -> list[tuple[Any, dict[str, Any]]]: ...

    def close(self) -> None: ...


def triage(nodes: list[Node], ctx: Context, retry_failed: bool, outcome: Outcome) -> dict[str, str]:
    """State of each node before running: ``cached``, ``failed`` (earlier, not retried) or ``todo``."""
    state: dict[str, str] = {}
    records = []  # one locked append for all of them: a cached rerun of a big matrix stays cheap
    for node in nodes:
        if is_done(ctx, node.key):
            state[node.key] = "cached"
            outcome.cached.append(node.key)
            records.append(event(node, "cached"))
            continue
        record = None if retry_failed else read_failure(ctx, node.key)
        if record is not None:
            state[node.key] = "failed"
            outcome.failed[node.key] = f"failed in an earlier run: {record.get('error')} (rerun with --retry-failed)"
            outcome.earlier.append(node.key)
            records.append(event(node, "failed_earlier", error=record.get("error")))
            continue
        state[node.key] = "todo"
    if records:
        append_events(ctx.cache_dir, records)
    return state


def apply_result(node: Node, result: dict[str, Any], state: dict[str, str], outcome: Outcome) -> None:
    status = result.get("status")
    state[node.key] = status if status in ("done", "cached", "skipped") else "failed"
    if status == "done":
        outcome.done.append(node.key)
    elif status == "cached":
        outcome.cached.append(node.key)
    elif status == "skipped":
        outcome.skipped.append(node.key)
    else:
        outcome.failed[node.key] = result.get("error") or f"unknown worker result {result!r}"


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
            while ready and len(inflight) < backend.slots:
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
                if ctx.progress is not None and not isinstance(backend, InProcessBackend):
                    ctx.progress(node, {})  # remote nodes cannot report steps: count them as they finish
                for child in children.get(node.key, []):
                    if state[node.key] in FINISHED:
                        waiting[child.key] -= 1
                        if waiting[child.key] == 0 and state[child.key] == "todo":
                            heapq.heappush(ready, (order[child.key], child.key))
                    else:
                        skip(child, "an upstream node failed")
            if skip_records:
                append_events(ctx.cache_dir, skip_records)
                skip_records.clear()
    finally:
        backend.close()
    stuck = [k for k, s in state.items() if s == "todo" and k in by_key]
    if stuck:  # cannot happen with a topological order
        raise RuntimeError(f"scheduler stuck: {len(stuck)} nodes never became ready")
    return outcome


# ------------------------------------------------------------------------------------------- the local executor


class InProcessBackend:
    """Runs each node in this process when waited on (keeps the progress callback)."""

    slots = 1

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.nodes: dict[str, Node] = {}

    def submit(self, node: Node) -> str:
        self.nodes[node.key] = node
        return node.key

    def wait(self, handles: list[str]) -> list[tuple[str, dict[str, Any]]]:
        node = self.nodes.pop(handles[0])
        return [(node.key, execute_node(node, self.ctx))]

    def close(self) -> None:
        pass


def gpu_count() -> int:
    """Visible CUDA devices (``CUDA_VISIBLE_DEVICES`` if set, else torch's count; 0 without CUDA)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no torch/CUDA means no GPU
        return 0


def _pool_init(gpu_queue: Any, threads: int, run_id: str | None) -> None:
    """Worker start-up (before torch is imported): pin one GPU, or share the CPU cores out."""
    set_run(run_id)
    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_queue.get())
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


class PoolBackend:
    """A pool of spawned worker processes; with GPUs, each worker sees exactly one (``CUDA_VISIBLE_DEVICES``), or
    ``ctx.nproc`` of them when training nodes run multi-process (then ``workers`` ≤ GPUs // nproc)."""

    def __init__(self, workers: int, ctx: Context) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        self._mp, self._pool_cls = mp.get_context("spawn"), ProcessPoolExecutor
        gpus = 0 if ctx.device == "cpu" else gpu_count()
        per = max(1, int(getattr(ctx, "nproc", 1) or 1))
        if gpus:
            workers = max(1, min(workers, gpus // per))
        self.slots = workers
        visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
        ids = [visible[i] if i < len(visible) else str(i) for i in range(gpus)]
        self.gpu_ids = [",".join(ids[w * per:(w + 1) * per]) for w in range(workers)] if gpus else []
        self.threads = max(1, (os.cpu_count() or 1) // workers)
        self.ctx_json = context_to_json(ctx)
        if gpus:
            self.ctx_json["device"] = "cuda"
        self._start()

    def _start(self) -> None:
        queue = None
        if self.gpu_ids:
            queue = self._mp.Queue()
            for g in self.gpu_ids:
                queue.put(g)
        self.pool = self._pool_cls(max_workers=self.slots, mp_context=self._mp, initializer=_pool_init,
                                   initargs=(queue, self.threads, _run_id))

    def submit(self, node: Node) -> Any:
        return self.pool.submit(execute, node.to_json(), self.ctx_json)

    def wait(self, handles: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_futures
        from concurrent.futures.process import BrokenProcessPool

        finished, _ = wait_futures(handles, return_when=FIRST_COMPLETED)
        out, broken = [], False
        for fut in finished:
            try:
                out.append((fut, fut.result()))
            except BrokenProcessPool:
                broken = True
                out.append((fut, {"status": "failed", "error": "worker process died (killed or out of memory)"}))
            except Exception as err:  # noqa: BLE001 - e.g. unpicklable result
                out.append((fut, {"status": "failed", "error": f"{type(err).__name__}: {err}"}))
        if broken:  # the pool is unusable: every in-flight node of it is lost; start a fresh pool
            for fut in handles:
                if fut not in finished:
                    out.append((fut, {"status": "failed", "error": "worker pool broke while this node ran"}))
            self.pool.shutdown(wait=False, cancel_futures=True)
            self._start()
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class LocalExecutor:
    """``local``: nodes in topological order in this process (``workers: 1``), or on a pool of ``workers``
    spawned processes, one GPU per worker when GPUs are present (workers are capped at the GPU count)."""

    name = "local"

    def __init__(self, workers: int = 1, **options: Any) -> None:
        if options:
            raise ValueError(f"executor_options: the local executor takes no options (got {', '.join(options)})")
        self.workers = workers

    def run(self, nodes: list[Node], ctx: Context, retry_failed: bool = False) -> Outcome:
        backend = InProcessBackend(ctx) if self.workers <= 1 else PoolBackend(self.workers, ctx)
        return run_dag(nodes, ctx, backend, retry_failed=retry_failed)


@hookimpl
def register_executors(register) -> None:
    register("local", LocalExecutor)


# ------------------------------------------------------------------------------------------------- leaderboard


def collect_rows(plan: Plan, ctx: Context) -> list[dict[str, Any]]:
    """Rows of every finished eval node of the plan, stamped with this matrix's name and config hash."""
    rows = []
    for node in plan.by_stage("eval"):
        if not is_done(ctx, node.key):
            continue
        for row in read_jsonl(ctx.node_dir(node.key) / "rows.jsonl"):
            row["config_name"] = plan.config.name
            row["config_hash"] = plan.config_hash
            pred = ctx.cache_dir / row["predictions"]
            try:
                row["predictions"] = os.path.relpath(pred, plan.leaderboard.parent)
            except ValueError:
                row["predictions"] = str(pred)
            rows.append(row)
    return rows


def merge_leaderboard(path: Path, config_name: str, rows: list[dict[str, Any]]) -> None:
    """Replace this matrix's rows in the leaderboard file, keep other matrices' rows; whole-file atomic write
    under an exclusive lock, so concurrent matrices sharing one file never lose or interleave rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        others = [r for r in read_jsonl(path) if r.get("config_name") != config_name] if path.exists() else []
        write_jsonl_atomic(path, others + rows)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def run_plan(plan: Plan, ctx: Context, executor: Any = None, retry_failed: bool = False) -> Outcome:
    """Run every node not yet cached, then merge the leaderboard from all finished eval nodes."""
    executor = executor or LocalExecutor()
    ctx.cache_dir.mkdir(parents=True, exist_ok=True)
    set_run(new_run_id())
    cleanup_tmp(ctx)
    started = time.time()
    log_event(ctx, None, "run_start", config_name=plan.config.name, config_hash=plan.config_hash,
              executor=getattr(executor, "name", type(executor).__name__), workers=getattr(executor, "workers", None),
              nodes=len(plan.nodes), retry_failed=retry_failed)
    try:
        outcome = executor.run(list(plan.nodes.values()), ctx, retry_failed=retry_failed)
    except BaseException as err:
        status = "error" if isinstance(err, Exception) else "interrupted"
        log_event(ctx, None, "run_end", status=status, error=f"{type(err).__name__}: {err}",
                  seconds=round(time.time() - started, 3))
        raise
    merge_leaderboard(plan.leaderboard, plan.config.name, collect_rows(plan, ctx))
    log_event(ctx, None, "run_end", status="ok" if outcome.ok else "failed", seconds=round(time.time() - started, 3),
              **outcome.to_json())
    return outcome


# ------------------------------------------------------------------------------------------ status and estimates


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
    """Mean observed time of this stage for this model, else of this stage; None without history."""
    model = node.params.get("model", {}).get("name") if isinstance(node.params.get("model"), dict) else None
    for key in ((node.stage, model), (node.stage, None)):
        if history.get(key):
            return sum(history[key]) / len(history[key])
    return None


def matrix_status(plan: Plan, ctx: Context, workers: int = 1) -> dict[str, Any]:
    """Progress of a running or finished matrix, from the cache (DONE markers, locks, failure records) and the
    events log: per-stage counts, running and failed nodes, timing and an ETA."""
    events = read_events(ctx.cache_dir)
    keys = set(plan.nodes)
    mine = [e for e in events if e.get("node") in keys]
    last_start = {e["node"]: e for e in mine if e["event"] == "start"}
    state: dict[str, str] = {}
    for node in plan.nodes.values():
        if is_done(ctx, node.key):
            state[node.key] = "done"
        elif is_running(ctx, node.key):
            state[node.key] = "running"
        elif failed_path(ctx, node.key).exists():
            state[node.key] = "failed"
        elif any(state.get(d) in ("failed", "skipped") for d in node.deps):
            state[node.key] = "skipped"
        else:
            state[node.key] = "pending"
    stages: dict[str, dict[str, int]] = {}
    for node in plan.nodes.values():
        s = stages.setdefault(node.stage, {k: 0 for k in ("nodes", "done", "running", "failed", "skipped", "pending")})
        s["nodes"] += 1
        s[state[node.key]] += 1
    totals = {k: sum(s[k] for s in stages.values()) for k in ("nodes", "done", "running", "failed", "skipped",
                                                              "pending")}
    history = stage_seconds(events)
    left = [estimate_seconds(n, history) for n in plan.nodes.values() if state[n.key] in ("pending", "running")]
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
    elif last_run and end is None and mine and mine[-1].get("run") == last_run.get("run"):
        phase = "running"  # between nodes (or the driver died: the ETA stops moving)
    else:
        phase = "incomplete" if totals["done"] else "not started"
    return {
        "config": plan.config.name, "config_hash": plan.config_hash, "cache_dir": str(ctx.cache_dir),
        "phase": phase, "progress": round(totals["done"] / totals["nodes"], 4) if totals["nodes"] else 1.0,
        "totals": totals, "stages": stages,
        "running": [{"node": k, "label": plan.nodes[k].label, "since": last_start.get(k, {}).get("time"),
                     "host": last_start.get(k, {}).get("host"), "pid": last_start.get(k, {}).get("pid")}
                    for k, s in state.items() if s == "running"],
        "failed": [{"node": k, "label": plan.nodes[k].label, **{f: (read_failure(ctx, k) or {}).get(f)
                                                               for f in ("error", "attempts", "time")}}
                   for k, s in state.items() if s == "failed"],
        "last_run": None if last_run is None else {
            "run": last_run.get("run"), "started": last_run.get("time"), "executor": last_run.get("executor"),
            "ended": end.get("time") if end else None, "status": end.get("status") if end else None,
            "elapsed_s": round((end["time"] if end else now) - last_run["time"], 1),
        },
        "eta_s": round(sum(known) / max(1, workers), 1) if known else (0.0 if not left else None),
        "eta_basis": f"mean observed seconds per stage and model over {sum(len(v) for k, v in history.items() if k[1] is None)} "
                     f"finished nodes, {max(1, workers)} worker(s)" if known else "no finished nodes to time yet",
        "last_event": mine[-1]["time"] if mine else None,
        "leaderboard": str(plan.leaderboard),
        "leaderboard_rows": len(read_jsonl(plan.leaderboard)) if plan.leaderboard.exists() else 0,
        "nodes": [{"node": n.key, "stage": n.stage, "label": n.label, "state": state[n.key]}
                  for n in plan.nodes.values()],
    }


def plan_costs(plan: Plan, ctx: Context, workers: int = 1) -> dict[str, Any]:
    """Estimated cost of the plan from the timings in this cache's events log: seconds left to run, a wall-clock
    estimate at ``workers`` (the larger of total/workers and the DAG's critical path), and the seconds that
    checkpoint reuse saves versus running every cell independently (its own intermediate and target training)."""
    history = stage_seconds(read_events(ctx.cache_dir))
    est = {k: estimate_seconds(n, history) for k, n in plan.nodes.items()}
    todo = [k for k in plan.nodes if not is_done(ctx, k)]
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
