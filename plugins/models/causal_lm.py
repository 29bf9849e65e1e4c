"""Decoder-only language models (any ``AutoModelForCausalLM``) for generation tasks, prompted k-shot.

``causal-lm`` loads a hub id or a local folder through ``from_pretrained`` (safetensors only; custom code only
with the model entry's ``trust_remote_code: true``). The family is ``prompted``: a generation target (FLORES) is
never fine-tuned on it; the eval node prompts it with ``k_shot`` demonstrations from the task's training split and
records the template and k in every row (see ``harness.tasktypes.generation``). Understanding tasks are not its
purpose; its ``forward`` still returns hidden states so heads could sit on it.

``tiny-causal-lm`` is a GPT-2 architecture built locally with a byte-level BPE tokenizer trained on the fly
(tests); sizes through ``options`` (n_embd, n_layer, n_head, vocab_size, n_positions).
"""

from __future__ import annotations

from harness.api import ModelFamily, ModelSpec, hookimpl, model_options

TINY_DEFAULTS = {"n_embd": 32, "n_layer": 2, "n_head": 2, "vocab_size": 400, "n_positions": 1024}


def _mark(module, tokenizer) -> None:
    """Generation reads prompts left-padded and strips them from the output."""
    module.harness_generation = "causal"
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:  # most causal LMs have none; padding is masked anyway
        tokenizer.pad_token = tokenizer.eos_token


def _hidden(config) -> int:
    return int(getattr(config, "hidden_size", None) or config.n_embd)


def load(spec: ModelSpec, seed: int = 0):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.api import Encoder

    kw = {"trust_remote_code": bool(spec.trust_remote_code)}
    if spec.revision:
        kw["revision"] = spec.revision
    from harness.api import choose_weights, model_files

    fmt, wkw = choose_weights(spec, model_files(spec.source, spec.revision))
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(spec.source, **kw)
    module = AutoModelForCausalLM.from_pretrained(spec.source, **wkw, **kw)
    _mark(module, tokenizer)
    return Encoder(module=module, tokenizer=tokenizer, hidden_size=_hidden(module.config), weights_format=fmt)


def describe(spec: ModelSpec) -> dict:
    from transformers import AutoConfig

    kw = {"trust_remote_code": bool(spec.trust_remote_code)}
    if spec.revision:
        kw["revision"] = spec.revision
    config = AutoConfig.from_pretrained(spec.source, **kw)
    return {"layers": getattr(config, "num_hidden_layers", None), "hidden": _hidden(config),
            "vocab": config.vocab_size}


# --- tiny GPT-2 ---------------------------------------------------------------------------------------------


def _options(spec: ModelSpec) -> dict:
    return model_options(spec, TINY_DEFAULTS)


def train_bpe(vocab_size: int):
    """A byte-level BPE tokenizer trained now on the synthetic corpus; ``<|endoftext|>`` is eos and pad."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from harness.api import corpus

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   bos_token="<|endoftext|>")


def tiny_config(spec: ModelSpec, vocab_size: int):
    from transformers import GPT2Config

    o = _options(spec)
    return GPT2Config(vocab_size=vocab_size, n_embd=o["n_embd"], n_layer=o["n_layer"], n_head=o["n_head"],
                      n_positions=o["n_positions"], bos_token_id=0, eos_token_id=0, pad_token_id=0)


def load_tiny(spec: ModelSpec, seed: int = 0):
    import torch
    from transformers import GPT2LMHeadModel

    from harness.api import Encoder

    o = _options(spec)
    tokenizer = train_bpe(o["vocab_size"])
    torch.manual_seed(seed)
    module = GPT2LMHeadModel(tiny_config(spec, len(tokenizer)))
    _mark(module, tokenizer)
    return Encoder(module=module, tokenizer=tokenizer, hidden_size=o["n_embd"])


def describe_tiny(spec: ModelSpec) -> dict:
    o = _options(spec)
    return {"layers": o["n_layer"], "hidden": o["n_embd"], "vocab": o["vocab_size"]}


@hookimpl
def register_model_families(register) -> None:
    register(ModelFamily("causal-lm", load=load, describe=describe, prompted=True,
                         description="any AutoModelForCausalLM (hub id or local folder), k-shot prompted"))
    register(ModelFamily("tiny-causal-lm", load=load_tiny, describe=describe_tiny, prompted=True,
                         description="tiny GPT-2 built locally; byte-level BPE trained on the fly (tests)"))


@hookimpl
def register_models(register) -> None:
    register(ModelSpec("tiny-causal-lm", family="tiny-causal-lm", source="local:tiny-causal-lm",
                       description="tiny GPT-2 architecture, n_embd 32, 2 layers (tests)"))
