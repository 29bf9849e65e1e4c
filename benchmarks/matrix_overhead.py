"""Planning and bookkeeping overhead of the matrix engine on matrices of no-op nodes, from 1k to paper scale (200k).

The matrix of ``--nodes N``: models × intermediate settings × seeds groups (up to 9 model sizes × {none + 9
intermediate tasks} × 5 seeds) of 16 target tasks × 30 languages = 480 target-language cells each; the generator
picks the group counts whose node total is closest to N (1k: 993 nodes, 10k: 9,938, 200k: 201,240 = 9 models ×
9 settings × 5 seeds; the full 9 × 10 × 5 ladder is 223,605). Models and tasks come from a no-op plugin registered in this process
(``harness.core.registry.register_module``); the stage functions are replaced by no-ops that write what a real node
writes (an 8-byte "checkpoint", or one leaderboard row and a one-line predictions file), so everything measured is
the engine's own work: planning (keys, fingerprints, the lock file, validation), the scheduler, the node store's
DONE manifests and content checks, the events log and the leaderboard merge.

    .venv/bin/python benchmarks/matrix_overhead.py [--nodes 1000 10000 200000] [--baseline REV] [--profile]
        [--out DIR [--reuse]]

Per size it reports, each as ``harness matrix …`` does it, from a YAML config on disk: **plan** (config → plan:
load, lock file, build, validate), a **cold rerun** (``matrix run`` where every node is done but the store's index
of verified nodes is empty: every reported node is hashed), a **fully cached rerun** (the same with the index the
cold rerun wrote: the usual rerun) and **status** (``matrix status``), each
with ms per node and the phase's peak RSS (``VmHWM``, reset before each phase). Up to ``--first-run-max`` nodes
the cache is filled by a real first run (timed, as before); above, it is written directly with the engine's own
node-folder code (``write_marker``) and a matching events log, which the cached rerun must then accept whole.

``--baseline REV`` times the same phases with the harness of git revision REV (``git archive`` into a scratch
folder, put first on ``PYTHONPATH``) on the same cache, in the same run, up to ``--baseline-max`` nodes. Every
measurement runs in a fresh subprocess, and the events log is restored before each, so neither side pays for
the other's events. ``--profile`` writes the top cProfile entries of each phase (ours) to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
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

MODELS = [f"noop-{s}" for s in ("xs", "s", "m", "base", "l", "xl", "2xl", "3xl", "4xl")]  # 9 sizes
INTERMEDIATE = [f"noop-inter-{i}" for i in range(9)]  # with "none": 10 intermediate settings
TARGETS = [f"noop-target-{i:02d}" for i in range(16)]
LANGUAGES = ["en", "de", "es", "fr", "ru", "zh", "ar", "hi", "sw", "vi", "bg", "el", "th", "tr", "ur", "ja",
             "ko", "id", "fi", "et", "ht", "it", "qu", "ta", "he", "nl", "pt", "fa", "mr", "te"]  # 30: 480 cells
MAX_SEEDS = 5


def _fixture(data_dir) -> None:
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    (Path(data_dir) / "SYNTHETIC.md").write_text("no-op benchmark task\n")
    for split in ("train", "dev", "test"):  # what validation loads: two labelled rows per split
        (Path(data_dir) / f"{split}.jsonl").write_text('{"id": "0", "text_a": "x", "label": "a"}\n'
                                                        '{"id": "1", "text_a": "y", "label": "b"}\n')


def _load(split, language, data_dir=None):  # validation reads the fixture; the no-op stages never load data
    from harness.core.rows import read_jsonl

    return read_jsonl(Path(data_dir) / f"{split.split('[')[0]}.jsonl")


def _plugin() -> types.SimpleNamespace:
    tasks = [Task(TaskSpec(name=t, kind="classification", roles=("intermediate",), languages=("en",),
                           metrics=("accuracy",), labels=("a", "b")), _load, fixture=_fixture) for t in INTERMEDIATE]
    tasks += [Task(TaskSpec(name=t, kind="classification", roles=("target",), languages=tuple(LANGUAGES),
                            metrics=("accuracy",), labels=("a", "b")), _load, fixture=_fixture) for t in TARGETS]
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


def shape(n: int) -> dict[str, int]:
    """Models, intermediate settings and seeds (16 targets × 30 languages each) whose node count is closest to n."""
    best = None
    for m in range(1, len(MODELS) + 1):
        for s in range(1, len(INTERMEDIATE) + 2):
            for seeds in range(1, MAX_SEEDS + 1):
                total = m * seeds * (s * len(TARGETS) * (len(LANGUAGES) + 1) + (s - 1))
                score = (abs(total - n), -m, -s)
                if best is None or score < best[0]:
                    best = (score, {"models": m, "settings": s, "seeds": seeds, "nodes": total})
    return best[1]


def config(out: Path, n: int, workers: int = 1) -> dict[str, Any]:
    sh = shape(n)
    return {"name": "overhead", "output_dir": str(out), "models": MODELS[:sh["models"]],
            "intermediate": ["none", *INTERMEDIATE][:sh["settings"]],
            "targets": [{"name": t, "languages": LANGUAGES} for t in TARGETS], "seeds": list(range(1, sh["seeds"] + 1)),
            "data": {t: "synthetic" for t in INTERMEDIATE + TARGETS}, "device": "cpu", "workers": workers}


def write_config(folder: Path, n: int, workers: int = 1) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "overhead.yaml"
    path.write_text(yaml.safe_dump(config(folder / "out", n, workers), sort_keys=False))
    return path


def peak_reset() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux ≥ 4.0)
    except OSError:
        pass


def peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(fn, *args, profile: str | None = None, **kwargs) -> tuple[Any, float, float]:
    """Run fn once; its result, seconds and peak RSS (MB). ``profile``: print its top cProfile entries."""
    peak_reset()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        t = time.perf_counter()
        out = prof.runcall(fn, *args, **kwargs)
        secs = time.perf_counter() - t
        print(f"--- cProfile: {profile} ({secs:.2f} s under the profiler)", file=sys.stderr)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(18)
        return out, secs, peak_mb()
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t, peak_mb()


# ---------------------------------------------------------------- the phases, as the CLI commands run them


def plan_phase(config_path: Path):
    """``harness matrix plan``: load, lock file, build, save the lock, validate every planned split."""
    from harness.cli.check import _load_plan

    return _load_plan(str(config_path), quiet=True)


def rerun_phase(config_path: Path):
    """``harness matrix run --offline`` (no progress bar): plan, the local checks, then the scheduler."""
    from harness.cli.check import _load_plan, machine_or_fail, needs_preflight, validate_or_fail
    from harness.orchestration.local_executor import LocalExecutor
    from harness.orchestration.scheduler import run_plan
    from harness.run.context import Context

    t = time.perf_counter()
    plan = _load_plan(str(config_path), check_data=False)
    assert not needs_preflight(plan)
    validate_or_fail(plan)
    machine_or_fail(plan, "cpu", 1)
    t_plan = time.perf_counter() - t
    ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name=plan.config.name, config_hash=plan.config_hash)
    outcome = run_plan(plan, ctx, LocalExecutor(workers=1))
    assert outcome.done == [] and len(outcome.cached) == len(plan.nodes), outcome.to_json()
    return {"plan_s": t_plan, "rows": sum(1 for _ in open(plan.leaderboard))}


def status_phase(config_path: Path):
    """``harness matrix status``: plan (no validation), then the store and events log."""
    from harness.cli.check import _load_plan
    from harness.run.context import Context
    from harness.store.status import matrix_status

    t = time.perf_counter()
    plan = _load_plan(str(config_path), quiet=True, check_data=False)
    t_plan = time.perf_counter() - t
    import inspect  # as `matrix status` prints it: no per-node list (a baseline harness may not have the switch)

    extra = {"per_node": False} if "per_node" in inspect.signature(matrix_status).parameters else {}
    st = matrix_status(plan, Context(cache_dir=plan.cache_dir), workers=plan.config.workers, **extra)
    assert st["phase"] == "finished", st["totals"]
    return {"plan_s": t_plan}


def measure(config_path: Path, repeats: int, profile: bool) -> dict[str, Any]:
    """Every phase ``repeats`` times (median, min), the events log restored before each cached rerun."""
    events = config_path.parent / "out" / "cache" / "events.jsonl"
    seed_log = events.with_name("events.jsonl.seed")
    out: dict[str, Any] = {}
    index = config_path.parent / "out" / "cache" / "verified.json"
    for name, fn in (("plan", plan_phase), ("rerun", rerun_phase), ("status", status_phase)):
        times, peaks, inner = [], [], []
        if name == "rerun":  # the first rerun hashes every reported node and records it in the store's index
            index.unlink(missing_ok=True)
            res, secs, peak = phase(fn, config_path)
            out["rerun_cold"] = {"s": secs, "min_s": secs, "peak_mb": peak, "plan_part_s": res.get("plan_s")}
        for i in range(repeats + int(profile)):
            shutil.copyfile(seed_log, events)
            res, secs, peak = phase(fn, config_path, profile=f"{name} ({config_path})" if profile and i == 0 else None)
            if profile and i == 0:
                continue
            times.append(secs)
            peaks.append(peak)
            inner.append(res.get("plan_s") if isinstance(res, dict) else None)
        out[name] = {"s": statistics.median(times), "min_s": min(times), "peak_mb": max(peaks),
                     "plan_part_s": statistics.median(inner) if inner[0] is not None else None}
    shutil.copyfile(seed_log, events)
    return out


# ---------------------------------------------------------------- filling the cache


def seed_cache(plan) -> float:
    """Write every node folder as ``run_node`` does (no-op stage, node.json, summary.json, DONE with content
    hashes, atomic rename), and the events a first run logs; returns seconds."""
    import uuid

    from harness.orchestration.scheduler import prepare_plan_data
    from harness.store.events import append_events, event, new_run_id, set_run
    from harness.store.integrity import write_marker

    t = time.perf_counter()
    prepare_plan_data(plan)
    set_run(new_run_id())
    cache = plan.cache_dir
    (cache / "nodes").mkdir(parents=True, exist_ok=True)
    (cache / "tmp").mkdir(parents=True, exist_ok=True)
    records = [event(None, "run_start", config_name=plan.config.name, config_hash=plan.config_hash,
                     executor="local", workers=1, nodes=len(plan.nodes), retry_failed=False)]
    ctx = types.SimpleNamespace(cache_dir=cache, node_dir=lambda k: cache / "nodes" / k)
    for node in plan.nodes.values():
        work = cache / "tmp" / f"{node.key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        work.mkdir()
        records.append(event(node, "start"))
        _noop(node, work)
        (work / "node.json").write_text(json.dumps(node.to_json(), indent=2, sort_keys=True))
        (work / "summary.json").write_text(json.dumps({"seconds": 0.001}))
        write_marker(ctx, node, work)
        os.rename(work, cache / "nodes" / node.key)
        records.append(event(node, "finish", seconds=0.001))
        if len(records) > 20000:
            append_events(cache, records)
            records = []
    append_events(cache, [*records, event(None, "run_end", status="ok", seconds=round(time.perf_counter() - t, 3))])
    return time.perf_counter() - t


def prepare(config_path: Path, first_run_max: int, workers: int) -> dict[str, Any]:
    """Plan once (writing the lock file and the validation verdicts), fill the cache; snapshot the events log."""
    from harness.orchestration.local_executor import LocalExecutor
    from harness.orchestration.scheduler import run_plan
    from harness.run.context import Context

    (plan, t_first, _) = phase(plan_phase, config_path)
    counts = {s: len(plan.by_stage(s)) for s in ("intermediate", "target", "eval")}
    info: dict[str, Any] = {"nodes": len(plan.nodes), "stages": counts, "cells": plan.cells,
                            "plan_first_s": t_first}
    if len(plan.nodes) <= first_run_max:
        ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name=plan.config.name,
                      config_hash=plan.config_hash)
        STAGE_SECONDS[0] = 0.0
        outcome, t_run, peak = phase(run_plan, plan, ctx, LocalExecutor(workers=1))
        assert outcome.ok and len(outcome.done) == len(plan.nodes), outcome.to_json()
        info.update(first_run_s=t_run, stage_functions_s=STAGE_SECONDS[0], first_run_peak_mb=peak)
        if workers > 1:
            pool_cfg = write_config(config_path.parent / f"pool{workers}", len(plan.nodes), workers)
            pool_plan = plan_phase(pool_cfg)
            pool_ctx = Context(cache_dir=pool_plan.cache_dir, device="cpu", config_name="overhead",
                               config_hash=pool_plan.config_hash)
            outcome, t_pool, _ = phase(run_plan, pool_plan, pool_ctx, LocalExecutor(workers=workers))
            assert outcome.ok, outcome.to_json()
            info.update(pool_workers=workers, pool_run_s=t_pool)
    else:
        info["seeded_s"] = seed_cache(plan)
    events = plan.cache_dir / "events.jsonl"
    shutil.copyfile(events, events.with_name("events.jsonl.seed"))
    info["events_lines"] = sum(1 for _ in open(events))
    return info


# ---------------------------------------------------------------- driver: one subprocess per measurement


def child(argv: list[str], pythonpath: str | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv], env=env, stdout=subprocess.PIPE,
                          text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child {argv} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def baseline_tree(rev: str, scratch: Path) -> Path:
    """The ``harness`` package of git revision ``rev``, unpacked into ``scratch/baseline-REV``."""
    root = Path(__file__).resolve().parents[1]
    dest = scratch / f"baseline-{rev.replace('/', '_')}"
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "harness"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def report(r: dict[str, Any]) -> None:
    n = r["nodes"]
    print(f"{n} no-op nodes {r['stages']} ({r['cells']} cells), {os.cpu_count()} CPUs, load {r['load']}")
    if "first_run_s" in r:
        print(f"  first run:  {r['first_run_s']:.3f} s = {1000 * r['first_run_s'] / n:.2f} ms/node (no-op stages "
              f"{r['stage_functions_s']:.3f} s; engine {1000 * (r['first_run_s'] - r['stage_functions_s']) / n:.2f}"
              f" ms/node)" + (f"; pool of {r['pool_workers']}: {r['pool_run_s']:.3f} s" if "pool_run_s" in r else ""))
    else:
        print(f"  cache written directly (engine node-folder code): {r['seeded_s']:.1f} s")
    print(f"  events log: {r['events_lines']} lines; first plan (lock file, validation): {r['plan_first_s']:.3f} s")
    sides = [("ours", r["ours"])] + ([("baseline", r["baseline"])] if r.get("baseline") else [])
    for what, label in (("plan", "plan"), ("rerun_cold", "rerun, cold"), ("rerun", "cached rerun"),
                        ("status", "status")):
        cells = []
        for side, m in sides:
            if what not in m:
                continue
            p = m[what]
            part = f", of which plan {p['plan_part_s']:.2f} s" if p["plan_part_s"] is not None else ""
            cells.append(f"{side} {p['s']:.3f} s (min {p['min_s']:.3f}) = {1e6 * p['s'] / n:.1f} µs/node, "
                         f"peak {p['peak_mb']:.0f} MB{part}")
        ratio = (f"  → baseline/ours {r['baseline'][what]['s'] / r['ours'][what]['s']:.1f}×"
                 if r.get("baseline") and what in r["baseline"] else "")
        print(f"  {label + ':':<14}" + "\n  {:<14}".format("").join(cells) + ratio)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[1000], help="matrix sizes (about N nodes each)")
    ap.add_argument("--workers", type=int, default=0, help="also time the first run on a pool of N workers")
    ap.add_argument("--repeats", type=int, default=3, help="timings per phase (median and min reported)")
    ap.add_argument("--baseline", default=None, help="git revision whose harness is timed on the same caches")
    ap.add_argument("--baseline-max", type=int, default=10000, help="largest size the baseline is timed at")
    ap.add_argument("--baseline-repeats", type=int, default=1)
    ap.add_argument("--first-run-max", type=int, default=2000, help="fill caches up to this size by a real run")
    ap.add_argument("--profile", action="store_true", help="cProfile each phase (ours), top entries to stderr")
    ap.add_argument("--out", type=Path, default=None, help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--reuse", action="store_true", help="with --out: measure the caches an earlier run filled")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("WHAT", "CONFIG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # one measurement in this fresh process; JSON on the last stdout line
        what, cfg = args.child[0], Path(args.child[1])
        sys.stdout, real = sys.stderr, sys.stdout  # the CLI's console lines go to stderr
        out = (prepare(cfg, args.first_run_max, args.workers) if what == "prepare" else
               measure(cfg, args.repeats, args.profile))
        print(json.dumps(out), file=real)
        return
    scratch = args.out or Path(tempfile.mkdtemp(prefix="xlt-overhead-"))
    results = []
    try:
        base = str(baseline_tree(args.baseline, scratch)) if args.baseline else None
        for n in args.nodes:
            folder = scratch / f"n{n}"
            saved = folder / "prepare.json"
            if args.reuse and saved.exists():  # the cache that an earlier run with this --out filled
                cfg, r = folder / "overhead.yaml", json.loads(saved.read_text())
            else:
                shutil.rmtree(folder, ignore_errors=True)
                cfg = write_config(folder, n)
                r = child(["--child", "prepare", str(cfg), "--first-run-max", str(args.first_run_max),
                           "--workers", str(args.workers)])
                saved.write_text(json.dumps(r))
            r["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
            if base and r["nodes"] <= args.baseline_max:
                r["baseline"] = child(["--child", "measure", str(cfg), "--repeats", str(args.baseline_repeats)], base)
            r["ours"] = child(["--child", "measure", str(cfg), "--repeats", str(args.repeats)]
                              + (["--profile"] if args.profile else []))
            results.append(r)
            if not args.json:
                report(r)
            if args.out is None:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        if args.out is None:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps({"env": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "results": results},
                         indent=2))


if __name__ == "__main__":
    main()
