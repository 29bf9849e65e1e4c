"""Metrics, each written to match its benchmark's official script on the same predictions.

``METRICS`` maps a metric name to ``fn(golds, predictions, **context) -> float`` and ``IMPLEMENTATION``
to the string that goes into the row signature (what the number is bit-compatible with). A metric value may
be returned as :class:`Value` to carry a direction, variant, example count or signature of its own.
"""

from __future__ import annotations

# Metric modules register themselves into METRICS/IMPLEMENTATION on import.
from harness.metrics import mlqa, ranking, seqeval_compat, squad  # noqa: F401
from harness.metrics.base import (
    IMPLEMENTATION,
    METRICS,
    MissingGold,
    Value,
    accuracy,
    check_gold,
    score_by_name,
)

__all__ = ["IMPLEMENTATION", "METRICS", "MissingGold", "Value", "accuracy", "check_gold", "score_by_name"]
