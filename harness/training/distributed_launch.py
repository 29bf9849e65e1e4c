"""Starting the processes of a data-parallel launch, on one machine or across several (torchrun-style).

Every node runs one launcher (:func:`launch`), which starts ``nproc`` worker processes (``torch.multiprocessing``,
one GPU each with CUDA and NCCL, else CPU with gloo); where they meet comes from
:func:`harness.training.distributed_env.rendezvous` (one node: 127.0.0.1 at a free port; several: ``NNODES``,
``NODE_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` or SLURM's allocation). Across nodes, every worker runs what
global rank 0 was given (broadcast once the group is up), so the other nodes' launchers need no arguments; only
global rank 0 writes the result, which node rank 0's launcher returns (the others return None).

Under SLURM (``executor_options.nodes > 1``) the job's first node runs the matrix node as usual and its launcher
is node rank 0; the other nodes call :func:`follow`, which lends their processes to that launch and returns when
the first node's job writes its ``done`` file (also when no launch comes: a cached or single-process node).
Gloo binds each process to the address its host name resolves to (or the interface in ``GLOO_SOCKET_IFNAME``);
NCCL picks its interface itself (``NCCL_SOCKET_IFNAME`` to choose).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.core import files
from harness.training.distributed_env import STRATEGIES, WORKER_ENV, Rendezvous, node_count, rendezvous

PREEMPTED_KEY = "__preempted_at_step__"
FOLLOW_GRACE_S = 30.0  # after the done file appears, how long a follower's processes may take to leave


def _worker(local_rank: int, rdv: Rendezvous, target: str | None, args: tuple | None, result: str,
            strategy: str) -> None:
    import importlib

    import torch
    import torch.distributed as dist

    os.environ.update({**rdv.env(local_rank), WORKER_ENV: strategy})
    rank = rdv.rank(local_rank)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    else:
        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
    from harness.run.signals import install_stop_handlers
    from harness.run.stop import Preempted

    install_stop_handlers()  # a rank signalled directly (SLURM signals every process) stops gracefully too
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=rdv.world_size)
    try:
        if rdv.nnodes > 1:  # every node runs what global rank 0 runs (its work folder, its context)
            box = [(target, args)]
            dist.broadcast_object_list(box, src=0)
            target, args = box[0]
        module, name = target.rsplit(":", 1)
        fn = getattr(importlib.import_module(module), name)
        fn = getattr(fn, "__wrapped__", fn)
        try:
            out = fn(*args)
        except Preempted as err:  # every rank stops at the same step (agreed); the launcher re-raises it
            out = {PREEMPTED_KEY: err.step}
        if rank == 0:
            Path(result).write_text(json.dumps(out, default=str))
    finally:
        dist.barrier()
        dist.destroy_process_group()


def _join(group, until: Callable[[], bool] | None, grace_s: float) -> bool:
    """Wait for the workers; with ``until``, stop them ``grace_s`` after it turns true. True: they all finished."""
    deadline = None
    while not group.join(timeout=1.0 if until is not None else None):
        if until is None:
            continue
        if deadline is None and until():
            deadline = time.monotonic() + grace_s
        if deadline is not None and time.monotonic() >= deadline:
            for proc in group.processes:
                if proc.is_alive():
                    proc.terminate()
            for proc in group.processes:
                proc.join(10)
            return False
    return True


def launch(target: str | None, args: tuple | None, nproc: int, strategy: str = "ddp", *,
           until: Callable[[], bool] | None = None, grace_s: float = FOLLOW_GRACE_S) -> Any:
    """Run ``module:function(*args)`` in ``nproc`` processes on this node, part of a launch over ``NNODES``
    nodes (see the module doc); node rank 0 returns global rank 0's JSON result, other nodes return None.

    ``until``: a follower's exit condition (its processes are stopped ``grace_s`` after it holds).
    CUDA: one GPU per process (``nproc`` at most the visible GPUs), NCCL; otherwise CPU processes with gloo.
    """
    import torch
    import torch.multiprocessing as mp

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if torch.cuda.is_available() and nproc > torch.cuda.device_count():
        raise ValueError(f"nproc {nproc} exceeds the {torch.cuda.device_count()} visible GPUs")
    rdv = rendezvous(nproc, os.environ)
    if target is None and rdv.node_rank == 0:
        raise ValueError("node rank 0 must be given the function to run (only other nodes follow)")
    from harness.run.signals import graceful_stop
    from harness.run.stop import Preempted

    with tempfile.TemporaryDirectory(prefix="xlt-dist-") as tmp:
        result = os.path.join(tmp, "result.json")
        group = mp.start_processes(_worker, args=(rdv, target, args, result, strategy),
                                   nprocs=nproc, join=False, start_method="spawn")

        def forward(signum: int) -> None:  # a stop signal to the launcher reaches every rank
            for proc in group.processes:
                if proc.is_alive() and proc.pid:
                    os.kill(proc.pid, signum)

        with graceful_stop(on_stop=forward):
            _join(group, until, grace_s)
        if rdv.node_rank != 0:
            return None
        out = json.loads(Path(result).read_text())
    if isinstance(out, dict) and PREEMPTED_KEY in out:
        raise Preempted(int(out[PREEMPTED_KEY]))
    return out


def follow(nproc: int, strategy: str, done: Path, grace_s: float = FOLLOW_GRACE_S, retry_s: float = 5.0) -> int:
    """Lend this node's ``nproc`` processes to the launch node rank 0 runs, until the file ``done`` exists.

    Workers that fail before ``done`` appears (node rank 0 took longer than the rendezvous timeout to launch)
    start again after ``retry_s``. Returns how many times the workers were started."""
    from torch.multiprocessing import ProcessExitedException, ProcessRaisedException

    from harness.run.stop import stop_requested

    done = Path(done)
    starts = 0
    while not done.exists() and not stop_requested():
        starts += 1
        try:
            launch(None, None, nproc, strategy, until=done.exists, grace_s=grace_s)
            return starts
        except (ProcessExitedException, ProcessRaisedException):
            if done.exists():
                break
            time.sleep(retry_s)
    return starts


def launchable(fn: Callable | None = None, *, single_process: Callable[[Any], str | None] | None = None) -> Any:
    """Decorate a stage function ``fn(node, work, ctx)``: with ``ctx.nproc > 1`` (or a launch over several
    nodes) it runs in that many processes per node.

    ``single_process(node)`` names why a node cannot be split across processes (None if it can): such a node runs
    in this one process instead, and its result says so (``processes: 1``, ``nproc_note``), never N ranks that
    each train a copy and write the same files."""
    if fn is None:
        return functools.partial(launchable, single_process=single_process)

    @functools.wraps(fn)
    def wrapper(node, work, ctx):
        nproc = int(getattr(ctx, "nproc", 1) or 1)
        if os.environ.get(WORKER_ENV) or (nproc <= 1 and node_count(os.environ) <= 1):
            return fn(node, work, ctx)
        why = single_process(node) if single_process is not None else None
        if why is not None:
            out = fn(node, work, replace(ctx, nproc=1))
            note = {"processes": 1, "nproc_note": f"nproc {nproc} not applied: {why}"}
            record = Path(work) / files.SUMMARY  # what the rows read: the note travels with them
            if record.exists():
                record.write_text(json.dumps({**json.loads(record.read_text()), **note}))
            return {**out, **note} if isinstance(out, dict) else out
        worker_ctx = replace(ctx, progress=None, nproc=1)
        return launch(f"{fn.__module__}:{fn.__name__}", (node, work, worker_ctx), nproc,
                      getattr(ctx, "strategy", "ddp") or "ddp")

    return wrapper


def current_strategy() -> str:
    """The strategy a launched worker was started with (``ddp`` outside workers)."""
    return os.environ.get(WORKER_ENV) or "ddp"


follow_launch = follow  # the name harness.api gives it (an executor's job on a node after the first)
