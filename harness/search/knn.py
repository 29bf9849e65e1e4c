"""Exact k-nearest neighbours by inner product, in both directions, from ONE pass over the similarity matrix.

Margin scoring (Artetxe & Schwenk 2019) needs the k nearest targets of every source *and* the k nearest sources of
every target. Both live in the same N×M similarity matrix, so instead of two searches we walk that matrix once in
tiles (a chunked GEMM) and keep a running top-k for rows and for columns. After the first tile of a row block
(and the first row block of a column) each row/column has a threshold, its current k-th best score; an element of
a later tile matters only if it beats one of the two thresholds, which is rare: the per-tile overhead is the
maxima of 32-wide segments in both directions, a re-read of the few segments that beat a threshold and a tiny
merge. The arithmetic is half that of two searches.

Two backends compute the same exact result (see :func:`choose_backend`):

- ``tiles`` (CPU): row blocks are handed out to ``threads`` Python threads; each runs its GEMMs and top-k updates
  single-threaded (the GIL is released inside them) and keeps its own column tables, merged once at the end.
  Nothing runs two thread pools at once and no parallel region waits at a barrier, which is what made the old
  one-pool-per-step kernel 2.3× slower at 2 threads than at 1 (numpy's OpenBLAS and torch's OpenMP threads
  spinning against each other), and what keeps it steady on a busy machine.
- ``gemm`` (GPU, or CPU on request): one ``torch.mm`` per tile on the device with torch's own threading, then the
  vectorised top-k update on the same device.

Results are exact in fp32 (the default); ``dtype=torch.bfloat16`` is an opt-in fast mode whose recall is
reported apart by ``benchmarks/retrieval.py``. Ties between equal scores may be broken differently from FAISS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass
class KNN:
    """k nearest neighbours: ``scores`` and ``indices`` of shape (n, k), best first (index -1 where none)."""

    scores: np.ndarray
    indices: np.ndarray


def _as_tensor(a: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    t = torch.as_tensor(a)
    if t.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, dim); got shape {tuple(t.shape)}")
    return t.to(device=device, dtype=dtype).contiguous()


def _merge(vals: torch.Tensor, idx: torch.Tensor, owner: torch.Tensor, cand_v: torch.Tensor, cand_i: torch.Tensor,
           k: int) -> None:
    """Merge candidates (owner, value, index), grouped by owner in ascending order, into the running top-k tables
    in place: each touched owner's k current entries and its candidates go into one padded row, then one topk."""
    rows, counts = torch.unique_consecutive(owner, return_counts=True)
    r = rows.numel()
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.repeat_interleave(torch.arange(r, device=owner.device), counts)
    pos = torch.arange(owner.numel(), device=owner.device) - starts[slot] + k
    width = k + int(counts.max())
    pv = torch.full((r, width), -torch.inf, dtype=vals.dtype, device=vals.device)
    pi = torch.full((r, width), -1, dtype=idx.dtype, device=idx.device)
    pv[:, :k] = vals[rows]
    pi[:, :k] = idx[rows]
    pv[slot, pos] = cand_v.to(vals.dtype)
    pi[slot, pos] = cand_i
    top_v, top_j = torch.topk(pv, k, dim=1)
    vals[rows] = top_v
    idx[rows] = torch.gather(pi, 1, top_j)


SEGMENT = 32
"""Width of the segments a tile is cut into for the hit test: an owner is looked at only in the segments whose
maximum beats its threshold, so a hit copies 32 scores, not a whole tile row or column (at 100k rows a third of
the rows hit in a tile). Measured at N=20k, one thread, top-k overhead over the bare tiled GEMM: whole rows 37 %,
segments of 512/256/128/64/32/16: 27/28/22/17/15/29 %."""


