"""How numbers print and parse: one parameter-count style for every view (``harness models``, summary, report,
HTML) and the ``checkpoint_every`` cadence (``"500 steps"``, ``"30 min"``)."""

from __future__ import annotations

import re
from typing import Any

DEFAULT_EVERY = "30 min"  # a node that ends within half an hour never writes a resume checkpoint


def fmt_params(p: int | None) -> str:
    """Parameters in three significant digits with a K/M/B suffix: 36992 → ``37K``, 278e6 → ``278M``."""
    if not p:
        return "-"
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if p >= div:
            return f"{p / div:.3g}{unit}"
    return str(p)


def parse_every(value: Any) -> tuple[str, float] | None:
    """``("steps", n)``, ``("seconds", s)`` or None (off) from a ``checkpoint_every`` value (None: the default)."""
    if value is None:
        value = DEFAULT_EVERY
    if isinstance(value, bool):
        raise ValueError(f"checkpoint_every: {value!r} is not a number of steps or minutes (e.g. '500 steps', '30 min', 0)")
    if isinstance(value, (int, float)):
        return ("steps", int(value)) if value > 0 else None
    text = str(value).strip().lower()
    if text in ("0", "off", "none", "never"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(steps?|min|mins|minutes?|s|sec|seconds?|h|hours?)?", text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"checkpoint_every: {value!r} is not a number of steps or minutes "
                         "(e.g. '500 steps', '30 min', 0 for off)")
    n, unit = float(m.group(1)), (m.group(2) or "steps")
    if unit.startswith("step"):
        return "steps", int(n)
    scale = 60.0 if unit.startswith("min") else 3600.0 if unit.startswith("h") else 1.0
    return "seconds", n * scale
