"""Generation options: the defaults a FLORES node runs with, and the check that names unknown keys."""

from __future__ import annotations

from typing import Any

BITEXT_EXEMPTION = "bitext"

DEFAULT_OPTIONS: dict[str, Any] = {
    "prompt": None, "k_shot": 0, "num_beams": 4, "length_penalty": 1.0, "max_new_tokens": 512,
    "max_new_tokens_ratio": 2.0, "max_new_tokens_extra": 16, "max_source_length": 512, "max_target_length": 256,
    "batch_size": 16, "label_smoothing": 0.0, "select_fraction": 0.1, "select_num_beams": 1, "bitext": None,
    "spm_model": None, "spm_name": None,
}


def options_of(params: dict[str, Any] | None) -> dict[str, Any]:
    """Generation options from a node's params, over the defaults; unknown keys are an error."""
    given = dict((params or {}).get("options") or {})
    unknown = set(given) - set(DEFAULT_OPTIONS)
    if unknown:
        raise ValueError(f"generation options {sorted(unknown)} are unknown; allowed: {', '.join(DEFAULT_OPTIONS)}")
    return {**DEFAULT_OPTIONS, **given}
