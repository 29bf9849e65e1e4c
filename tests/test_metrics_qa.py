"""SQuAD v1.1/v2.0 and MLQA metrics against values worked out by hand (comments show the arithmetic)."""

from __future__ import annotations

import pytest

from harness.metrics import METRICS, MissingGold
from harness.metrics import mlqa as M
from harness.metrics import squad as S


def test_squad_v1_mixed_questions():
    golds = [["Eiffel Tower"], ["Paris"], ["x"], ["York", "New York City"]]
    preds = ["the Eiffel Tower!", "Paris France", "", "New York City"]
    # EM: 1, 0, 0, 1 -> 50.  F1: 1, 2/3 (P=1/2, R=1), 0, max(2/3 -> "new york city" vs "york": P=1/3,R=1 -> .5, 1) = 1
    assert METRICS["squad_v1_exact_match"](golds, preds) == pytest.approx(50.0)
    assert METRICS["squad_v1_f1"](golds, preds) == pytest.approx(100 * (1 + 2 / 3 + 0 + 1) / 4)


def test_squad_normalisation_keeps_non_ascii_punctuation():
    assert S.normalize_answer("  The  Cat, a dog. ") == "cat dog"
    assert S.normalize_answer("banana and the band") == "banana and band"  # whole-word articles only
    # 。 and « » are not in string.punctuation: XQuAD/TyDiQA (SQuAD script) keep them
    assert S.exact_v1("巴黎。", "巴黎") == 0.0
    assert S.f1_v1("«Paris»", "Paris") == 0.0
    assert S.exact_v1("$100", "100") == 1.0


def test_squad_v1_vs_v2_empty_answers():
    # v1.1: an empty prediction never scores, even against an empty gold; v2.0: both empty is a match
    assert METRICS["squad_v1_f1"]([[]], [""]) == 0.0
    assert METRICS["squad_v2_f1"]([[]], [""]) == 100.0
    assert METRICS["squad_v2_exact_match"]([[]], [""]) == 100.0
    assert METRICS["squad_v2_f1"]([[]], ["Paris"]) == 0.0
    assert METRICS["squad_v2_f1"]([["Paris"]], [""]) == 0.0
    assert METRICS["squad_v2_f1"]([["big red car"]], ["red car"]) == pytest.approx(100 * 0.8)  # P=1, R=2/3
    # v2.0 drops golds that normalise to nothing ("The." -> ""): the question counts as unanswerable
    assert METRICS["squad_v2_exact_match"]([["The."]], [""]) == 100.0
    assert METRICS["squad_v1_exact_match"]([["The."]], [""]) == 100.0  # v1.1 EM compares "" with ""
    assert METRICS["squad_v1_f1"]([["The."]], [""]) == 0.0             # ... but its F1 has no tokens to share


def test_missing_gold_raises():
    with pytest.raises(MissingGold, match="missing"):
        METRICS["squad_v1_f1"]([None, ["a"]], ["a", "a"])
    with pytest.raises(MissingGold):
        METRICS["mlqa_f1"]([None], ["a"], language="en")
    with pytest.raises(ValueError, match="predictions"):
        METRICS["squad_v1_f1"]([["a"]], ["a", "b"])


@pytest.mark.parametrize(("lang", "pred", "gold", "em", "f1"), [
    ("en", "the Eiffel Tower", "Eiffel Tower", 1.0, 1.0),
    ("en", "«Paris»", "Paris", 1.0, 1.0),                  # all Unicode P* punctuation goes
    ("es", "la casa blanca", "casa blanca", 1.0, 1.0),     # Spanish articles
    ("de", "der Hund", "Hund", 1.0, 1.0),                  # German articles
    ("de", "the Hund", "Hund", 0.0, 2 / 3),                # English articles are not German ones: P=1/2, R=1
    ("vi", "những con mèo", "con mèo", 1.0, 1.0),          # Vietnamese "articles"
    ("hi", "भारत।", "भारत", 1.0, 1.0),                      # danda is punctuation
    ("ar", "الكتاب", "كتاب", 1.0, 1.0),                     # ال removed
    ("ar", "مالك", "م ك", 1.0, 1.0),                        # ... everywhere, even inside a word (official regex)
    ("zh", "北京大学", "北京", 0.0, 2 / 3),                  # chars are tokens: P=2/4, R=2/2
    ("zh", "巴黎。", "巴黎", 1.0, 1.0),
    ("zh", "iPhone 手机", "iphone", 0.0, 0.5),             # [iphone, 手, 机] vs [iphone]: P=1/3, R=1
    ("zh", "的", "得", 0.0, 0.0),
])
def test_mlqa_language_aware(lang, pred, gold, em, f1):
    assert M.exact(pred, gold, lang) == em
    assert M.f1(pred, gold, lang) == pytest.approx(f1)


def test_mlqa_zh_segmentation_trap_vs_squad():
    # Without MLQA's mixed segmentation a Chinese answer is one "word": partial overlap scores 0
    assert S.f1_v1("北京大学", "北京") == 0.0
    assert METRICS["mlqa_f1"]([["北京"]], ["北京大学"], language="zh") == pytest.approx(100 * 2 / 3)
    assert M.mixed_segmentation("abc 北京x y") == ["abc", "北", "京", "x", "y"]
    # U+9FA6 is outside the official CJK range [U+4E00, U+9FA5]: not split off
    assert M.mixed_segmentation("\u9fa6\u9fa6") == ["\u9fa6\u9fa6"]


def test_mlqa_mean_and_unknown_language():
    golds = [["casa blanca"], ["perro"], ["el gato", "gato negro"]]
    preds = ["la casa blanca", "gato", "un gato"]
    # EM: 1, 0, 1 ("un gato" -> "gato" == "el gato" -> "gato") -> 66.67; F1: 1, 0, 1
    assert METRICS["mlqa_exact_match"](golds, preds, language="es") == pytest.approx(200 / 3)
    assert METRICS["mlqa_f1"](golds, preds, language="es") == pytest.approx(200 / 3)
    with pytest.raises(ValueError, match="not one of"):
        METRICS["mlqa_f1"]([["a"]], ["a"], language="fr")
