"""seqeval-0.0.12 chunk semantics (PAN-X F1, XTREME's UD-POS number) and POS token accuracy, by hand."""

from __future__ import annotations

import pytest

from harness.metrics import METRICS, MissingGold, Value
from harness.metrics.seqeval_compat import get_entities, prf


def test_iob2_entities_and_f1():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    # sentences are joined with an O: gold PER(0,1) LOC(3,3) ORG(5,5); pred PER(0,1) ORG(3,3) ORG(5,5)
    assert get_entities(gold) == [("PER", 0, 1), ("LOC", 3, 3), ("ORG", 5, 5)]
    assert prf(gold, pred) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert METRICS["ner_seqeval_f1"](gold, pred) == pytest.approx(200 / 3)


def test_iob2_edge_cases():
    assert get_entities(["O", "I-PER", "I-PER"]) == [("PER", 1, 2)]          # I after O starts a chunk
    assert get_entities(["B-PER", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 1)]  # type change splits
    assert get_entities(["B-PER", "B-PER"]) == [("PER", 0, 0), ("PER", 1, 1)]
    assert METRICS["ner_seqeval_f1"]([["O", "O"]], [["O", "O"]]) == 0.0          # no entities: 0, not 100


def test_pos_chunk_semantics_trap():
    # Raw UPOS tags: first letter = chunk letter, whole tag = type. Runs of one tag merge (NOUN NOUN is ONE chunk)
    # except tags starting with S (SCONJ, SYM), which always close and open a chunk.
    assert get_entities(["NOUN", "NOUN", "VERB", "SCONJ", "SCONJ"]) == [
        ("NOUN", 0, 1), ("VERB", 2, 2), ("SCONJ", 3, 3), ("SCONJ", 4, 4)]
    assert get_entities(["INTJ", "INTJ", "X", "ADJ", "ADP"]) == [("INTJ", 0, 1), ("X", 2, 2), ("ADJ", 3, 3), ("ADP", 4, 4)]
    gold = [["NOUN", "NOUN", "VERB", "SCONJ", "SCONJ"]]
    pred = [["NOUN", "PROPN", "VERB", "SCONJ", "SCONJ"]]
    # gold 4 chunks, pred 5 (NOUN, PROPN, VERB, SCONJ, SCONJ), 3 shared: P=3/5, R=3/4, F1=2/3; accuracy 4/5
    f1 = METRICS["pos_seqeval_f1"](gold, pred)
    acc = METRICS["pos_accuracy"](gold, pred)
    assert isinstance(f1, Value) and f1.value == pytest.approx(200 / 3)
    assert f1.variant == "xtreme-seqeval-0.0.12-chunk-f1"
    assert acc.value == pytest.approx(80.0) and acc.variant == "token-accuracy"
    # one wrong tag can zero the "F1" while accuracy is 50
    assert METRICS["pos_seqeval_f1"]([["NOUN", "NOUN"]], [["NOUN", "VERB"]]).value == 0.0
    assert METRICS["pos_accuracy"]([["NOUN", "NOUN"]], [["NOUN", "VERB"]]).value == 50.0


def test_pos_accuracy_counts_every_word():
    gold = [["DET", "NOUN"], ["VERB", "PUNCT", "X", "NUM"]]
    pred = [["DET", "VERB"], ["VERB", "PUNCT", "X", "NOUN"]]
    assert METRICS["pos_accuracy"](gold, pred).value == pytest.approx(100 * 4 / 6)


def test_errors():
    with pytest.raises(MissingGold):
        METRICS["ner_seqeval_f1"]([None], [["O"]])
    with pytest.raises(ValueError, match="predicted tags"):
        METRICS["pos_accuracy"]([["NOUN", "VERB"]], [["NOUN"]])


def test_iob2_agrees_with_installed_seqeval():
    """Cross-check on IOB2 tags (where seqeval 1.x default mode has the same semantics)."""
    seqeval = pytest.importorskip("seqeval.metrics")
    gold = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC"], ["O", "B-ORG", "I-ORG", "O"], ["I-PER", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC", "I-LOC"], ["O", "B-ORG", "I-ORG", "B-PER"], ["I-PER", "O"]]
    assert METRICS["ner_seqeval_f1"](gold, pred) == pytest.approx(100 * seqeval.f1_score(gold, pred))
