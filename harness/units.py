"""How numbers print: one parameter-count style for every view (``harness models``, summary, report, HTML)."""

from __future__ import annotations


def fmt_params(p: int | None) -> str:
    """Parameters in three significant digits with a K/M/B suffix: 36992 → ``37K``, 278e6 → ``278M``."""
    if not p:
        return "-"
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if p >= div:
            return f"{p / div:.3g}{unit}"
    return str(p)
