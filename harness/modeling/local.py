"""Shared pieces of model families that build a small encoder locally (tests, quickstart): checking a spec's
``options`` against the family's defaults, a BERT-style encoder config from those options, and a seeded build.

Nothing here names a model; the families in the model plugins pass their own classes and special-token ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.core.specs import ModelSpec


def model_options(spec: ModelSpec, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``spec.options`` over ``defaults``; an option the family does not know is an error naming the model."""
    unknown = set(spec.options) - set(defaults)
    if unknown:
        raise ValueError(f"model {spec.name!r}: unknown options {sorted(unknown)}; allowed: {sorted(defaults)}")
    return {**defaults, **spec.options}


def encoder_config(config_class: Callable[..., Any], options: Mapping[str, Any], vocab_size: int,
                   **special: Any) -> Any:
    """A BERT-style encoder config (``hidden``, ``layers``, ``heads``, ``intermediate``, ``max_positions`` and
    ``dropout``, default 0.1, from ``options``) plus the family's own fields (``special``: token-type and
    special-token ids)."""
    dropout = options.get("dropout", 0.1)
    return config_class(vocab_size=vocab_size, hidden_size=options["hidden"], num_hidden_layers=options["layers"],
                        num_attention_heads=options["heads"], intermediate_size=options["intermediate"],
                        max_position_embeddings=options["max_positions"], hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout, **special)


def seeded_encoder(build: Callable[[], Any], tokenizer: Any, hidden: int, seed: int,
                   max_length: int | None = None) -> Any:
    """An ``Encoder`` whose module ``build()`` creates after ``torch.manual_seed(seed)`` (same seed, same weights);
    ``max_length`` becomes the tokenizer's ``model_max_length``."""
    import torch

    from harness.modeling.encoder import Encoder

    if max_length is not None:
        tokenizer.model_max_length = max_length
    torch.manual_seed(seed)
    return Encoder(module=build(), tokenizer=tokenizer, hidden_size=hidden)
