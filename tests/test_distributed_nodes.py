"""Data-parallel training across machines: the rendezvous settings (torchrun's variables, SLURM's allocation),
SLURM's compact node lists, and two "nodes" on this machine (two launchers, gloo, CPU) that train exactly like
one process at the same global batch (tolerances: see tests/test_distributed.py, whose helpers run here).

The second node's processes run in their own UTS namespace with the host name ``127.0.0.2`` (``unshare``; root
or unprivileged user namespaces): gloo binds each process to the address its host name resolves to, so that
node's ranks listen on 127.0.0.2 while node 0 and the rendezvous store stay on 127.0.0.1."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.training import distributed_env
from harness.training.distributed_env import Rendezvous, expand_nodelist, first_host, node_count, rendezvous

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _rdv(env: dict[str, str], nproc: int = 2) -> Rendezvous:
    return rendezvous(nproc, env, port=lambda: 4242, host=lambda nodelist: f"first-of:{nodelist}")


def test_nodelist_parser_expands_slurm_compact_syntax():
    assert expand_nodelist("host[01-03,07]") == ["host01", "host02", "host03", "host07"]
    assert expand_nodelist("gpu[08-10],cpu5,login") == ["gpu08", "gpu09", "gpu10", "cpu5", "login"]
    assert expand_nodelist("r[1-2]n[3,5]") == ["r1n3", "r1n5", "r2n3", "r2n5"]
    assert expand_nodelist("a[9-11]-ib") == ["a9-ib", "a10-ib", "a11-ib"]
    assert expand_nodelist("node7") == ["node7"]
    for bad, why in (("h[1-3", "'[' without ']'"), ("h1-3]", "']' without '['"), ("h[3-1]", "runs backwards"),
                     ("h[a-b]", "is not a number"), ("", "names no host")):
        with pytest.raises(ValueError, match=re.escape(why)):
            expand_nodelist(bad)


def test_first_host_asks_scontrol_and_falls_back_to_the_parser(monkeypatch):
    monkeypatch.setattr(distributed_env.shutil, "which", lambda name: "/usr/bin/" + name)
    calls = []

    def answers(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout="gpu01\ngpu02\n", stderr="")

    assert first_host("gpu[01-02]", run=answers) == "gpu01"
    assert calls == [["scontrol", "show", "hostnames", "gpu[01-02]"]]

    def refuses(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr="no controller")

    def missing(cmd, **kw):
        raise OSError("gone")

    assert first_host("gpu[07-09]", run=refuses) == "gpu07" and first_host("n[3,1]", run=missing) == "n3"
    monkeypatch.setattr(distributed_env.shutil, "which", lambda name: None)
    assert first_host("z[5-6]", run=answers) == "z5" and len(calls) == 1  # no scontrol: not asked


def test_single_node_meets_on_loopback_and_ignores_master_settings():
    assert _rdv({}) == Rendezvous(1, 0, 2, "127.0.0.1", 4242, "local")
    # a stale MASTER_ADDR/PORT never makes concurrent one-machine launches collide
    assert _rdv({"MASTER_ADDR": "10.0.0.9", "MASTER_PORT": "29500", "NNODES": "1"}).master_port == 4242
    # a one-node SLURM job (what executor slurm submits by default) is the same
    assert _rdv({"SLURM_JOB_ID": "77", "SLURM_NNODES": "1", "SLURM_NODEID": "0"}).source == "local"


def test_torchrun_variables_give_global_ranks_and_world_size():
    rdv = _rdv({"NNODES": "3", "NODE_RANK": "2", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29400"}, nproc=4)
    assert rdv == Rendezvous(3, 2, 4, "10.0.0.1", 29400, "env")
    assert rdv.world_size == 12 and [rdv.rank(i) for i in range(4)] == [8, 9, 10, 11]
    assert rdv.env(1) == {"MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29400", "RANK": "9", "WORLD_SIZE": "12",
                          "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4", "NODE_RANK": "2", "GROUP_RANK": "2"}


def test_slurm_allocation_gives_rank_master_and_a_port_from_the_job_id():
    env = {"SLURM_JOB_ID": "123456", "SLURM_NNODES": "2", "SLURM_NODEID": "1", "SLURM_NTASKS": "2", "SLURM_PROCID": "1",
           "SLURM_JOB_NODELIST": "gpu[03-04]"}
    assert _rdv(env, nproc=8) == Rendezvous(2, 1, 8, "first-of:gpu[03-04]", 20000 + 123456 % 20000, "slurm")
    # the real lookup (scontrol show hostnames where it answers, else our parser) agrees
    assert rendezvous(8, env, port=lambda: 1).master_addr == "gpu03"
    # torchrun's names win where they are set (and agree)
    over = {**env, "MASTER_ADDR": "10.1.1.1", "MASTER_PORT": "31000", "NODE_RANK": "1"}
    assert _rdv(over) == Rendezvous(2, 1, 2, "10.1.1.1", 31000, "slurm")
    assert node_count(env) == 2 and node_count({"SLURM_NNODES": "4"}) == 1  # outside a job SLURM_* are ignored
    assert node_count({"NNODES": "3"}) == 3 and node_count({}) == 1


@pytest.mark.parametrize("env, message", [
    ({"NNODES": "2", "NODE_RANK": "2", "MASTER_ADDR": "a", "MASTER_PORT": "1"}, r"NODE_RANK=2 is not below NNODES=2"),
    ({"NODE_RANK": "1"}, r"NODE_RANK=1 is not below NNODES=1"),
    ({"NNODES": "two"}, r"NNODES='two' is not an integer"),
    ({"NNODES": "0"}, r"NNODES=0 must be at least 1"),
    ({"NNODES": "2", "NODE_RANK": "0", "MASTER_PORT": "1"}, r"NNODES=2 needs MASTER_ADDR"),
    ({"NNODES": "2", "NODE_RANK": "0", "MASTER_ADDR": "a"}, r"NNODES=2 needs MASTER_PORT"),
    ({"NNODES": "2", "MASTER_ADDR": "a", "MASTER_PORT": "70000"}, r"MASTER_PORT=70000 is not a TCP port"),
    ({"NNODES": "2", "MASTER_ADDR": "a", "MASTER_PORT": "1", "WORLD_SIZE": "8"},
     r"WORLD_SIZE=8 is not NNODES=2 x nproc 2"),
    ({"SLURM_JOB_ID": "5", "SLURM_NNODES": "2", "NNODES": "3"}, r"NNODES=3 disagrees with SLURM_NNODES=2"),
    ({"SLURM_JOB_ID": "5", "SLURM_NNODES": "2", "SLURM_NODEID": "1", "NODE_RANK": "0"},
     r"NODE_RANK=0 disagrees with SLURM_NODEID=1"),
    ({"SLURM_JOB_ID": "5", "SLURM_NNODES": "2", "SLURM_NODEID": "2"}, r"SLURM_NODEID=2 is not below SLURM_NNODES=2"),
    ({"SLURM_JOB_ID": "5", "SLURM_NNODES": "2", "SLURM_NTASKS": "16", "SLURM_PROCID": "0",
      "SLURM_JOB_NODELIST": "g[1-2]"}, r"SLURM_NTASKS=16 is not SLURM_NNODES=2: the harness runs one launcher per node"),
    ({"SLURM_JOB_ID": "5", "SLURM_NNODES": "2", "SLURM_PROCID": "0"},
     r"SLURM_NNODES=2 but neither MASTER_ADDR nor SLURM_JOB_NODELIST"),
    ({"SLURM_JOB_ID": "5", "SLURM_NNODES": "2", "SLURM_JOB_NODELIST": "g[1-2]"},
     r"SLURM_NNODES=2 but this process is no task of a job step \(no SLURM_PROCID\)"),
])
def test_inconsistent_settings_name_the_variable(env, message):
    with pytest.raises(ValueError, match=message):
        _rdv(env)


# ------------------------------------------------------------------------------------------------ two nodes


def _own_listening_addresses() -> list[str]:
    """IPv4 addresses this process's listening TCP sockets are bound to (``/proc``: its fds' socket inodes)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if cols[9] in inodes and cols[3] == "0A":  # state LISTEN
            ip = cols[1].split(":")[0]
            found.add(".".join(str(int(ip[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return sorted(found)


def _curves_and_addresses(data_dir: str) -> dict:
    """The loss curves of tests/test_distributed.py, plus each rank's host name and listening addresses."""
    import socket

    import torch.distributed as dist
    from test_distributed import _curves

    out = _curves(data_dir)
    where = [None] * dist.get_world_size()
    dist.all_gather_object(where, {"host": socket.gethostname(), "listen": _own_listening_addresses()})
    return {**out, "where": where}


def _namespace_prefix() -> list[str] | None:
    """A command prefix that gives a process its own host name (a UTS namespace), or None where none works."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (["unshare", "--uts"], ["unshare", "--user", "--map-root-user", "--uts"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return None


@pytest.fixture(scope="module")
def xnli_dir(tmp_path_factory):
    from xlt_harness_plugins.tasks import xnli

    path = tmp_path_factory.mktemp("xnli")
    xnli.fixture(data_dir=path, n_train=64, n_eval=8)
    return str(path)


def _follower(env: dict[str, str], done: Path, strategy: str, host: str | None) -> subprocess.Popen:
    """Node rank 1: a separate launcher process that follows rank 0's launch until ``done`` exists."""
    code = ("import sys; from harness.training.distributed import follow; "
            f"print('starts', follow(1, {strategy!r}, __import__('pathlib').Path({str(done)!r}), grace_s=5.0)); "
            "sys.stdout.flush()")
    cmd = [sys.executable, "-c", code]
    prefix = _namespace_prefix() if host else None
    if prefix is not None:
        cmd = [*prefix, "sh", "-c", f'hostname {host} && exec "$@"', "sh", *cmd]
    pythonpath = os.pathsep.join([str(TESTS), str(REPO), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen(cmd, env={**os.environ, **env, "PYTHONPATH": pythonpath}, cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_two_loopback_nodes_match_one_process(xnli_dir, strategy, monkeypatch, tmp_path):
    from test_distributed import _losses

    from harness.training.distributed import launch

    one = _losses(8, 1, 6, xnli_dir)
    port = distributed_env.free_port()
    common = {"NNODES": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}
    done = tmp_path / "done"
    node1 = _follower({**common, "NODE_RANK": "1"}, done, strategy, host="127.0.0.2")
    try:
        for name, value in {**common, "NODE_RANK": "0"}.items():
            monkeypatch.setenv(name, value)
        two = launch(f"{__name__}:_curves_and_addresses", (xnli_dir,), nproc=1, strategy=strategy)
        done.write_text("done")
        out, _ = node1.communicate(timeout=120)
    finally:
        if node1.poll() is None:
            node1.kill()
    assert node1.returncode == 0 and out.strip().splitlines()[-1] == "starts 1", out
    assert len(one["losses"]) == 6 and one["losses"][0] != one["losses"][-1]  # the curve moves
    # global batch 8: 4 per node, or 2 per node per micro-step with 2 accumulation steps
    for other in (two["accum1"], two["accum2"]):
        assert other["losses"] == pytest.approx(one["losses"], abs=1e-5)
        if strategy == "ddp":  # FSDP ranks hold shards, so their local weight sums differ by design
            assert other["l1"] == pytest.approx(one["l1"], rel=1e-4)
    node0, other_node = two["where"]
    assert "127.0.0.2" not in node0["listen"]
    if _namespace_prefix() is not None:  # the second node's ranks really sat on another address
        assert other_node["host"] == "127.0.0.2" and "127.0.0.2" in other_node["listen"], two["where"]


@pytest.mark.slow
def test_a_follower_leaves_when_the_first_node_is_done_without_launching(monkeypatch, tmp_path):
    """A cached or single-process node never launches: the other nodes' launchers stop once the done file
    appears (their processes waited at the rendezvous, nobody answered)."""
    import torch.multiprocessing  # noqa: F401 - imported before the clock starts (seconds on a busy machine)

    from harness.training.distributed import follow

    for name, value in {"NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": str(distributed_env.free_port())}.items():
        monkeypatch.setenv(name, value)
    done = tmp_path / "done"
    threading.Timer(3.0, done.write_text, args=("done",)).start()
    started = time.monotonic()
    assert follow(1, "ddp", done, grace_s=1.0) == 1
    assert done.exists() and 3.0 <= time.monotonic() - started < 60
    done.unlink()
    done.write_text("done")
    assert follow(1, "ddp", done) == 0  # already done: nothing starts
