"""Published configurations of the scale-ladder models, written down so that no hub access is needed.

The hyper-parameters below are those of each model's ``config.json`` on the Hugging Face hub (the fields that
change the parameter count and the memory footprint). ``describe`` builds the architecture from them on the
meta device (no weights, no network) and counts parameters; a local folder or an unknown hub id falls back to
its own ``config.json`` through ``AutoConfig``.

Published sizes (papers): XLM-R base 270M, large 550M (Conneau et al. 2020), XL 3.5B, XXL 10.7B (Goyal et al.
2021); mT5 small 300M, base 580M, large 1.2B, XL 3.7B, XXL 13B (Xue et al. 2021); mBERT (cased) 12 layers,
hidden 768, 119,547 WordPiece vocabulary (Devlin et al. 2019; the README's "110M" is BERT-base's count, the
larger vocabulary gives 178M).
"""

from __future__ import annotations

from typing import Any

_XLMR = {"model_type": "xlm-roberta", "vocab_size": 250_002, "max_position_embeddings": 514, "type_vocab_size": 1,
         "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "layer_norm_eps": 1e-5}
_XLMR_XL = {**_XLMR, "model_type": "xlm-roberta-xl", "vocab_size": 250_880}
_MT5 = {"model_type": "mt5", "vocab_size": 250_112, "d_kv": 64, "feed_forward_proj": "gated-gelu",
        "tie_word_embeddings": False, "relative_attention_num_buckets": 32, "pad_token_id": 0, "eos_token_id": 1,
        "decoder_start_token_id": 0}

PUBLISHED: dict[str, dict[str, Any]] = {
    "FacebookAI/xlm-roberta-base": {**_XLMR, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                                    "intermediate_size": 3072},
    "FacebookAI/xlm-roberta-large": {**_XLMR, "hidden_size": 1024, "num_hidden_layers": 24,
                                     "num_attention_heads": 16, "intermediate_size": 4096},
    "facebook/xlm-roberta-xl": {**_XLMR_XL, "hidden_size": 2560, "num_hidden_layers": 36, "num_attention_heads": 32,
                                "intermediate_size": 10240},
    "facebook/xlm-roberta-xxl": {**_XLMR_XL, "hidden_size": 4096, "num_hidden_layers": 48,
                                 "num_attention_heads": 32, "intermediate_size": 16384},
    "google/mt5-small": {**_MT5, "d_model": 512, "d_ff": 1024, "num_layers": 8, "num_decoder_layers": 8,
                         "num_heads": 6},
    "google/mt5-base": {**_MT5, "d_model": 768, "d_ff": 2048, "num_layers": 12, "num_decoder_layers": 12,
                        "num_heads": 12},
    "google/mt5-large": {**_MT5, "d_model": 1024, "d_ff": 2816, "num_layers": 24, "num_decoder_layers": 24,
                         "num_heads": 16},
    "google/mt5-xl": {**_MT5, "d_model": 2048, "d_ff": 5120, "num_layers": 24, "num_decoder_layers": 24,
                      "num_heads": 32},
    "google/mt5-xxl": {**_MT5, "d_model": 4096, "d_ff": 10240, "num_layers": 24, "num_decoder_layers": 24,
                       "num_heads": 64},
    "google-bert/bert-base-multilingual-cased": {
        "model_type": "bert", "vocab_size": 119_547, "hidden_size": 768, "num_hidden_layers": 12,
        "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2,
        "pad_token_id": 0},
}
# Hub ids without their organisation (the old spelling) resolve to the same entries.
ALIASES = {"xlm-roberta-base": "FacebookAI/xlm-roberta-base", "xlm-roberta-large": "FacebookAI/xlm-roberta-large",
           "bert-base-multilingual-cased": "google-bert/bert-base-multilingual-cased"}

# Sizes the papers state, for the tests' 5% check and for the model list.
PUBLISHED_SIZES = {
    "FacebookAI/xlm-roberta-base": 270e6, "FacebookAI/xlm-roberta-large": 550e6,
    "facebook/xlm-roberta-xl": 3.5e9, "facebook/xlm-roberta-xxl": 10.7e9,
    "google/mt5-small": 300e6, "google/mt5-base": 580e6, "google/mt5-large": 1.2e9, "google/mt5-xl": 3.7e9,
    "google/mt5-xxl": 13e9,
}


def published_config(source: str) -> dict[str, Any] | None:
    """The published config fields of a known hub id (``None`` for local paths and unknown ids)."""
    return PUBLISHED.get(ALIASES.get(source, source))


def make_config(source: str, **kwargs: Any):
    """A transformers config: the published one for a known hub id, else the source's own ``config.json``."""
    from transformers import AutoConfig

    fields = published_config(source)
    if fields is not None:
        fields = dict(fields)
        return AutoConfig.for_model(fields.pop("model_type"), **fields)
    return AutoConfig.from_pretrained(source, **kwargs)


def shape_of(config) -> dict[str, Any]:
    """Layers, hidden, heads, FFN width, vocabulary and (seq2seq) decoder layers of a config."""
    get = lambda *names: next((getattr(config, n) for n in names if getattr(config, n, None) is not None), None)  # noqa: E731
    return {
        "layers": get("num_hidden_layers", "num_layers"),
        "hidden": get("hidden_size", "d_model"),
        "heads": get("num_attention_heads", "num_heads"),
        "intermediate": get("intermediate_size", "d_ff"),
        "vocab": get("vocab_size"),
        "decoder_layers": get("num_decoder_layers") if getattr(config, "is_encoder_decoder", False) else 0,
        "gated_ffn": bool(getattr(config, "is_gated_act", False)),
    }


def count_params(module) -> tuple[int, int]:
    """(total, non-embedding) parameters, each shared tensor once; embeddings are every ``nn.Embedding`` weight
    (token, position, token-type, relative-position buckets) plus an untied output projection (mT5's lm_head)."""
    from torch import nn

    unique = {id(p): p.numel() for p in module.parameters()}
    embed = {id(m.weight): m.weight.numel() for m in module.modules() if isinstance(m, nn.Embedding)}
    head = getattr(module, "lm_head", None)
    if isinstance(head, nn.Linear) and not getattr(getattr(module, "config", None), "tie_word_embeddings", True):
        embed[id(head.weight)] = head.weight.numel()
    total = sum(unique.values())
    return total, total - sum(n for k, n in embed.items() if k in unique)


def count_on_meta(build) -> tuple[int, int]:
    """(total, non-embedding) parameters of the module ``build()`` returns, built on the meta device."""
    import torch

    with torch.device("meta"):
        module = build()
    return count_params(module)


def describe_on_meta(config, build) -> dict[str, Any]:
    """``describe``'s answer for a config: parameter counts of ``build()`` on the meta device and the shape."""
    total, nonembed = count_on_meta(build)
    return {"params": total, "params_nonembed": nonembed, **shape_of(config)}
