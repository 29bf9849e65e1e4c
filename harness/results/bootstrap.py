"""Paired bootstrap confidence intervals over seeds and examples, from the per-example predictions files.

Every leaderboard row points to its predictions file (``predictions``, relative to the leaderboard file) and
its sha256. How a metric resamples is read from its :class:`harness.core.specs.Metric` record in the registry
(built-in or a plugin's): per-example scores (the value is their mean: example indices are resampled), per-example
counts with an ``aggregate`` (micro F1: the counts are summed over each resample), a ``resample`` of its own
(BUCC: the threshold re-chosen on each resample), or else the corpus scorer re-scores each resample (used when
calling it one example at a time averages back to the value). The predictions are the row's own file, or when it
is missing or changed, its entry in the leaderboard's predictions pack (:mod:`harness.results.pack`). Every path is
checked against the row's value; when none reproduces it (or the predictions are missing or altered) only seeds are
resampled, and the interval says so in its ``method`` (``PREDICTIONS MISSING for k/n evaluations``).

One replicate (hierarchical: seeds, then items): draw the seeds with replacement (paired: the same seed indices
for both systems); then the items. When the task declares its test sets parallel (``TaskSpec.parallel ==
"items"``: XNLI, PAWS-X, XQuAD, MLQA, FLORES), the items are drawn once from the union of item keys (the
example id with the language code removed) and every language takes the draws of its own items, so the
cross-language mean sees the items' shared difficulty; otherwise each language (sorted) draws its own
examples. Either way the same draw serves both systems and every seed (paired). The seed level is corrected
for its small sample: the deviation of the resampled seed mean from the all-seed mean is scaled by
√(n/(n−1)), which makes its variance the unbiased one (plain resampling gives (n−1)/n of it: half with 2
seeds); with fewer than 3 seeds the method says the seed component is uncertain, with 1 that it is not
covered. Draws happen in that fixed order from ``numpy.random.default_rng(seed)``, so a given input and seed
always give the same interval; the ``method`` string says what was resampled.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.results.pack import pack_entry, predictions_path  # noqa: F401  (predictions_path: re-exported)


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
    missing: bool = False                 # no predictions to read (not on disk, not in the pack)


def load_predictions(row: dict[str, Any]) -> tuple[list[dict] | None, str | None]:
    """The row's predictions (``id``, ``prediction``, ``gold`` per line) or None with the reason: its own file when
    present and unchanged, else its entry in the leaderboard's predictions pack (:mod:`harness.results.pack`;
    an entry that does not match its sha256 raises ``PackError``)."""
    path = predictions_path(row)
    want = row.get("predictions_sha256")
    if path is None and not want:
        return None, "row has no predictions file"
    data, why = None, []
    if path is not None and path.exists():
        data = path.read_bytes()
        if want and hashlib.sha256(data).hexdigest() != want:
            why.append(f"predictions file {path} does not match the row's sha256 (changed since the run)")
            data = None
    else:
        why.append(f"predictions file {path} is missing" if path is not None else "row has no predictions file")
    if data is None:
        data, not_packed = pack_entry(row)
        if data is None:
            return None, "; ".join([*why, str(not_packed)])
    out = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return out, None


def scored(row: dict[str, Any], tolerance: float = 1e-6) -> Scored:
    """Prepare one row for resampling; falls back to seeds-only (value alone) with a note."""
    value = float(row["value"])
    preds, why = load_predictions(row)
    if preds is None:
        return Scored(value, note=why, missing=True)
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

def item_key(item_id: Any, codes: set[str]) -> str:
    """An example id with its language codes removed (``test-de-3`` → ``test-3``): what names one item of a
    parallel test set in every language."""
    parts = [t for t in re.split(r"[-:/]", str(item_id)) if t.lower() not in codes]
    return "-".join(parts)


def _weights(idx: np.ndarray, n: int) -> np.ndarray:
    """(B, n) multiplicities of the example indices drawn in ``idx`` (B, m)."""
    b = idx.shape[0]
    flat = (np.arange(b)[:, None] * n + idx).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def _replicates(cell: Scored, w: np.ndarray) -> np.ndarray:
    """(B,) metric values of one evaluation under example multiplicities ``w`` (B, n)."""
    if cell.vector is not None:
        total = w.sum(axis=1)
        return np.where(total > 0, (w @ cell.vector) / np.where(total > 0, total, 1.0), cell.value)
    if cell.counts is not None:
        return np.asarray(cell.aggregate(w @ cell.counts), dtype=np.float64)
    if cell.resampler is not None:
        return np.asarray(cell.resampler.values(w), dtype=np.float64)
    if cell.metric_fn is not None:
        out = np.empty(w.shape[0])
        for b, row in enumerate(w.astype(np.int64)):
            picked = np.repeat(np.arange(row.size), row)
            out[b] = (cell.metric_fn([cell.golds[i] for i in picked], [cell.preds[i] for i in picked])
                      if picked.size else cell.value)
        return out
    return np.full(w.shape[0], cell.value)


def _usable(c: Scored) -> bool:
    return c.vector is not None or c.counts is not None or c.metric_fn is not None or c.resampler is not None


def seed_scale(n_seeds: int) -> float:
    """The small-sample correction of the seed level: resampling n seeds gives (n−1)/n of the unbiased variance
    of their mean, so each replicate's seed deviation is scaled by √(n/(n−1)) (1 with one seed)."""
    return math.sqrt(n_seeds / (n_seeds - 1)) if n_seeds >= 2 else 1.0


