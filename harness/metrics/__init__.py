"""Metrics, each written to match its benchmark's official script on the same predictions.

Every metric is a :class:`harness.core.specs.Metric` record in the registry (built-ins from
:mod:`harness.metrics.builtin`, others from plugins' ``register_metrics``). ``METRICS`` maps a metric name to its
scorer ``fn(golds, predictions, **context) -> float`` and ``IMPLEMENTATION`` to the string that goes into the row
signature (what the number is bit-compatible with): both are views of the registry. A metric value may be
returned as :class:`Value` to carry a direction, variant, example count or signature of its own.
"""

from __future__ import annotations

from harness.metrics.base import (
    IMPLEMENTATION,
    METRICS,
    MissingGold,
    Value,
    accuracy,
    check_gold,
    metric,
    score_by_name,
)

__all__ = ["IMPLEMENTATION", "METRICS", "MissingGold", "Value", "accuracy", "check_gold", "metric", "score_by_name"]
