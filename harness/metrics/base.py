"""The metric registry (``METRICS``, ``IMPLEMENTATION``), the :class:`Value` a metric may return, and the gold
checks every metric family shares. Metric modules import from here and add themselves to the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class MissingGold(ValueError):
    """Gold labels are absent (XTREME strips test labels): score dev or a labelled test copy instead."""


@dataclass(frozen=True)
class Value:
    """A metric value with what distinguishes it inside one leaderboard cell."""

    value: float
    direction: str | None = None
    variant: str | None = None
    signature: str | None = None
    n: int | None = None
    extra: dict | None = None


def check_gold(golds: list, predictions: list | None = None, *, what: str = "labels", unit: str = "examples",
               why: str = "XTREME's processed test files carry none") -> None:
    """Refuse to score nothing, a split without gold (:class:`MissingGold`, saying ``why``), or a length mismatch."""
    if not golds:
        raise ValueError(f"nothing to score: no {unit}")
    if any(g is None for g in golds):
        raise MissingGold(
            f"gold {what} are missing for this split ({why}); evaluate on a split with gold {what} or point the "
            "task at a labelled copy"
        )
    if predictions is not None and len(golds) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(golds)} {unit}")


def accuracy(golds: list, predictions: list, **_: Any) -> float:
    """Fraction of exact matches, in percent (XTREME reports ×100)."""
    check_gold(golds, predictions)
    return 100.0 * sum(g == p for g, p in zip(golds, predictions)) / len(golds)


METRICS: dict[str, Callable[..., Any]] = {"accuracy": accuracy}
IMPLEMENTATION: dict[str, str] = {"accuracy": "exact-match-x100"}


def score_by_name(names, golds: list, predictions: list, **context: Any) -> dict[str, Any]:
    """Compute each named metric; unknown names list the available ones."""
    out = {}
    for name in names:
        if name not in METRICS:
            raise KeyError(f"unknown metric {name!r}; available: {', '.join(sorted(METRICS))}")
        out[name] = METRICS[name](golds, predictions, **context)
    return out
