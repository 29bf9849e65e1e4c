"""``slurm``: nodes as SLURM jobs submitted with submitit; the whole DAG is queued at once with dependencies.

Two layouts (``executor_options.mode``):

- ``array`` (default): one array job per DAG level (level = 1 + the deepest upstream level still to run); level
  L+1 waits for level L with ``--dependency=afterany:JOBID``. Few submissions, friendly to busy schedulers.
- ``node``: one job per node, depending (``afterany``) on exactly the jobs of its own upstream nodes.

``afterany`` (not ``afterok``) because a node's failure is a *result*, not a job crash: the job records it in the
cache and exits normally, and its dependents start, find their upstream missing and report ``skipped`` (a job
killed by SLURM, for its time limit say, is handled the same way). Every job runs :func:`harness.orchestration.execute.execute`
on the node's plain-JSON params against the shared ``cache_dir`` (it must be on a file system all nodes see), so
results are identical to ``local``; the node lock in the cache keeps two jobs from ever computing one node.
The driver only waits: it polls the result files and ``squeue``, and a job that leaves the queue without a result
counts as failed (its log path is in the error).

Preemption: jobs are submitted with ``--requeue`` and ``--signal=USR2@signal_delay_s`` (submitit's pre-timeout
signal). In the job, SIGTERM (preemption, ``scontrol requeue``), SIGUSR1 and SIGUSR2 request a graceful stop (see
:mod:`harness.run.signals`): a training node writes a resume checkpoint at its next step boundary and the job requeues
itself (``scontrol requeue``, same job id) and exits *without* a result file, so the driver keeps waiting on that
job id; the requeued job runs the node again, which resumes from ``cache_dir/resume/KEY``. A job requeued by an
administrator or by SLURM itself comes back under the same id the same way (``slurm_job_start`` events count the
restarts). Ctrl-C on the driver cancels the jobs it queued; if the driver is
killed instead, the queued jobs still run, ``harness matrix status`` shows their progress and a rerun picks up
whatever finished (a node still running elsewhere is waited for through its lock, never computed twice).

``executor_options``: ``mode`` (array|node), ``partition``, ``timeout_min`` (default 60), ``cpus_per_task``
(default 2), ``gpus_per_task`` (default ``nproc``, i.e. 1 unless training nodes run multi-process, when the partition has GPUs
and ``device`` is not ``cpu``), ``mem_gb``,
``account``, ``qos``, ``constraint``, ``setup`` (shell lines run before each job, e.g. ``module load``),
``array_parallelism``, ``folder`` (submitit's job files and logs; default CACHE_DIR/slurm), ``poll_s``
(default 1), ``lost_grace_s`` (default 30), ``signal_delay_s`` (seconds before the time limit that SLURM sends
the stop signal; default 120), ``requeue`` (default true), ``additional`` (extra sbatch parameters as a mapping),
``nodes`` (default 1) and ``gpus_per_node``.

Several machines per training node (``nodes: N``): training jobs (intermediate, target) get N nodes with one task
each (``--nodes=N --ntasks-per-node=1``); evaluation jobs keep one. In such a job the first node (``SLURM_NODEID``
0) runs the matrix node as usual and its launcher is node rank 0 of a torchrun-style launch (``nproc`` processes
per node, rendezvous derived from the allocation, see :mod:`harness.training.distributed_env`); the other nodes
only lend their processes to it (``follow_launch``) and leave when the first node writes ``CACHE_DIR/tmp/
dist-JOB-RESTARTS.done``. Only global rank 0 writes results. ``gpus_per_node`` (default ``nproc`` when the partition
has GPUs) replaces ``gpus_per_task``: one task per node either way.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from harness.api import (
    Context,
    Node,
    Outcome,
    apply_result,
    clear_stop,
    context_to_json,
    execute,
    follow_launch,
    hookimpl,
    install_stop_handlers,
    log_event,
    set_run,
    triage,
)

OPTIONS = ("mode", "partition", "timeout_min", "cpus_per_task", "gpus_per_task", "mem_gb", "account", "qos",
           "constraint", "setup", "array_parallelism", "folder", "poll_s", "lost_grace_s", "signal_delay_s",
           "requeue", "additional", "nodes", "gpus_per_node")
TRAINING_STAGES = ("intermediate", "target")  # the stages whose jobs span ``nodes`` machines
# in the job: SIGTERM (preemption, requeue), SIGUSR1, and submitit's pre-timeout signal (SIGUSR2 by default)
JOB_STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)


def job_id() -> str | None:
    """This SLURM job's id as squeue and scontrol name it (``ARRAY_TASK`` for an array task)."""
    if os.environ.get("SLURM_ARRAY_JOB_ID") and os.environ.get("SLURM_ARRAY_TASK_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ.get("SLURM_JOB_ID")


def requeue_self(job: str) -> bool:
    """``scontrol requeue JOB``; False if SLURM refused (e.g. the job is being requeued already)."""
    try:
        return subprocess.run(["scontrol", "requeue", job], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def done_file(cache_dir: str | Path, job: str) -> Path:
    """Where a multi-node job's first node says it is done (one file per run of the job: requeues count)."""
    restarts = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    return Path(cache_dir) / "tmp" / f"dist-{job}-{restarts}.done"


def run_job(node_json: dict[str, Any], ctx_json: dict[str, Any]) -> dict[str, Any]:
    """What a SLURM job runs: :func:`harness.orchestration.execute.execute` with graceful-stop signal handlers (they replace
    submitit's own, which would requeue mid-step); a node stopped for a requeue exits without a result. In a job
    over several nodes, the nodes after the first lend their processes to the first node's launch instead."""
    clear_stop()
    install_stop_handlers(JOB_STOP_SIGNALS)
    job = job_id()
    if ctx_json.get("run"):
        set_run(ctx_json["run"])
    nodes = int(os.environ.get("SLURM_NNODES") or 1) if job else 1
    if nodes > 1 and int(os.environ.get("SLURM_NODEID") or 0) > 0:
        starts = follow_launch(int(ctx_json.get("nproc") or 1), ctx_json.get("strategy") or "ddp",
                               done_file(ctx_json["cache_dir"], job))
        return {"key": node_json["key"], "status": "follower", "node": int(os.environ["SLURM_NODEID"]),
                "starts": starts}
    if job:
        ctx = Context(cache_dir=Path(ctx_json["cache_dir"]))
        log_event(ctx, Node(**node_json), "slurm_job_start", job=job,
                  restarts=int(os.environ.get("SLURM_RESTART_COUNT") or 0))
    try:
        result = execute(node_json, ctx_json)
    finally:
        if nodes > 1:  # the other nodes' launchers leave (also when this node never launched: cached, skipped)
            marker = done_file(ctx_json["cache_dir"], job)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(job)
    if result.get("status") == "requeue" and job:
        requeue_self(job)  # refused when SLURM already requeues it (scontrol requeue, preemption): same outcome
        raise SystemExit(f"node {node_json['key']}: stopped for a requeue of job {job} (resumes from its checkpoint)")
    return result


def slurm_available() -> bool:
    """``sbatch`` on PATH and a controller that answers."""
    if shutil.which("sbatch") is None or shutil.which("scontrol") is None:
        return False
    try:
        out = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return "is UP" in out.stdout


def partition_has_gpus(partition: str | None) -> bool:
    args = ["sinfo", "-h", "-o", "%G"] + (["-p", partition] if partition else [])
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "gpu" in out


def queued_job_ids() -> set[str] | None:
    """Ids (arrays expanded, ``123_4``) of this user's jobs still in the queue; None if squeue failed."""
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%i"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return {line.strip() for line in out.stdout.splitlines() if line.strip()}


def levels(nodes: list[Node]) -> dict[str, int]:
    """DAG depth of each node counted over ``nodes`` only (upstream nodes already cached do not count)."""
    keys = {n.key for n in nodes}
    depth: dict[str, int] = {}
    for n in nodes:  # topological order
        depth[n.key] = 1 + max((depth[d] for d in n.deps if d in keys), default=-1)
    return depth


class SlurmExecutor:
    """Queue the matrix on SLURM through submitit and wait for it."""

    name = "slurm"

    def __init__(self, workers: int = 1, **options: Any) -> None:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"executor_options: unknown slurm option(s) {', '.join(unknown)} "
                             f"(allowed: {', '.join(OPTIONS)})")
        if options.get("mode", "array") not in ("array", "node"):
            raise ValueError(f"executor_options.mode: {options['mode']!r} is not one of array, node")
        nodes = options.get("nodes", 1)
        if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
            raise ValueError(f"executor_options.nodes: {nodes!r} is not a whole number of machines >= 1")
        if options.get("gpus_per_node") is not None and options.get("gpus_per_task") is not None:
            raise ValueError("executor_options: give gpus_per_node or gpus_per_task, not both (one task per node)")
        self.workers = workers
        self.options = options
        self.nodes = nodes

    def _nodes_of(self, node: Node) -> int:
        """Machines for one matrix node's job: ``nodes`` for training, 1 for everything else."""
        return self.nodes if node.stage in TRAINING_STAGES else 1

    def _executor(self, folder: Path, ctx: Context):
        import submitit

        o = self.options
        ex = submitit.SlurmExecutor(folder=str(folder), max_num_timeout=0)
        per_node = o.get("gpus_per_node") is not None
        gpus = o.get("gpus_per_node") if per_node else o.get("gpus_per_task")
        if gpus is None:  # one GPU per process of a (multi-process, nproc > 1) training node
            nproc = max(1, int(getattr(ctx, "nproc", 1) or 1))
            gpus = nproc if ctx.device != "cpu" and partition_has_gpus(o.get("partition")) else 0
        params: dict[str, Any] = {"time": int(o.get("timeout_min", 60)), "cpus_per_task": int(o.get("cpus_per_task", 2)),
                                  "ntasks_per_node": 1, "signal_delay_s": int(o.get("signal_delay_s", 120))}
        if gpus:  # one task per node: per task and per node are the same GPUs
            params["gpus_per_node" if per_node else "gpus_per_task"] = int(gpus)
        for opt, param in (("partition", "partition"), ("account", "account"), ("qos", "qos"),
                           ("constraint", "constraint"), ("array_parallelism", "array_parallelism")):
            if o.get(opt) is not None:
                params[param] = o[opt]
        if o.get("mem_gb"):
            params["mem"] = f"{o['mem_gb']}G"
        if o.get("setup"):
            params["setup"] = list(o["setup"])
        additional = {"requeue": True} if o.get("requeue", True) else {}
        additional.update(dict(o.get("additional") or {}))
        if additional:
            params["additional_parameters"] = additional
        ex.update_parameters(**params)
        return ex, bool(gpus)

    def run(self, nodes: list[Node], ctx: Context, retry_failed: bool = False) -> Outcome:
        if not slurm_available():
            raise RuntimeError("executor slurm: no SLURM controller answers (sbatch/scontrol ping); start one "
                               "(scripts/slurm/cluster.sh start) or use executor local/ray")
        outcome = Outcome()
        state = triage(nodes, ctx, retry_failed, outcome)
        todo = [n for n in nodes if state[n.key] == "todo"]
        # Nodes downstream of an earlier failure that is not retried are skipped here, not queued.
        for n in todo[:]:
            if any(state.get(d) in ("failed", "skipped") for d in n.deps):
                state[n.key] = "skipped"
                outcome.skipped.append(n.key)
                log_event(ctx, n, "skipped", reason="an upstream node failed in an earlier run")
                todo.remove(n)
        if not todo:
            return outcome
        folder = Path(self.options.get("folder") or ctx.cache_dir / "slurm").expanduser().resolve()
        ex, gpus = self._executor(folder, ctx)
        ctx_json = context_to_json(ctx)
        if gpus:
            ctx_json["device"] = "cuda"  # SLURM sets CUDA_VISIBLE_DEVICES to the job's GPU
        adopted = self._adopt(ctx, todo)
        if adopted:
            log_event(ctx, None, "slurm_adopted", nodes=len(adopted),
                      jobs=list(dict.fromkeys(j.job_id.split("_")[0] for j in adopted.values())))
        submitted = self._submit(ex, [n for n in todo if n.key not in adopted], ctx_json, adopted)
        if submitted:
            log_event(ctx, None, "slurm_submitted",
                      jobs=list(dict.fromkeys(j.job_id.split("_")[0] for j in submitted.values())),
                      jobs_by_node={k: j.job_id for k, j in submitted.items()}, nodes=len(submitted),
                      mode=self.options.get("mode", "array"), folder=str(folder))
        self._wait({**adopted, **submitted}, {n.key: n for n in todo}, state, outcome, ctx)
        return outcome

    def _adopt(self, ctx: Context, todo: list[Node]) -> dict[str, Any]:
        """Jobs an earlier driver queued for these nodes and that are still in the queue (the driver was killed):
        wait for them instead of queueing the nodes twice."""
        import submitit

        from harness.api import read_events

        earlier: dict[str, tuple[str, str]] = {}
        for e in read_events(ctx.cache_dir):
            if e.get("event") == "slurm_submitted":
                for key, job_id in (e.get("jobs_by_node") or {}).items():
                    earlier[key] = (job_id, e["folder"])
        wanted = {n.key for n in todo} & set(earlier)
        if not wanted:
            return {}
        queued = queued_job_ids() or set()
        return {k: submitit.SlurmJob(folder=earlier[k][1], job_id=earlier[k][0])
                for k in sorted(wanted) if earlier[k][0] in queued}

    def _submit(self, ex, todo: list[Node], ctx_json: dict[str, Any], adopted: dict[str, Any]) -> dict[str, Any]:
        jobs: dict[str, Any] = {}
        if not todo:
            return jobs
        if self.options.get("mode", "array") == "node":
            for n in todo:
                deps = sorted({(jobs.get(d) or adopted[d]).job_id for d in n.deps if d in jobs or d in adopted})
                ex.update_parameters(job_name=f"xlt-{n.stage}", dependency=f"afterany:{':'.join(deps)}" if deps else None,
                                     **({"nodes": self._nodes_of(n)} if self.nodes > 1 else {}))
                jobs[n.key] = ex.submit(run_job, n.to_json(), ctx_json)
            return jobs
        depth = levels(todo)
        # the first level waits for any adopted jobs (they may be its upstream)
        previous = ":".join(dict.fromkeys(j.job_id.split("_")[0] for j in adopted.values())) or None
        for level in range(max(depth.values()) + 1):
            batch = [n for n in todo if depth[n.key] == level]
            arrays = []  # one array per machine count (with nodes > 1: training and the rest)
            for count in sorted({self._nodes_of(n) for n in batch}, reverse=True):
                group = [n for n in batch if self._nodes_of(n) == count]
                ex.update_parameters(job_name=f"xlt-level{level}", dependency=f"afterany:{previous}" if previous else None,
                                     **({"nodes": count} if self.nodes > 1 else {}))
                with ex.batch():
                    submitted = [ex.submit(run_job, n.to_json(), ctx_json) for n in group]
                for n, job in zip(group, submitted):
                    jobs[n.key] = job
                arrays.append(submitted[0].job_id.split("_")[0])
            previous = ":".join(arrays)
        return jobs

    def _wait(self, jobs: dict[str, Any], todo: dict[str, Node], state: dict[str, str], outcome: Outcome,
              ctx: Context) -> None:
        poll = float(self.options.get("poll_s", 1.0))
        grace = float(self.options.get("lost_grace_s", 30.0))
        pending = dict(jobs)
        gone_since: dict[str, float] = {}
        last_queue = 0.0
        try:
            while pending:
                for key, job in list(pending.items()):
                    job = job.task(0)  # a job over several nodes: the first node's task has the result
                    if job.paths.result_pickle.exists():
                        try:
                            result = job.result()
                        except Exception as err:  # noqa: BLE001 - the job itself crashed outside our code
                            result = {"status": "failed", "error": f"slurm job {job.job_id}: {type(err).__name__}: "
                                                                  f"{str(err).splitlines()[0] if str(err) else ''}"}
                        apply_result(todo[key], result, state, outcome)
                        del pending[key]
                        if ctx.progress is not None:
                            ctx.progress(todo[key], {})
                if not pending:
                    break
                now = time.time()
                if now - last_queue >= max(5.0, poll):
                    last_queue = now
                    queued = queued_job_ids()
                    if queued is not None:
                        for key, job in list(pending.items()):
                            if job.job_id in queued or job.task(0).paths.result_pickle.exists():
                                gone_since.pop(key, None)
                                continue
                            first = gone_since.setdefault(key, now)
                            if now - first >= grace:  # left the queue and never wrote a result
                                error = (f"slurm job {job.job_id} ended without a result (cancelled, timed out or "
                                         f"killed); log: {job.task(0).paths.stdout}")
                                log_event(ctx, todo[key], "failed", error=error)
                                apply_result(todo[key], {"status": "failed", "error": error}, state, outcome)
                                del pending[key]
                time.sleep(poll)
        except BaseException:
            for job in pending.values():  # Ctrl-C on the driver: leave nothing running behind
                try:
                    job.cancel(check=False)
                except Exception:  # noqa: BLE001
                    pass
            raise


@hookimpl
def register_executors(register) -> None:
    register("slurm", SlurmExecutor)
