"""Leaderboards and the scale report: aggregate scores, bootstrap intervals, gains over ``none``, figures,
a static HTML page and the XTREME-R submission export. Nothing here imports torch.

Rows are read with :func:`harness.results.leaderboard.load_rows` (the one row loader)."""

from __future__ import annotations


def is_english(language: str | None) -> bool:
    """English in the codes our tasks use: ``en``, ``eng``, ``eng_Latn``, ``en-US``."""
    if not language:
        return False
    lang = language.lower()
    return lang in ("en", "eng") or lang.startswith(("en-", "en_", "eng_", "eng-"))
