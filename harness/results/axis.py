"""The x-axis a gain is plotted and fitted against: parameter count, or the depth of a depth ablation.

A depth ablation (a config's ``depth: k``; rows carry ``depth = {layers, of, of_layers, axis}``) is one model cut
to its first k layers: its own family, on the axis "depth (layers of MODEL)", never "model size". Trends are fitted
within one family only.
"""

from __future__ import annotations

import math
from typing import Any

PARAMETERS = {"family": "parameters", "label": "parameters", "log": True, "unit": "10× parameters"}


def axis_of(row: dict[str, Any]) -> dict[str, Any]:
    """``{family, label, log, unit, x}`` of one row (``x`` None when the row has no size to plot)."""
    depth = row.get("depth")
    if isinstance(depth, dict) and depth.get("layers"):
        return {"family": f"depth ablation of {depth.get('of')}", "label": depth.get("axis")
                or f"depth (layers of {depth.get('of')})", "log": False, "unit": "layer", "x": depth["layers"]}
    return {**PARAMETERS, "x": row.get("model_params") or None}


def position(axis: dict[str, Any]) -> float:
    """Where a point sits on the fitted axis: log10(parameters), or the number of layers."""
    return math.log10(axis["x"]) if axis["log"] else float(axis["x"])


def axis_title(records: list[dict[str, Any]]) -> str:
    """What the model axis of these gain records is, for titles: ``model size``, a depth ablation's own label
    (``depth (layers of multilingual-e5-small)``), or both named when a report mixes them."""
    def label(r: dict[str, Any]) -> str:
        a = r.get("axis")  # a gain record holds the axis itself, a trend only its label
        return a if isinstance(a, str) else (a or axis_of(r))["label"]

    labels = sorted({label(r) for r in records})
    if not labels:
        return "model size"
    named = ["model size" if label == PARAMETERS["label"] else label for label in labels]
    return " / ".join(named)
