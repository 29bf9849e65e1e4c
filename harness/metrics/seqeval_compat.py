"""Sequence-labelling metrics: seqeval entity F1 with pinned chunk semantics, and token accuracy.

XTREME scores both PAN-X and UD-POS with ``seqeval.metrics.f1_score`` on lists of per-sentence tag lists
(seqeval flattens them with an ``O`` between sentences). XTREME pinned ``seqeval==0.0.12``; this module
re-implements that version's ``get_entities`` (prefix mode) so the number does not depend on whichever
seqeval is installed (1.x changed how a tag's type is parsed and warns on non-IOB tags):

- a tag's *chunk letter* is its first character and its *type* is the text after its last ``-``
  (``B-PER`` → ``B``/``PER``; a raw UPOS tag ``NOUN`` → ``N``/``NOUN``; ``SCONJ`` → ``S``/``SCONJ``);
- a chunk ends after ``E``/``S``, before ``B``/``S``/``O`` (after ``B``/``I``), or when the type changes;
  a chunk starts at ``B``/``S``, at ``E``/``I`` after ``E``/``S``/``O``, or when the type changes;
- micro precision/recall/F1 over the *sets* of ``(type, start, end)`` chunks, 0 when undefined; ×100.

On raw UPOS tags this means runs of the same tag merge into one chunk (``NOUN NOUN`` is one NOUN entity),
except tags whose first letter is ``S`` (``SCONJ``, ``SYM``: each token is its own chunk) — the XTREME UD-POS
"F1" is therefore *not* token accuracy. ``pos_accuracy`` is the true token accuracy, reported apart under its
own name and variant. On IOB2 tags (PAN-X) the semantics equal conlleval's and seqeval 1.x's default mode.
"""

from __future__ import annotations

from typing import Any

from harness.core.specs import Metric
from harness.metrics.base import Value, check_gold


def _flatten(seqs: list) -> list[str]:
    if any(isinstance(s, (list, tuple)) for s in seqs):
        out: list[str] = []
        for s in seqs:
            out.extend(list(s) + ["O"])
        return out
    return list(seqs)


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def get_entities(seq: list) -> list[tuple[str, int, int]]:
    """``(type, start, end)`` chunks of a tag sequence (or list of sequences), seqeval 0.0.12 semantics."""
    tags = _flatten(seq)
    prev_tag, prev_type, begin = "O", "", 0
    chunks = []
    for i, chunk in enumerate(tags + ["O"]):
        chunk = str(chunk)
        tag, type_ = chunk[:1], chunk.split("-")[-1]
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def _check(golds: list, predictions: list) -> None:
    check_gold(golds, predictions, what="tags", unit="sentences", why="XTREME's processed test files carry tokens only")
    for i, (g, p) in enumerate(zip(golds, predictions)):
        if p is None or len(g) != len(p):
            raise ValueError(f"sentence {i}: {0 if p is None else len(p)} predicted tags for {len(g)} words")


def prf(golds: list, predictions: list) -> tuple[float, float, float]:
    """Micro precision, recall, F1 (fractions) over chunk sets, as seqeval 0.0.12 computes them."""
    true = set(get_entities(golds))
    pred = set(get_entities(predictions))
    correct = len(true & pred)
    p = correct / len(pred) if pred else 0.0
    r = correct / len(true) if true else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, f


def ner_seqeval_f1(golds: list, predictions: list, **_: Any) -> float:
    """PAN-X: entity F1 ×100 over IOB2 chunks (XTREME's number)."""
    _check(golds, predictions)
    return 100.0 * prf(golds, predictions)[2]


def ner_seqeval_precision(golds: list, predictions: list, **_: Any) -> float:
    _check(golds, predictions)
    return 100.0 * prf(golds, predictions)[0]


def ner_seqeval_recall(golds: list, predictions: list, **_: Any) -> float:
    _check(golds, predictions)
    return 100.0 * prf(golds, predictions)[1]


def pos_seqeval_f1(golds: list, predictions: list, **_: Any) -> Value:
    """UD-POS as XTREME reports it: seqeval-0.0.12 chunk F1 on raw UPOS tags, ×100."""
    _check(golds, predictions)
    return Value(100.0 * prf(golds, predictions)[2], variant="xtreme-seqeval-0.0.12-chunk-f1", n=len(golds))


def pos_accuracy(golds: list, predictions: list, **_: Any) -> Value:
    """UD-POS true token accuracy ×100 (every word counts once)."""
    _check(golds, predictions)
    total = sum(len(g) for g in golds)
    right = sum(a == b for g, p in zip(golds, predictions) for a, b in zip(g, p))
    return Value(100.0 * right / total if total else 0.0, variant="token-accuracy", n=len(golds))


# --- resampling (leaderboard report): per-sentence counts whose sums give the corpus value -----------------

def chunk_counts(gold: list, prediction: list) -> tuple[int, int, int]:
    """One sentence's (true positive, predicted, gold) chunks; their sums over sentences give micro P/R/F1."""
    if not isinstance(gold, list) or not isinstance(prediction, list):
        raise TypeError("chunk counts need one list of tags per sentence")
    true, pred = set(get_entities(gold)), set(get_entities(prediction))
    return len(true & pred), len(pred), len(true)


def _ratio(top, bottom, scale: float):
    import numpy as np

    return np.where(top > 0, scale * top / np.where(bottom > 0, bottom, 1), 0.0)


def _f1(sums):
    return _ratio(sums[:, 0], sums[:, 1] + sums[:, 2], 200.0)


def token_counts(gold: list, prediction: list) -> tuple[int, int]:
    """One sentence's (right tags, words)."""
    if not isinstance(gold, list) or not isinstance(prediction, list) or len(gold) != len(prediction):
        raise TypeError("token counts need tag lists of equal length")
    return sum(a == b for a, b in zip(gold, prediction)), len(gold)


MICRO = "seqeval-0.0.12-semantics-micro"
RECORDS = (
    Metric("ner_seqeval_f1", MICRO, ner_seqeval_f1, per_example=chunk_counts, aggregate=_f1),
    Metric("ner_seqeval_precision", MICRO, ner_seqeval_precision, per_example=chunk_counts,
           aggregate=lambda sums: _ratio(sums[:, 0], sums[:, 1], 100.0)),
    Metric("ner_seqeval_recall", MICRO, ner_seqeval_recall, per_example=chunk_counts,
           aggregate=lambda sums: _ratio(sums[:, 0], sums[:, 2], 100.0)),
    Metric("pos_seqeval_f1", MICRO, pos_seqeval_f1, per_example=chunk_counts, aggregate=_f1),
    Metric("pos_accuracy", "token-accuracy-x100", pos_accuracy, per_example=token_counts,
           aggregate=lambda sums: _ratio(sums[:, 0], sums[:, 1], 100.0)),
)
