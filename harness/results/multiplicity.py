"""Multiplicity control for one report: its family of comparisons, bootstrap p-values, Holm and Benjamini–Hochberg.

The family is every gain interval the report shows: each (model, task, metric, intermediate) cell × its groups
(``en`` English, ``xx`` the non-English mean) — cells × languages × metrics — or the pre-registered subset that
``--family KEY=VALUE`` filters name. Each comparison's p-value is the two-sided normal p-value of "gain = 0" with
the bootstrap standard error (:func:`bootstrap_p`); Holm's step-down adjustment controls the family-wise error rate, Benjamini–Hochberg's
step-up adjustment the false discovery rate (both as ``statsmodels.stats.multitest.multipletests`` computes
them, methods ``holm`` and ``fdr_bh``). Verdict words ("helps", "hurts") follow the Holm-adjusted result and the
metric's direction (``Metric.higher_is_better``).
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np

FAMILY_KEYS = ("model", "task", "metric", "intermediate", "group", "split", "model_group")


def bootstrap_p(reps: np.ndarray, estimate: float | None = None) -> float:
    """Two-sided p-value of "the gain is 0" from the bootstrap: ``2 · (1 − Φ(|estimate| / se))`` with ``se`` the
    replicates' standard deviation (``estimate`` defaults to their mean). A normal p-value rather than counting
    replicates below 0: a count floors at 2/(B + 1), which a family of dozens of comparisons cannot adjust past
    (2/1001 × 54 > 0.05). Zero spread: 1 when the estimate is 0, else 0."""
    reps = np.asarray(reps, dtype=np.float64)
    est = float(reps.mean()) if estimate is None else float(estimate)
    se = float(np.std(reps, ddof=1)) if reps.size > 1 else 0.0
    if se == 0.0:
        return 1.0 if est == 0.0 else 0.0
    return float(min(1.0, 2 * (1 - NormalDist().cdf(abs(est) / se))))


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    out = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def benjamini_hochberg(p: list[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjusted p-values (false discovery rate), in the input order."""
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    out = np.empty(m)
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, min(1.0, m / (rank + 1) * p[i]))
        out[i] = running
    return out.tolist()


def parse_family(specs: tuple[str, ...] | list[str]) -> dict[str, set[str]]:
    """``("task=xnli,pawsx", "group=xx")`` → ``{"task": {"xnli", "pawsx"}, "group": {"xx"}}``; a bad item raises
    ValueError naming it and the keys."""
    out: dict[str, set[str]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        if not sep or key not in FAMILY_KEYS or not values:
            raise ValueError(f"--family {spec!r}: expected KEY=VALUE[,VALUE…] with KEY one of "
                             f"{', '.join(FAMILY_KEYS)}, e.g. --family task=xnli --family group=xx")
        out.setdefault(key, set()).update(v.strip() for v in values.split(","))
    return out


def higher_is_better(metric: str) -> bool:
    """The metric's ``Metric.higher_is_better`` from the registry (True for a metric no plugin registers)."""
    from harness.core.registry import registry

    record = registry().metrics.get(metric)
    return True if record is None else bool(record.higher_is_better)


def verdict(gain: float, p_adjusted: float | None, alpha: float, higher_is_better: bool, *,
            how: str = "Holm") -> str:
    """Plain words for one comparison, from its adjusted p-value and the metric's direction."""
    if p_adjusted is None:
        return "outside the family (not adjusted)"
    if p_adjusted >= alpha or gain == 0:
        return f"no evidence of a difference ({how}-adjusted p {p_adjusted:.3g})"
    better = (gain > 0) == higher_is_better
    return f"{'helps' if better else 'hurts'} ({how}-adjusted p {p_adjusted:.3g})"


def apply_family(records: list[dict[str, Any]], level: float, family: dict[str, set[str]] | None = None
                 ) -> dict[str, Any]:
    """Annotate every gain group (``rec['en']``/``rec['xx']`` holding ``p``) with ``p_holm``, ``p_bh``,
    ``in_family``, ``higher_is_better`` and ``verdict``; return the family's description."""
    family = family or {}
    members: list[tuple[dict, str]] = []
    for rec in records:
        for group in ("en", "xx"):
            g = rec.get(group)
            if g is None or g.get("p") is None:
                continue
            g["higher_is_better"] = higher_is_better(rec["metric"])
            facts = {**{k: str(rec.get(k)) for k in FAMILY_KEYS if k != "group"}, "group": group}
            g["in_family"] = all(facts.get(k) in vals for k, vals in family.items())
            if g["in_family"]:
                members.append((rec, group))
    ps = [rec[group]["p"] for rec, group in members]
    for (rec, group), ph, pb in zip(members, holm(ps), benjamini_hochberg(ps)):
        rec[group].update(p_holm=ph, p_bh=pb)
    alpha = 1 - level
    for rec in records:
        for group in ("en", "xx"):
            g = rec.get(group)
            if g is None or g.get("p") is None:
                continue
            g.setdefault("p_holm", None)
            g.setdefault("p_bh", None)
            up = True if rec.get("gain_is_improvement") else g["higher_is_better"]  # gains.py: + is better
            g["verdict"] = verdict(g["gain"], g["p_holm"], alpha, up)
            g["verdict_bh"] = verdict(g["gain"], g["p_bh"], alpha, up, how="BH")
    cells = {tuple(str(rec.get(k)) for k in ("model", "task", "metric", "intermediate", "split"))
             for rec, _ in members}
    groups = sorted({group for _, group in members})
    metrics = sorted({str(rec["metric"]) for rec, _ in members})
    tasks = {str(rec["task"]) for rec, _ in members}
    what = (f"{len(members)} comparisons: {len(cells)} cells × languages ({', '.join(groups) or '-'}) × "
            f"{len(metrics)} metric{'s' if len(metrics) != 1 else ''} over {len(tasks)} task"
            f"{'s' if len(tasks) != 1 else ''}")
    if family:
        what += "; narrowed by --family " + " ".join(f"{k}={','.join(sorted(v))}" for k, v in sorted(family.items()))
    return {"size": len(members), "description": what, "filters": {k: sorted(v) for k, v in family.items()},
            "alpha": alpha, "adjustments": ["holm (family-wise error)", "fdr_bh (false discovery rate)"],
            "verdicts_follow": "holm"}
