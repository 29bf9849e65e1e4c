"""Retrieval internals: fused k-NN vs brute force, FAISS search, margin scoring and 1:1 mining (hand-checked),
metrics on fixed predictions (hand-checked), embedding knobs on the tiny model."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import brute_knn as _brute
from helpers import unit_vectors as _unit

from harness.metrics import MissingGold
from harness.metrics.ranking import (
    apply_threshold,
    average_precision_at_k,
    best_threshold,
    map_at_k,
    nn_accuracy,
    prf,
)
from harness.search.index import build_index, resolve_kind, search, search_both
from harness.search.knn import KNN, knn, knn_both
from harness.search.margin import mine, score_neighbours


@pytest.mark.parametrize("n,m,block", [(300, 257, (64, 50)), (37, 500, (16, 128)), (5, 3, (2, 2))])
def test_fused_knn_equals_brute_force_both_directions(n, m, block):
    rng = np.random.default_rng(n)
    x, y = _unit(rng, n, 16), _unit(rng, m, 16)
    k = 4
    fwd, bwd = knn_both(x, y, k, row_block=block[0], col_block=block[1])
    s_f, i_f = _brute(x, y, min(k, m))
    s_b, i_b = _brute(y, x, min(k, n))
    assert fwd.indices.shape == (n, min(k, m)) and bwd.indices.shape == (m, min(k, n))
    np.testing.assert_array_equal(fwd.indices, i_f)
    np.testing.assert_array_equal(bwd.indices, i_b)
    np.testing.assert_allclose(fwd.scores, s_f, atol=1e-5)
    np.testing.assert_allclose(bwd.scores, s_b, atol=1e-5)


def test_one_direction_and_faiss_agree():
    rng = np.random.default_rng(0)
    x, y = _unit(rng, 200, 32), _unit(rng, 300, 32)
    ours = knn(x, y, 5)
    flat = search(x, y, 5, "flat")
    np.testing.assert_array_equal(ours.indices, flat.indices)
    f, b = search_both(x, y, 3, "flat")
    f2, b2 = search_both(x, y, 3)  # fused
    np.testing.assert_array_equal(f.indices, f2.indices)
    np.testing.assert_array_equal(b.indices, b2.indices)


def test_index_kinds_and_threshold():
    assert resolve_kind("auto", 10, approx_threshold=100) == "flat"
    assert resolve_kind("auto", 100, approx_threshold=100) == "ivf"
    with pytest.raises(ValueError, match="not one of"):
        resolve_kind("annoy", 10)
    rng = np.random.default_rng(1)
    y = _unit(rng, 2000, 16)
    q = y[:50] + 0.01 * _unit(rng, 50, 16)
    for kind in ("ivf", "hnsw"):
        index = build_index(y, kind, nprobe=64)
        _, idx = index.search(np.ascontiguousarray(q, dtype=np.float32), 1)
        assert (idx[:, 0] == np.arange(50)).mean() >= 0.9  # near-duplicates are found


def _hand_knn() -> tuple[KNN, KNN]:
    # x0: y0 .9, y1 .5 | x1: y1 .8, y2 .6 ; y0: x0 .9, x1 .1 | y1: x1 .8, x0 .5 | y2: x1 .6, x0 .2
    fwd = KNN(np.array([[0.9, 0.5], [0.8, 0.6]]), np.array([[0, 1], [1, 2]]))
    bwd = KNN(np.array([[0.9, 0.1], [0.8, 0.5], [0.6, 0.2]]), np.array([[0, 1], [1, 0], [1, 0]]))
    return fwd, bwd


def test_ratio_margin_by_hand():
    f, b = score_neighbours(*_hand_knn(), "ratio")
    # x0→y0: .9 / ((.7 + .5)/2) = 1.5 ; x0→y1: .5 / ((.7 + .65)/2) = 0.740740…
    np.testing.assert_allclose(f.scores[0], [1.5, 0.5 / 0.675])
    np.testing.assert_allclose(f.scores[1], [0.8 / 0.675, 0.6 / 0.55])
    assert f.best.tolist() == [0, 1]
    np.testing.assert_allclose(b.scores[2], [0.6 / 0.55, 0.2 / 0.55])
    assert b.best.tolist() == [0, 1, 1]
    fd, _ = score_neighbours(*_hand_knn(), "distance")
    np.testing.assert_allclose(fd.scores[0, 0], 0.3)


def test_mining_max_is_one_to_one():
    pairs = mine(*_hand_knn(), "ratio", "max")
    assert [(s, t) for s, t, _ in pairs] == [(0, 0), (1, 1)]  # (x1, y2) loses: x1 is taken
    assert pairs[0][2] == pytest.approx(1.5) and pairs[1][2] == pytest.approx(0.8 / 0.675)
    assert [(s, t) for s, t, _ in mine(*_hand_knn(), "ratio", "forward")] == [(0, 0), (1, 1)]
    assert [(s, t) for s, t, _ in mine(*_hand_knn(), "ratio", "backward")] == [(0, 0), (1, 1), (1, 2)]
    assert [(s, t) for s, t, _ in mine(*_hand_knn(), "ratio", "intersect")] == [(0, 0), (1, 1)]
    with pytest.raises(ValueError, match="retrieval 'both'"):
        mine(*_hand_knn(), "ratio", "both")


def test_metrics_by_hand():
    assert nn_accuracy(["a", "b", "c", "d"], ["a", "x", "c", "d"]) == 75.0
    assert prf([("a", "A"), ("b", "B")], [("a", "A"), ("c", "C")]) == {"precision": 50.0, "recall": 50.0, "f1": 50.0}
    cands = [("a", "A", 0.9), ("b", "B", 0.8), ("c", "C", 0.7), ("d", "D", 0.6)]
    gold = [("a", "A"), ("c", "C"), ("e", "E")]
    thr, res = best_threshold(cands, gold)
    # prefixes: F1 .5, .4, .667 (best: a,b,c), .571 → threshold halfway between .7 and .6
    assert thr == pytest.approx(0.65)
    assert res["f1"] == pytest.approx(200 / 3)
    assert apply_threshold(cands, gold, 0.85) == pytest.approx({"precision": 100.0, "recall": 100 / 3, "f1": 50.0})
    assert average_precision_at_k(["x", "A", "y", "B"], {"A", "B"}, 20) == pytest.approx(0.5)
    assert average_precision_at_k(["x", "A", "y", "B"], {"A", "B"}, 2) == pytest.approx(0.25)
    assert map_at_k([["x", "A", "y", "B"], ["C"]], [{"A", "B"}, {"C"}], 20) == pytest.approx(75.0)
    with pytest.raises(MissingGold):
        prf([("a", "A")], [])


def test_embed_knobs_on_tiny_model():
    import torch

    from harness.core.registry import registry
    from harness.modeling.encoder import load_encoder
    from harness.search.embed import EmbedOptions, _batches, embed

    enc = load_encoder(registry().model("tiny-xlmr"), seed=0)
    texts = ["the cat is red", "a", "the big old house is not green and the dog is quiet"]
    opts = EmbedOptions(layer=1, pooling="mean", max_length=32, batch_tokens=8)
    both = embed(enc, texts, opts, layers=[0, 1, 2])
    assert set(both) == {0, 1, 2} and both[1].shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(both[2], axis=1), 1.0, atol=1e-5)
    # reference: hidden state of block 1, masked mean, L2 — one text at a time, no padding
    enc.module.eval()
    for i, t in enumerate(texts):
        ids = enc.tokenizer(t, truncation=True, max_length=32, return_tensors="pt")
        with torch.no_grad():
            h = enc.module(**ids, output_hidden_states=True).hidden_states[1][0].mean(0)
        np.testing.assert_allclose(both[1][i], (h / h.norm()).numpy(), atol=1e-5)
    single = embed(enc, texts, opts)
    np.testing.assert_allclose(single, both[1], atol=1e-6)
    cls = embed(enc, texts, EmbedOptions(layer=-1, pooling="cls", normalize=False))
    with torch.no_grad():
        ids = enc.tokenizer(texts[0], return_tensors="pt")
        ref = enc.module(**ids).last_hidden_state[0, 0].numpy()
    np.testing.assert_allclose(cls[0], ref, atol=1e-5)
    prefixed = embed(enc, texts, EmbedOptions(query_prefix="query: "), role="query")
    plain = embed(enc, texts, EmbedOptions(doc_prefix="query: "), role="query")
    assert not np.allclose(prefixed, plain)
    # batches: longest first, one length each (no padding), within the token budget
    assert _batches([3, 10, 4, 4], batch_tokens=8, max_batch=8) == [[1], [2, 3], [0]]
    assert _batches([5, 4, 5, 3, 4], batch_tokens=100, max_batch=8) == [[0, 2], [1, 4], [3]]
    with pytest.raises(ValueError, match="layer"):
        embed(enc, texts, EmbedOptions(layer=5))
    with pytest.raises(ValueError, match="pooling 'max'"):
        EmbedOptions(pooling="max")
    with pytest.raises(ValueError, match="unknown embedding option"):
        EmbedOptions.from_dict({"poolng": "mean"})


def test_embed_stream_to_memmap(tmp_path):
    from harness.core.registry import registry
    from harness.modeling.encoder import load_encoder
    from harness.search.embed import EmbedOptions, embed, embed_to_file

    enc = load_encoder(registry().model("tiny-xlmr"), seed=0)
    texts = [f"the dog is {w}" for w in ("red", "big", "old", "small", "green")]
    opts = EmbedOptions()
    arr = embed_to_file(enc, iter(texts), len(texts), tmp_path / "e.npy", opts, chunk=2)
    assert arr.shape == (5, 32)
    np.testing.assert_allclose(np.asarray(arr), embed(enc, texts, opts), atol=1e-6)
