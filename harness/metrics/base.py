"""What every metric shares: the :class:`Value` a metric may return, the gold checks, and lookups into the
registry (metrics are :class:`harness.core.specs.Metric` records registered through ``register_metrics``; the
built-in ones by :mod:`harness.metrics.builtin`, from the ``RECORDS`` each metric module declares).

``METRICS`` (name -> corpus scorer) and ``IMPLEMENTATION`` (name -> signature string) are read-only views of the
registry, so a metric a plugin registers is found by the same lookups as a built-in one."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness.core.registry import registry
from harness.core.specs import Metric


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


def exact(gold: Any, prediction: Any) -> float:
    """One example's accuracy: 100 when the prediction equals the gold, else 0."""
    return 100.0 * float(gold == prediction)


RECORDS = (Metric("accuracy", "exact-match-x100", accuracy, per_example=exact),)


class _View(Mapping):
    """A read-only view of the registered metrics: ``name -> getattr(record, field)`` (records without it left out)."""

    def __init__(self, field: str) -> None:
        self._field = field

    def _table(self) -> dict[str, Any]:
        got = ((name, getattr(m, self._field)) for name, m in registry().metrics.items())
        return {name: value for name, value in got if value is not None}

    def __getitem__(self, name: str) -> Any:  # one record looked up, not the whole table rebuilt
        value = getattr(registry().metrics[name], self._field)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


METRICS: Mapping[str, Callable[..., Any]] = _View("score")
IMPLEMENTATION: Mapping[str, str] = _View("signature")


def metric(name: str) -> Metric:
    """The registered metric of this name; an unknown name lists the registered ones."""
    return registry().metric(name)


def score_by_name(names, golds: list, predictions: list, **context: Any) -> dict[str, Any]:
    """Compute each named metric; unknown names list the available ones."""
    out = {}
    for name in names:
        if name not in METRICS:
            raise KeyError(f"unknown metric {name!r}; available: {', '.join(sorted(METRICS))}")
        out[name] = METRICS[name](golds, predictions, **context)
    return out