def _update(vals: torch.Tensor, idx: torch.Tensor, tile: torch.Tensor, dim: int, offset: int, base: int,
            k: int) -> None:
    """Fold one tile into the running top-k of its rows (``dim=1``) or of its columns (``dim=0``).

    Owners (rows or columns, numbered from ``offset``) seen for the first time take the top-k of their tile slice
    (candidates numbered from ``base``). Afterwards the owner's candidates are cut into segments of
    :data:`SEGMENT` (one segment when the tile side is not a multiple of it); only the segments whose maximum
    beats the owner's current k-th best are read again, and only their elements above it are merged (usually one
    or two). Elements of the other segments are at most the threshold and cannot enter the top-k: exact.
    """
    n_owner = tile.shape[0] if dim == 1 else tile.shape[1]
    thr = vals[offset : offset + n_owner, -1]
    if bool(torch.isneginf(thr[0])) and tile.shape[dim] >= k:  # first visit of these owners
        # top-k along rows of a contiguous copy: a strided top-k down the columns is ~6x slower on CPU
        v, j = torch.topk(tile if dim == 1 else tile.T.contiguous(), k, dim=1)
        vals[offset : offset + n_owner] = v
        idx[offset : offset + n_owner] = j + base
        return
    width = tile.shape[dim]
    seg = SEGMENT if width % SEGMENT == 0 else width
    if dim == 1:  # segments along each row: (rows, n_seg, seg)
        parts = tile.view(n_owner, width // seg, seg)
        hit = (parts.amax(dim=2) > thr.unsqueeze(1)).nonzero()
        if hit.numel() == 0:
            return
        owner, part = hit[:, 0], hit[:, 1]
        sub = parts[owner, part]  # (hits, seg)
    else:  # segments down each column: (n_seg, seg, cols)
        parts = tile.view(width // seg, seg, n_owner)
        hit = (parts.amax(dim=1) > thr.unsqueeze(0)).nonzero()
        if hit.numel() == 0:
            return
        owner, part = hit[:, 1], hit[:, 0]
        sub = parts[part, :, owner]  # (hits, seg)
    nz = (sub > thr[owner].unsqueeze(1)).nonzero()
    h = nz[:, 0]
    own, cand, v = owner[h], part[h] * seg + nz[:, 1], sub[h, nz[:, 1]]
    if dim == 0:
        order = torch.argsort(own, stable=True)  # group by column; few candidates
        own, cand, v = own[order], cand[order], v[order]
    _merge(vals, idx, own + offset, v, cand + base, k)


BACKENDS = ("auto", "tiles", "gemm")
BLOCKS = {"tiles": (2048, 2048), "gemm": (1024, 4096), "gpu": (8192, 8192)}
"""Default (row block, column block) per backend; ``gpu`` is ``gemm`` on a CUDA device."""


def default_device() -> torch.device:
    """The GPU when torch sees one, else the CPU (where :func:`knn_both` runs without ``device``)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def choose_backend(device: str | torch.device, threads: int | None = None) -> str:
    """The measured rule: ``gemm`` on an accelerator (one big device GEMM per tile), ``tiles`` on CPU at every
    thread count. On a 2-core AMD EPYC (N=20k, dim 384) the single-pool ``gemm`` path used 2.5x the CPU time at
    2 threads that it used at 1 (threads waiting at barriers), ``tiles`` 1.1x; ``benchmarks/retrieval.py
    --backends gemm`` repeats the comparison (``a_gemm_s``, ``a_cpu_s``) on any machine."""
    return "gemm" if torch.device(device).type != "cpu" else "tiles"


def _blas_single_threaded() -> Any:
    """A context holding numpy's BLAS to one thread (threadpoolctl), or None when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(1, user_api="blas")


def _sweep(X: torch.Tensor, Y: torch.Tensor, blocks: Any, row_block: int, col_block: int, rv: torch.Tensor,
           ri: torch.Tensor, cv: torch.Tensor | None, ci: torch.Tensor | None, kr: int, kc: int,
           dtype: torch.dtype, use_np: bool) -> None:
    """Fold every row block handed out by ``blocks`` (an iterator of row offsets) against all of Y."""
    flat = torch.empty(row_block * col_block, dtype=dtype, device=X.device)
    if use_np:
        Xn, Yn, flat_np = X.numpy(), Y.numpy(), flat.numpy()
    n, m = X.shape[0], Y.shape[0]
    with torch.inference_mode():  # thread-local: the worker threads enter it themselves
        _sweep_blocks(X, Y, Xn if use_np else None, Yn if use_np else None, flat, flat_np if use_np else None,
                      blocks, row_block, col_block, rv, ri, cv, ci, kr, kc, dtype, n, m)


def _sweep_blocks(X: torch.Tensor, Y: torch.Tensor, Xn: Any, Yn: Any, flat: torch.Tensor, flat_np: Any, blocks: Any,
                  row_block: int, col_block: int, rv: torch.Tensor, ri: torch.Tensor, cv: torch.Tensor | None,
                  ci: torch.Tensor | None, kr: int, kc: int, dtype: torch.dtype, n: int, m: int) -> None:
    acc = torch.float32
    while True:
        i0 = next(blocks, None)
        if i0 is None:
            return
        bi = min(row_block, n - i0)
        xi = X[i0 : i0 + bi]
        for j0 in range(0, m, col_block):
            bj = min(col_block, m - j0)
            S = flat[: bi * bj].view(bi, bj)
            if Xn is not None:
                np.matmul(Xn[i0 : i0 + bi], Yn[j0 : j0 + bj].T, out=flat_np[: bi * bj].reshape(bi, bj))
            else:
                torch.mm(xi, Y[j0 : j0 + bj].T, out=S)
            if dtype != acc:
                S = S.to(acc)
            _update(rv, ri, S, 1, i0, j0, kr)
            if cv is not None and ci is not None:
                _update(cv, ci, S, 0, j0, i0, kc)


class _Blocks:
    """A thread-safe iterator over row-block offsets (dynamic scheduling: a slow thread takes fewer blocks)."""

    def __init__(self, n: int, step: int) -> None:
        import threading

        self._it = iter(range(0, n, step))
        self._lock = threading.Lock()

    def __iter__(self) -> _Blocks:
        return self

    def __next__(self) -> int:
        with self._lock:
            return next(self._it)


# why: one exact kernel with two backends; the tile workers close over the shared merge state, so splitting
# it would pass that state around without making either backend clearer.
def knn_both(x: Any, y: Any, k: int = 4, *, rows: bool = True, cols: bool = True, row_block: int | None = None,
             col_block: int | None = None, dtype: torch.dtype = torch.float32, device: str | torch.device | None = None,
             threads: int | None = None, backend: str = "auto") -> tuple[KNN | None, KNN | None]:
    """Top-k of ``x @ y.T`` per row (x→y) and per column (y→x) in one tiled pass; exact for fp32.

    ``rows``/``cols`` switch either direction off (one-direction search costs the same GEMM). Embeddings are
    used as given: L2-normalise them first for cosine similarity. ``device`` defaults to the GPU when torch sees
    one, else the CPU. ``threads`` (CPU) defaults to torch's current count; ``backend`` ``auto`` follows
    :func:`choose_backend` (``tiles`` or ``gemm``, same results). Blocks default to :data:`BLOCKS`.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    dev = torch.device(device) if device is not None else default_device()
    threads = int(threads or torch.get_num_threads())
    if backend == "auto":
        backend = choose_backend(dev, threads)
    if backend == "tiles" and dev.type != "cpu":
        raise ValueError(f"backend 'tiles' runs on the CPU; use 'gemm' on {dev}")
    X = _as_tensor(x, dev, dtype)
    Y = _as_tensor(y, dev, dtype)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"dimension mismatch: x has {X.shape[1]}, y has {Y.shape[1]}")
    if not rows and not cols:
        return None, None
    if not rows:  # the columns of x @ y.T are the rows of y @ x.T: one code path for a one-way search
        bwd, _ = knn_both(y, x, k, rows=True, cols=False, row_block=row_block, col_block=col_block, dtype=dtype,
                          device=dev, threads=threads, backend=backend)
        return None, bwd
    default = BLOCKS["gpu" if dev.type != "cpu" else backend]
    row_block, col_block = row_block or default[0], col_block or default[1]
    n, m = X.shape[0], Y.shape[0]
    kr, kc = min(k, m), min(k, n)
    acc = torch.float32

    def table(size: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.full((size, width), -torch.inf, dtype=acc, device=dev),
                torch.full((size, width), -1, dtype=torch.long, device=dev))

    rv, ri = table(n, kr)
    # numpy's BLAS (OpenBLAS) is the faster single-threaded fp32 GEMM on some CPUs (AMD); only used where it
    # can be held to one thread, so that it never runs beside torch's pool.
    with torch.inference_mode():
        if backend == "gemm":
            cv, ci = table(m, kc) if cols else (None, None)
            prev = torch.get_num_threads()
            if dev.type == "cpu" and threads != prev:
                torch.set_num_threads(threads)
            try:
                _sweep(X, Y, iter(range(0, n, row_block)), row_block, col_block, rv, ri, cv, ci, kr, kc, dtype,
                       use_np=False)
            finally:
                if dev.type == "cpu" and threads != prev:
                    torch.set_num_threads(prev)
        else:
            workers = max(1, min(threads, -(-n // row_block)))
            col_tables = [table(m, kc) if cols else (None, None) for _ in range(workers)]
            blocks = _Blocks(n, row_block)
            limit = _blas_single_threaded() if dtype == torch.float32 else None
            use_np = limit is not None
            prev = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                if workers == 1:
                    _sweep(X, Y, blocks, row_block, col_block, rv, ri, *col_tables[0], kr, kc, dtype, use_np)
                else:
                    from concurrent.futures import ThreadPoolExecutor

                    with ThreadPoolExecutor(workers) as pool:
                        futures = [pool.submit(_sweep, X, Y, blocks, row_block, col_block, rv, ri, cvw, ciw, kr,
                                               kc, dtype, use_np) for cvw, ciw in col_tables]
                        for f in futures:
                            f.result()
            finally:
                torch.set_num_threads(prev)
                if limit is not None:
                    limit.restore_original_limits()
            cv, ci = col_tables[0]
            if cols and workers > 1:  # each worker saw a disjoint set of rows: merge the column tables once
                allv = torch.cat([t[0] for t in col_tables], dim=1)
                alli = torch.cat([t[1] for t in col_tables], dim=1)
                cv, j = torch.topk(allv, kc, dim=1)
                ci = torch.gather(alli, 1, j)
    fwd = KNN(rv.cpu().numpy(), ri.cpu().numpy())
    bwd = KNN(cv.cpu().numpy(), ci.cpu().numpy()) if cols and cv is not None and ci is not None else None
    return fwd, bwd


def knn(x: Any, y: Any, k: int = 1, **kw: Any) -> KNN:
    """Top-k targets ``y`` of every query ``x`` (one direction) by the same tiled exact search."""
    fwd, _ = knn_both(x, y, k, rows=True, cols=False, **kw)
    assert fwd is not None
    return fwd
