"""The matrix engine: DAG scheduling, failure isolation, --retry-failed, stale outputs, leaderboard merging,
status and cost estimates. Fast tests swap the stage functions for no-ops on a no-op plugin; the slow ones run
the real tiny pipeline (kill -9 and rerun, a hyper-parameter change, a worker pool)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main, plan_summary
from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.rows import make_row, read_jsonl, write_jsonl_atomic
from harness.core.specs import ModelFamily, ModelSpec, Task, TaskSpec
from harness.orchestration.local_executor import LocalExecutor
from harness.orchestration.scheduler import run_plan
from harness.planning.config import parse_config
from harness.planning.plan import build_plan, local_model_fingerprint
from harness.results.leaderboard import merge_leaderboard
from harness.run.context import Context
from harness.stages import STAGE_FUNCTIONS
from harness.store.events import read_events
from harness.store.nodestore import DONE, is_done, is_running, node_lock
from harness.store.status import matrix_status

# ----------------------------------------------------------------------------------------------- no-op plugin


def noop_plugin() -> types.SimpleNamespace:
    """A model and two tasks whose data only plan-time validation reads: the engine tests replace the stage
    functions."""
    def fixture(data_dir):
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        (Path(data_dir) / "SYNTHETIC.md").write_text("no-op")

    def load(split, language, data_dir=None):  # one valid example, for the plan-time data check
        return [{"id": f"{split}-{language}-0", "language": language, "text_a": "x", "label": "a"}]

    tasks = [
        Task(TaskSpec(name="noop-i", kind="classification", roles=("intermediate",), languages=("en",),
                      metrics=("accuracy",), labels=("a", "b")), load, fixture=fixture),
        Task(TaskSpec(name="noop-t", kind="classification", roles=("target",), languages=("en", "de", "fr"),
                      metrics=("accuracy",), labels=("a", "b")), load, fixture=fixture),
    ]
    return types.SimpleNamespace(
        register_models=hookimpl(lambda register: register(ModelSpec(name="noop-model", family="noop",
                                                                     source="local:noop"))),
        register_model_families=hookimpl(lambda register: register(ModelFamily(name="noop", load=lambda s, seed=0: None))),
        register_tasks=hookimpl(lambda register: [register(t) for t in tasks]),
    )


class Fake:
    """Stand-in stage functions: record calls, fail on demand, write one row per eval node."""

    def __init__(self) -> None:
        self.fail: set[str] = set()  # substrings of node labels that raise
        self.calls: list[str] = []

    def __call__(self, node, work, ctx):
        self.calls.append(node.key)
        if any(f in node.label for f in self.fail):
            raise RuntimeError(f"boom in {node.label}")
        if node.stage == "eval":
            p = node.params
            (work / "predictions-test.jsonl").write_text('{"id": 0, "prediction": "a", "gold": "a"}\n')
            write_jsonl_atomic(work / "rows.jsonl", [make_row(
                model=p["model"]["name"], intermediate=p["intermediate"], task=p["task"]["name"],
                language=p["language"], split="test", metric="accuracy", value=100.0, seed=p["seed"], node=node.key,
                predictions=f"nodes/{node.key}/predictions-test.jsonl")])
        else:
            (work / "encoder.safetensors").write_bytes(b"x" * 16)
        return {"ok": True}


@pytest.fixture
def fake(monkeypatch):
    plugins.register_module(noop_plugin(), name="noop-engine")
    f = Fake()
    for stage in STAGE_FUNCTIONS:
        monkeypatch.setitem(STAGE_FUNCTIONS, stage, f)
    yield f
    plugins.reset()


def noop_cfg(tmp_path: Path, **over) -> dict:
    cfg = {"name": "noop", "output_dir": str(tmp_path / "out"), "models": ["noop-model"],
           "intermediate": ["none", "noop-i"], "targets": [{"name": "noop-t", "languages": ["en", "de"]}],
           "seeds": [1], "data": {"noop-i": "synthetic", "noop-t": "synthetic"}, "device": "cpu"}
    cfg.update(over)
    return cfg


def run(cfg: dict, retry_failed: bool = False, executor=None):
    plan = build_plan(parse_config(cfg))
    ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name=plan.config.name, config_hash=plan.config_hash)
    return plan, run_plan(plan, ctx, executor, retry_failed=retry_failed)


def events_of_last_run(cache_dir: Path) -> list[dict]:
    events = read_events(cache_dir)
    run_id = [e for e in events if e["event"] == "run_start"][-1]["run"]
    return [e for e in events if e.get("run") == run_id]


def started(events: list[dict]) -> set[str]:
    return {e["node"] for e in events if e["event"] == "start"}


def key_of(plan, label_part: str, stage: str) -> str:
    (key,) = [k for k, n in plan.nodes.items() if n.stage == stage and label_part in n.label]
    return key


# ------------------------------------------------------------------------------------------------ fast tests


def test_failure_isolation_and_cli_summary(fake, tmp_path):
    fake.fail = {"noop-i → noop-t"}  # the target training after the intermediate task
    plan, out = run(noop_cfg(tmp_path))
    bad = key_of(plan, "noop-i → noop-t", "target")
    assert out.failed.keys() == {bad} and "RuntimeError: boom" in out.failed[bad]
    assert len(out.skipped) == 2 and all(plan.nodes[k].stage == "eval" for k in out.skipped)
    assert len(out.done) == 4 and not out.ok  # intermediate, the other target, its 2 evals
    rows = read_jsonl(plan.leaderboard)
    assert sorted((r["intermediate"], r["language"]) for r in rows) == [("none", "de"), ("none", "en")]
    record = json.loads((plan.cache_dir / "failed" / f"{bad}.json").read_text())
    assert record["attempts"] == 1 and "Traceback" in record["traceback"] and record["label"] == plan.nodes[bad].label
    # the CLI exits non-zero with a summary naming the failure (an earlier failure, not retried by default)
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(noop_cfg(tmp_path)))
    r = CliRunner().invoke(main, ["matrix", "run", str(cfg_path)])
    assert r.exit_code == 1
    assert "0 ran, 4 cached, 1 failed, 2 skipped" in r.output
    assert "failed in an earlier run: RuntimeError: boom" in r.output and "--retry-failed" in r.output


def test_retry_failed_semantics(fake, tmp_path):
    fake.fail = {"noop-i → noop-t"}
    plan, _ = run(noop_cfg(tmp_path))
    bad = key_of(plan, "noop-i → noop-t", "target")
    # default: a node that failed before is reported again, not rerun; its dependents stay skipped
    fake.calls.clear()
    _, out = run(noop_cfg(tmp_path))
    assert fake.calls == [] and out.earlier == [bad] and len(out.skipped) == 2 and len(out.cached) == 4
    assert started(events_of_last_run(plan.cache_dir)) == set()
    # --retry-failed while the cause persists: runs it again, attempts counted
    _, out = run(noop_cfg(tmp_path), retry_failed=True)
    assert fake.calls == [bad] and out.earlier == []
    assert json.loads((plan.cache_dir / "failed" / f"{bad}.json").read_text())["attempts"] == 2
    # cause fixed: --retry-failed completes the branch; nothing that finished before is redone
    fake.fail.clear()
    fake.calls.clear()
    _, out = run(noop_cfg(tmp_path), retry_failed=True)
    assert out.ok and len(out.done) == 3 and len(out.cached) == 4 and fake.calls[0] == bad
    assert not (plan.cache_dir / "failed" / f"{bad}.json").exists()
    finishes = Counter(e["node"] for e in read_events(plan.cache_dir) if e["event"] == "finish")
    assert set(finishes) == set(plan.nodes) and set(finishes.values()) == {1}
    assert len(read_jsonl(plan.leaderboard)) == 4


def test_an_interrupted_node_is_not_a_failure_and_reruns(fake, tmp_path, monkeypatch):
    real = STAGE_FUNCTIONS["eval"]

    def interrupt(node, work, ctx):
        raise KeyboardInterrupt

    monkeypatch.setitem(STAGE_FUNCTIONS, "eval", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(noop_cfg(tmp_path))
    cache = tmp_path / "out" / "cache"
    events = read_events(cache)
    assert [e["event"] for e in events if e.get("stage") == "eval"] == ["start", "interrupted"]
    assert events[-1]["event"] == "run_end" and events[-1]["status"] == "interrupted"
    assert not (cache / "failed").exists() and not list((cache / "tmp").iterdir())
    monkeypatch.setitem(STAGE_FUNCTIONS, "eval", real)
    _, out = run(noop_cfg(tmp_path))  # no --retry-failed needed: nothing had failed
    assert out.ok and len(out.done) + len(out.cached) == 7


def test_stale_partial_and_orphaned_outputs_are_never_trusted(fake, tmp_path):
    plan, out = run(noop_cfg(tmp_path))
    assert out.ok and len(out.done) == 7
    ctx = Context(cache_dir=plan.cache_dir)
    evals = [n.key for n in plan.by_stage("eval")]
    (ctx.node_dir(evals[0]) / DONE).unlink()  # killed between files (no marker)
    with open(ctx.node_dir(evals[1]) / "rows.jsonl", "r+b") as fh:  # truncated output
        fh.truncate(10)
    marker = json.loads((ctx.node_dir(evals[2]) / DONE).read_text())
    (ctx.node_dir(evals[2]) / DONE).write_text(json.dumps({**marker, "key": "0" * 20}))  # a copied folder
    orphan = plan.cache_dir / "tmp" / f"{evals[3]}.424242.deadbeef"
    orphan.mkdir(parents=True)
    (orphan / "rows.jsonl").write_text("{half a row")
    assert [is_done(ctx, k) for k in evals] == [False, False, False, True]
    fake.calls.clear()
    _, out = run(noop_cfg(tmp_path))
    assert sorted(fake.calls) == sorted(evals[:3]) and sorted(out.done) == sorted(evals[:3])
    events = events_of_last_run(plan.cache_dir)
    assert {e["node"] for e in events if e["event"] == "stale"} == set(evals[:3])
    assert not orphan.exists()
    rows = read_jsonl(plan.leaderboard)
    assert len(rows) == 4 and all(r["value"] == 100.0 for r in rows)


def test_changing_one_hyper_parameter_reruns_only_affected_nodes(fake, tmp_path):
    plan, _ = run(noop_cfg(tmp_path))
    # the intermediate task's learning rate: its checkpoint, the target training on it and their evals
    cfg = noop_cfg(tmp_path, intermediate=["none", {"name": "noop-i", "train": {"lr": 0.5}}])
    plan2, out = run(cfg)
    changed = {k for k, n in plan2.nodes.items() if "noop-i" in n.label}
    assert len(changed) == 4 and set(out.done) == changed and len(out.cached) == 3
    assert started(events_of_last_run(plan.cache_dir)) == changed
    # a target-stage learning rate: both target trainings and all evals, never the intermediate checkpoint
    plan3, out = run(noop_cfg(tmp_path, target_train={"lr": 0.5}))
    assert {plan3.nodes[k].stage for k in out.done} == {"target", "eval"} and len(out.done) == 6
    assert [plan3.nodes[k].stage for k in out.cached] == ["intermediate"]
    # and the leaderboard holds one row per cell, the latest config's
    rows = read_jsonl(plan3.leaderboard)
    assert len(rows) == 4 and {r["node"] for r in rows} == {n.key for n in plan3.by_stage("eval")}


def test_concurrent_runs_on_one_cache_never_compute_a_node_twice(fake, tmp_path):
    import threading

    slow = Fake()

    def stage(node, work, ctx):
        time.sleep(0.05)  # long enough for the two runs to contend for the same nodes
        return slow(node, work, ctx)

    for name in STAGE_FUNCTIONS:
        STAGE_FUNCTIONS[name] = stage  # restored by the fixture's monkeypatch
    outcomes = []
    cfg_a = noop_cfg(tmp_path, name="a", leaderboard=str(tmp_path / "lb.jsonl"))
    cfg_b = noop_cfg(tmp_path, name="b", leaderboard=str(tmp_path / "lb.jsonl"))
    threads = [threading.Thread(target=lambda c=c: outcomes.append(run(c)[1])) for c in (cfg_a, cfg_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o.ok for o in outcomes) and sorted(len(o.done) + len(o.cached) for o in outcomes) == [7, 7]
    assert sorted(Counter(slow.calls).values()) == [1] * 7  # each node computed once, by one of the two runs
    cache = tmp_path / "out" / "cache"
    assert set(Counter(e["node"] for e in read_events(cache) if e["event"] == "finish").values()) == {1}
    rows = read_jsonl(tmp_path / "lb.jsonl")  # both matrices' rows merged into the shared file
    assert sorted(Counter(r["config_name"] for r in rows).items()) == [("a", 4), ("b", 4)]


def _merge_many(args) -> None:
    path, name, n = args
    for i in range(n):
        rows = [{"config_name": name, "i": i, "j": j, "pad": "x" * 2000} for j in range(10)]
        merge_leaderboard(Path(path), name, rows)


def test_concurrent_leaderboard_merges_lose_and_interleave_nothing(tmp_path):
    path = tmp_path / "lb.jsonl"
    names = [f"m{i}" for i in range(4)]
    with mp.get_context("spawn").Pool(4) as pool:
        pool.map(_merge_many, [(str(path), name, 15) for name in names])
    rows = read_jsonl(path)  # raises on any torn or interleaved line
    assert len(rows) == 40
    for name in names:  # each matrix's last write replaced its earlier rows, others' rows were kept
        mine = [r for r in rows if r["config_name"] == name]
        assert [(r["i"], r["j"]) for r in mine] == [(14, j) for j in range(10)]


def test_status_reports_progress_failures_and_running_nodes(fake, tmp_path):
    fake.fail = {"noop-i → noop-t"}
    plan, _ = run(noop_cfg(tmp_path))
    ctx = Context(cache_dir=plan.cache_dir)
    st = matrix_status(plan, ctx)
    assert st["totals"] == {"nodes": 7, "done": 4, "running": 0, "interrupted": 0, "failed": 1, "skipped": 2,
                           "pending": 0}
    assert st["stages"]["target"] == {"nodes": 2, "done": 1, "running": 0, "interrupted": 0, "failed": 1,
                                         "skipped": 0, "pending": 0}
    assert st["phase"] == "failed" and st["progress"] == round(4 / 7, 4)
    assert st["failed"][0]["error"] == "RuntimeError: boom in noop-model · noop-i → noop-t · seed 1"
    assert st["last_run"]["status"] == "failed" and st["leaderboard_rows"] == 2
    # a node whose lock is held by a worker shows as running
    bad = st["failed"][0]["node"]
    with node_lock(ctx, bad):
        assert is_running(ctx, bad)
        assert matrix_status(plan, ctx)["totals"]["running"] == 1
    assert not is_running(ctx, bad)
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(noop_cfg(tmp_path)))
    r = CliRunner().invoke(main, ["matrix", "status", str(cfg_path), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["totals"]["done"] == 4 and len(data["nodes"]) == 7
    r = CliRunner().invoke(main, ["matrix", "status", str(cfg_path)])
    assert r.exit_code == 0 and "failed" in r.output and "57.1% done" in r.output


def test_plan_summary_counts_cache_and_estimate(fake, tmp_path):
    cfg = noop_cfg(tmp_path)
    plan = build_plan(parse_config(cfg))
    s = plan_summary(plan)
    assert s["stages"] == {"target": {"nodes": 2, "cached": 0}, "eval": {"nodes": 4, "cached": 0},
                           "intermediate": {"nodes": 1, "cached": 0}}
    assert s["reuse"] == {"intermediate_trainings_without_reuse": 2, "intermediate_trainings_with_reuse": 1,
                          "target_trainings_without_reuse": 4, "target_trainings_with_reuse": 2}
    assert s["estimate"]["seconds_to_run"] is None and "no finished nodes" in s["estimate"]["basis"]
    # timings observed earlier in this cache: intermediate 10 s, target 4 s, eval 1 s (hand-computed below)
    plan.cache_dir.mkdir(parents=True)
    write_jsonl_atomic(plan.cache_dir / "events.jsonl", [
        {"event": "finish", "stage": st, "label": "noop-model · x", "seconds": sec, "node": f"old-{st}"}
        for st, sec in (("intermediate", 10.0), ("target", 4.0), ("eval", 1.0))])
    est = plan_summary(plan)["estimate"]
    assert est["seconds_to_run"] == 1 * 10 + 2 * 4 + 4 * 1  # 22
    assert est["seconds_without_reuse"] == 2 * (1 + 4) + 2 * (1 + 4 + 10)  # 40: every cell trains its own
    assert est["saved_by_reuse_seconds"] == 18
    assert est["wall_seconds"] == 22  # one worker
    plan4 = build_plan(parse_config({**cfg, "workers": 4}))
    assert plan_summary(plan4)["estimate"]["wall_seconds"] == 15  # critical path 10 + 4 + 1 beats 22 / 4
    # after a run everything is cached and nothing is left to estimate
    run(cfg)
    s = plan_summary(build_plan(parse_config(cfg)))
    assert all(v["cached"] == v["nodes"] for v in s["stages"].values()) and s["estimate"]["seconds_to_run"] == 0
    r = CliRunner().invoke(main, ["matrix", "plan", str(_dump(tmp_path, cfg))])
    assert r.exit_code == 0 and "reuse saves" in r.output


def _dump(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_local_model_folder_contents_are_part_of_node_keys(fake, tmp_path):
    folder = tmp_path / "encoder"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "model.safetensors").write_bytes(b"\1" * 64)
    cfg = noop_cfg(tmp_path, models=[{"name": "local-enc", "family": "noop", "source": str(folder)}])
    keys = set(build_plan(parse_config(cfg)).nodes)
    assert set(build_plan(parse_config(cfg)).nodes) == keys  # stable
    (folder / "model.safetensors").write_bytes(b"\2" * 32)  # rebuilt in place (say, fp16): nothing is reused
    assert not set(build_plan(parse_config(cfg)).nodes) & keys
    assert local_model_fingerprint({"source": "org/not-a-folder"}) is None  # hub ids are pinned by revision
    assert local_model_fingerprint({"source": str(folder)}).startswith("sha256:")


def test_pool_gives_each_worker_one_gpu(monkeypatch):
    import queue

    from harness.orchestration import local_executor as runner

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    assert runner.gpu_count() == 2
    pool = runner.PoolBackend(4, Context(cache_dir=Path("/nonexistent"), device="auto"))
    try:  # capped at one worker per GPU, each pinned to one of the visible devices, nodes told to use cuda
        assert pool.slots == 2 and pool.gpu_ids == ["3", "5"] and pool.ctx_json["device"] == "cuda"
    finally:
        pool.close()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    pool = runner.PoolBackend(4, Context(cache_dir=Path("/nonexistent"), device="auto", nproc=2))
    try:  # two-process training nodes: each worker gets a pair of GPUs
        assert pool.slots == 2 and pool.gpu_ids == ["0,1", "2,3"]
    finally:
        pool.close()
    q = queue.Queue()
    q.put("5")
    runner._pool_init(q, 8, None)  # what a spawned worker runs first, before importing torch
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5" and os.environ["OMP_NUM_THREADS"] == "8"
    pool = runner.PoolBackend(4, Context(cache_dir=Path("/nonexistent"), device="cpu"))
    try:  # device cpu: no GPU pinning, all workers
        assert pool.slots == 4 and pool.gpu_ids == [] and pool.ctx_json["device"] == "cpu"
    finally:
        pool.close()


def test_bad_executor_options_fail_with_one_line(fake, tmp_path):
    r = CliRunner().invoke(main, ["matrix", "run", str(_dump(tmp_path, noop_cfg(tmp_path, executor_options={"x": 1})))])
    assert r.exit_code == 2 and "executor_options: the local executor takes no options" in r.output
    r = CliRunner().invoke(main, ["matrix", "run", str(_dump(tmp_path, noop_cfg(
        tmp_path, executor="slurm", executor_options={"mode": "grid"})))])
    assert r.exit_code == 2 and "executor_options.mode: 'grid' is not one of array, node" in r.output


# ------------------------------------------------------------------------------------ the real tiny pipeline

TINY = {"lr": 0.001, "batch_size": 8, "max_steps": 2, "max_length": 32, "eval_batch_size": 64}


def tiny_cfg(tmp_path: Path, **over) -> dict:
    cfg = {"name": "tiny", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"],
           "intermediate": ["none", "mnli"], "targets": [{"name": "xnli", "languages": ["en", "de"]}],
           "seeds": [1], "data": {"xnli": "synthetic", "mnli": "synthetic"}, "train": TINY, "device": "cpu"}
    cfg.update(over)
    return cfg


def comparable(rows: list[dict]) -> list[str]:
    """Rows minus what legitimately differs between two runs (time, file location, repo state, timings)."""
    from harness.core.rows import without_timings

    drop = ("created", "predictions", "git_sha", "data_location", "intermediate_data")
    return sorted(json.dumps({k: v for k, v in without_timings(r).items() if k not in drop}, sort_keys=True)
                  for r in rows)


def slow_plugin() -> types.SimpleNamespace:
    """``xnli-slow``: XNLI whose German test split takes a minute to load when ``SLOW_DE=1``, so a run can be
    killed at a known point (mid-node, with finished nodes behind it)."""
    import dataclasses

    from xlt_harness_plugins.tasks import xnli

    def load(split, language, data_dir=None):
        if split == "test" and language == "de" and os.environ.get("SLOW_DE") == "1":
            time.sleep(60)
        return xnli.load(split=split, language=language, data_dir=data_dir)

    task = Task(spec=dataclasses.replace(xnli.SPEC, name="xnli-slow"), load=load, fixture=xnli.fixture)
    return types.SimpleNamespace(register_tasks=hookimpl(lambda register: register(task)))


DRIVER = """
import sys
from harness.core import registry as plugins
from test_engine import slow_plugin
plugins.register_module(slow_plugin(), name="slow")
from harness.cli.main import main
main(["matrix", "run", sys.argv[1]])
"""


@pytest.mark.slow
def test_kill_minus_nine_mid_run_then_rerun_completes_without_redoing(tmp_path):
    cfg = tiny_cfg(tmp_path, targets=[{"name": "xnli-slow", "languages": ["en", "de"]}],
                   data={"xnli-slow": "synthetic", "mnli": "synthetic"})
    cfg_path = _dump(tmp_path, cfg)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    events_path = tmp_path / "out" / "cache" / "events.jsonl"
    env = {**os.environ, "SLOW_DE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(driver), str(cfg_path)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait until the slow German evaluation has started
            events = read_jsonl(events_path) if events_path.exists() else []
            if any(e["event"] == "start" and "[de]" in e.get("label", "") for e in events):
                break
            assert proc.poll() is None, "driver exited early"
            time.sleep(0.1)
        else:
            pytest.fail("the slow node never started")
        time.sleep(0.5)
        # matrix status of the running matrix: the slow node shows as running, the finished ones as done
        plugins.register_module(slow_plugin(), name="slow")
        try:
            plan = build_plan(parse_config(cfg))
            st = matrix_status(plan, Context(cache_dir=plan.cache_dir))
        finally:
            plugins.reset()
        assert st["phase"] == "running" and st["totals"]["running"] == 1 and st["totals"]["done"] >= 2
        assert "[de]" in st["running"][0]["label"] and st["running"][0]["pid"] != os.getpid()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    first = read_jsonl(events_path)
    finished_first = {e["node"] for e in first if e["event"] == "finish"}
    killed = {e["node"] for e in first if e["event"] == "start"} - finished_first
    assert len(finished_first) >= 2 and len(killed) == 1
    assert list((tmp_path / "out" / "cache" / "tmp").iterdir())  # the killed node's partial folder
    # rerun (the slow split is fast now): completes, without trusting the partial node or redoing finished ones
    r = subprocess.run([sys.executable, str(driver), str(cfg_path)], env={**env, "SLOW_DE": "0"},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    events = read_jsonl(events_path)
    second = events[len(first):]
    plan_nodes = {e["node"] for e in events if e.get("node")}
    assert len(plan_nodes) == 7
    finishes = Counter(e["node"] for e in events if e["event"] == "finish")
    assert set(finishes) == plan_nodes and set(finishes.values()) == {1}  # every node finished exactly once
    assert not finished_first & started(second)  # nothing finished before the kill was started again
    cached = [e for e in second if e["event"] == "cached"]  # one record for all cached nodes, not one per node
    assert len(cached) == 1 and cached[0]["count"] == len(finished_first) and "node" not in cached[0]
    assert [e for e in second if e["event"] == "run_end"][-1]["cached"] == len(finished_first)
    assert killed <= started(second)
    assert not list((tmp_path / "out" / "cache" / "tmp").iterdir())
    rows = read_jsonl(tmp_path / "out" / "leaderboard.jsonl")
    cells = Counter((r["model"], r["intermediate"], r["task"], r["language"], r["split"], r["metric"], r["seed"])
                    for r in rows)
    assert len(cells) == 4 and set(cells.values()) == {1}  # 2 settings × 2 languages, one row each


@pytest.mark.slow
def test_real_pipeline_hyper_parameter_change_reruns_only_affected(tmp_path):
    plan, out = run(tiny_cfg(tmp_path))
    assert out.ok and len(out.done) == 7
    plan2, out = run(tiny_cfg(tmp_path, intermediate=["none", {"name": "mnli", "train": {"lr": 0.002}}]))
    affected = {k for k, n in plan2.nodes.items() if "mnli" in n.label}
    assert len(affected) == 4 and set(out.done) == affected and len(out.cached) == 3
    assert started(events_of_last_run(plan.cache_dir)) == affected
    assert len(read_jsonl(plan2.leaderboard)) == 4


@pytest.mark.slow
def test_worker_pool_matches_sequential(tmp_path):
    plan_a, out_a = run(tiny_cfg(tmp_path / "a"))
    plan_b, out_b = run(tiny_cfg(tmp_path / "b", workers=2), executor=LocalExecutor(workers=2))
    assert out_a.ok and out_b.ok and len(out_b.done) == 7
    assert comparable(read_jsonl(plan_a.leaderboard)) == comparable(read_jsonl(plan_b.leaderboard))
    pids = {e["pid"] for e in read_events(plan_b.cache_dir) if e["event"] == "finish"}
    assert len(pids) == 2 and os.getpid() not in pids  # two spawned workers did the work
