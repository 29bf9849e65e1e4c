"""Margin-based scoring and bitext mining (Artetxe & Schwenk 2019, "Margin-based Parallel Corpus Mining").

For a source x and target y with cosine ``cos(x, y)``, the k nearest targets of x (``NN_k(x)``) and the k
nearest sources of y (``NN_k(y)``)::

    denom(x, y) = Σ_{z∈NN_k(x)} cos(x, z) / 2k  +  Σ_{z∈NN_k(y)} cos(y, z) / 2k
    ratio:    cos(x, y) / denom(x, y)          distance: cos(x, y) − denom(x, y)
    absolute: cos(x, y)

Candidates: ``forward`` (every source's best-scoring neighbour among its k), ``backward`` (every target's), and
``max`` (both lists joined, sorted by score and filtered 1:1, a sentence used at most once: the BUCC protocol),
or ``intersect`` (pairs that are each other's best). Everything comes from the two k-NN tables, so a mining run
costs one similarity pass (see :mod:`harness.search.knn`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.search.knn import KNN

MARGINS = ("ratio", "distance", "absolute")
RETRIEVALS = ("max", "forward", "backward", "intersect")


def margin_fn(a: np.ndarray, b: np.ndarray, margin: str) -> np.ndarray:
    if margin == "ratio":
        return a / b
    if margin == "distance":
        return a - b
    if margin == "absolute":
        return a
    raise ValueError(f"margin {margin!r} is not one of {', '.join(MARGINS)}")


@dataclass
class Scored:
    """Every source's (or target's) k neighbours with margin scores; ``best`` is the arg-max per row."""

    scores: np.ndarray  # (n, k) margin scores
    indices: np.ndarray  # (n, k) neighbour indices
    best: np.ndarray  # (n,) best neighbour index
    best_score: np.ndarray  # (n,)


def score_neighbours(fwd: KNN, bwd: KNN, margin: str = "ratio") -> tuple[Scored, Scored]:
    """Margin scores of the k-NN lists in both directions (x→y from ``fwd``, y→x from ``bwd``)."""
    fwd_mean = fwd.scores.mean(axis=1)  # average similarity of each x to its k nearest y
    bwd_mean = bwd.scores.mean(axis=1)  # average similarity of each y to its k nearest x

    def one(knn: KNN, own_mean: np.ndarray, other_mean: np.ndarray) -> Scored:
        idx = knn.indices
        valid = idx >= 0
        denom = (own_mean[:, None] + other_mean[np.where(valid, idx, 0)]) / 2
        s = margin_fn(knn.scores.astype(np.float64), denom.astype(np.float64), margin)
        s = np.where(valid, s, -np.inf)
        arg = s.argmax(axis=1)
        rows = np.arange(len(idx))
        return Scored(s, idx, idx[rows, arg], s[rows, arg])

    return one(fwd, fwd_mean, bwd_mean), one(bwd, bwd_mean, fwd_mean)


def mine(fwd: KNN, bwd: KNN, margin: str = "ratio", retrieval: str = "max") -> list[tuple[int, int, float]]:
    """Candidate pairs ``(source index, target index, score)`` sorted by decreasing score."""
    if retrieval not in RETRIEVALS:
        raise ValueError(f"retrieval {retrieval!r} is not one of {', '.join(RETRIEVALS)}")
    f, b = score_neighbours(fwd, bwd, margin)
    n, m = len(f.best), len(b.best)
    if retrieval == "forward":
        pairs = [(i, int(f.best[i]), float(f.best_score[i])) for i in range(n)]
    elif retrieval == "backward":
        pairs = [(int(b.best[j]), j, float(b.best_score[j])) for j in range(m)]
    elif retrieval == "intersect":
        pairs = [(i, int(f.best[i]), float(f.best_score[i])) for i in range(n)
                 if f.best[i] >= 0 and b.best[f.best[i]] == i]
    else:
        src = np.concatenate([np.arange(n), b.best])
        trg = np.concatenate([f.best, np.arange(m)])
        scores = np.concatenate([f.best_score, b.best_score])
        order = np.argsort(-scores, kind="stable")
        seen_s: set[int] = set()
        seen_t: set[int] = set()
        pairs = []
        for o in order:
            s, t = int(src[o]), int(trg[o])
            if s < 0 or t < 0 or s in seen_s or t in seen_t:
                continue
            seen_s.add(s)
            seen_t.add(t)
            pairs.append((s, t, float(scores[o])))
        return pairs
    pairs.sort(key=lambda p: -p[2])
    return pairs


def mine_embeddings(x: Any, y: Any, k: int = 4, margin: str = "ratio", retrieval: str = "max",
                    kind: str = "fused") -> list[tuple[int, int, float]]:
    """Mine candidate pairs between two embedding sets (L2-normalised) with the full margin protocol."""
    from harness.search.index import search_both

    fwd, bwd = search_both(x, y, k, kind)
    return mine(fwd, bwd, margin, retrieval)
