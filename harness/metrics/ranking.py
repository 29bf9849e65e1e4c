"""Retrieval metrics: bitext accuracy / xsim error, BUCC precision-recall-F1 with threshold search, mAP@k.

Every function takes plain Python data (ids, scores), so stored predictions can be re-scored without a model.
Values are percentages (×100), as XTREME reports them.

- Tatoeba (LASER / XTREME): accuracy of the nearest neighbour; one number per direction.
- FLORES xsim (LASER's ``xsim``): error rate = 100 − accuracy of the nearest neighbour (cosine or margin).
- BUCC 2018 (XTREME ``bucc_optimize``): candidates sorted by score; the threshold maximising F1 on gold is placed
  halfway between the last kept and the first dropped score; F1 on another split applies it unchanged.
- LAReQA / Mewsli-X (XTREME-R): mean over queries of AP@k = Σ_{r≤k, rel(r)} P@r / min(|relevant|, k).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from harness.core.specs import Metric
from harness.metrics.base import MissingGold


def nn_accuracy(golds: Sequence[Any], predicted: Sequence[Any]) -> float:
    """Percent of queries whose top-1 retrieved id equals the gold id."""
    if not golds:
        raise ValueError("nothing to score: no queries")
    if len(golds) != len(predicted):
        raise ValueError(f"{len(predicted)} predictions for {len(golds)} queries")
    return 100.0 * sum(g == p for g, p in zip(golds, predicted)) / len(golds)


def prf(predicted_pairs: Iterable[tuple[str, str]], gold_pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall and F1 (percent) of a set of predicted pairs against gold pairs."""
    pred, gold = set(predicted_pairs), set(gold_pairs)
    if not gold:
        raise MissingGold("no gold pairs: BUCC F1 needs the gold file of this split")
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": 100 * p, "recall": 100 * r, "f1": 100 * f}


def best_threshold(candidates: Sequence[tuple[str, str, float]], gold_pairs: Iterable[tuple[str, str]]
                   ) -> tuple[float, dict[str, float]]:
    """The score threshold that maximises F1 of ``candidates`` (src, trg, score) against gold, and that F1.

    Candidates are taken in decreasing score order; after each one precision/recall/F1 of the kept prefix is
    computed; the threshold is the midpoint between the best prefix's last score and the next score (or the last
    score itself when every candidate is kept). Pairs with ``score >= threshold`` are kept when it is applied.
    """
    gold = set(gold_pairs)
    if not gold:
        raise MissingGold("no gold pairs: the BUCC threshold is chosen on a split with gold")
    ordered = sorted(candidates, key=lambda c: -c[2])
    tp, best_f, best_i = 0, -1.0, -1
    for i, (s, t, _) in enumerate(ordered):
        tp += (s, t) in gold
        if tp == 0:
            continue
        p, r = tp / (i + 1), tp / len(gold)
        f = 2 * p * r / (p + r)
        if f > best_f:
            best_f, best_i = f, i
    if best_i < 0:  # no correct candidate at all: keep nothing
        return float("inf"), {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    last = ordered[best_i][2]
    thr = (last + ordered[best_i + 1][2]) / 2 if best_i + 1 < len(ordered) else last
    return thr, apply_threshold(candidates, gold, thr)


def apply_threshold(candidates: Sequence[tuple[str, str, float]], gold_pairs: Iterable[tuple[str, str]],
                    threshold: float) -> dict[str, float]:
    """P/R/F1 of the candidates scoring at least ``threshold``."""
    return prf(((s, t) for s, t, sc in candidates if sc >= threshold), gold_pairs)


def average_precision_at_k(ranked: Sequence[Any], relevant: Iterable[Any], k: int) -> float:
    """AP@k of one ranked list (fraction, not percent)."""
    rel = set(relevant)
    if not rel:
        raise MissingGold("a query has no relevant candidate: mAP needs at least one per query")
    hits, total = 0, 0.0
    for r, item in enumerate(ranked[:k], start=1):
        if item in rel:
            hits += 1
            total += hits / r
    return total / min(len(rel), k)


def map_at_k(rankings: Sequence[Sequence[Any]], relevant: Sequence[Iterable[Any]], k: int = 20) -> float:
    """Mean AP@k over queries, in percent."""
    if not rankings:
        raise ValueError("nothing to score: no queries")
    if len(rankings) != len(relevant):
        raise ValueError(f"{len(rankings)} rankings for {len(relevant)} queries")
    return 100.0 * sum(average_precision_at_k(r, g, k) for r, g in zip(rankings, relevant)) / len(rankings)


# Name-based entries (golds, predictions) over stored per-example predictions (the report's bootstrap re-scores
# with them): a Tatoeba prediction holds the retrieved ids ``fwd`` (xx→en) and ``bwd`` (en→xx).
def _direction(*keys: str):
    def fn(golds: list, predictions: list, **_: Any) -> float:
        if any(g is None for g in golds):
            raise MissingGold("gold ids are missing for this split")
        return sum(nn_accuracy(golds, [p[k] if isinstance(p, dict) else p for p in predictions])
                   for k in keys) / len(keys)

    return fn


def _map20(golds: list, predictions: list, **_: Any) -> float:
    pairs = [(p, g) for p, g in zip(predictions, golds) if g is not None]
    return map_at_k([p for p, _ in pairs], [g for _, g in pairs], 20)


def _bucc(mode: str):
    def resample(lines: list[dict]):
        from harness.metrics.mining import mined_pairs

        return mined_pairs(lines, mode)

    return resample


NN = "nn-cosine-top1-x100"
MAP20 = "xtreme-r-map@20-ap/min(R,k)"
RECORDS = (
    Metric("tatoeba_accuracy_xx2en", NN, _direction("fwd")),
    Metric("tatoeba_accuracy_en2xx", NN, _direction("bwd")),
    Metric("tatoeba_accuracy_avg_both_directions", "mean(xx2en,en2xx)-x100", _direction("fwd", "bwd")),
    Metric("lareqa_map_at_20", MAP20, _map20),
    Metric("mewslix_map_at_20", MAP20, _map20),
    # computed by the retrieval task type (mining needs the whole candidate set); resampled over source sentences
    Metric("bucc_f1_margin_dev_threshold", "xtreme-bucc-optimize-on-dev;margin-ratio-k4;retrieval-max-1to1",
           resample=_bucc("dev")),
    Metric("bucc_f1_margin_oracle",
           "xtreme-bucc-optimize-on-same-split(oracle);margin-ratio-k4;retrieval-max-1to1", resample=_bucc("oracle")),
    Metric("flores_xsim_error_margin_ratio_src2tgt", "xsim-error-margin-ratio-k4-x100", higher_is_better=False),
    Metric("flores_xsim_error_cosine_src2tgt", "xsim-error-cosine-x100", higher_is_better=False),
    Metric("flores_xsim_error_margin_ratio_tgt2src", "xsim-error-margin-ratio-k4-x100", higher_is_better=False),
    Metric("flores_xsim_error_cosine_tgt2src", "xsim-error-cosine-x100", higher_is_better=False),
)
