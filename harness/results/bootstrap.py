"""Paired bootstrap confidence intervals over seeds and examples, from the per-example predictions files.

Every leaderboard row points to its predictions file (``predictions``, relative to the leaderboard file) and
its sha256. For a metric that is a mean of per-example scores (accuracy, QA F1/EM) the bootstrap resamples
example indices; for any other metric registered in :data:`harness.metrics.METRICS` it re-scores each
resample with the metric itself; otherwise (or when the file is missing, altered, or does not reproduce the
row's value) only seeds are resampled, and the interval says so in its ``method``.

One replicate: draw the seeds with replacement (paired: the same seed indices for both systems), and for every
language draw its example indices with replacement (paired: the same indices for both systems and every seed,
since they are evaluated on the same test set). Draws happen in a fixed order (seeds, then languages sorted),
from ``numpy.random.default_rng(seed)``, so a given input and seed always give the same interval.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.metrics.squad import exact_v1, f1_v1
from harness.results.leaderboard import SOURCE_KEY

# --- per-example scores -----------------------------------------------------------------------------------

def _gold_answers(gold: Any) -> list[str]:
    if isinstance(gold, dict):
        gold = gold.get("text", [])
    if isinstance(gold, str):
        return [gold]
    return [str(g) for g in (gold or [])]


def qa_f1(gold: Any, pred: Any) -> float:
    answers = _gold_answers(gold)
    return 100.0 * max((f1_v1(str(pred), a) for a in answers), default=0.0)


def qa_exact_match(gold: Any, pred: Any) -> float:
    answers = _gold_answers(gold)
    return 100.0 * max((exact_v1(str(pred), a) for a in answers), default=0.0)


def exact(gold: Any, pred: Any) -> float:
    return 100.0 * float(gold == pred)


# Per-example scores (×100) for metric names outside harness.metrics.METRICS (hand-built or older rows);
# registered metrics are tested for being a mean of per-example scores by calling them one example at a time.
PER_EXAMPLE = {"accuracy": exact, "pos_accuracy": exact, "tatoeba_accuracy": exact, "f1": qa_f1,
               "exact_match": qa_exact_match}


# Micro F1 over chunk sets (seqeval): F1 = 2·TP / (predicted + gold), resampled from per-sentence counts.
CHUNK_F1 = ("ner_seqeval_f1", "pos_seqeval_f1")

# BUCC F1 of mined pairs, resampled over source sentences: with the threshold re-chosen on every resample
# (``oracle``, as the row chose it on the scored split) or the row's dev threshold (``dev``).
BUCC_F1 = {"bucc_f1_margin_oracle": "oracle", "bucc_f1_margin_dev_threshold": "dev"}


@dataclass
class Mined:
    """Per source sentence: its best candidate's score (-inf: none), whether that candidate is a gold pair, and
    how many gold pairs it has; ``threshold`` for the dev mode (None: oracle)."""

    score: np.ndarray
    hit: np.ndarray
    gold: np.ndarray
    threshold: float | None

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


def mined_pairs(predictions: list[dict], metric: str) -> Mined | None:
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
    if BUCC_F1[metric] == "dev":
        found = {p["prediction"].get("dev_threshold") for p in sources} - {None}
        if len(found) != 1:
            return None
        threshold = float(found.pop())
    return Mined(score, hit, gold, threshold)


def chunk_counts(golds: list, predictions: list) -> np.ndarray | None:
    """Per sentence (true positives, predicted chunks, gold chunks) with the seqeval-0.0.12 chunker, or None."""
    try:
        from harness.metrics.seqeval_compat import get_entities
    except ImportError:
        return None
    rows = []
    for g, p in zip(golds, predictions):
        if not isinstance(g, list) or not isinstance(p, list):
            return None
        gold, pred = set(get_entities(g)), set(get_entities(p))
        rows.append((len(gold & pred), len(pred), len(gold)))
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


@dataclass
class Scored:
    """One (system, seed, language) evaluation: its row value and, when available, what resampling needs."""

    value: float
    ids: list | None = None
    vector: np.ndarray | None = None      # per-example scores (decomposable metric)
    counts: np.ndarray | None = None      # per-example (true positives, predicted, gold) chunk counts (F1)
    mined: Mined | None = None            # BUCC: per-source scores, hits and gold counts
    golds: list | None = None             # for re-scoring a non-decomposable metric
    preds: list | None = None
    metric_fn: Any = None
    note: str | None = None


def predictions_path(row: dict[str, Any]) -> Path | None:
    rel = row.get("predictions")
    if not rel:
        return None
    p = Path(rel)
    if not p.is_absolute() and row.get(SOURCE_KEY):
        p = Path(row[SOURCE_KEY]).parent / p
    return p


def load_predictions(row: dict[str, Any]) -> tuple[list[dict] | None, str | None]:
    """The row's predictions (``id``, ``prediction``, ``gold`` per line) or None with the reason."""
    path = predictions_path(row)
    if path is None:
        return None, "row has no predictions file"
    if not path.exists():
        return None, f"predictions file {path} is missing"
    data = path.read_bytes()
    want = row.get("predictions_sha256")
    if want and hashlib.sha256(data).hexdigest() != want:
        return None, f"predictions file {path} does not match the row's sha256 (changed since the run)"
    out = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return out, None


