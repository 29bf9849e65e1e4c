"""Exact k-nearest neighbours by inner product, in both directions, from ONE pass over the similarity matrix.

Margin scoring (Artetxe & Schwenk 2019) needs the k nearest targets of every source *and* the k nearest sources of
every target. Both live in the same N×M similarity matrix, so instead of two searches we walk that matrix once in
tiles (a chunked GEMM) and keep a running top-k for rows and for columns. After the first tile of a row block
(and the first row block of a column) each row/column has a threshold, its current k-th best score; an element of
a later tile matters only if it beats one of the two thresholds, which is rare, so the per-tile overhead is two
vectorised comparisons plus a tiny merge. The arithmetic is half that of two searches.

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


def _update(vals: torch.Tensor, idx: torch.Tensor, tile: torch.Tensor, dim: int, offset: int, base: int,
            k: int) -> None:
    """Fold one tile into the running top-k of its rows (``dim=1``) or of its columns (``dim=0``).

    Owners (rows or columns, numbered from ``offset``) seen for the first time take the top-k of their tile slice
    (candidates numbered from ``base``). Afterwards only owners whose tile maximum beats their current k-th best
    are looked at, and only their elements above that threshold are merged (usually one or two).
    """
    n_owner = tile.shape[0] if dim == 1 else tile.shape[1]
    thr = vals[offset : offset + n_owner, -1]
    if bool(torch.isneginf(thr[0])) and tile.shape[dim] >= k:  # first visit of these owners
        v, j = torch.topk(tile, k, dim=dim)
        if dim == 0:
            v, j = v.T, j.T
        vals[offset : offset + n_owner] = v
        idx[offset : offset + n_owner] = j + base
        return
    hit = (tile.amax(dim=dim) > thr).nonzero().squeeze(1)
    if hit.numel() == 0:
        return
    if dim == 1:
        sub = tile.index_select(0, hit)
        nz = (sub > thr[hit].unsqueeze(1)).nonzero()
        owner, cand, v = hit[nz[:, 0]], nz[:, 1], sub[nz[:, 0], nz[:, 1]]
    else:
        sub = tile.index_select(1, hit)
        nz = (sub > thr[hit].unsqueeze(0)).nonzero()
        owner, cand, v = hit[nz[:, 1]], nz[:, 0], sub[nz[:, 0], nz[:, 1]]
        order = torch.argsort(owner, stable=True)  # group by column; few candidates
        owner, cand, v = owner[order], cand[order], v[order]
    _merge(vals, idx, owner + offset, v, cand + base, k)


def knn_both(x: Any, y: Any, k: int = 4, *, rows: bool = True, cols: bool = True, row_block: int = 1024,
             col_block: int = 1024, dtype: torch.dtype = torch.float32, device: str | torch.device | None = None,
             threads: int | None = None) -> tuple[KNN | None, KNN | None]:
    """Top-k of ``x @ y.T`` per row (x→y) and per column (y→x) in one tiled pass; exact for fp32.

    ``rows``/``cols`` switch either direction off (one-direction search costs the same GEMM). Embeddings are
    used as given: L2-normalise them first for cosine similarity. ``device`` defaults to the GPU when torch sees
    one, else the CPU (where the fp32 GEMM goes through numpy's BLAS).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if threads is not None and dev.type == "cpu":
        torch.set_num_threads(threads)
    X = _as_tensor(x, dev, dtype)
    Y = _as_tensor(y, dev, dtype)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"dimension mismatch: x has {X.shape[1]}, y has {Y.shape[1]}")
    n, m = X.shape[0], Y.shape[0]
    kr, kc = min(k, m), min(k, n)
    acc = torch.float32
    rv = torch.full((n, kr), -torch.inf, dtype=acc, device=dev)
    ri = torch.full((n, kr), -1, dtype=torch.long, device=dev)
    cv = torch.full((m, kc), -torch.inf, dtype=acc, device=dev)
    ci = torch.full((m, kc), -1, dtype=torch.long, device=dev)
    flat = torch.empty(row_block * col_block, dtype=dtype, device=dev)
    # On CPU in fp32 the GEMM goes through numpy's BLAS (OpenBLAS), writing into the same buffer: it is faster
    # than torch's MKL path on some CPUs (AMD); the tile is then viewed as a tensor without a copy.
    use_np = dev.type == "cpu" and dtype == torch.float32
    if use_np:
        Xn, Yn, flat_np = X.numpy(), Y.numpy(), flat.numpy()
    with torch.inference_mode():
        for i0 in range(0, n, row_block):
            xi = X[i0 : i0 + row_block]
            bi = xi.shape[0]
            for j0 in range(0, m, col_block):
                yj = Y[j0 : j0 + col_block]
                bj = yj.shape[0]
                S = flat[: bi * bj].view(bi, bj)
                if use_np:
                    np.matmul(Xn[i0 : i0 + bi], Yn[j0 : j0 + bj].T, out=flat_np[: bi * bj].reshape(bi, bj))
                else:
                    torch.mm(xi, yj.T, out=S)
                if dtype != acc:
                    S = S.to(acc)
                if rows:
                    _update(rv, ri, S, 1, i0, j0, kr)
                if cols:
                    _update(cv, ci, S, 0, j0, i0, kc)
    fwd = KNN(rv.cpu().numpy(), ri.cpu().numpy()) if rows else None
    bwd = KNN(cv.cpu().numpy(), ci.cpu().numpy()) if cols else None
    return fwd, bwd


def knn(x: Any, y: Any, k: int = 1, **kw: Any) -> KNN:
    """Top-k targets ``y`` of every query ``x`` (one direction) by the same tiled exact search."""
    fwd, _ = knn_both(x, y, k, rows=True, cols=False, **kw)
    assert fwd is not None
    return fwd
