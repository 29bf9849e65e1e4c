"""The ``slurm`` executor against a real single-node SLURM (``scripts/slurm/cluster.sh start``; skipped when
``sbatch`` is not on PATH or no controller answers): same rows as ``local``, dependencies honoured, failures
isolated across jobs."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import yaml
from test_engine import TINY, comparable, run, tiny_cfg

from harness.core.rows import read_jsonl
from harness.store.events import read_events

pytest.importorskip("submitit")
from xlt_harness_plugins.executors.slurm_executor import SlurmExecutor, slurm_available  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sbatch") is None, reason="sbatch not on PATH (run scripts/slurm/cluster.sh start)"),
]

OPTIONS = {"cpus_per_task": 1, "timeout_min": 10, "poll_s": 0.5, "lost_grace_s": 20}
REQUEUE_STEPS = 30  # the target training job is requeued while it runs (model load + training)


@pytest.fixture(scope="module", autouse=True)
def cluster():
    if not slurm_available():
        pytest.skip("no SLURM controller answers (scripts/slurm/cluster.sh start)")


def _times(events, stage):
    return [e["time"] for e in events if e.get("stage") == stage and e["event"] in ("start", "finish", "skipped")]


def test_slurm_array_jobs_match_local_and_isolate_failures(tmp_path):
    over = {"models": ["tiny-xlmr", {"name": "tiny-bad", "family": "tiny-xlmr", "options": {"bogus": 1}}],
            "intermediate": ["none"], "targets": [{"name": "xnli", "languages": ["en"]}]}
    plan_l, out_l = run(tiny_cfg(tmp_path / "local", **over))
    cfg = tiny_cfg(tmp_path / "slurm", executor="slurm", executor_options=OPTIONS, **over)
    plan_s, out_s = run(cfg, executor=SlurmExecutor(**OPTIONS))
    # tiny-xlmr: 1 training + 1 eval; tiny-bad: its training fails in its job, its eval job reports skipped
    for out in (out_l, out_s):
        assert len(out.done) == 2 and len(out.failed) == 1 and len(out.skipped) == 1, (out.to_json(), out.failed)
    assert set(out_s.failed) == set(out_l.failed) and "unknown options ['bogus']" in next(iter(out_s.failed.values()))
    assert comparable(read_jsonl(plan_s.leaderboard)) == comparable(read_jsonl(plan_l.leaderboard))
    events = read_events(plan_s.cache_dir)
    (submitted,) = [e for e in events if e["event"] == "slurm_submitted"]
    assert submitted["mode"] == "array" and len(submitted["jobs"]) == 2  # one array job per DAG level
    scripts = sorted((plan_s.cache_dir / "slurm").glob("*_submission.sh"))
    assert any(f"--dependency=afterany:{submitted['jobs'][0]}" in p.read_text() for p in scripts)
    # the evaluation level started only after the training level had finished
    assert min(_times(events, "eval")) > max(_times(events, "target")), events


def test_slurm_one_job_per_node_with_dependencies(tmp_path):
    over = {"intermediate": ["none"], "targets": [{"name": "xnli", "languages": ["en"]}]}
    plan_l, _ = run(tiny_cfg(tmp_path / "local", **over))
    opts = {**OPTIONS, "mode": "node"}
    plan_s, out = run(tiny_cfg(tmp_path / "slurm", executor="slurm", executor_options=opts, **over),
                      executor=SlurmExecutor(**opts))
    assert out.ok and len(out.done) == 2
    assert comparable(read_jsonl(plan_s.leaderboard)) == comparable(read_jsonl(plan_l.leaderboard))
    (submitted,) = [e for e in read_events(plan_s.cache_dir) if e["event"] == "slurm_submitted"]
    assert submitted["mode"] == "node" and len(submitted["jobs"]) == 2
    # a rerun queues nothing: everything is cached
    _, out = run(tiny_cfg(tmp_path / "slurm", executor="slurm", executor_options=opts, **over),
                 executor=SlurmExecutor(**opts))
    assert out.done == [] and len(out.cached) == 2


def test_rerun_after_the_driver_is_killed_adopts_the_queued_jobs(tmp_path):
    over = {"intermediate": ["none"], "targets": [{"name": "xnli", "languages": ["en", "de"]}]}
    cfg = tiny_cfg(tmp_path, executor="slurm", executor_options=OPTIONS, **over)
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    events_path = tmp_path / "out" / "cache" / "events.jsonl"
    driver = subprocess.Popen([sys.executable, "-m", "harness.cli.main", "matrix", "run", str(cfg_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (events_path.exists() and any(e["event"] == "slurm_submitted" for e in read_jsonl(events_path))):
            assert time.time() < deadline and driver.poll() is None
            time.sleep(0.2)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    plan, out = run(cfg, executor=SlurmExecutor(**OPTIONS))  # the jobs keep running; this driver waits for them
    assert out.ok and len(out.done) + len(out.cached) == 3
    events = read_events(plan.cache_dir)
    assert len([e for e in events if e["event"] == "slurm_submitted"]) == 1  # nothing queued twice
    (adopted,) = [e for e in events if e["event"] == "slurm_adopted"]
    assert adopted["nodes"] == len(out.done) >= 1
    assert set(Counter(e["node"] for e in events if e["event"] == "start").values()) == {1}
    assert len(read_jsonl(plan.leaderboard)) == 2


def test_scontrol_requeue_of_a_running_training_job_is_readopted_and_matches_local(tmp_path):
    """A running training job requeued by SLURM (``scontrol requeue``, what preemption does) stops gracefully,
    comes back under the same job id, the driver keeps waiting on it, and the matrix ends with the local rows.
    With resumable training (``harness.training.checkpoint.Resume``), the requeued node resumes from its checkpoint."""
    from helpers import act_when_started

    from harness.planning.config import parse_config
    from harness.planning.plan import build_plan
    from harness.training import checkpoint

    over = {"intermediate": ["none"], "targets": [{"name": "xnli", "languages": ["en"]}],
            "train": {**TINY, "max_steps": REQUEUE_STEPS}}
    plan_l, out_l = run(tiny_cfg(tmp_path / "local", **over))
    opts = {**OPTIONS, "mode": "node"}
    cfg = tiny_cfg(tmp_path / "slurm", executor="slurm", executor_options=opts, **over)
    target = build_plan(parse_config(cfg)).by_stage("target")[0].key
    events_path = tmp_path / "slurm" / "out" / "cache" / "events.jsonl"
    requeued: dict = {}

    def jobs_of(events: list[dict]) -> list[str]:
        return [e["job"] for e in events if e["event"] == "slurm_job_start" and e["node"] == target]

    def requeue(events: list[dict]) -> None:
        job = jobs_of(events)[-1]
        r = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
        requeued.update(job=job, rc=r.returncode, err=r.stderr)

    thread = act_when_started(events_path, target, requeue, ready=jobs_of)
    plan_s, out = run(cfg, executor=SlurmExecutor(**opts))
    thread.join(timeout=5)
    assert requeued.get("rc") == 0, requeued
    assert out.ok and len(out.done) == 2, (out.to_json(), out.failed)
    events = read_events(plan_s.cache_dir)
    starts = [e for e in events if e["event"] == "slurm_job_start" and e["node"] == target]
    assert [e["job"] for e in starts] == [requeued["job"]] * 2 and [e["restarts"] for e in starts] == [0, 1]
    assert len([e for e in events if e["event"] == "slurm_submitted"]) == 1  # re-adopted, never resubmitted
    assert not [e for e in events if e["event"] == "failed"]
    rows = read_jsonl(plan_s.leaderboard)
    # the requeued node resumed from its checkpoint and its rows say so (exact on CPU); all else as local
    assert all(r["budget"]["target_resumed"]["exact"] and r["budget"]["target_resumed"]["from_steps"]
               for r in rows)
    for r in rows:
        r["budget"].pop("target_resumed")
    assert comparable(rows) == comparable(read_jsonl(plan_l.leaderboard))
    if hasattr(checkpoint, "Resume"):  # resumable training merged: the node stopped at a step and resumed there
        (stop,) = [e for e in events if e["event"] == "requeue" and e["node"] == target]
        assert 0 < stop["step"] < REQUEUE_STEPS
