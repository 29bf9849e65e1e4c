"""The ``local`` executor: nodes in this process (``workers: 1``) or on a pool of spawned worker processes, one GPU
(or ``nproc`` GPUs) per worker when GPUs are present. SIGTERM/SIGUSR1 stop the run gracefully (see
:mod:`harness.run.signals`): the driver passes the request on to its pool workers and starts no new node."""

from __future__ import annotations

import os
import signal
from typing import Any

from harness.core.hookspecs import hookimpl
from harness.orchestration.execute import context_to_json, execute, execute_node
from harness.orchestration.scheduler import Outcome, run_dag
from harness.planning.plan import Node
from harness.run.context import Context
from harness.run.signals import graceful_stop, install_stop_handlers
from harness.run.stop import clear_stop
from harness.store.events import current_run, set_run


class InProcessBackend:
    """Runs each node in this process when waited on (keeps the progress callback)."""

    slots = 1
    reports_progress = True  # nodes run here call ``ctx.progress`` themselves

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


def _pool_init(gpu_queue: Any, threads: int, run_id: str | None, workers: int = 1) -> None:
    """Worker start-up (before torch is imported): pin one GPU, or share the CPU cores out (harness.run.threads reads
    ``XLT_WORKERS`` and caps each node's budget at the inherited ``OMP_NUM_THREADS``)."""
    from harness.run.threads import WORKERS_ENV

    set_run(run_id)
    install_stop_handlers()  # a worker stops gracefully too (signalled directly, or by the driver)
    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_queue.get())
    os.environ[WORKERS_ENV] = str(workers)
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
        from harness.run.threads import available_cores

        self.threads = max(1, available_cores() // workers)
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
                                   initargs=(queue, self.threads, current_run(), self.slots))

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

    def stop_workers(self, signum: int) -> None:
        """Pass a stop request on to the workers (each then stops gracefully; one already told just repeats)."""
        for pid in list(getattr(self.pool, "_processes", None) or {}):
            try:
                os.kill(pid, signal.SIGUSR1)
            except OSError:
                pass

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
        clear_stop()
        backend = InProcessBackend(ctx) if self.workers <= 1 else PoolBackend(self.workers, ctx)
        with graceful_stop(on_stop=getattr(backend, "stop_workers", None)):
            return run_dag(nodes, ctx, backend, retry_failed=retry_failed)


@hookimpl
def register_executors(register) -> None:
    register("local", LocalExecutor)
