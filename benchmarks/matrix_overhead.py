"""Planning and bookkeeping overhead of the matrix engine on a 1,000-node matrix of no-op nodes.

The matrix: 5 models × {none + 2 intermediate tasks} × 6 target tasks × 10 languages × 1 seed =
10 intermediate + 90 target + 900 eval nodes = 1,000 nodes (900 cells). Models and tasks come from a no-op plugin
registered in this process (``harness.core.registry.register_module``); the stage functions are replaced by no-ops that
write what a real node writes (an 8-byte "checkpoint", or one leaderboard row and a one-line predictions file), so
everything measured is the engine's own work: planning (keys, fingerprints), the scheduler, locks, the events
log, atomic node folders with their DONE manifest, and the leaderboard merge.

    .venv/bin/python benchmarks/matrix_overhead.py [--workers 2] [--out DIR] [--json]

Reports: plan time; first run (all 1,000 nodes) total and per node; a fully cached rerun; ``matrix status``;
``matrix plan`` summary (with its cost estimate); and, with ``--workers N``, the same first run on a pool of N
spawned worker processes (they re-import this module, so they see the same no-op plugin).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import types
from pathlib import Path
from typing import Any

from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.rows import make_row, write_jsonl_atomic
from harness.core.specs import ModelFamily, ModelSpec, Task, TaskSpec
from harness.stages import STAGE_FUNCTIONS

MODELS = [f"noop-{s}" for s in ("xs", "s", "m", "l", "xl")]
INTERMEDIATE = ["noop-inter-a", "noop-inter-b"]
TARGETS = [f"noop-target-{i}" for i in range(6)]
LANGUAGES = ["en", "de", "es", "fr", "ru", "zh", "ar", "hi", "sw", "vi"]


def _fixture(data_dir) -> None:
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    (Path(data_dir) / "SYNTHETIC.md").write_text("no-op benchmark task\n")


def _never(split, language, data_dir=None):  # the no-op stages never load data
    raise AssertionError("no-op task loaded")


def _plugin() -> types.SimpleNamespace:
    tasks = [Task(TaskSpec(name=t, kind="classification", roles=("intermediate",), languages=("en",),
                           metrics=("accuracy",), labels=("a", "b")), _never, fixture=_fixture) for t in INTERMEDIATE]
    tasks += [Task(TaskSpec(name=t, kind="classification", roles=("target",), languages=tuple(LANGUAGES),
                            metrics=("accuracy",), labels=("a", "b")), _never, fixture=_fixture) for t in TARGETS]
    return types.SimpleNamespace(
        register_models=hookimpl(lambda register: [register(ModelSpec(name=m, family="noop", source="local:noop"))
                                                   for m in MODELS]),
        register_model_families=hookimpl(lambda register: register(ModelFamily(name="noop", load=lambda s, seed=0: None))),
        register_tasks=hookimpl(lambda register: [register(t) for t in tasks]),
    )


STAGE_SECONDS = [0.0]  # time spent inside the no-op stage functions (this process only)


def noop_stage(node, work: Path, ctx) -> dict[str, Any]:
    t = time.perf_counter()
    try:
        return _noop(node, work)
    finally:
        STAGE_SECONDS[0] += time.perf_counter() - t


def _noop(node, work: Path) -> dict[str, Any]:
    if node.stage == "eval":
        p = node.params
        (work / "predictions-test.jsonl").write_text('{"id": 0, "prediction": "a", "gold": "a"}\n')
        write_jsonl_atomic(work / "rows.jsonl", [make_row(
            model=p["model"]["name"], intermediate=p["intermediate"], task=p["task"]["name"], language=p["language"],
            split="test", metric="accuracy", value=50.0, seed=p["seed"], node=node.key,
            predictions=f"nodes/{node.key}/predictions-test.jsonl")])
    else:
        (work / "encoder.safetensors").write_bytes(b"\0" * 8)
    return {}


# At import time, so spawned pool workers (which re-import this module) see the same plugin and stages.
plugins.register_module(_plugin(), name="noop-benchmark")
for _stage in list(STAGE_FUNCTIONS):
    STAGE_FUNCTIONS[_stage] = noop_stage


def config(out: Path, workers: int = 1) -> dict[str, Any]:
    return {"name": "overhead", "output_dir": str(out), "models": MODELS, "intermediate": ["none", *INTERMEDIATE],
            "targets": [{"name": t, "languages": LANGUAGES} for t in TARGETS], "seeds": [1],
            "data": {t: "synthetic" for t in INTERMEDIATE + TARGETS}, "device": "cpu", "workers": workers}


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def measure(out: Path, workers: int) -> dict[str, Any]:
    from harness.cli.main import plan_summary
    from harness.orchestration.local_executor import LocalExecutor
    from harness.orchestration.scheduler import run_plan
    from harness.planning.config import parse_config
    from harness.planning.plan import build_plan
    from harness.run.context import Context
    from harness.store.status import matrix_status

    cfg = parse_config(config(out, workers))
    plan, t_plan_first = timed(build_plan, cfg)  # writes the synthetic data folders, fingerprints them
    plan, t_plan = timed(build_plan, cfg)
    counts = {s: len(plan.by_stage(s)) for s in ("intermediate", "target", "eval")}
    ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name=cfg.name, config_hash=plan.config_hash)
    STAGE_SECONDS[0] = 0.0
    outcome, t_run = timed(run_plan, plan, ctx, LocalExecutor(workers=workers))
    t_stage = STAGE_SECONDS[0] if workers == 1 else None
    assert outcome.ok and len(outcome.done) == len(plan.nodes), outcome.to_json()
    rows = sum(1 for _ in open(plan.leaderboard))
    outcome2, t_rerun = timed(run_plan, plan, ctx, LocalExecutor(workers=workers))
    assert outcome2.done == [] and len(outcome2.cached) == len(plan.nodes)
    _, t_plan_cached = timed(build_plan, cfg)
    _, t_status = timed(matrix_status, plan, Context(cache_dir=plan.cache_dir))
    summary, t_summary = timed(plan_summary, plan)
    return {
        "nodes": len(plan.nodes), "stages": counts, "cells": plan.cells, "workers": workers, "leaderboard_rows": rows,
        "plan_first_s": round(t_plan_first, 3), "plan_s": round(t_plan, 3), "plan_cached_s": round(t_plan_cached, 3),
        "run_s": round(t_run, 3), "run_per_node_ms": round(1000 * t_run / len(plan.nodes), 2),
        "stage_functions_s": None if t_stage is None else round(t_stage, 3),
        "engine_per_node_ms": None if t_stage is None else round(1000 * (t_run - t_stage) / len(plan.nodes), 2),
        "cached_rerun_s": round(t_rerun, 3), "cached_rerun_per_node_ms": round(1000 * t_rerun / len(plan.nodes), 3),
        "status_s": round(t_status, 3), "plan_summary_s": round(t_summary, 3),
        "events_lines": sum(1 for _ in open(plan.cache_dir / "events.jsonl")),
        "estimate_after_run": summary["estimate"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=0, help="also measure a pool of N worker processes")
    ap.add_argument("--out", type=Path, default=None, help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    scratch = args.out or Path(tempfile.mkdtemp(prefix="xlt-overhead-"))
    try:
        results = [measure(scratch / "sequential", 1)]
        if args.workers > 1:
            results.append(measure(scratch / f"pool{args.workers}", args.workers))
    finally:
        if args.out is None:
            shutil.rmtree(scratch, ignore_errors=True)
    env = {"cpus": os.cpu_count(), "python": os.sys.version.split()[0]}
    if args.json:
        print(json.dumps({"env": env, "results": results}, indent=2))
        return
    for r in results:
        print(f"{r['nodes']} no-op nodes {r['stages']} ({r['cells']} cells), workers={r['workers']}, {env['cpus']} CPUs")
        print(f"  plan:            {r['plan_s']:.3f} s  (first, writing+fingerprinting data: {r['plan_first_s']:.3f} s;"
              f" with a full cache: {r['plan_cached_s']:.3f} s)")
        print(f"  first run:       {r['run_s']:.3f} s  = {r['run_per_node_ms']:.2f} ms/node "
              f"({r['leaderboard_rows']} rows merged)")
        if r["engine_per_node_ms"] is not None:
            print(f"    of which the no-op stages (writing each node's files): {r['stage_functions_s']:.3f} s; "
                  f"engine bookkeeping: {r['engine_per_node_ms']:.2f} ms/node")
        print(f"  cached rerun:    {r['cached_rerun_s']:.3f} s  = {r['cached_rerun_per_node_ms']:.3f} ms/node")
        print(f"  matrix status:   {r['status_s']:.3f} s;  plan summary with estimate: {r['plan_summary_s']:.3f} s;"
              f"  events log: {r['events_lines']} lines")


if __name__ == "__main__":
    main()
