"""The fast embedding path (bulk tokenisation, length-sorted token-budget batches, vectorised padding) equals a
plain one-sentence-at-a-time reference loop, and the candidate cache never serves stale weights (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

TEXTS = ["a", "the cat sat on the mat", "ein Hund", "x " * 40, "", "un chat noir et blanc qui dort", "zz"]


@pytest.fixture(scope="module")
def enc():
    from harness.core.registry import registry
    from harness.modeling.encoder import load_encoder

    return load_encoder(registry().model("tiny-xlmr"), seed=0)


def _reference(enc, texts, prefix, max_length, pooling):
    """One sentence per forward pass, no padding, the pooling written out by hand."""
    out = []
    enc.module.eval()
    with torch.no_grad():
        for t in texts:
            ids = enc.tokenizer(prefix + t, truncation=True, max_length=max_length)["input_ids"]
            h = enc.module(input_ids=torch.tensor([ids])).last_hidden_state[0]
            v = h[0] if pooling == "cls" else h.mean(0)
            out.append((v / v.norm()).numpy())
    return np.stack(out)


@pytest.mark.parametrize("pooling,batch_tokens,max_batch", [("mean", 64, 3), ("cls", 16384, 256), ("mean", 8, 1)])
def test_embed_equals_plain_loop(enc, pooling, batch_tokens, max_batch):
    from harness.search.embed import EmbedOptions, embed

    opts = EmbedOptions(pooling=pooling, max_length=24, query_prefix="query: ", batch_tokens=batch_tokens,
                        max_batch=max_batch)
    got = embed(enc, TEXTS, opts, role="query")
    ref = _reference(enc, TEXTS, "query: ", 24, pooling)
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


def test_candidate_cache_hits_and_invalidates(enc, monkeypatch):
    from harness.search import embed as E

    calls = []
    real = E._embed
    monkeypatch.setattr(E, "_embed", lambda *a: calls.append(1) or real(*a))
    opts = E.EmbedOptions(doc_prefix="passage: ")
    first = E.embed(enc, TEXTS, opts, role="doc", cache=True)
    again = E.embed(enc, TEXTS, opts, role="doc", cache=True)
    assert len(calls) == 1 and np.array_equal(first, again)
    again[0, 0] = 99.0  # callers get a copy: the cached array is untouched
    assert E.embed(enc, TEXTS, opts, role="doc", cache=True)[0, 0] != 99.0
    E.embed(enc, TEXTS, opts, role="query", cache=True)  # other role (prefix): a new entry
    E.embed(enc, TEXTS[:-1], opts, role="doc", cache=True)  # other texts
    assert len(calls) == 3
    with torch.no_grad():
        next(enc.module.parameters()).add_(0.5)  # an in-place weight update (optimiser step)
    changed = E.embed(enc, TEXTS, opts, role="doc", cache=True)
    assert len(calls) == 4 and not np.allclose(changed, first)
    with torch.no_grad():
        next(enc.module.parameters()).sub_(0.5)


def test_worker_threads_give_the_single_thread_embeddings_and_restore_the_thread_count(enc, monkeypatch):
    """On the CPU whole batches go to single-threaded workers, one per torch thread: the embeddings are the
    single-threaded ones bit for bit (each batch runs the same ops on one thread), errors propagate and torch's
    thread count is restored."""
    from harness.search import embed as E

    opts = E.EmbedOptions(max_length=24, batch_tokens=16, max_batch=2)  # many batches
    texts = TEXTS * 5
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = E.embed(enc, texts, opts)
        torch.set_num_threads(3)
        seen = []
        forward = enc.module.forward
        monkeypatch.setattr(enc.module, "forward", lambda *a, **k: seen.append(torch.get_num_threads()) or forward(*a, **k))
        three = E.embed(enc, texts, opts)
        assert torch.get_num_threads() == 3
        assert len(seen) > 3 and set(seen) == {1}  # every batch ran single-threaded
        assert np.array_equal(one, three)
        monkeypatch.setattr(enc.module, "forward", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
        with pytest.raises(RuntimeError, match="boom"):
            E.embed(enc, texts, opts)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(prev)
