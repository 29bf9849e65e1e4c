"""The report's bootstrap re-scores retrieval rows from their predictions files: Tatoeba accuracy per example
(both directions), BUCC F1 over source sentences with the threshold re-chosen on each resample (oracle) or held at
the dev threshold. Checked against the metric functions the rows were scored with, on resamples whose repeated
sentences are spelled out as distinct pairs."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from harness.metrics import METRICS
from harness.metrics.ranking import apply_threshold, best_threshold
from harness.results.bootstrap import _replicates as _by_weights
from harness.results.bootstrap import _weights, scored

GOLD = ["t0", "t1", "t2", "t3"]
TATOEBA = [{"fwd": "t0", "bwd": "t0"}, {"fwd": "t1", "bwd": "x"}, {"fwd": "x", "bwd": "t2"}, {"fwd": "t3", "bwd": "y"}]

# BUCC: source sentences with their best candidate (target, score) and gold targets; s4 has no candidate; s7 is a
# duplicate of s2 (same candidate, same score, no gold pair: BUCC files repeat sentences), so one group of equal
# scores holds a hit and a miss
SOURCES = [("s0", "e0", 0.9, ["e0"]), ("s1", "e9", 0.8, []), ("s2", "e2", 0.7, ["e2"]), ("s3", "e7", 0.6, ["e3"]),
           ("s4", None, None, ["e4"]), ("s5", "e5", 0.5, ["e5"]), ("s6", "e8", 0.4, []), ("s7", "e2", 0.7, [])]


def test_tatoeba_metrics_read_the_stored_directions():
    assert METRICS["tatoeba_accuracy_xx2en"](GOLD, TATOEBA) == 75.0  # hand: t0 t1 t3 right
    assert METRICS["tatoeba_accuracy_en2xx"](GOLD, TATOEBA) == 50.0  # hand: t0 t2 right
    assert METRICS["tatoeba_accuracy_avg_both_directions"](GOLD, TATOEBA) == 62.5


def _row(tmp_path, metric, value, lines):
    path = tmp_path / f"{metric}.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return {"metric": metric, "value": value, "language": "de", "predictions": str(path),
            "predictions_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def test_tatoeba_rows_resample_per_example(tmp_path):
    lines = [{"id": f"q{i}", "prediction": p, "gold": g} for i, (p, g) in enumerate(zip(TATOEBA, GOLD))]
    cell = scored(_row(tmp_path, "tatoeba_accuracy_en2xx", 50.0, lines))
    assert cell.note is None and cell.vector.tolist() == [100.0, 0.0, 100.0, 0.0]


def _bucc_lines(dev_threshold=None):
    lines = [{"id": s, "prediction": {"target": t, "score": sc, "dev_threshold": dev_threshold}, "gold": g}
             for s, t, sc, g in SOURCES]
    return lines + [{"id": f"e{i}", "prediction": None, "gold": None} for i in range(10)]  # the target side


def _expanded(picks):
    """The resample as distinct pairs, in file order: the k-th copy of sentence i becomes source 'i#k' (its pairs
    too)."""
    cands, gold, seen = [], [], {}
    for i in sorted(picks):
        s, t, sc, g = SOURCES[i]
        k = seen[i] = seen.get(i, -1) + 1
        if t is not None:
            cands.append((f"{s}#{k}", t, sc))
        gold += [(f"{s}#{k}", x) for x in g]
    return cands, gold


def _replicates(cell, idx):
    """The replicates for drawn example indices (B, n), as multiplicities."""
    return _by_weights(cell, _weights(np.asarray(idx), len(cell.ids)))


def test_bucc_oracle_f1_resampled_equals_the_metric_on_the_spelled_out_resample(tmp_path):
    cands, gold = _expanded(range(len(SOURCES)))
    _, full = best_threshold(cands, gold)
    # hand, prefixes by score (s2 before its duplicate s7): F1 = 2*tp/(kept + 5 gold pairs): 2/6, 2/7, 4/8 (s2),
    # 4/9 (s7), 4/10, 6/11 (s5), 6/12: the best keeps s0..s5 (threshold between 0.5 and 0.4), F1 54.5
    assert full["f1"] == pytest.approx(600 / 11)
    cell = scored(_row(tmp_path, "bucc_f1_margin_oracle", full["f1"], _bucc_lines()))
    assert cell.note is None and cell.ids == [s for s, *_ in SOURCES]
    idx = np.random.default_rng(3).integers(0, len(SOURCES), size=(40, len(SOURCES)))
    reps = _replicates(cell, idx)
    want = [best_threshold(*_expanded(row))[1]["f1"] if _expanded(row)[1] else 0.0 for row in idx]
    np.testing.assert_allclose(reps, want, rtol=0, atol=1e-9)
    assert len(set(np.round(reps, 6))) > 3  # the resamples differ
    # a resample whose best prefix ends inside the tie group {s2, s7}: the threshold (0.7) keeps the duplicate too
    row = np.array([[0, 0, 2, 7, 7, 7, 3, 3]])  # F1 by prefix: 4/7, 6/8 (s2), 6/11 (its duplicates), 6/13
    cands, gold = _expanded(row[0])
    assert best_threshold(cands, gold)[0] == pytest.approx(0.7)
    assert _replicates(cell, row)[0] == pytest.approx(best_threshold(cands, gold)[1]["f1"])


def test_bucc_dev_threshold_f1_resampled(tmp_path):
    cands, gold = _expanded(range(len(SOURCES)))
    value = apply_threshold(cands, gold, 0.55)["f1"]  # keeps s0..s3, s7: 2 right of 5, 2 of 5 gold: 2*2/10
    assert value == pytest.approx(40.0)
    cell = scored(_row(tmp_path, "bucc_f1_margin_dev_threshold", value, _bucc_lines(dev_threshold=0.55)))
    idx = np.random.default_rng(4).integers(0, len(SOURCES), size=(40, len(SOURCES)))
    want = [apply_threshold(*_expanded(row), 0.55)["f1"] if _expanded(row)[1] else 0.0 for row in idx]
    np.testing.assert_allclose(_replicates(cell, idx), want, rtol=0, atol=1e-9)


def test_bucc_row_that_the_file_does_not_reproduce_falls_back_to_seeds(tmp_path):
    cell = scored(_row(tmp_path, "bucc_f1_margin_oracle", 51.0, _bucc_lines()))
    assert cell.resampler is None and "does not reproduce" in cell.note
