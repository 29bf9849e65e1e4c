"""Cost of the content-checked cache on an XLM-R-base-sized checkpoint (random init from ``XLMRobertaConfig`` with XLM-R's 250k vocabulary,
~278M parameters, ~1.1 GB of fp32 safetensors), written in a temporary folder (``--dir``, default ``/tmp``).

    .venv/bin/python benchmarks/cache_hash.py [--dir /tmp] [--repeat 3] [--json]

Reports, in seconds and seconds per GB (best of ``--repeat``):
- ``write``: saving the checkpoint (``harness.modeling.encoder.save_weights``, no fsync: what a node does);
- ``manifest_pass``: right after each write, the node's ``DONE`` manifest (``harness.store.integrity.manifest``: one sha256
  pass over the finished folder, read back from the page cache) — the write-time overhead; ``write+hash``: both;
- ``verify (warm)``: ``harness.store.integrity.verify`` of the finished node (what a downstream node or the leaderboard
  pays, once per run and process); ``verify (cold)``: the same after dropping the file from the page cache
  (``posix_fadvise(DONTNEED)`` after an fsync), i.e. read from disk;
- ``sha256``/``blake2b``: raw hashing throughput of the file's bytes in memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from harness.modeling.encoder import save_weights
    from harness.run.context import Context
    from harness.store import integrity

    torch.manual_seed(0)
    model = XLMRobertaModel(XLMRobertaConfig(vocab_size=250002))  # XLM-R base: 250k vocabulary, 278M params
    root = Path(tempfile.mkdtemp(prefix="cache-hash-", dir=args.dir))
    try:
        ctx = Context(cache_dir=root)
        work = ctx.node_dir("bench")
        work.mkdir(parents=True)
        ckpt = work / "encoder.safetensors"
        writes, hashes = [], []
        for _ in range(args.repeat):  # each write followed by the manifest pass, as a node does it
            t = time.perf_counter()
            save_weights(model, ckpt)
            t1 = time.perf_counter()
            files = integrity.manifest(work)
            writes.append(t1 - t)
            hashes.append(time.perf_counter() - t1)
        write, hash_pass = min(writes), min(hashes)
        write_hash = min(w + h for w, h in zip(writes, hashes))
        size_gb = ckpt.stat().st_size / 1e9
        (work / integrity.DONE).write_text(json.dumps({"key": "bench", "format": integrity.FORMAT, "hash": integrity.HASH,
                                                       "files": files, "upstream": {},
                                                       "digest": integrity.files_digest(files)}))

        def verify() -> None:
            integrity._verified.clear()  # measure the hashing, not the per-run memo
            assert integrity.verify(ctx, "bench") is None

        warm = best(verify, args.repeat)

        def cold() -> None:
            drop_cache(ckpt)
            verify()

        cold_s = best(cold, args.repeat)
        data = ckpt.read_bytes()
        sha = best(lambda: hashlib.sha256(data).digest(), args.repeat)
        blake = best(lambda: hashlib.blake2b(data).digest(), args.repeat)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "checkpoint_gb": round(size_gb, 3), "params": sum(p.numel() for p in model.parameters()),
        "cpus": os.cpu_count(),
        "seconds": {"write": write, "manifest_pass": hash_pass, "write+hash": write_hash, "verify_warm": warm, "verify_cold": cold_s,
                    "sha256_in_memory": sha, "blake2b_in_memory": blake},
    }
    result["s_per_gb"] = {k: v / size_gb for k, v in result["seconds"].items()}
    result["write_overhead"] = hash_pass / write
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"checkpoint: {result['params'] / 1e6:.0f}M params, {size_gb:.3f} GB; {os.cpu_count()} CPUs; best of "
          f"{args.repeat}")
    for k, v in result["seconds"].items():
        print(f"  {k:18s} {v:7.3f} s   {result['s_per_gb'][k]:6.3f} s/GB")
    print(f"  hashing adds {100 * result['write_overhead']:.0f}% to writing the checkpoint")


if __name__ == "__main__":
    main()
