"""``tiny-xlmr``: a tiny XLM-RoBERTa built locally, with a byte-level BPE tokenizer trained on the fly.

Everything is deterministic from the seed (tokenizer training is deterministic; weights come from
``torch.manual_seed``), so tests and the quickstart run offline. Two sizes give the quickstart a scale axis.
Sizes are set by ``options`` (hidden, layers, heads, intermediate, vocab_size, max_positions); a config
entry may override them: ``{name: tiny-xlmr-64, family: tiny-xlmr, options: {hidden: 64, layers: 4}}``.
"""

from __future__ import annotations

from harness.api import ModelFamily, ModelSpec, encoder_config, hookimpl, model_options, seeded_encoder

DEFAULTS = {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64, "vocab_size": 600, "max_positions": 130}
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def _options(spec: ModelSpec) -> dict:
    return model_options(spec, DEFAULTS)


def train_tokenizer(vocab_size: int, extra_text: list[str] | None = None):
    """A byte-level BPE tokenizer (any script encodes) trained on the built-in multilingual smoke corpus."""
    from harness.api import byte_bpe_tokenizer

    return byte_bpe_tokenizer(vocab_size, extra_text, SPECIALS)


def config_for(spec: ModelSpec, vocab_size: int):
    from transformers import XLMRobertaConfig

    return encoder_config(XLMRobertaConfig, _options(spec), vocab_size, type_vocab_size=1, pad_token_id=1,
                          bos_token_id=0, eos_token_id=2)


def load(spec: ModelSpec, seed: int = 0):
    from transformers import XLMRobertaModel

    o = _options(spec)
    tokenizer = train_tokenizer(o["vocab_size"])
    config = config_for(spec, len(tokenizer))
    return seeded_encoder(lambda: XLMRobertaModel(config, add_pooling_layer=False), tokenizer, o["hidden"], seed,
                          max_length=o["max_positions"] - 2)


def describe(spec: ModelSpec) -> dict:
    import torch
    from transformers import XLMRobertaModel

    from harness.api import count_parameters

    o = _options(spec)
    vocab = len(train_tokenizer(o["vocab_size"]))  # the trained vocabulary may be smaller than asked for
    with torch.device("meta"):
        module = XLMRobertaModel(config_for(spec, vocab), add_pooling_layer=False)
    total, nonembed = count_parameters(module)
    return {"params": total, "params_nonembed": nonembed, "layers": o["layers"], "hidden": o["hidden"],
            "vocab": vocab}


@hookimpl
def register_model_families(register) -> None:
    register(ModelFamily("tiny-xlmr", load=load, describe=describe,
                         description="tiny XLM-R built locally; tokenizer trained on the fly (tests, quickstart)",
                         needs_source=False))


@hookimpl
def register_models(register) -> None:
    register(ModelSpec("tiny-xlmr", family="tiny-xlmr", source="local:tiny-xlmr",
                       options={"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64},
                       description="tiny XLM-R, hidden 32, 2 layers (quickstart 'base')"))
    register(ModelSpec("tiny-xlmr-large", family="tiny-xlmr", source="local:tiny-xlmr",
                       options={"hidden": 64, "layers": 4, "heads": 4, "intermediate": 128},
                       description="tiny XLM-R, hidden 64, 4 layers (quickstart 'large')"))