def _seed_mean(reps: np.ndarray, pick: np.ndarray, scale: float) -> np.ndarray:
    every = reps.mean(axis=1)
    return every + scale * (np.take_along_axis(reps, pick, axis=1).mean(axis=1) - every)


# why: the draw order is the documented contract (seeds, then items joint or per language); keeping it in one
# function keeps that order readable and checkable against the module docstring.
def paired_replicates(base: dict[tuple, Scored], other: dict[tuple, Scored], languages: list[str],
                      n_boot: int, rng: np.random.Generator, *, parallel: str = "",
                      seed_correction: bool = True) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str]:
    """Bootstrap replicates per language of both systems' seed-mean score, paired over seeds and examples.

    ``base``/``other`` map ``(seed, language)`` to :class:`Scored`. Returns ``({language: (base_reps,
    other_reps)}, method)`` with replicate arrays of shape ``(n_boot,)``; one seed draw serves every language.
    ``parallel="items"`` (the task's declaration): items are drawn once for all languages, matched by
    :func:`item_key`; ``seed_correction`` scales the seed level by :func:`seed_scale`.
    """
    seeds_b = sorted({s for s, _ in base}, key=str)
    seeds_o = sorted({s for s, _ in other}, key=str)
    paired_seeds = seeds_b == seeds_o
    pick_b = rng.integers(0, len(seeds_b), size=(n_boot, len(seeds_b)))
    pick_o = pick_b if paired_seeds else rng.integers(0, len(seeds_o), size=(n_boot, len(seeds_o)))
    scale_b = seed_scale(len(seeds_b)) if seed_correction else 1.0
    scale_o = seed_scale(len(seeds_o)) if seed_correction else 1.0
    langs = sorted(languages)
    cells_of = {lang: ([base[(s, lang)] for s in seeds_b], [other[(s, lang)] for s in seeds_o]) for lang in langs}
    total = sum(len(b) + len(o) for b, o in cells_of.values())
    resampled = sum(_usable(c) for b, o in cells_of.values() for c in (*b, *o))

    shared_ids: dict[str, list] = {}   # language -> the one id list every evaluation of it shares
    unpaired_examples = False
    for lang, (cb, co) in cells_of.items():
        with_ids = [c for c in (*cb, *co) if c.ids is not None]
        if with_ids and all(c.ids == with_ids[0].ids for c in with_ids):
            shared_ids[lang] = with_ids[0].ids
        elif with_ids:
            unpaired_examples = True

    weights: dict[str, np.ndarray] = {}
    joint = ""
    if parallel == "items" and len(shared_ids) >= 2:
        keys = {lang: [item_key(i, {lang.lower()}) for i in ids] for lang, ids in shared_ids.items()}
        union = sorted({k for ks in keys.values() for k in ks})
        if len(union) < sum(len(set(ks)) for ks in keys.values()):   # some item is in two languages or more
            where = {k: j for j, k in enumerate(union)}
            full = _weights(rng.integers(0, len(union), size=(n_boot, len(union))), len(union))
            weights = {lang: full[:, [where[k] for k in ks]] for lang, ks in keys.items()}
            joint = (f"items jointly across {len(weights)} languages (parallel test sets, {len(union)} items"
                     + ("" if all(len(ks) == len(union) for ks in keys.values()) else ", not all in every language")
                     + ")")
        else:
            joint = "examples per language (declared parallel, but no item id is shared between languages)"
    out = {}
    for lang in langs:
        cb, co = cells_of[lang]
        if lang in weights:
            w = weights[lang]
            reps_b = np.stack([_replicates(c, w) for c in cb], axis=1)   # (B, seeds)
            reps_o = np.stack([_replicates(c, w) for c in co], axis=1)
        elif lang in shared_ids:
            n = len(shared_ids[lang])
            w = _weights(rng.integers(0, n, size=(n_boot, n)), n)
            reps_b = np.stack([_replicates(c, w) for c in cb], axis=1)
            reps_o = np.stack([_replicates(c, w) for c in co], axis=1)
        else:  # different example sets: resample each evaluation on its own

            def own(c: Scored) -> np.ndarray:
                if c.ids is None:
                    return np.full(n_boot, c.value)
                m = len(c.ids)
                return _replicates(c, _weights(rng.integers(0, m, size=(n_boot, m)), m))
            reps_b = np.stack([own(c) for c in cb], axis=1)
            reps_o = np.stack([own(c) for c in co], axis=1)
        out[lang] = (_seed_mean(reps_b, pick_b, scale_b), _seed_mean(reps_o, pick_o, scale_o))
    n = len(seeds_b)
    seeds = f"{n} seed{'s' if n != 1 else ''}{'' if paired_seeds else ', unpaired'}"
    if n == 1 and len(seeds_o) == 1:
        seeds += "; training-seed variance not covered"
    elif seed_correction:
        seeds += "; seed spread ×√(n/(n−1))"
        if min(n, len(seeds_o)) < 3:
            seeds += ", seed component uncertain with < 3 seeds"
    missing = sum(c.missing for b, o in cells_of.values() for c in (*b, *o))
    lacking = (f"; PREDICTIONS MISSING for {missing}/{total} evaluations (not on disk, not in the pack): those vary "
               "by seeds only, the interval is too narrow" if missing else "")
    if resampled == 0:
        return out, f"seeds only ({seeds}; no usable predictions){lacking}"
    examples = joint or ("examples per language" + (" (the test sets are not parallel)" if not parallel else
                                                   " (the English sides differ between languages)"
                                                   if parallel == "english-side" else ""))
    if resampled != total:
        examples += f" ({resampled}/{total} evaluations)"
    return out, f"paired: seeds ({seeds}), then {examples}" + (
        " (example sets differ: unpaired)" if unpaired_examples else "") + lacking


def languages_like_these(per_language: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """(B,) replicates of the mean over languages with the languages drawn with replacement too: an interval for
    "languages like these" rather than "these languages". ``per_language``: each language's (B,) gain
    replicates."""
    stack = np.stack(per_language, axis=0)               # (L, B)
    pick = rng.integers(0, stack.shape[0], size=(stack.shape[1], stack.shape[0]))  # (B, L)
    return stack[pick.T, np.arange(stack.shape[1])[None, :]].mean(axis=0)


def interval(reps: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates."""
    lo, hi = np.percentile(reps, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)
