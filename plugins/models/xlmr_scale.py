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

from harness.api import ModelFamily, ModelSpec, encoder_config, hookimpl, model_options, seeded_encoder

TINY_DEFAULTS = {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64, "vocab_size": 600, "max_positions": 130,
                 "dropout": 0.1}


def _options(spec: ModelSpec) -> dict:
    return model_options(spec, TINY_DEFAULTS)


def tiny_config(spec: ModelSpec, vocab_size: int):
    from transformers import XLMRobertaXLConfig

    return encoder_config(XLMRobertaXLConfig, _options(spec), vocab_size, type_vocab_size=1, pad_token_id=1,
                          bos_token_id=0, eos_token_id=2)


def load_tiny(spec: ModelSpec, seed: int = 0):
    from transformers import XLMRobertaXLModel

    from harness.api import byte_bpe_tokenizer

    o = _options(spec)
    tokenizer = byte_bpe_tokenizer(o["vocab_size"])
    config = tiny_config(spec, len(tokenizer))
    return seeded_encoder(lambda: XLMRobertaXLModel(config, add_pooling_layer=False), tokenizer, o["hidden"], seed,
                          max_length=o["max_positions"] - 2)


def describe_tiny(spec: ModelSpec) -> dict:
    from transformers import XLMRobertaXLModel

    from .published import describe_on_meta

    config = tiny_config(spec, _options(spec)["vocab_size"])
    return describe_on_meta(config, lambda: XLMRobertaXLModel(config, add_pooling_layer=False))


@hookimpl
def register_model_families(register) -> None:
    register(ModelFamily("tiny-xlmr-xl", load=load_tiny, describe=describe_tiny,
                         description="tiny pre-LN XLM-R XL built locally; tokenizer trained on the fly (tests)"))


@hookimpl
def register_models(register) -> None:
    register(ModelSpec("xlm-roberta-xl", family="hf-encoder", stand_in="tiny-xlmr-xl", source="facebook/xlm-roberta-xl",
                       layers=36, hidden=2560, vocab=250_880,
                       description="XLM-R XL, 3.5B, pre-LayerNorm (Goyal et al., 2021)"))
    register(ModelSpec("xlm-roberta-xxl", family="hf-encoder", stand_in="tiny-xlmr-xl", source="facebook/xlm-roberta-xxl",
                       layers=48, hidden=4096, vocab=250_880,
                       description="XLM-R XXL, 10.7B, pre-LayerNorm (Goyal et al., 2021)"))
    register(ModelSpec("tiny-xlmr-xl", family="tiny-xlmr-xl", source="local:tiny-xlmr-xl",
                       options={"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64},
                       description="tiny pre-LN XLM-R XL architecture, hidden 32, 2 layers (tests)"))
