"""SQuAD-style extractive-QA metrics: v1.1 (XQuAD, TyDiQA-GoldP, as XTREME scores them) and v2.0.

Our own implementation of the semantics of the official ``evaluate-v1.1.py`` / ``evaluate-v2.0.py`` scripts
(XTREME's ``third_party/evaluate_squad.py`` is the v1.1 script):

- normalisation: lower-case, drop ASCII punctuation (``string.punctuation`` only), drop the English articles
  ``a|an|the`` as whole words, collapse whitespace; XTREME applies it unchanged to every language of XQuAD and
  TyDiQA (non-ASCII punctuation such as ``。`` or ``،`` is kept);
- v1.1 F1: bag-of-tokens overlap; 0 when nothing overlaps (so an empty prediction for an empty gold is 0);
  v2.0 F1/EM: gold answers that normalise to nothing are dropped, no answer left means gold ``""``; when either
  side normalises to no tokens the score is 1 if both do, else 0 (unanswerable questions);
- both take the maximum over the gold answers and average over questions, ×100.

Golds are lists of answer texts per question (``None`` = gold missing, e.g. XTREME's blanked TyDiQA dev) and
predictions are answer strings, ``None`` for an unanswered question (no prediction at all, unlike ``""``): v1.1 (and
MLQA's script) score it 0 and keep it in the average; v2.0 leaves it out of the average.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from typing import Any

from harness.core.specs import Metric
from harness.metrics.base import check_gold

_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower, remove ASCII punctuation, remove a/an/the, fix whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def f1_v1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_v1(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_v2(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    return f1_v1(prediction, gold)


def check_qa(golds: list, predictions: list) -> None:
    """Same length, golds present (``None`` means the split carries no answers)."""
    check_gold(golds, predictions, what="answers", unit="questions",
               why="XTREME blanks TyDiQA-GoldP dev and MLQA test answers")


def mean_max(fn: Callable[[str, str], float], golds: list, predictions: list, empty_gold: list[str],
             unanswered: str = "zero") -> float:
    """100 × mean over questions of the max over gold answers (``empty_gold`` stands in for no answers).

    A ``None`` prediction is an unanswered question: ``unanswered="zero"`` scores it 0 within the average
    (evaluate-v1.1.py, mlqa_evaluation_v1.py), ``"skip"`` leaves it out of the average (evaluate-v2.0.py)."""
    check_qa(golds, predictions)
    total, counted = 0.0, 0
    for gold, pred in zip(golds, predictions):
        if pred is None:
            counted += unanswered == "zero"
            continue
        answers = list(gold) or empty_gold
        total += max(fn(str(pred), a) for a in answers)
        counted += 1
    return 100.0 * total / counted if counted else 0.0


def squad_v1_f1(golds: list, predictions: list, **_: Any) -> float:
    return mean_max(f1_v1, golds, predictions, [""])


def squad_v1_exact_match(golds: list, predictions: list, **_: Any) -> float:
    return mean_max(exact_v1, golds, predictions, [""])


def _v2_golds(golds: list) -> list:
    """evaluate-v2.0.py drops gold answers that normalise to nothing; none left means unanswerable (``""``)."""
    return [None if g is None else [a for a in g if normalize_answer(a)] for g in golds]


def squad_v2_f1(golds: list, predictions: list, **_: Any) -> float:
    """SQuAD 2.0 F1: a question with no (non-empty) gold answers counts as gold ``""`` (evaluate-v2.0.py)."""
    return mean_max(f1_v2, _v2_golds(golds), predictions, [""], unanswered="skip")


def squad_v2_exact_match(golds: list, predictions: list, **_: Any) -> float:
    return mean_max(exact_v1, _v2_golds(golds), predictions, [""], unanswered="skip")


V1, V2 = "squad-evaluate-v1.1-semantics", "squad-evaluate-v2.0-semantics"
RECORDS = (
    Metric("squad_v1_f1", V1, squad_v1_f1), Metric("squad_v1_exact_match", V1, squad_v1_exact_match),
    Metric("squad_v2_f1", V2, squad_v2_f1), Metric("squad_v2_exact_match", V2, squad_v2_exact_match),
)
