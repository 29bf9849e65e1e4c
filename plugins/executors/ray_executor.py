"""``ray``: each node is a Ray core task with a resource request (one GPU per task when the cluster has GPUs).

The driver keeps the DAG (``harness.orchestration.scheduler.run_dag``): a node is submitted once its upstream nodes finished, a
failure skips only its dependents. Workers get the node as plain JSON and write into the shared cache directory
(local disk for a one-machine cluster, a shared file system for a multi-machine one), so results are identical to
the ``local`` executor's. ``ray`` is imported only when a matrix runs on it.

``executor_options``: ``address`` (an existing cluster, e.g. ``auto`` or ``ray://host:10001``; default: start a
local one), ``num_cpus``/``num_gpus`` (size of a local cluster), ``cpus_per_task`` (default 1), ``gpus_per_task``
(default ``nproc`` — 1 unless training nodes run multi-process — when the cluster has GPUs and ``device`` is not
``cpu``, else 0), ``max_in_flight`` (default: the
config's ``workers`` when above 1, else unbounded: Ray's resources decide), ``shutdown`` (stop a cluster this
executor started when the run ends; default true), ``max_retries`` (default 3: a task whose worker died — a lost
or preempted machine, an out-of-memory kill — runs again, and its training node resumes from its checkpoint in
``cache_dir/resume/KEY``, which does not depend on the worker).

While a node runs, SIGTERM/SIGUSR1 to its worker request a graceful stop (:mod:`harness.run.signals`): the node
checkpoints and reports ``requeue``; the scheduler counts it interrupted, not failed.
"""

from __future__ import annotations

from typing import Any

from harness.api import (
    Context,
    Node,
    Outcome,
    clear_stop,
    context_to_json,
    execute,
    graceful_stop,
    hookimpl,
    run_dag,
)

OPTIONS = ("address", "num_cpus", "num_gpus", "cpus_per_task", "gpus_per_task", "max_in_flight", "shutdown",
           "max_retries")


def run_task(node_json: dict[str, Any], ctx_json: dict[str, Any]) -> dict[str, Any]:
    """What a Ray task runs: :func:`harness.orchestration.execute.execute` with graceful-stop handlers for its duration (the
    worker's own handlers, Ray's, come back afterwards; the worker process is reused)."""
    clear_stop()
    try:
        with graceful_stop():
            return execute(node_json, ctx_json)
    finally:
        clear_stop()


class RayBackend:
    def __init__(self, remote: Any, ctx_json: dict[str, Any], slots: int) -> None:
        self.remote, self.ctx_json, self.slots = remote, ctx_json, slots

    def submit(self, node: Node) -> Any:
        return self.remote.remote(node.to_json(), self.ctx_json)

    def wait(self, handles: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
        import ray

        ready, _ = ray.wait(handles, num_returns=1)
        out = []
        for ref in ready:
            try:
                out.append((ref, ray.get(ref)))
            except Exception as err:  # noqa: BLE001 - a worker that crashed (not a node error: those are reported)
                out.append((ref, {"status": "failed", "error": f"ray task died: {type(err).__name__}: {err}"}))
        return out

    def close(self) -> None:
        pass


class RayExecutor:
    """Nodes as Ray core tasks on a local or existing Ray cluster."""

    name = "ray"

    def __init__(self, workers: int = 1, **options: Any) -> None:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"executor_options: unknown ray option(s) {', '.join(unknown)} (allowed: {', '.join(OPTIONS)})")
        self.workers = workers
        self.options = options

    def run(self, nodes: list[Node], ctx: Context, retry_failed: bool = False) -> Outcome:
        import ray

        o = self.options
        started_here = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if o.get("address"):
                kwargs["address"] = o["address"]
            else:
                for k in ("num_cpus", "num_gpus"):
                    if o.get(k) is not None:
                        kwargs[k] = o[k]
            ray.init(**kwargs)
            started_here = True
        try:
            cluster_gpus = ray.cluster_resources().get("GPU", 0)
            gpus = o.get("gpus_per_task")
            if gpus is None:  # a multi-process training node (nproc > 1) needs one GPU per process
                gpus = max(1, int(getattr(ctx, "nproc", 1) or 1)) if cluster_gpus and ctx.device != "cpu" else 0
            remote = ray.remote(num_cpus=o.get("cpus_per_task", 1), num_gpus=gpus,
                                max_retries=int(o.get("max_retries", 3)))(run_task)
            ctx_json = context_to_json(ctx)
            if gpus:
                ctx_json["device"] = "cuda"  # Ray sets CUDA_VISIBLE_DEVICES to the task's GPU
            slots = o.get("max_in_flight") or (self.workers if self.workers > 1 else len(nodes) or 1)
            return run_dag(nodes, ctx, RayBackend(remote, ctx_json, int(slots)), retry_failed=retry_failed)
        finally:
            if started_here and o.get("shutdown", True):
                ray.shutdown()


@hookimpl
def register_executors(register) -> None:
    register("ray", RayExecutor)
