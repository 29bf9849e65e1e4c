"""Preemption, the executor side: SIGTERM/SIGUSR1 stop a running node gracefully (``requeue``, not failed) and a
rerun resumes it; after the driver is SIGKILLed ``matrix status`` says *interrupted*, not *running*; stale
temporary files are cleaned by the next run. The training side is faked: a stage that counts steps, checks
:func:`harness.run.stop.stop_requested` at each step boundary, saves ``resume/KEY/latest.json`` and raises
:class:`harness.run.stop.Preempted` (what the real training loop does)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_engine import Fake, noop_cfg, noop_plugin, run

from harness.core import registry as plugins
from harness.core.rows import read_jsonl
from harness.planning.config import parse_config
from harness.planning.plan import build_plan
from harness.run.context import Context
from harness.run.stop import Preempted, clear_stop, stop_requested
from harness.stages import STAGE_FUNCTIONS
from harness.store.events import read_events
from harness.store.heartbeat import Heartbeat, checkpoint_step, heartbeat_path, owner_alive, pid_alive
from harness.store.status import matrix_status

STEPS = 10


class FakeTraining(Fake):
    """Intermediate training in ``STEPS`` steps that resumes from ``resume/KEY/latest.json``; ``signal_at``:
    send this process SIGTERM after that step (as a cluster manager would)."""

    def __init__(self, signal_at: int | None = None) -> None:
        super().__init__()
        self.signal_at = signal_at
        self.steps: list[int] = []

    def __call__(self, node, work, ctx):
        if node.stage != "intermediate":
            return super().__call__(node, work, ctx)
        resume = ctx.cache_dir / "resume" / node.key
        start = checkpoint_step(ctx.cache_dir, node.key) or 0
        for step in range(start + 1, STEPS + 1):
            self.steps.append(step)
            if step == self.signal_at:
                os.kill(os.getpid(), signal.SIGTERM)
            if stop_requested():  # the step boundary: checkpoint, then stop
                resume.mkdir(parents=True, exist_ok=True)
                (resume / "latest.json").write_text(json.dumps({"step": step}))
                raise Preempted(step, "test")
        (work / "encoder.safetensors").write_bytes(b"x" * 16)
        return {"steps": STEPS}


@pytest.fixture
def training(monkeypatch):
    plugins.register_module(noop_plugin(), name="noop-preempt")
    f = FakeTraining(signal_at=3)
    for stage in STAGE_FUNCTIONS:
        monkeypatch.setitem(STAGE_FUNCTIONS, stage, f)
    clear_stop()
    yield f
    clear_stop()
    plugins.reset()


def test_sigterm_to_a_running_node_requeues_it_and_a_rerun_resumes(training, tmp_path):
    handler_before = signal.getsignal(signal.SIGTERM)
    plan, out = run(noop_cfg(tmp_path))
    inter = next(n.key for n in plan.by_stage("intermediate"))
    # requeue, not failed: no failure record, nothing skipped, the dependents simply did not start
    assert out.interrupted == [inter] and out.failed == {} and out.skipped == [] and not out.ok
    assert training.steps == [1, 2, 3]
    downstream = {k for k, n in plan.nodes.items() if inter in n.deps or
                  any(inter in plan.nodes[d].deps for d in n.deps)}
    assert downstream and downstream <= set(out.not_run)
    assert len(out.done) + len(out.interrupted) + len(out.not_run) == len(plan.nodes)
    assert not (plan.cache_dir / "failed").exists()
    events = read_events(plan.cache_dir)
    (requeue,) = [e for e in events if e["event"] == "requeue"]
    assert requeue["node"] == inter and requeue["step"] == 3
    assert events[-1]["event"] == "run_end" and events[-1]["status"] == "interrupted"
    assert events[-1]["interrupted"] == 1
    assert signal.getsignal(signal.SIGTERM) is handler_before  # the driver's handlers are put back
    st = matrix_status(plan, Context(cache_dir=plan.cache_dir))
    assert st["phase"] == "interrupted" and st["totals"]["interrupted"] == 1 and st["totals"]["running"] == 0
    assert st["interrupted"] == [{"node": inter, "label": plan.nodes[inter].label, "checkpoint_step": 3,
                                  "since": st["interrupted"][0]["since"]}]
    assert not list((plan.cache_dir / "tmp").iterdir()) and not list((plan.cache_dir / "heartbeats").iterdir())
    # the rerun resumes at step 4 (steps 1-3 are not redone) and finishes everything
    training.signal_at = None
    _, out = run(noop_cfg(tmp_path))
    assert out.ok and training.steps == list(range(1, STEPS + 1))
    assert len(out.done) + len(out.cached) == len(plan.nodes) and inter in out.done
    st = matrix_status(plan, Context(cache_dir=plan.cache_dir))
    assert st["phase"] == "finished" and st["totals"]["done"] == len(plan.nodes)


def test_a_stop_before_a_node_starts_leaves_it_pending_not_failed(training, tmp_path, monkeypatch):
    from harness.run.stop import request_stop

    training.signal_at = None
    real = training.__call__

    def stop_after_first(node, work, ctx):  # the first node finishes, then a stop arrives
        result = real(node, work, ctx)
        request_stop("test")
        return result

    for stage in STAGE_FUNCTIONS:
        monkeypatch.setitem(STAGE_FUNCTIONS, stage, stop_after_first)
    plan, out = run(noop_cfg(tmp_path))
    assert len(out.done) == 1 and out.interrupted == [] and out.failed == {} and out.skipped == []
    assert len(out.not_run) == len(plan.nodes) - 1
    assert [e["status"] for e in read_events(plan.cache_dir) if e["event"] == "run_end"] == ["interrupted"]


def test_heartbeat_liveness_and_checkpoint_step(tmp_path):
    with Heartbeat(tmp_path, "node-abc", node="abc"):
        beat = json.loads(heartbeat_path(tmp_path, "node-abc").read_text())
        assert beat["pid"] == os.getpid() and beat["host"] == socket.gethostname() and owner_alive(beat)
    assert not heartbeat_path(tmp_path, "node-abc").exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not pid_alive(dead.pid)
    assert not owner_alive({"pid": dead.pid, "host": socket.gethostname()})
    assert not owner_alive({**beat, "started": "1"})  # same pid, another process (pid reused)
    other = {"pid": 1, "host": "elsewhere", "interval": 30}
    assert owner_alive({**other, "time": time.time() - 60}) and not owner_alive({**other, "time": time.time() - 91})
    assert checkpoint_step(tmp_path, "k") is None
    resume = tmp_path / "resume" / "k"
    (resume / "ckpt-000000040").mkdir(parents=True)
    (resume / "ckpt-000000040" / "state.json").write_text("{}")
    (resume / "ckpt-000000060.tmp").mkdir()  # an interrupted save does not count
    (resume / "ckpt-000000050").mkdir()  # no state.json: incomplete
    assert checkpoint_step(tmp_path, "k") == 40
    (resume / "latest.json").write_text('{"step": 45}')
    assert checkpoint_step(tmp_path, "k") == 45
    (resume / "latest.json").write_text('{"step": "x"}')  # unreadable: falls back to the folders
    assert checkpoint_step(tmp_path, "k") == 40


# ------------------------------------------------------------------------ the driver in a subprocess

DRIVER = """
import json, os, sys, time
sys.path.insert(0, {tests!r})
from test_preemption import FakeTraining
from test_engine import noop_plugin
from harness.core import registry as plugins
from harness.stages import STAGE_FUNCTIONS
plugins.register_module(noop_plugin(), name="noop-preempt")
fake = FakeTraining()
from harness.run.stop import Preempted, stop_requested
def stage(node, work, ctx):
    if os.environ.get("HANG") and node.stage == "intermediate":
        while True:  # a training loop that never ends unless stopped: checkpoint at step 7, then stop
            time.sleep(0.05)
            if stop_requested():
                (ctx.cache_dir / "resume" / node.key).mkdir(parents=True, exist_ok=True)
                (ctx.cache_dir / "resume" / node.key / "latest.json").write_text(json.dumps({{"step": 7}}))
                raise Preempted(7)
    return fake(node, work, ctx)
