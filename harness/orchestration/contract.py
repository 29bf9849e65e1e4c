"""The executor contract: what an executor plugin implements and what each node needs to run anywhere.

An executor is registered as ``register(name, factory)`` (``register_executors``); a matrix naming it builds
``factory(workers=N, **executor_options)`` and calls :meth:`Executor.run` with the nodes still to compute. The
three in this project are its implementations: ``local`` (this process or a process pool), ``ray`` (Ray tasks)
and ``slurm`` (one sbatch job per node, via submitit).

What a node needs, wherever it runs: ``node.to_json()`` and ``context_to_json(ctx)`` (plain JSON: paths, thread
budget, progress off), handed to ``execute(node_json, ctx_json)`` in the worker. That call does everything
(inputs checked, node run, result committed atomically to the node store) and returns the result
``{"status": "done"|"cached"|"skipped"|"failed"|"requeue", "error": ...}``; it never raises for a node's own
failure. A worker should run it inside ``graceful_stop()`` so SIGTERM/SIGUSR1 (preemption) stop the node at a
resumable point (status ``requeue``) instead of killing it.

Two ways to implement :meth:`Executor.run`:

- hand a :class:`Backend` to ``run_dag(nodes, ctx, backend)``: it submits ready nodes in plan order, polls for
  results, skips the dependents of failures, honours stop requests and resumes on a rerun (local, Ray);
- drive the nodes yourself with ``triage`` (what is cached, failed earlier or to do) and ``apply_result`` (fold
  one result into the :class:`~harness.orchestration.scheduler.Outcome`), as the SLURM executor does to adopt jobs
  still queued from an earlier submission.
"""

from __future__ import annotations

from typing import Any, Protocol

from harness.planning.plan import Node
from harness.run.context import Context


class Backend(Protocol):
    """Where nodes run, for ``run_dag``. ``slots``: how many nodes may run at once."""

    slots: int

    def submit(self, node: Node) -> Any:
        """Start one node (its upstream nodes are finished); return a handle for :meth:`wait`."""

    def wait(self, handles: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
        """Poll: block until at least one of ``handles`` finished; return ``(handle, result)`` for each finished
        one. A worker that died is a ``{"status": "failed", "error": ...}`` result, not an exception."""

    def close(self) -> None:
        """Cancel what is still queued and release the workers (called once, also after a stop or an error)."""


class Executor(Protocol):
    """A matrix executor, built by its registered factory as ``factory(workers=N, **executor_options)``; a
    factory refuses options it does not know with a ``ValueError`` naming them."""

    def run(self, nodes: list[Node], ctx: Context, retry_failed: bool = False) -> Any:
        """Compute ``nodes`` (topological order; cached ones are reused) and return their ``Outcome``."""
