"""CPU thread budget per node: workers × threads ≤ the cores this process may really use; tiny models get one.

Oversubscription is the slow case on a shared machine: an OpenMP/MKL parallel region waits at a barrier for
every one of its threads, so when one is descheduled the others spin. Hence:

- :func:`available_cores` — the smaller of the CPU affinity mask (``os.sched_getaffinity``) and the cgroup CPU
  quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us``), rounded down, at least 1;
- :func:`thread_budget` — ``cores // workers`` threads per node, 1 for a model below :data:`TINY_PARAMS`
  non-embedding parameters (its matmuls are too small to gain from threads), or the user's ``threads`` knob;
- :func:`apply_threads` — sets torch's intra-op threads in this process and ``OMP/MKL/OPENBLAS_NUM_THREADS``
  for the processes it starts (and numpy's BLAS pool through threadpoolctl when installed);
- :func:`node_threads` — what a node calls once its model is built (see :mod:`harness.stages`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

TINY_PARAMS = 5_000_000
"""Models with fewer non-embedding parameters run single-threaded (the quickstart's tiny XLM-Rs)."""

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
              "NUMEXPR_NUM_THREADS")
WORKERS_ENV = "XLT_WORKERS"
"""Set by an executor in its worker processes: how many nodes share this machine's cores."""
THREADS_ENV = "XLT_THREADS"
"""Set by an executor from the config's ``threads`` knob: fixed threads per node (overrides every rule)."""
_INHERITED_OMP = os.environ.get("OMP_NUM_THREADS")
"""``OMP_NUM_THREADS`` as this process started (a user's setting or an executor's share): a cap on the budget.
Read once at import, since :func:`apply_threads` rewrites the variable for child processes."""


def cgroup_cpu_limit(root: str | Path = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the cgroup quota (e.g. 1.5), or None when unlimited or unknown (v2 first, then v1)."""
    root = Path(root)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    for sub in ("cpu", "cpu,cpuacct", ""):
        base = root / sub if sub else root
        try:
            quota_us = int((base / "cpu.cfs_quota_us").read_text())
            period_us = int((base / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    return None


def available_cores(affinity: set[int] | None = None, quota: float | None = None, *,
                    read_system: bool = True) -> int:
    """Cores this process may use: min(affinity mask, cgroup quota rounded down), at least 1.

    ``affinity``/``quota`` replace what the system reports (tests); ``read_system=False`` reads neither.
    """
    if affinity is None and read_system:
        try:
            affinity = os.sched_getaffinity(0)
        except (AttributeError, OSError):  # not Linux
            affinity = None
    n = len(affinity) if affinity else (os.cpu_count() or 1)
    if quota is None and read_system:
        quota = cgroup_cpu_limit()
    if quota is not None:
        n = min(n, max(1, math.floor(quota)))
    return max(1, n)


def thread_budget(workers: int = 1, model_params: int | None = None, override: int | None = None, *,
                  cores: int | None = None) -> int:
    """Threads for one node when ``workers`` nodes run side by side.

    ``override`` (the ``threads`` knob) wins; else a model with fewer than :data:`TINY_PARAMS` non-embedding
    parameters gets 1; else ``cores // workers`` (at least 1), ``cores`` defaulting to :func:`available_cores`.
    """
    if override is not None:
        if int(override) < 1:
            raise ValueError(f"threads must be >= 1; got {override!r}")
        return int(override)
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers!r}")
    if model_params is not None and model_params < TINY_PARAMS:
        return 1
    cores = available_cores() if cores is None else cores
    return max(1, cores // workers)


def apply_threads(n: int) -> int:
    """Use ``n`` intra-op threads here (torch, numpy's BLAS) and in child processes (environment); returns n."""
    if n < 1:
        raise ValueError(f"threads must be >= 1; got {n!r}")
    for var in THREAD_ENV:
        os.environ[var] = str(n)
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(n)
    return n


def node_threads(model_params: int | None = None, override: int | None = None, *, apply: bool = True) -> int:
    """The budget of a node in this process (workers from ``XLT_WORKERS``, the knob from ``override`` or
    ``XLT_THREADS``, at most the ``OMP_NUM_THREADS`` the process started with), applied unless ``apply=False``."""
    if override is None and os.environ.get(THREADS_ENV):
        override = int(os.environ[THREADS_ENV])
    workers = int(os.environ.get(WORKERS_ENV) or 1)
    cores = available_cores()
    if _INHERITED_OMP and _INHERITED_OMP.isdigit() and int(_INHERITED_OMP) >= 1:
        cores = min(cores, int(_INHERITED_OMP) * workers)  # the inherited value is already per worker
    n = thread_budget(workers, model_params, override, cores=cores)
    return apply_threads(n) if apply else n
