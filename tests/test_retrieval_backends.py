"""The mining kernel's backends compute the same exact neighbours and margins (issue 17: fast at every core
count without changing a single result)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import brute_knn as _brute
from helpers import unit_vectors as _unit

from harness.search.knn import choose_backend, knn_both
from harness.search.margin import mine, score_neighbours

CASES = [  # (backend, threads, row_block, col_block): one worker, several workers with uneven blocks, single pool
    ("tiles", 1, 64, 50), ("tiles", 3, 64, 50), ("tiles", 4, 17, 200), ("gemm", 1, 64, 50), ("gemm", 2, 100, 33),
]


SEGMENTED = [  # tiles whose sides are multiples of knn.SEGMENT (the segment hit test), then uneven last tiles
    ("tiles", 2, 256, 256), ("tiles", 1, 128, 384), ("gemm", 1, 256, 128),
]


def _clustered(rng, n, dim, copies):
    """Rows in runs of ``copies`` near-duplicates: several candidates of one owner beat its threshold inside the
    same segment of a tile (the multi-candidate merge)."""
    base = _unit(rng, -(-n // copies), dim)
    out = np.repeat(base, copies, axis=0)[:n] + 0.05 * rng.standard_normal((n, dim)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.mark.parametrize("backend,threads,rb,cb", CASES + SEGMENTED)
def test_backends_equal_brute_force_and_each_other(backend, threads, rb, cb):
    rng = np.random.default_rng(7)
    if (rb, cb) in [(r, c) for _, _, r, c in SEGMENTED]:
        x, y = _clustered(rng, 1100, 24, 6), _clustered(rng, 900, 24, 5)  # last tiles 76 rows, 132 or 4 columns
    else:
        x, y = _unit(rng, 301, 24), _unit(rng, 257, 24)
    before = torch.get_num_threads()
    fwd, bwd = knn_both(x, y, 4, backend=backend, threads=threads, row_block=rb, col_block=cb, device="cpu")
    assert torch.get_num_threads() == before  # the kernel leaves the caller's thread count as it was
    s_f, i_f = _brute(x, y, 4)
    s_b, i_b = _brute(y, x, 4)
    np.testing.assert_array_equal(fwd.indices, i_f)
    np.testing.assert_array_equal(bwd.indices, i_b)
    np.testing.assert_allclose(fwd.scores, s_f, atol=1e-5)
    np.testing.assert_allclose(bwd.scores, s_b, atol=1e-5)
    # the whole margin protocol on top gives identical pairs and margins to the reference backend
    ref_f, ref_b = knn_both(x, y, 4, backend="gemm", threads=1, device="cpu")
    got = mine(fwd, bwd, "ratio", "max")
    ref = mine(ref_f, ref_b, "ratio", "max")
    assert [(s, t) for s, t, _ in got] == [(s, t) for s, t, _ in ref]
    np.testing.assert_allclose([m for *_, m in got], [m for *_, m in ref], rtol=0, atol=1e-6)
    f1, b1 = score_neighbours(fwd, bwd)
    f2, b2 = score_neighbours(ref_f, ref_b)
    np.testing.assert_array_equal(f1.best, f2.best)
    np.testing.assert_array_equal(b1.best, b2.best)


def test_one_direction_and_small_sides():
    rng = np.random.default_rng(1)
    x, y = _unit(rng, 3, 8), _unit(rng, 40, 8)
    none, bwd = knn_both(x, y, 4, rows=False, threads=2, row_block=16, col_block=16)
    assert none is None and bwd.indices.shape == (40, 3)  # only 3 sources: k clipped to 3
    np.testing.assert_array_equal(bwd.indices, _brute(y, x, 3)[1])
    fwd, nothing = knn_both(x, y, 2, cols=False, threads=2)
    assert nothing is None
    np.testing.assert_array_equal(fwd.indices, _brute(x, y, 2)[1])


def test_backend_rule_and_errors():
    assert choose_backend("cpu", 1) == "tiles" and choose_backend("cpu", 2) == "tiles"
    assert choose_backend("cuda", 8) == "gemm"
    x = np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match="backend 'fast' is not one of"):
        knn_both(x, x, 1, backend="fast")


def test_bf16_tiles_runs_without_numpy_gemm():
    rng = np.random.default_rng(2)
    x = _unit(rng, 50, 16)
    fwd, bwd = knn_both(x, x, 1, dtype=torch.bfloat16, threads=2, row_block=16, col_block=16)
    assert (fwd.indices[:, 0] == np.arange(50)).all() and (bwd.indices[:, 0] == np.arange(50)).all()


def test_row_signature_records_the_kernel():
    from harness.core.rows import signature
    from harness.search.embed import EmbedOptions
    from harness.tasktypes.retrieval import signature_fields

    def sig(proto):
        return signature("accuracy", "tatoeba", "1", None, **signature_fields(EmbedOptions(), proto, 12))

    expected = "gemm" if torch.cuda.is_available() else "tiles"
    assert f"|search:fused|kernel:{expected}|k:4|" in sig({"search": "fused", "k": 4})
    assert "kernel:" not in sig({"search": "flat", "k": 4})
