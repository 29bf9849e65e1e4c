"""The ``ray`` executor on a local Ray cluster (2 CPUs, no dashboard): same rows as ``local``, failure isolation."""

from __future__ import annotations

import os

import pytest
from test_engine import comparable, run, tiny_cfg

from harness.events import read_events
from harness.results import read_jsonl

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
