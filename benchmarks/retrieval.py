"""Bitext-mining speed: our margin protocol vs mteb vs two FAISS searches vs the GEMM floor, on the same embeddings.

    .venv/bin/python benchmarks/retrieval.py                      # N = 1k, 10k, 100k at dim 384, plus 100k at 1024
    .venv/bin/python benchmarks/retrieval.py --sizes 100000 --dims 384 --extra '' --threads 1   # the acceptance
    .venv/bin/python benchmarks/retrieval.py --quick              # N = 1k, 10k; under 3 minutes
    .venv/bin/python benchmarks/retrieval.py --sizes 1000,10000 --dims 384 --json out.json

Thread counts: every size runs first at the default (all usable cores, :func:`harness.run.threads.available_cores`),
then at each count of ``--threads 1,2``; torch, FAISS and numpy's BLAS are all held to that count, and every line
says which. (a) uses the backend :func:`harness.search.knn.choose_backend` picks (recorded as ``backend``);
``--backends tiles,gemm`` times the others too, as ``a_<backend>_s`` (the measurement behind the rule).

Embeddings are SYNTHETIC but shaped like real sentence embeddings: unit vectors built from topic clusters (many
sentences share a topic, so near neighbours are close and hubs exist) plus a sentence-specific part; the "target"
side is a noisy copy of the "source" side, so most true pairs are mutual nearest neighbours but not all.

Timed, in one process on the same arrays (fp32, exact, threads as given):

- (a) ours: the full XTREME/LASER protocol — k=4 nearest neighbours in both directions from one tiled GEMM pass
  (``harness.search.knn.knn_both``), ratio margin, forward / backward / max-score (1:1) candidates;
- (b) mteb: ``BitextMiningEvaluator._similarity_search`` of the installed mteb (top-1, one direction, cosine);
  with ``--sample-queries Q`` only the first Q queries are timed for (b) and (c) and the times are scaled by N/Q
  (both process queries in independent blocks against the whole corpus, so cost is linear in the query count);
- (c) two exact FAISS ``IndexFlatIP`` k=4 searches (x→y and y→x), index build included;
- (d) the floor: one pass of the N×N similarity GEMM, 2·N²·d FLOP, at the fp32 matmul peak measured in this run
  (best of several large ``torch.mm`` and numpy calls, before and after the timings);
- (e) for diagnosis: the same tiled GEMM pass as (a) with no top-k work (a/e = our top-k overhead, e/d = how far
  the tiled GEMM itself runs from the peak on this machine at that moment).

Agreement: top-1 x→y of (a), (b), (c); the k=4 lists of (a) and (c) in both directions (as sets, so ties are not
counted as disagreements). Peak memory: the highest resident-set size above the starting point while a method
runs (sampled every 5 ms). Reported apart, never mixed into (a): a bf16 mode of our pass and an approximate FAISS
mode (IVF, optionally HNSW), each with its time and recall@4 against exact search.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


CPU_SECONDS: dict[str, float] = {}


def cpu_seconds() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, seconds, peak RSS increase in bytes) of one call; its CPU seconds go to ``CPU_SECONDS['last']``
    (CPU time over wall time above the thread count means threads spinning)."""
    base = rss_bytes()
    cpu0 = cpu_seconds()
    peak = [base]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.005)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    start = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - start
    stop.set()
    t.join()
    peak[0] = max(peak[0], rss_bytes())
    CPU_SECONDS["last"] = cpu_seconds() - cpu0
    return out, secs, peak[0] - base


