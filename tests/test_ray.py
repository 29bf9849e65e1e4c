"""The ``ray`` executor on a local Ray cluster (2 CPUs, no dashboard): same rows as ``local``, failure isolation."""

from __future__ import annotations

import os

import pytest
from test_engine import comparable, run, tiny_cfg

from harness.core.rows import read_jsonl
from harness.store.events import read_events

pytest.importorskip("ray")


@pytest.mark.slow
def test_ray_matches_local_and_isolates_failures(tmp_path):
    # a second model whose options its family rejects: its nodes fail inside the Ray workers
    over = {"models": ["tiny-xlmr", {"name": "tiny-bad", "family": "tiny-xlmr", "options": {"bogus": 1}}]}
    plan_l, out_l = run(tiny_cfg(tmp_path / "local", **over))
    from xlt_harness_plugins.executors.ray_executor import RayExecutor

    cfg = tiny_cfg(tmp_path / "ray", executor="ray", executor_options={"num_cpus": 2}, **over)
    plan_r, out_r = run(cfg, executor=RayExecutor(num_cpus=2))
    for out in (out_l, out_r):
        assert len(out.done) == 7 and len(out.failed) == 2 and len(out.skipped) == 5
        assert all("unknown options ['bogus']" in e for e in out.failed.values())
    assert set(out_r.failed) == set(out_l.failed) and set(out_r.skipped) == set(out_l.skipped)
    rows_l, rows_r = read_jsonl(plan_l.leaderboard), read_jsonl(plan_r.leaderboard)
    assert len(rows_r) == 4 and comparable(rows_r) == comparable(rows_l)
    # the nodes really ran in Ray worker processes, not in the driver
    pids = {e["pid"] for e in read_events(plan_r.cache_dir) if e["event"] in ("finish", "failed")}
    assert pids and os.getpid() not in pids
    import ray

    assert not ray.is_initialized()  # the executor shut down the cluster it started


@pytest.mark.slow
def test_a_ray_task_whose_worker_is_killed_mid_training_is_retried_and_matches_local(tmp_path):
    """A preempted Ray worker (SIGKILL mid-node): Ray retries the task (``max_retries``) in a new worker, the
    node runs again under its lock (resuming from ``cache_dir/resume/KEY`` when training is resumable) and the
    matrix ends with the local rows; the retry is not a failure."""
    import signal

    from helpers import act_when_started
    from test_engine import TINY
    from xlt_harness_plugins.executors.ray_executor import RayExecutor

    from harness.planning.config import parse_config
    from harness.planning.plan import build_plan

    over = {"intermediate": ["none"], "targets": [{"name": "xnli", "languages": ["en"]}],
            "train": {**TINY, "max_steps": 30}}
    plan_l, _ = run(tiny_cfg(tmp_path / "local", **over))
    cfg = tiny_cfg(tmp_path / "ray", executor="ray", executor_options={"num_cpus": 2}, **over)
    target = build_plan(parse_config(cfg)).by_stage("target")[0].key
    events_path = tmp_path / "ray" / "out" / "cache" / "events.jsonl"
    killed: dict = {}

    def kill_worker(events: list[dict]) -> None:
        pid = next(e["pid"] for e in events if e["event"] == "start" and e["node"] == target)
        os.kill(pid, signal.SIGKILL)
        killed["pid"] = pid

    thread = act_when_started(events_path, target, kill_worker)
    plan_r, out = run(cfg, executor=RayExecutor(num_cpus=2))
    thread.join(timeout=5)
    assert killed and out.ok and len(out.done) == 2, (out.to_json(), out.failed)
    starts = [e for e in read_events(plan_r.cache_dir) if e["event"] == "start" and e["node"] == target]
    assert len(starts) == 2 and starts[0]["pid"] == killed["pid"] != starts[1]["pid"]  # retried elsewhere
    assert comparable(read_jsonl(plan_r.leaderboard)) == comparable(read_jsonl(plan_l.leaderboard))
