"""XLM-RoBERTa across scale: XL and XXL (the pre-LayerNorm XLM-R XL architecture, Goyal et al. 2021) and a tiny
XL built locally for tests.

``xlm-roberta-base`` and ``xlm-roberta-large`` are registered by ``hf_encoder``; XL/XXL load through the same
``hf-encoder`` family (transformers' ``XLMRobertaXLModel`` via the Auto classes) from the hub id or any local
folder of that architecture. Their shapes and parameter counts come from the published configs
(``published.py``), so ``harness models --describe`` works offline.

``tiny-xlmr-xl`` is an ``XLMRobertaXLModel`` (pre-LN) with the byte-level BPE tokenizer ``tiny-xlmr`` trains on
the fly; sizes through ``options`` (hidden, layers, heads, intermediate, vocab_size, max_positions, dropout).
"""

from __future__ import annotations

from harness.hookspecs import hookimpl
from harness.specs import ModelFamily, ModelSpec

TINY_DEFAULTS = {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64, "vocab_size": 600, "max_positions": 130,
                 "dropout": 0.1}


def _options(spec: ModelSpec) -> dict:
    unknown = set(spec.options) - set(TINY_DEFAULTS)
    if unknown:
        raise ValueError(f"model {spec.name!r}: unknown options {sorted(unknown)}; allowed: {sorted(TINY_DEFAULTS)}")
    return {**TINY_DEFAULTS, **spec.options}


def tiny_config(spec: ModelSpec, vocab_size: int):
    from transformers import XLMRobertaXLConfig

    o = _options(spec)
    return XLMRobertaXLConfig(
        vocab_size=vocab_size, hidden_size=o["hidden"], num_hidden_layers=o["layers"],
        num_attention_heads=o["heads"], intermediate_size=o["intermediate"],
        max_position_embeddings=o["max_positions"], type_vocab_size=1, pad_token_id=1, bos_token_id=0,
        eos_token_id=2, hidden_dropout_prob=o["dropout"], attention_probs_dropout_prob=o["dropout"],
    )


def load_tiny(spec: ModelSpec, seed: int = 0):
    import torch
    from transformers import XLMRobertaXLModel

    from harness.models import Encoder
    from harness.synthetic import byte_bpe_tokenizer

    o = _options(spec)
    tokenizer = byte_bpe_tokenizer(o["vocab_size"])
    tokenizer.model_max_length = o["max_positions"] - 2
    torch.manual_seed(seed)
    module = XLMRobertaXLModel(tiny_config(spec, len(tokenizer)), add_pooling_layer=False)
    return Encoder(module=module, tokenizer=tokenizer, hidden_size=o["hidden"])


def describe_tiny(spec: ModelSpec) -> dict:
    from transformers import XLMRobertaXLModel

    from .published import count_on_meta, shape_of

    config = tiny_config(spec, _options(spec)["vocab_size"])
    total, nonembed = count_on_meta(lambda: XLMRobertaXLModel(config, add_pooling_layer=False))
    return {"params": total, "params_nonembed": nonembed, **shape_of(config)}


@hookimpl
def register_model_families(register) -> None:
    register(ModelFamily("tiny-xlmr-xl", load=load_tiny, describe=describe_tiny,
                         description="tiny pre-LN XLM-R XL built locally; tokenizer trained on the fly (tests)"))


@hookimpl
def register_models(register) -> None:
    register(ModelSpec("xlm-roberta-xl", family="hf-encoder", source="facebook/xlm-roberta-xl",
                       layers=36, hidden=2560, vocab=250_880,
                       description="XLM-R XL, 3.5B, pre-LayerNorm (Goyal et al., 2021)"))
    register(ModelSpec("xlm-roberta-xxl", family="hf-encoder", source="facebook/xlm-roberta-xxl",
                       layers=48, hidden=4096, vocab=250_880,
                       description="XLM-R XXL, 10.7B, pre-LayerNorm (Goyal et al., 2021)"))
    register(ModelSpec("tiny-xlmr-xl", family="tiny-xlmr-xl", source="local:tiny-xlmr-xl",
                       options={"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64},
                       description="tiny pre-LN XLM-R XL architecture, hidden 32, 2 layers (tests)"))