def synthetic_pair(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm source/target embeddings with topic clusters and noisy translations (float32)."""
    rng = np.random.default_rng(seed)
    topics = max(8, n // 50)
    centers = rng.standard_normal((topics, d)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    x = np.empty((n, d), dtype=np.float32)
    y = np.empty((n, d), dtype=np.float32)
    step = 20_000
    for s in range(0, n, step):
        m = min(step, n - s)
        topic = rng.integers(0, topics, m)
        own = rng.standard_normal((m, d)).astype(np.float32) / np.sqrt(d)
        base = 0.8 * centers[topic] + 0.6 * own
        x[s : s + m] = base + 0.25 * rng.standard_normal((m, d)).astype(np.float32) / np.sqrt(d)
        y[s : s + m] = base + 0.25 * rng.standard_normal((m, d)).astype(np.float32) / np.sqrt(d)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    return x, y


def matmul_peak(d: int, repeats: int = 5) -> float:
    """Best fp32 GEMM throughput (FLOP/s) on this machine: the faster of torch.mm (MKL) and numpy (OpenBLAS),
    best of ``repeats`` calls of a 2048×d by d×8192 product (larger than our tiles)."""
    import torch

    a = torch.randn(2048, d)
    b = torch.randn(8192, d)
    out = torch.empty(2048, 8192)
    an, bn, outn = a.numpy(), b.numpy(), out.numpy()
    best = 0.0
    for fn in (lambda: torch.mm(a, b.T, out=out), lambda: np.matmul(an, bn.T, out=outn)):
        fn()
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            best = max(best, 2 * 2048 * 8192 * d / (time.perf_counter() - t))
    return best


BLOCKS: dict[str, Any] = {"row_block": None, "col_block": None}


def ours(x: np.ndarray, y: np.ndarray, k: int = 4, dtype: Any = None, backend: str = "auto") -> dict[str, Any]:
    import torch

    from harness.search.knn import knn_both
    from harness.search.margin import mine, score_neighbours

    fwd, bwd = knn_both(x, y, k, dtype=dtype or torch.float32, device="cpu", backend=backend, **BLOCKS)
    f, b = score_neighbours(fwd, bwd, "ratio")  # forward and backward candidates with margin scores
    pairs = mine(fwd, bwd, "ratio", "max")  # max-score candidates, 1:1
    return {"fwd": fwd, "bwd": bwd, "forward_best": f.best, "backward_best": b.best, "pairs": pairs}


def plain_gemm_pass(x: np.ndarray, y: np.ndarray, row_block: int | None = None, col_block: int | None = None) -> None:
    """(e) the tiled N×N GEMM of the ``tiles`` backend with no top-k work (row blocks on single-threaded
    workers, each into its own buffer): how fast the GEMM alone runs at this moment."""
    from concurrent.futures import ThreadPoolExecutor

    import torch
    from threadpoolctl import threadpool_limits

    from harness.search.knn import BLOCKS as DEFAULT

    rb, cb = row_block or DEFAULT["tiles"][0], col_block or DEFAULT["tiles"][1]
    starts = iter(range(0, len(x), rb))

    def work() -> None:
        flat = np.empty(rb * cb, dtype=np.float32)
        for i in starts:  # a shared iterator: each block goes to one worker
            xi = x[i : i + rb]
            for j in range(0, len(y), cb):
                yj = y[j : j + cb]
                np.matmul(xi, yj.T, out=flat[: len(xi) * len(yj)].reshape(len(xi), len(yj)))

    with threadpool_limits(1, user_api="blas"):
        with ThreadPoolExecutor(torch.get_num_threads()) as pool:
            for f in [pool.submit(work) for _ in range(torch.get_num_threads())]:
                f.result()


def mteb_search(x: np.ndarray, y: np.ndarray, queries: int | None = None) -> np.ndarray:
    from mteb._evaluators.text.bitext_mining_evaluator import BitextMiningEvaluator
    from mteb.similarity_functions import cos_sim

    class Model:  # the one method mteb's search calls on the model: cosine similarity
        similarity = staticmethod(cos_sim)

    res = BitextMiningEvaluator._similarity_search(None, x[:queries] if queries else x, y, Model())
    return np.array([r["corpus_id"] for r in res])


def faiss_two(x: np.ndarray, y: np.ndarray, k: int = 4, queries: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two exact searches (x→y, y→x); with ``queries`` only the first Q of each side are searched."""
    import faiss

    d = x.shape[1]
    q = queries or len(x)
    ix = faiss.IndexFlatIP(d)
    ix.add(y)
    _, i1 = ix.search(x[:q], k)
    iy = faiss.IndexFlatIP(d)
    iy.add(x)
    _, i2 = iy.search(y[:q], k)
    return i1, i2


def approx_two(x: np.ndarray, y: np.ndarray, kind: str, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    from harness.search.index import build_index

    a = build_index(y, kind, gpu=False)
    _, i1 = a.search(x, k)
    b = build_index(x, kind, gpu=False)
    _, i2 = b.search(y, k)
    return i1, i2


def set_recall(found: np.ndarray, exact: np.ndarray) -> float:
    hits = sum(len(set(f) & set(e)) for f, e in zip(found.tolist(), exact.tolist()))
    return hits / exact.size


def run_one(n: int, d: int, peak: float, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from harness.search.knn import choose_backend

    x, y = synthetic_pair(n, d, seed=n + d)
    w = np.ascontiguousarray(x[:256]), np.ascontiguousarray(y[:256])
    ours(*w), faiss_two(*w)  # warm-up: first-call costs (imports, thread pools, compilation) are not timed
    if not args.skip_mteb:
        mteb_search(*w)
    threads = torch.get_num_threads()
    row: dict[str, Any] = {"N": n, "dim": d, "threads": threads, "backend": choose_backend("cpu", threads),
                           "peak_gflops": round(peak / 1e9, 1)}
    a, ta, ma = timed(lambda: ours(x, y))
    row["a_cpu_s"] = CPU_SECONDS["last"]
    for be in [b for b in (args.backends or "").split(",") if b and b != row["backend"]]:
        _, tb_, _ = timed(lambda be=be: ours(x, y, backend=be))
        row[f"a_{be}_s"], row[f"a_{be}_cpu_s"] = tb_, CPU_SECONDS["last"]
    _, te, _ = timed(lambda: plain_gemm_pass(x, y, **BLOCKS))
    row["e_plain_gemm_s"] = te
    q = min(n, args.sample_queries) if args.sample_queries else n
    b, tb, mb = timed(lambda: mteb_search(x, y, q)) if not args.skip_mteb else (None, float("nan"), 0)
    c, tc, mc = timed(lambda: faiss_two(x, y, queries=q)) if not args.skip_faiss else (None, float("nan"), 0)
    row["b_c_queries_timed"] = q
    tb, tc = tb * n / q, tc * n / q  # both process queries in independent blocks: cost is linear in queries
    peak = max(peak, matmul_peak(d))  # best of before and after: the floor is never flattered by a slow moment
    floor = 2 * n * n * d / peak
    row["peak_gflops"] = round(peak / 1e9, 1)
    row.update({"a_ours_s": ta, "b_mteb_s": tb, "c_faiss2_s": tc, "d_floor_s": floor,
                "a_mem_MB": ma / 2**20, "b_mem_MB": mb / 2**20, "c_mem_MB": mc / 2**20})
    row["a_over_d"] = ta / floor
    row["a_over_e"] = ta / te
    row["e_over_d"] = te / floor
    if c is None:
        return row
    row["b_over_a"] = tb / ta
    row["c_over_a"] = tc / ta
    fa, fc = a["fwd"].indices, c[0]
    ba = a["bwd"].indices
    row["agree_top1_a_c"] = float((fa[:q, 0] == fc[:, 0]).mean())
    row["agree_top1_a_b"] = float((fa[: len(b), 0] == b).mean()) if b is not None else None
    row["agree_top4_sets_a_c_fwd"] = set_recall(fa[:q], fc)
    row["agree_top4_sets_a_c_bwd"] = set_recall(ba[:q], c[1])
    row["true_pair_top1_a"] = float((fa[:, 0] == np.arange(n)).mean())
    row["mined_pairs"] = len(a["pairs"])
    # apart: bf16 mode and approximate FAISS, each with recall@4 against exact search (ours, equal to FAISS)
    if args.apart_dims and d not in {int(v) for v in args.apart_dims.split(",")}:
        return row
    bf, tbf, _ = timed(lambda: ours(x, y, dtype=torch.bfloat16))
    row["bf16_s"] = tbf
    row["bf16_recall4"] = (set_recall(bf["fwd"].indices, fa) + set_recall(bf["bwd"].indices, ba)) / 2
    for kind in ["ivf"] + (["hnsw"] if args.hnsw else []):
        (i1, i2), tk, _ = timed(lambda kind=kind: approx_two(x, y, kind))
        row[f"{kind}_s"] = tk
        row[f"{kind}_recall4"] = (set_recall(i1, fa) + set_recall(i2, ba)) / 2
    return row


def fmt_table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'thr':>3} {'N':>7} {'dim':>5} | {'(a) ours':>9} {'(b) mteb':>9} {'(c) faiss×2':>11} {'(d) floor':>9} | "
            f"{'a/d':>5} {'b/a':>6} {'c/a':>5} {'(e) gemm':>9} {'a/e':>5} | {'top1 a=b':>8} {'top1 a=c':>8} {'top4 a~c':>13} | "
            f"{'mem a/b/c MB':>16} | {'bf16 s':>7} {'rec@4':>6} {'ivf s':>7} {'rec@4':>6}")
    lines = [head, "-" * len(head)]
    for r in rows:
        if "agree_top1_a_c" not in r:
            lines.append(f"{r['threads']:>3} {r['N']:>7} {r['dim']:>5} | {r['a_ours_s']:>8.2f}s (e) plain GEMM {r['e_plain_gemm_s']:.2f}s "
                         f"(d) {r['d_floor_s']:.2f}s | a/d {r['a_over_d']:.2f} a/e {r['a_over_e']:.2f} "
                         f"e/d {r['e_over_d']:.2f}")
            continue
        ab = f"{r['agree_top1_a_b']:.4f}" if r["agree_top1_a_b"] is not None else "-"
        lines.append(
            f"{r['threads']:>3} {r['N']:>7} {r['dim']:>5} | {r['a_ours_s']:>8.2f}s {r['b_mteb_s']:>8.2f}s {r['c_faiss2_s']:>10.2f}s "
            f"{r['d_floor_s']:>8.2f}s | {r['a_over_d']:>5.2f} {r['b_over_a']:>6.2f} {r['c_over_a']:>5.2f} "
            f"{r['e_plain_gemm_s']:>8.2f}s {r['a_over_e']:>5.2f} | "
            f"{ab:>8} {r['agree_top1_a_c']:>8.4f} {r['agree_top4_sets_a_c_fwd']:.4f}/{r['agree_top4_sets_a_c_bwd']:.4f} | "
            f"{r['a_mem_MB']:>5.0f}/{r['b_mem_MB']:>4.0f}/{r['c_mem_MB']:>5.0f} | "
            + (f"{r['bf16_s']:>6.2f}s {r['bf16_recall4']:>6.4f} {r['ivf_s']:>6.2f}s {r['ivf_recall4']:>6.4f}"
               if "bf16_s" in r else "(not run)"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--dims", default="384", help="dims for every size")
    p.add_argument("--extra", default="100000:1024", help="extra N:dim runs (comma-separated; '' for none)")
    p.add_argument("--threads", default="", help="thread counts run after the default (all usable cores), e.g. 1,2")
    p.add_argument("--backends", default="", help="also time these kernel backends for (a), e.g. tiles,gemm")
    p.add_argument("--quick", action="store_true", help="N = 1k and 10k only, mteb/FAISS on 2000 queries (<3 min)")
    p.add_argument("--skip-mteb", action="store_true")
    p.add_argument("--skip-faiss", action="store_true", help="skip (c) and the modes reported apart")
    p.add_argument("--row-block", type=int, default=None, help="default: the backend's (knn.BLOCKS)")
    p.add_argument("--col-block", type=int, default=None)
    p.add_argument("--sample-queries", type=int, default=None,
                   help="time (b) and (c) on the first Q queries of each side and scale by N/Q (both search queries "
                        "in independent blocks, so their cost is linear in queries); agreement is checked on those Q")
    p.add_argument("--apart-dims", default=None, help="run the bf16/IVF modes only at these dims (e.g. 384)")
    p.add_argument("--hnsw", action="store_true", help="also time HNSW (slow to build at 100k)")
    p.add_argument("--json", default=None, help="write the rows to this file")
    args = p.parse_args(argv)
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    from harness.run.threads import available_cores

    if args.quick:
        args.sizes, args.extra = "1000,10000", ""
        args.sample_queries = args.sample_queries or 2000
    BLOCKS.update(row_block=args.row_block, col_block=args.col_block)
    runs = [(int(n), int(d)) for n in args.sizes.split(",") if n for d in args.dims.split(",") if d]
    runs += [tuple(int(v) for v in e.split(":")) for e in args.extra.split(",") if e]  # type: ignore[misc]
    counts = [available_cores()] + [int(t) for t in args.threads.split(",") if t]
    counts = list(dict.fromkeys(counts))  # the default first, each count once
    print(f"# load average {os.getloadavg()}, usable cores {available_cores()}, thread counts {counts}", flush=True)
    rows = []
    for threads in counts:
        torch.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)
        threadpool_limits(threads)  # numpy's OpenBLAS and any other BLAS pools
        for n, d in runs:
            peak = matmul_peak(d)
            row = run_one(n, d, peak, args)
            rows.append(row)
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    print()
    print(fmt_table(rows))
    print("\na/d: ours over the GEMM floor (goal ≤ 1.2 at N=100k); b/a, c/a: how many times faster ours is than "
          "mteb and than two FAISS searches. bf16 and IVF are reported apart with recall@4 vs exact.")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
