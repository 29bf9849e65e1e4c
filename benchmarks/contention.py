"""The quickstart on a busy machine: its wall time idle vs beside N busy processes, and the ratio (goal ≤ 2).

    .venv/bin/python benchmarks/contention.py             # configs/quickstart.yaml, idle then beside 4 busy loops
    .venv/bin/python benchmarks/contention.py --quick     # one model, one seed, no intermediate task (< 3 minutes)
    .venv/bin/python benchmarks/contention.py --busy 2,4 --repeats 2

Every run is uncached (a fresh output folder under a temporary directory) and runs ``harness matrix run`` as a
user would, offline. The busy processes are plain Python loops (``while True: pass``), one per ``--busy``, started
before and stopped (by their process ids) after each timed run. Beside the quickstart, the same way, runs a
*reference* that loses nothing to contention but its fair share: one single-threaded process per usable core,
each a fixed amount of pure arithmetic. Its ratio is what the scheduler allows (≈ (N + cores) / cores);
``ours / reference`` ≤ 1 means the harness loses nothing beyond that. Without a per-node thread budget, torch's worker
threads spin at barriers while the busy loops hold the cores and a run takes many times its idle time; with it
(:mod:`harness.run.threads`: tiny models single-threaded) the ratio stays near ``(N + cores) / cores`` at worst.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def write_config(folder: Path, quick: bool) -> Path:
    cfg = yaml.safe_load((REPO / "configs" / "quickstart.yaml").read_text())
    cfg["output_dir"] = str(folder / "runs")
    cfg["leaderboard"] = str(folder / "leaderboard.jsonl")
    cfg["cache_dir"] = str(folder / "cache")
    if quick:
        cfg["models"], cfg["intermediate"], cfg["seeds"] = ["tiny-xlmr"], ["none"], [1]
    path = folder / "matrix.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_matrix(quick: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="xlt-contention-") as tmp:
        cfg = write_config(Path(tmp), quick)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        harness = Path(sys.executable).with_name("harness")
        t = time.perf_counter()
        subprocess.run([str(harness), "matrix", "run", str(cfg)], check=True, env=env, cwd=tmp,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - t


REFERENCE = "s = 0\nfor i in range(int({n})):\n    s += i * i\n"


def run_reference(n: float) -> float:
    """Wall time of one single-threaded arithmetic process per usable core, all started together."""
    from harness.run.threads import available_cores

    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", REFERENCE.format(n=n)]) for _ in range(available_cores())]
    for p in procs:
        p.wait()
    return time.perf_counter() - t


def busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--busy", default="4", help="numbers of busy processes to run beside it (comma-separated)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="a smaller matrix: tiny-xlmr, no intermediate, one seed")
    ap.add_argument("--reference-loops", type=float, default=6e7, help="iterations of the reference workload")
    a = ap.parse_args(argv)
    from harness.run.threads import available_cores

    print(f"# load average {os.getloadavg()}, usable cores {available_cores()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"{'quick matrix' if a.quick else 'configs/quickstart.yaml'}", flush=True)
    idle = statistics.median(run_matrix(a.quick) for _ in range(a.repeats))
    ref_idle = statistics.median(run_reference(a.reference_loops) for _ in range(a.repeats))
    print(f"idle              {idle:7.1f} s   reference {ref_idle:6.1f} s", flush=True)
    for n in [int(v) for v in a.busy.split(",") if v]:
        times, refs = [], []
        for _ in range(a.repeats):
            procs = busy(n)
            try:
                times.append(run_matrix(a.quick))
                refs.append(run_reference(a.reference_loops))
            finally:
                stop(procs)
        t, r = statistics.median(times), statistics.median(refs)
        print(f"beside {n} busy     {t:7.1f} s   ratio {t / idle:5.2f}  (goal <= 2)   reference {r:6.1f} s   "
              f"ratio {r / ref_idle:5.2f}   ours / reference {(t / idle) / (r / ref_idle):5.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
