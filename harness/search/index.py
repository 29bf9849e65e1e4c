"""Search on FAISS: exact inner product by default, IVF or HNSW above a size threshold, GPU when available.

``search(queries, corpus, k)`` picks the index: ``flat`` (``IndexFlatIP``, exact) while the corpus has fewer
than ``approx_threshold`` vectors, else ``ivf`` (``IndexIVFFlat``, inner product, ``nlist ≈ 4·√n``, ``nprobe``)
or ``hnsw`` (``IndexHNSWFlat`` with the inner-product metric). With ``gpu="auto"`` the index moves to all GPUs
when the installed FAISS has GPU support. The approximate modes trade recall for speed; callers that report
numbers from them must label them (the benchmark reports their recall against exact search).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.search.knn import KNN

INDEX_KINDS = ("auto", "flat", "ivf", "hnsw", "fused")
APPROX_THRESHOLD = 1_000_000


def _f32(a: Any) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    if arr.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, dim); got shape {arr.shape}")
    return arr


def gpu_count() -> int:
    import faiss

    return int(faiss.get_num_gpus()) if hasattr(faiss, "get_num_gpus") else 0


def resolve_kind(kind: str, n: int, approx_threshold: int = APPROX_THRESHOLD, approx: str = "ivf") -> str:
    if kind not in INDEX_KINDS:
        raise ValueError(f"index {kind!r} is not one of {', '.join(INDEX_KINDS)}")
    if kind == "auto":
        return approx if n >= approx_threshold else "flat"
    return kind


def build_index(corpus: Any, kind: str = "auto", *, approx_threshold: int = APPROX_THRESHOLD, nprobe: int = 16,
                hnsw_m: int = 32, ef_search: int = 128, gpu: str | bool = "auto", seed: int = 0):
    """A FAISS index over ``corpus`` (inner product); see the module docstring for the choice of kind."""
    import faiss

    y = _f32(corpus)
    n, d = y.shape
    kind = resolve_kind(kind, n, approx_threshold)
    if kind == "fused":
        raise ValueError("index 'fused' is a search mode, not a FAISS index; call search(..., kind='fused')")
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "ivf":
        nlist = max(1, min(n // 39, int(4 * np.sqrt(n))))
        quant = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = y if n <= 256 * nlist else y[rng.choice(n, 256 * nlist, replace=False)]
        index.train(sample)
        index.nprobe = min(nprobe, nlist)
    else:
        index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = ef_search
    use_gpu = gpu is True or (gpu == "auto" and kind != "hnsw" and gpu_count() > 0)
    if use_gpu:
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(y)
    return index


def search(queries: Any, corpus: Any, k: int, kind: str = "auto", **kw: Any) -> KNN:
    """Top-k corpus vectors for every query by inner product (exact unless an approximate kind is chosen)."""
    q = _f32(queries)
    y = _f32(corpus)
    k_eff = min(k, len(y))
    if resolve_kind(kind, len(y), kw.get("approx_threshold", APPROX_THRESHOLD)) == "fused":
        from harness.search.knn import knn

        return knn(q, y, k_eff)
    index = build_index(y, kind, **kw)
    scores, idx = index.search(q, k_eff)
    return KNN(scores, idx)


def search_both(x: Any, y: Any, k: int, kind: str = "fused", **kw: Any) -> tuple[KNN, KNN]:
    """k-NN x→y and y→x. ``fused`` (default, exact): one tiled GEMM pass; else two FAISS searches of ``kind``."""
    if kind == "fused":
        from harness.search.knn import knn_both

        fwd, bwd = knn_both(_f32(x), _f32(y), k)
        assert fwd is not None and bwd is not None
        return fwd, bwd
    return search(x, y, k, kind, **kw), search(y, x, k, kind, **kw)