def scored(row: dict[str, Any], tolerance: float = 1e-6) -> Scored:
    """Prepare one row for resampling; falls back to seeds-only (value alone) with a note."""
    value = float(row["value"])
    preds, why = load_predictions(row)
    if preds is None:
        return Scored(value, note=why)
    metric = row["metric"]
    golds = [p.get("gold") for p in preds]
    predictions = [p.get("prediction") for p in preds]
    ids = [p.get("id") for p in preds]
    if not preds:
        return Scored(value, note="predictions file is empty")
    from harness.metrics import METRICS

    fn = METRICS.get(metric)
    lang = row.get("language")

    def close(v: float) -> bool:
        return abs(v - value) <= tolerance * max(1.0, abs(value))

    def call(g: list, p: list) -> float:
        out = fn(g, p, language=lang)
        return float(getattr(out, "value", out))

    if metric in BUCC_F1:  # resampled over source sentences: target-side lines carry no prediction
        mined = mined_pairs(preds, metric)
        if mined is not None and close(float(mined.f1(np.ones(len(mined.score)))[0])):
            sources = [p.get("id") for p in preds if isinstance(p.get("prediction"), dict)]
            return Scored(value, ids=sources, mined=mined)
    if metric in CHUNK_F1:
        counts = chunk_counts(golds, predictions)
        if counts is not None:
            tp, n_pred, n_gold = counts.sum(axis=0)
            if close(200.0 * tp / (n_pred + n_gold) if tp > 0 else 0.0):
                return Scored(value, ids=ids, counts=counts)
    if fn is not None:  # a registered metric: per-example when it is a mean of per-example scores
        try:
            full = call(golds, predictions)
            vec = np.array([call([g], [p]) for g, p in zip(golds, predictions)], dtype=np.float64)
        except Exception as err:  # noqa: BLE001 - a metric that cannot re-score falls back to seeds
            return Scored(value, note=f"re-scoring {metric} failed: {err}")
        if close(full):
            if close(float(vec.mean())) and abs(float(vec.mean()) - full) <= 1e-9 * max(1.0, abs(full)):
                return Scored(value, ids=ids, vector=vec)
            return Scored(value, ids=ids, golds=golds, preds=predictions,
                          metric_fn=lambda g, p: call(g, p))
    elif metric in PER_EXAMPLE:
        vec = np.array([PER_EXAMPLE[metric](g, p) for g, p in zip(golds, predictions)], dtype=np.float64)
        if close(float(vec.mean())):
            return Scored(value, ids=ids, vector=vec)
    return Scored(value, note=f"re-scoring {metric} from the predictions does not reproduce the row value {value}")


# --- the paired bootstrap ----------------------------------------------------------------------------------

