"""Encoding speed: our embedding path (``harness.search.embed.embed``) vs sentence-transformers, one process.

    .venv/bin/python benchmarks/encode.py            # Tatoeba deu–eng (2,000 sentences), me5-small, 3 repeats
    .venv/bin/python benchmarks/encode.py --quick    # 400 sentences, 2 repeats (well under 3 minutes)
    .venv/bin/python benchmarks/encode.py --threads 1,2

Same sentences (``../shared/data/tatoeba/tatoeba.deu-eng.{deu,eng}``), same model (multilingual-e5-small at
``~/.cache/xlt-harness/me5-small``, built by ``../shared/tools/me5-small/build.sh``), same pooling (attention-masked
mean, L2-normalised), same ``"query: "`` prefix, same maximum length. Each thread count (all usable cores first,
then every ``--threads``) times both sides alternately, ``--repeats`` times, and prints the medians, their ratio
(ours / sentence-transformers throughput; goal ≥ 1.3) and the largest absolute difference between the two
embedding matrices (goal ≤ 1e-5). Model loading and the first (warm-up) call are not timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def sentences(data: Path, limit: int | None) -> list[str]:
    out: list[str] = []
    for suffix in ("deu", "eng"):
        path = data / f"tatoeba.deu-eng.{suffix}"
        if not path.exists():
            sys.exit(f"{path} not found: pass --data (the folder of ../shared/data/tatoeba)")
        lines = path.read_text(encoding="utf-8").splitlines()
        out += lines[: limit // 2] if limit else lines
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "tatoeba"))
    ap.add_argument("--model", default=str(Path.home() / ".cache" / "xlt-harness" / "me5-small"))
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--st-batch", type=int, default=32, help="sentence-transformers batch size (its default)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="first N/2 sentences of each side")
    ap.add_argument("--threads", default="", help="thread counts after the default (all usable cores)")
    ap.add_argument("--quick", action="store_true", help="400 sentences, 2 repeats")
    a = ap.parse_args(argv)
    if a.quick:
        a.limit, a.repeats = a.limit or 400, min(a.repeats, 2)
    if not (Path(a.model) / "config.json").exists():
        sys.exit(f"me5-small not found at {a.model}: run ../shared/tools/me5-small/build.sh or pass --model")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer

    from harness.core.registry import registry
    from harness.modeling.encoder import load_encoder
    from harness.run.threads import available_cores
    from harness.search.embed import EmbedOptions, embed

    texts = sentences(Path(a.data), a.limit)
    spec = registry().model("multilingual-e5-small").with_overrides(source=a.model, revision=None)
    enc = load_encoder(spec)
    opts = EmbedOptions(pooling="mean", max_length=a.max_length, normalize=True, query_prefix="query: ")
    st = SentenceTransformer(a.model, device="cpu")
    st.max_seq_length = a.max_length
    prefixed = [opts.query_prefix + t for t in texts]

    def ours() -> np.ndarray:
        return embed(enc, texts, opts, role="query")  # type: ignore[return-value]

    def theirs() -> np.ndarray:
        return st.encode(prefixed, batch_size=a.st_batch, normalize_embeddings=True, convert_to_numpy=True)

    counts = list(dict.fromkeys([available_cores()] + [int(t) for t in a.threads.split(",") if t]))
    print(f"# {len(texts)} sentences (Tatoeba deu-eng), max_length {a.max_length}, load average {os.getloadavg()}, "
          f"thread counts {counts}", flush=True)
    for threads in counts:
        torch.set_num_threads(threads)
        e_ours, e_st = ours(), theirs()  # warm-up, and the agreement check
        diff = float(np.abs(e_ours - e_st).max())
        times: dict[str, list[float]] = {"ours": [], "sentence-transformers": []}
        for _ in range(a.repeats):  # alternate, so drifting load hits both alike
            for name, fn in (("ours", ours), ("sentence-transformers", theirs)):
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        for name, secs in med.items():
            print(f"threads={threads} {name:<22} {secs:7.2f} s  {len(texts) / secs:8.1f} sentences/s   runs: "
                  + ", ".join(f"{s:.2f}" for s in times[name]), flush=True)
        print(f"threads={threads} ratio ours/sentence-transformers throughput: "
              f"{med['sentence-transformers'] / med['ours']:.3f}  (goal >= 1.3)   max abs diff {diff:.2e} "
              f"(goal <= 1e-5)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
