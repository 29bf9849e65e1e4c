"""Paired bootstrap confidence intervals over seeds and examples, from the per-example predictions files.

Every leaderboard row points to its predictions file (``predictions``, relative to the leaderboard file) and
its sha256. How a metric resamples is read from its :class:`harness.core.specs.Metric` record in the registry
(built-in or a plugin's): per-example scores (the value is their mean: example indices are resampled), per-example
counts with an ``aggregate`` (micro F1: the counts are summed over each resample), a ``resample`` of its own
(BUCC: the threshold re-chosen on each resample), or else the corpus scorer re-scores each resample (used when
calling it one example at a time averages back to the value). Every path is checked against the row's value;
when none reproduces it (or the file is missing or altered) only seeds are resampled, and the interval says so in
its ``method``.

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

from harness.results.leaderboard import SOURCE_KEY


@dataclass
class Scored:
    """One (system, seed, language) evaluation: its row value and, when available, what resampling needs."""

    value: float
    ids: list | None = None
    vector: np.ndarray | None = None      # per-example scores (decomposable metric)
    counts: np.ndarray | None = None      # per-example counts (e.g. true positives, predicted, gold chunks) ...
    aggregate: Any = None                 # ... and the metric's map from their sums (B, k) to values (B,)
    resampler: Any = None                 # the metric's own: ``values(weights (B, n)) -> (B,)`` (BUCC)
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
    from harness.core.registry import registry

    record = registry().metrics.get(metric)
    if record is None:
        return Scored(value, note=f"metric {metric!r} is not registered (no plugin provides it): seeds only")
    fn = record.score
    lang = row.get("language")

    def close(v: float) -> bool:
        return abs(v - value) <= tolerance * max(1.0, abs(value))

    def call(g: list, p: list) -> float:
        out = fn(g, p, language=lang)
        return float(getattr(out, "value", out))

    if record.resample is not None:
        own = record.resample(preds)
        if own is not None and close(float(own.values(np.ones((1, len(own.ids))))[0])):
            return Scored(value, ids=list(own.ids), resampler=own)
    if record.per_example is not None:
        try:
            per = np.array([record.per_example(g, p) for g, p in zip(golds, predictions)], dtype=np.float64)
        except Exception:  # noqa: BLE001 - predictions of another shape: the paths below decide
            per = None
        if per is not None and record.aggregate is not None:
            counts = per.reshape(len(golds), -1)
            if close(float(record.aggregate(counts.sum(axis=0)[None, :])[0])):
                return Scored(value, ids=ids, counts=counts, aggregate=record.aggregate)
        elif per is not None and close(float(per.mean())):
            return Scored(value, ids=ids, vector=per)
    if fn is not None:  # per-example when it is a mean of per-example scores, else re-scored per resample
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
    return Scored(value, note=f"re-scoring {metric} from the predictions does not reproduce the row value {value}")


# --- the paired bootstrap ----------------------------------------------------------------------------------

def _replicates(cell: Scored, idx: np.ndarray) -> np.ndarray:
    """(B,) metric values of one evaluation under the example index matrix ``idx`` (B, n)."""
    if cell.vector is not None:
        return cell.vector[idx].mean(axis=1)
    if cell.counts is not None:
        return np.asarray(cell.aggregate(cell.counts[idx].sum(axis=1)), dtype=np.float64)
    if cell.resampler is not None:
        weights = np.zeros((idx.shape[0], len(cell.ids)))
        np.add.at(weights, (np.arange(idx.shape[0])[:, None], idx), 1.0)
        return cell.resampler.values(weights)
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
                         or c.resampler is not None for c in cells)
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
