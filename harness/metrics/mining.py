"""BUCC F1 under resampling: the mined pairs of a predictions file, scored for any multiset of source sentences.

``leaderboard report`` resamples BUCC over source sentences (target-side lines carry no prediction), with the
threshold re-chosen on every resample (``oracle``, as the row chose it on the scored split) or the row's dev
threshold kept (``dev``); :func:`mined_pairs` is the ``resample`` of both BUCC metric records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Mined:
    """Per source sentence: its best candidate's score (-inf: none), whether that candidate is a gold pair, and
    how many gold pairs it has; ``threshold`` for the dev mode (None: oracle); ``ids`` the source sentences."""

    score: np.ndarray
    hit: np.ndarray
    gold: np.ndarray
    threshold: float | None
    ids: list | None = None

    def values(self, weights: np.ndarray) -> np.ndarray:
        """The resampler interface of :class:`harness.core.specs.Metric`: F1 per row of multiplicities."""
        return self.f1(weights)

    def f1(self, weights: np.ndarray) -> np.ndarray:
        """(B,) F1 in percent for (B, n) multiplicities of the source sentences (``prf`` with repeats counted)."""
        weights = np.atleast_2d(weights).astype(np.float64)
        n_gold = weights @ self.gold
        if self.threshold is not None:
            kept = self.score >= self.threshold
            tp, pred = weights @ (self.hit & kept), weights @ kept
            return np.where(tp > 0, 200.0 * tp / np.maximum(pred + n_gold, 1e-300), 0.0)
        # As best_threshold does on the resample written out (copies of a sentence adjacent, sentences in file
        # order): the first prefix with the best F1 sets the threshold between its score and the next one, so the
        # reported F1 is that of the prefix extended to the end of its group of equal scores.
        order = np.argsort(-self.score, kind="stable")
        order = order[np.isfinite(self.score[order])]
        if order.size == 0:
            return np.zeros(weights.shape[0])
        scores = self.score[order]
        group_end = np.flatnonzero(np.diff(scores, append=-np.inf) != 0)
        end_of = np.repeat(group_end, np.diff(np.concatenate(([-1], group_end))))  # position -> its group's end
        tp = np.cumsum(weights[:, order] * self.hit[order], axis=1)
        pred = np.cumsum(weights[:, order], axis=1)
        f1 = np.where(tp > 0, 200.0 * tp / np.maximum(pred + n_gold[:, None], 1e-300), 0.0)
        best = end_of[np.argmax(f1, axis=1)]
        return f1[np.arange(f1.shape[0]), best]


def mined_pairs(predictions: list[dict], mode: str) -> Mined | None:
    """:class:`Mined` from a BUCC predictions file (source lines carry ``{target, score, dev_threshold}`` and
    their gold target ids; target-side lines carry nothing), or None when the file is not of that shape."""
    sources = [p for p in predictions if isinstance(p.get("prediction"), dict)]
    if not sources or any(not isinstance(p.get("gold"), list) for p in sources):
        return None
    score = np.array([p["prediction"]["score"] if p["prediction"].get("target") is not None
                      and p["prediction"].get("score") is not None else -np.inf for p in sources], dtype=np.float64)
    hit = np.array([p["prediction"].get("target") in p["gold"] for p in sources], dtype=bool)
    gold = np.array([len(p["gold"]) for p in sources], dtype=np.float64)
    threshold = None
    if mode == "dev":
        found = {p["prediction"].get("dev_threshold") for p in sources} - {None}
        if len(found) != 1:
            return None
        threshold = float(found.pop())
    ids = [p.get("id") for p in sources]
    return Mined(score, hit, gold, threshold, ids)