for s in list(STAGE_FUNCTIONS):
    STAGE_FUNCTIONS[s] = stage
from harness.cli.main import main
main(["matrix", "run", sys.argv[1]])
"""


def _start_driver(tmp_path: Path, cfg: dict) -> tuple[subprocess.Popen, Path]:
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "HANG": "1", "XLT_HARNESS_HEARTBEAT_S": "0.2"}
    proc = subprocess.Popen([sys.executable, str(driver), str(cfg_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    events = tmp_path / "out" / "cache" / "events.jsonl"
    deadline = time.time() + 120
    while not (events.exists() and any(e["event"] == "start" and e["stage"] == "intermediate"
                                       for e in read_jsonl(events))):
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the training node never started"
        time.sleep(0.1)
    time.sleep(0.3)
    return proc, cfg_path


def _status(cfg: dict) -> dict:
    plugins.register_module(noop_plugin(), name="noop-status")
    try:
        plan = build_plan(parse_config(cfg))
        return matrix_status(plan, Context(cache_dir=plan.cache_dir))
    finally:
        plugins.reset()


def test_sigterm_to_the_driver_process_exits_requeue_with_a_checkpoint(tmp_path):
    cfg = noop_cfg(tmp_path)
    proc, _ = _start_driver(tmp_path, cfg)
    assert _status(cfg)["totals"]["running"] == 1
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 75, (out, err)  # EX_TEMPFAIL: interrupted, rerun to resume
    assert "rerun to resume" in err
    st = _status(cfg)
    assert st["phase"] == "interrupted" and st["totals"]["running"] == 0 and st["totals"]["failed"] == 0
    assert [r["checkpoint_step"] for r in st["interrupted"]] == [7]


def test_after_the_driver_is_sigkilled_status_says_interrupted_and_the_rerun_cleans_up(tmp_path, monkeypatch):
    cfg = noop_cfg(tmp_path)
    proc, _ = _start_driver(tmp_path, cfg)
    st = _status(cfg)
    assert st["phase"] == "running" and st["totals"]["running"] == 1
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    cache = tmp_path / "out" / "cache"
    assert list((cache / "tmp").iterdir()) and list((cache / "heartbeats").iterdir())  # what the kill left
    leaderboard = tmp_path / "out" / "leaderboard.jsonl"
    stale = leaderboard.with_name(f".{leaderboard.name}.{proc.pid}.tmp")  # a merge killed mid-write
    stale.write_text('{"half": ')
    st = _status(cfg)
    assert st["phase"] == "interrupted" and st["totals"]["running"] == 0 and st["totals"]["interrupted"] == 1
    assert st["running"] == [] and st["interrupted"][0]["checkpoint_step"] is None
    # the rerun (no hang) removes the partial node folder, the stale leaderboard temp file and the heartbeats
    plugins.register_module(noop_plugin(), name="noop-rerun")
    for stage in list(STAGE_FUNCTIONS):
        monkeypatch.setitem(STAGE_FUNCTIONS, stage, Fake())
    try:
        _, out = run(cfg)
    finally:
        plugins.reset()
    assert out.ok and not stale.exists() and not list((cache / "tmp").iterdir())
    assert not list((cache / "heartbeats").iterdir())
    (cleanup,) = [e for e in read_events(cache) if e["event"] == "cleanup"]
    assert cleanup["tmp"] == 1 and cleanup["leaderboard_tmp"] == 1 and cleanup["heartbeats"] == 2
    assert len(read_jsonl(leaderboard)) == 4