def _replicates(cell: Scored, idx: np.ndarray) -> np.ndarray:
    """(B,) metric values of one evaluation under the example index matrix ``idx`` (B, n)."""
    if cell.vector is not None:
        return cell.vector[idx].mean(axis=1)
    if cell.counts is not None:
        tp, n_pred, n_gold = (cell.counts[:, k][idx].sum(axis=1) for k in range(3))
        denom = n_pred + n_gold
        return np.where(tp > 0, 200.0 * tp / np.where(denom > 0, denom, 1), 0.0)
    if cell.mined is not None:
        n = len(cell.mined.score)
        weights = np.zeros((idx.shape[0], n))
        np.add.at(weights, (np.arange(idx.shape[0])[:, None], idx), 1.0)
        return cell.mined.f1(weights)
    if cell.metric_fn is not None:
        out = np.empty(idx.shape[0])
        for b, row in enumerate(idx):
            out[b] = cell.metric_fn([cell.golds[i] for i in row], [cell.preds[i] for i in row])
        return out
    return np.full(idx.shape[0], cell.value)


def paired_replicates(base: dict[tuple, Scored], other: dict[tuple, Scored], languages: list[str],
                      n_boot: int, rng: np.random.Generator) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str]:
    """Bootstrap replicates per language of both systems' seed-mean score, paired over seeds and examples.

    ``base``/``other`` map ``(seed, language)`` to :class:`Scored`. Returns ``({language: (base_reps,
    other_reps)}, method)`` with replicate arrays of shape ``(n_boot,)``; one seed draw serves every language.
    """
    seeds_b = sorted({s for s, _ in base}, key=str)
    seeds_o = sorted({s for s, _ in other}, key=str)
    paired_seeds = seeds_b == seeds_o
    pick_b = rng.integers(0, len(seeds_b), size=(n_boot, len(seeds_b)))
    pick_o = pick_b if paired_seeds else rng.integers(0, len(seeds_o), size=(n_boot, len(seeds_o)))
    total = resampled = 0
    unpaired_examples = False
    out = {}
    for lang in sorted(languages):
        cells_b = [base[(s, lang)] for s in seeds_b]
        cells_o = [other[(s, lang)] for s in seeds_o]
        cells = cells_b + cells_o
        total += len(cells)
        resampled += sum(c.vector is not None or c.counts is not None or c.metric_fn is not None
                         or c.mined is not None for c in cells)
        with_ids = [c for c in cells if c.ids is not None]
        if with_ids and all(c.ids == with_ids[0].ids for c in with_ids):
            n = len(with_ids[0].ids)
            idx = rng.integers(0, n, size=(n_boot, n))
            reps_b = np.stack([_replicates(c, idx) for c in cells_b], axis=1)   # (B, seeds)
            reps_o = np.stack([_replicates(c, idx) for c in cells_o], axis=1)
        else:  # different example sets: resample each evaluation on its own
            unpaired_examples = unpaired_examples or bool(with_ids)

            def own(c: Scored) -> np.ndarray:
                if c.ids is None:
                    return np.full(n_boot, c.value)
                return _replicates(c, rng.integers(0, len(c.ids), size=(n_boot, len(c.ids))))
            reps_b = np.stack([own(c) for c in cells_b], axis=1)
            reps_o = np.stack([own(c) for c in cells_o], axis=1)
        out[lang] = (np.take_along_axis(reps_b, pick_b, axis=1).mean(axis=1),
                     np.take_along_axis(reps_o, pick_o, axis=1).mean(axis=1))
    n_seeds = f"{len(seeds_b)} seed{'s' if len(seeds_b) != 1 else ''}{'' if paired_seeds else ', unpaired'}"
    if resampled == 0:
        method = f"seeds only ({n_seeds}; no usable predictions)"
    else:
        examples = "examples" if resampled == total else f"examples ({resampled}/{total} evaluations)"
        method = f"paired: seeds ({n_seeds}) × {examples}" + (
            " (example sets differ: unpaired)" if unpaired_examples else "")
    return out, method


def interval(reps: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates."""
    lo, hi = np.percentile(reps, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)
