"""MLQA metrics with MLQA's language-aware normalisation (semantics of ``mlqa_evaluation_v1.py``).

Our own implementation; what it reproduces, in order (the order matters):

1. lower-case;
2. drop every character whose Unicode category starts with ``P`` (all code points below ``sys.maxunicode``)
   plus ASCII ``string.punctuation`` (so ``$``, ``+``, ``^`` … go too, though they are symbols);
3. drop articles as whole words (``\\b``, Unicode-aware): en ``a an the``; es ``un una unos unas el la los
   las``; de ``ein eine einen einem eines einer der die das den dem des``; vi ``của là cái chiếc những``;
   ar: *every* occurrence of ``ال`` (the official regex ``\\sال^|ال`` also strips it inside words); hi and zh
   none;
4. tokenise: whitespace for en es de ar hi vi; for zh "mixed segmentation": every character in
   ``U+4E00``–``U+9FA5`` (and any remaining punctuation) is its own token, runs of other characters are split
   on whitespace; tokens are re-joined with one space.

F1 is bag-of-tokens overlap over those tokens (0 when nothing overlaps), EM compares the normalised strings;
both take the max over gold answers and average over questions, ×100. An unanswered question (prediction
``None``: no prediction at all) scores 0 and counts in the average, whatever its gold normalises to (the official
script skips it before comparing). Any language other than the seven raises (the official script does too).
"""

from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
from collections import Counter
from typing import Any

from harness.core.specs import Metric
from harness.metrics.squad import mean_max

LANGUAGES = ("en", "es", "de", "ar", "hi", "vi", "zh")
WHITESPACE_LANGS = ("en", "es", "hi", "vi", "de", "ar")
MIXED_SEGMENTATION_LANGS = ("zh",)



@functools.cache
def punct() -> frozenset[str]:
    """Unicode ``P*`` characters below ``sys.maxunicode`` plus ASCII punctuation (built on first use: ~0.25 s)."""
    return frozenset(chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")) | frozenset(
        string.punctuation
    )

_ARTICLES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "ar": re.compile(r"\sال^|ال"),
}
_CJK = re.compile(r"[\u4e00-\u9fa5]")


def _check_language(lang: str | None) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"MLQA normalisation: language {lang!r} is not one of {', '.join(LANGUAGES)}")
    return lang


def mixed_segmentation(text: str) -> list[str]:
    """zh: each CJK character (U+4E00–U+9FA5) or punctuation mark alone; other runs split on whitespace."""
    out: list[str] = []
    run = ""
    marks = punct()
    for ch in text:
        if _CJK.search(ch) or ch in marks:
            if run:
                out.extend(run.split())
                run = ""
            out.append(ch)
        else:
            run += ch
    if run:
        out.extend(run.split())
    return out


def normalize_answer(text: str, lang: str) -> str:
    lang = _check_language(lang)
    text = text.lower()
    marks = punct()
    text = "".join(ch for ch in text if ch not in marks)
    if lang in _ARTICLES:
        text = _ARTICLES[lang].sub(" ", text)
    tokens = text.split() if lang in WHITESPACE_LANGS else mixed_segmentation(text)
    return " ".join(t for t in tokens if t.strip() != "")


def f1(prediction: str, gold: str, lang: str) -> float:
    pred_tokens = normalize_answer(prediction, lang).split()
    gold_tokens = normalize_answer(gold, lang).split()
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact(prediction: str, gold: str, lang: str) -> float:
    return float(normalize_answer(prediction, lang) == normalize_answer(gold, lang))


def mlqa_f1(golds: list, predictions: list, language: str | None = None, **_: Any) -> float:
    lang = _check_language(language)
    return mean_max(lambda p, g: f1(p, g, lang), golds, predictions, [""])


def mlqa_exact_match(golds: list, predictions: list, language: str | None = None, **_: Any) -> float:
    lang = _check_language(language)
    return mean_max(lambda p, g: exact(p, g, lang), golds, predictions, [""])


RECORDS = (Metric("mlqa_f1", "mlqa-evaluation-v1-semantics", mlqa_f1),
           Metric("mlqa_exact_match", "mlqa-evaluation-v1-semantics", mlqa_exact_match))
