"""Where the processes of a data-parallel launch meet: torchrun-style settings, from the environment or SLURM.

One launcher runs per machine ("node") and starts ``nproc`` processes there; a process's global rank is
``NODE_RANK x nproc + local rank`` and ``WORLD_SIZE = NNODES x nproc``. The settings come from, in this order:

- torchrun's names: ``NNODES``, ``NODE_RANK``, ``MASTER_ADDR`` (the address of node rank 0, where global rank 0
  hosts the rendezvous store), ``MASTER_PORT``;
- SLURM's allocation (a job with ``SLURM_JOB_ID``): ``SLURM_NNODES``, ``SLURM_NODEID``, the first host of
  ``SLURM_JOB_NODELIST`` (``scontrol show hostnames`` when it answers, else :func:`expand_nodelist`) and a port
  derived from the job id (``20000 + id mod 20000``), so every node of the job computes the same values. SLURM
  must start one task per node (``SLURM_NTASKS == SLURM_NNODES``, each with ``SLURM_PROCID``, as ``srun`` does).

A single node ignores ``MASTER_ADDR``/``MASTER_PORT``: it meets on 127.0.0.1 at a free port, so several
launches on one machine never collide. Inconsistent settings raise :class:`ValueError` naming the variable.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass

STRATEGIES = ("ddp", "fsdp")
WORKER_ENV = "XLT_HARNESS_DIST_WORKER"
SLURM_PORT_BASE = 20000


@dataclass(frozen=True)
class Rendezvous:
    """One node's view of a launch: how many nodes, which one this is, its processes, where they meet."""

    nnodes: int
    node_rank: int
    nproc: int
    master_addr: str
    master_port: int
    source: str = "local"  # local | env | slurm

    @property
    def world_size(self) -> int:
        return self.nnodes * self.nproc

    def rank(self, local_rank: int) -> int:
        """The global rank of this node's process ``local_rank``."""
        return self.node_rank * self.nproc + local_rank

    def env(self, local_rank: int) -> dict[str, str]:
        """The variables a worker process reads (``torch.distributed``'s ``env://`` names and torchrun's)."""
        return {"MASTER_ADDR": self.master_addr, "MASTER_PORT": str(self.master_port),
                "RANK": str(self.rank(local_rank)), "WORLD_SIZE": str(self.world_size),
                "LOCAL_RANK": str(local_rank), "LOCAL_WORLD_SIZE": str(self.nproc),
                "NODE_RANK": str(self.node_rank), "GROUP_RANK": str(self.node_rank)}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _split_top(spec: str) -> list[str]:
    """``a[1,2],b`` -> ``['a[1,2]', 'b']``: commas outside brackets separate hosts."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(spec):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"nodelist {spec!r}: ']' without '['")
        elif ch == "," and depth == 0:
            parts.append(spec[start:i])
            start = i + 1
    if depth:
        raise ValueError(f"nodelist {spec!r}: '[' without ']'")
    parts.append(spec[start:])
    return [p for p in (p.strip() for p in parts) if p]


def _expand_range(item: str, spec: str) -> list[str]:
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", item.strip())
    if not m:
        raise ValueError(f"nodelist {spec!r}: {item!r} is not a number or a range lo-hi")
    lo, hi = m.group(1), m.group(2) or m.group(1)
    if int(hi) < int(lo):
        raise ValueError(f"nodelist {spec!r}: range {item!r} runs backwards")
    width = len(lo)  # SLURM keeps the zero padding of the range's start: 08-10 -> 08, 09, 10
    return [str(n).zfill(width) for n in range(int(lo), int(hi) + 1)]


def _expand_host(host: str, spec: str) -> list[str]:
    m = re.search(r"\[([^\[\]]*)\]", host)
    if m is None:
        return [host]
    head, tail = host[: m.start()], host[m.end():]
    values = [v for item in m.group(1).split(",") for v in _expand_range(item, spec)]
    return [f"{head}{v}{rest}" for v in values for rest in _expand_host(tail, spec)]


def expand_nodelist(spec: str) -> list[str]:
    """SLURM's compact host list in full: ``gpu[01-03,07],cpu5`` -> gpu01, gpu02, gpu03, gpu07, cpu5
    (several bracket groups in one name multiply: ``r[1-2]n[1-2]`` -> r1n1, r1n2, r2n1, r2n2)."""
    hosts = [h for part in _split_top(spec) for h in _expand_host(part, spec)]
    if not hosts:
        raise ValueError(f"nodelist {spec!r} names no host")
    return hosts


def first_host(nodelist: str, run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str:
    """The first host of a SLURM node list: ``scontrol show hostnames`` when it answers, else our parser."""
    if shutil.which("scontrol"):
        try:
            out = run(["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.split():
                return out.stdout.split()[0]
        except (OSError, subprocess.SubprocessError):
            pass
    return expand_nodelist(nodelist)[0]


def _int(env: Mapping[str, str], name: str, minimum: int) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"{name}={value} must be at least {minimum}")
    return value


def _agree(env: Mapping[str, str], ours: str, theirs: str, minimum: int) -> tuple[int | None, str | None]:
    """The value of ``ours`` or ``theirs`` (SLURM's name) and the variable it came from; both set must agree."""
    a, b = _int(env, ours, minimum), _int(env, theirs, minimum)
    if a is not None and b is not None and a != b:
        raise ValueError(f"{ours}={a} disagrees with {theirs}={b}")
    if a is not None:
        return a, ours
    return (b, theirs) if b is not None else (None, None)


def node_count(env: Mapping[str, str]) -> int:
    """How many nodes a launch spans (``NNODES``, else ``SLURM_NNODES`` inside a SLURM job, else 1)."""
    slurm = "SLURM_JOB_ID" in env
    nnodes, _ = _agree(env, "NNODES", "SLURM_NNODES" if slurm else "NNODES", 1)
    return nnodes or 1


def rendezvous(nproc: int, env: Mapping[str, str], port: Callable[[], int] = free_port,
               host: Callable[[str], str] = first_host) -> Rendezvous:
    """This node's :class:`Rendezvous` for ``nproc`` processes per node, from ``env`` (see the module doc)."""
    if nproc < 1:
        raise ValueError(f"nproc {nproc} must be at least 1")
    slurm = "SLURM_JOB_ID" in env
    nnodes, nnodes_var = _agree(env, "NNODES", "SLURM_NNODES" if slurm else "NNODES", 1)
    node_rank, rank_var = _agree(env, "NODE_RANK", "SLURM_NODEID" if slurm else "NODE_RANK", 0)
    nnodes, node_rank = nnodes or 1, node_rank or 0
    if node_rank >= nnodes:
        raise ValueError(f"{rank_var}={node_rank} is not below {nnodes_var or 'NNODES'}={nnodes} "
                         "(node ranks run 0 .. nodes - 1)")
    if nnodes == 1:
        return Rendezvous(1, 0, nproc, "127.0.0.1", port(), "local")
    world = _int(env, "WORLD_SIZE", 1)
    if world is not None and world != nnodes * nproc:
        raise ValueError(f"WORLD_SIZE={world} is not {nnodes_var}={nnodes} x nproc {nproc}")
    from_slurm = nnodes_var == "SLURM_NNODES"
    if from_slurm:
        if "SLURM_PROCID" not in env:  # e.g. a shell of salloc -N 2: nothing started the other nodes' launchers
            raise ValueError(f"SLURM_NNODES={nnodes} but this process is no task of a job step (no SLURM_PROCID): "
                             "start one launcher per node with srun, or set NNODES=1 to stay on this machine")
        tasks = _int(env, "SLURM_NTASKS", 1)
        if tasks is not None and tasks != nnodes:
            raise ValueError(f"SLURM_NTASKS={tasks} is not SLURM_NNODES={nnodes}: the harness runs one launcher "
                             "per node (submit with tasks_per_node 1; it starts nproc processes itself)")
    addr = env.get("MASTER_ADDR") or None
    if addr is None and slurm:
        nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
        if not nodelist:
            raise ValueError(f"{nnodes_var}={nnodes} but neither MASTER_ADDR nor SLURM_JOB_NODELIST is set")
        addr = host(nodelist)
    if addr is None:
        raise ValueError(f"{nnodes_var}={nnodes} needs MASTER_ADDR (the address of node rank 0)")
    master_port = _int(env, "MASTER_PORT", 1)
    if master_port is None and slurm:
        job = _int(env, "SLURM_JOB_ID", 0)
        master_port = SLURM_PORT_BASE + (job or 0) % SLURM_PORT_BASE
    if master_port is None:
        raise ValueError(f"{nnodes_var}={nnodes} needs MASTER_PORT (the same free port on every node)")
    if master_port > 65535:
        raise ValueError(f"MASTER_PORT={master_port} is not a TCP port (1-65535)")
    return Rendezvous(nnodes, node_rank, nproc, addr, master_port, "slurm" if from_slurm else "env")
