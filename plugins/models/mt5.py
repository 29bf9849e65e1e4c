"""mT5 (Xue et al. 2021) small → XXL, and a tiny mT5 built locally.

One model serves both uses: the family wraps ``MT5ForConditionalGeneration`` in a module whose ``forward`` runs
the **encoder only** (task heads of understanding tasks sit on its states; mT5 has no CLS token, so the encoder declares
``harness_pooling = "mean"`` and classification, multiple-choice and retrieval heads pool the attention-masked mean;
tagging and span QA read the tokenizer's own template, ``pieces </s>`` and ``question </s> context </s>``) and whose ``generate`` runs the full **sequence-to-sequence** model
(FLORES translation, kind ``generation``). An intermediate-trained checkpoint therefore feeds both. Set option
``encoder_only: true`` to load ``MT5EncoderModel`` instead (half the memory; no generation).

Hub ids or local folders load through ``from_pretrained``. ``google/mt5-*`` ``main`` holds only
``pytorch_model.bin`` (pickle): each size is pinned (``PINS``) at the commit that holds ``model.safetensors`` — the
safetensors converter's ``refs/pr/N`` branch — and ``mt5-xxl``, which has no converted branch, loads its pickle
weights only when the config's model entry sets ``allow_pickle_weights: true`` (docs/hub-sources.md). Shapes and parameter counts come
from the published configs (``published.py``) offline. mT5 does not tie its output projection to the input
embedding; transformers 5 forces ``tie_word_embeddings=True`` in ``MT5Config`` (and unties when a checkpoint has
both), so models built from a config are untied here to match the published architecture.

``tiny-mt5`` uses a Unigram SentencePiece-style tokenizer (``<pad>``=0, ``</s>``=1, ``<unk>``=2, like mT5)
trained on the fly; sizes through ``options`` (d_model, d_ff, layers, heads, d_kv, vocab_size, dropout,
encoder_only).
"""

from __future__ import annotations

from typing import Any

from harness.api import ModelFamily, ModelSpec, hookimpl, model_options

TINY_DEFAULTS = {"d_model": 32, "d_ff": 64, "layers": 2, "heads": 2, "d_kv": 16, "vocab_size": 600, "dropout": 0.1,
                 "encoder_only": False}
_WRAPPER: Any = None


def seq2seq_encoder(model):
    """Wrap a seq2seq model: ``forward`` = encoder states (for task heads), ``generate`` = the full model."""
    global _WRAPPER
    if _WRAPPER is None:
        from torch import nn

        class Seq2SeqEncoder(nn.Module):
            """A sequence-to-sequence model seen as an encoder (``forward``) that can also ``generate``."""

            def __init__(self, model) -> None:
                super().__init__()
                self.model = model

            @property
            def config(self):
                return self.model.config

            def forward(self, input_ids=None, attention_mask=None, output_hidden_states=None, **_: Any):
                return self.model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask,
                                                output_hidden_states=output_hidden_states, return_dict=True)

            def generate(self, **kwargs: Any):
                return self.model.generate(**kwargs)

            def seq2seq(self, **kwargs: Any):
                """The full model's forward (teacher-forced loss with ``labels``)."""
                return self.model(**kwargs)

            def activation_checkpointing_enable(self, **kwargs: Any) -> None:
                self.model.config.use_cache = False
                enable = (getattr(self.model, "activation_checkpointing_enable", None)
                          or self.model.gradient_checkpointing_enable)
                enable(**kwargs)

            gradient_checkpointing_enable = activation_checkpointing_enable

        _WRAPPER = Seq2SeqEncoder
    return _WRAPPER(model)


def untie_lm_head(model) -> None:
    """Give ``lm_head`` its own weight (mT5's published architecture) after building from a config."""
    from torch import nn

    head = getattr(model, "lm_head", None)
    if head is not None and head.weight is model.get_input_embeddings().weight:
        head.weight = nn.Parameter(head.weight.detach().clone())
        model.config.tie_word_embeddings = False
        if hasattr(model, "all_tied_weights_keys"):
            model.all_tied_weights_keys.pop("lm_head.weight", None)


def _build(config, encoder_only: bool):
    from transformers import MT5EncoderModel, MT5ForConditionalGeneration

    if encoder_only:
        return MT5EncoderModel(config)
    model = MT5ForConditionalGeneration(config)
    untie_lm_head(model)
    return model


def load(spec: ModelSpec, seed: int = 0):
    import torch
    from transformers import AutoTokenizer, MT5EncoderModel, MT5ForConditionalGeneration

    from harness.api import Encoder, choose_weights, model_files

    kw = {k: v for k, v in {"revision": spec.revision, "trust_remote_code": spec.trust_remote_code}.items()
          if v is not None}
    fmt, wkw = choose_weights(spec, model_files(spec.source, spec.revision))
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(spec.source, **kw)
    if spec.options.get("encoder_only"):
        module = MT5EncoderModel.from_pretrained(spec.source, **wkw, **kw)
    else:
        module = seq2seq_encoder(MT5ForConditionalGeneration.from_pretrained(spec.source, **wkw, **kw))
    module.harness_pooling = "mean"  # no CLS token: pooled heads read the masked mean
    return Encoder(module=module, tokenizer=tokenizer, hidden_size=int(module.config.d_model), weights_format=fmt)


def describe(spec: ModelSpec) -> dict:
    """Counts of the published architecture (encoder + decoder + untied lm_head), built on the meta device."""
    from .published import count_on_meta, make_config, shape_of

    config = make_config(spec.source, revision=spec.revision) if spec.revision else make_config(spec.source)
    encoder_only = bool(spec.options.get("encoder_only"))
    total, nonembed = count_on_meta(lambda: _build(config, encoder_only))
    shape = shape_of(config)
    if encoder_only:
        shape["decoder_layers"] = 0
    return {"params": total, "params_nonembed": nonembed, **shape}


# --- tiny mT5 ---------------------------------------------------------------------------------------------------


def _options(spec: ModelSpec) -> dict:
    return model_options(spec, TINY_DEFAULTS)


def train_unigram(vocab_size: int, extra_text: list[str] | None = None):
    """A Unigram tokenizer with mT5's special ids (``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2), ``</s>`` appended;
    the same ids in every process."""
    import json

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    from harness.api import corpus

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(corpus() + list(extra_text or []), trainer=trainer)
    # the trainer's scores vary in the last digits from run to run, and so do the ids of pieces with equal scores:
    # rebuild the model with rounded scores and ids sorted by (score, piece), so every process (DDP ranks, a later
    # evaluation) maps text to the same ids
    trained = json.loads(tok.to_str())["model"]["vocab"]
    pieces = sorted(((p, round(s, 6)) for p, s in trained[3:]), key=lambda ps: (-ps[1], ps[0]))
    tok.model = models.Unigram([(p, 0.0) for p, _ in trained[:3]] + pieces, unk_id=2)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    # like T5's own tokenizer: no segment ids (the mT5 encoder takes none)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_input_names=["input_ids", "attention_mask"])


def tiny_config(spec: ModelSpec, vocab_size: int):
    from transformers import MT5Config

    o = _options(spec)
    return MT5Config(vocab_size=vocab_size, d_model=o["d_model"], d_ff=o["d_ff"], num_layers=o["layers"],
                     num_decoder_layers=o["layers"], num_heads=o["heads"], d_kv=o["d_kv"],
                     feed_forward_proj="gated-gelu", dropout_rate=o["dropout"], pad_token_id=0, eos_token_id=1,
                     decoder_start_token_id=0)


def load_tiny(spec: ModelSpec, seed: int = 0):
    import torch

    from harness.api import Encoder

    o = _options(spec)
    tokenizer = train_unigram(o["vocab_size"])
    torch.manual_seed(seed)
    model = _build(tiny_config(spec, len(tokenizer)), o["encoder_only"])
    module = model if o["encoder_only"] else seq2seq_encoder(model)
    module.harness_pooling = "mean"  # no CLS token: pooled heads read the masked mean
    return Encoder(module=module, tokenizer=tokenizer, hidden_size=o["d_model"])


def describe_tiny(spec: ModelSpec) -> dict:
    from .published import describe_on_meta

    o = _options(spec)
    config = tiny_config(spec, o["vocab_size"])
    return describe_on_meta(config, lambda: _build(config, o["encoder_only"]))


@hookimpl
def register_model_families(register) -> None:
    register(ModelFamily("mt5", load=load, describe=describe,
                         description="mT5: encoder for task heads + seq2seq generate (hub id or local folder)"))
    register(ModelFamily("tiny-mt5", load=load_tiny, describe=describe_tiny,
                         description="tiny mT5 built locally; Unigram tokenizer trained on the fly (tests)"))


# The commit each size is read at (docs/hub-sources.md has the tree pages): the safetensors converter's commit where
# one exists. mt5-base's converted branch refs/pr/5 shows commit 78f6d82 on its tree page; its full sha was not
# readable offline, so the branch is named and the lock file fixes the sha it resolves to (the preflight checks that
# it starts with 78f6d82). mt5-xxl has no converted branch (refs/pr/3 only adds generation_config.json): main's
# README commit, pickle weights only.
PINS = {
    "small": "6f9238ffa7de159b1245f899909bac7f40de53ae",  # SFconvertbot "Adding `safetensors` variant", model.safetensors
    "base": "refs/pr/5",  # SFconvertbot branch, commit 78f6d82…, model.safetensors 2.33 GB
    "large": "839af365b2edcc42e5872afa8c03418b76e96583",  # refs/pr/2, SFconvertbot, model.safetensors 4.92 GB
    "xl": "2568b91ebe41c97510f5633ddb3f3bc5ae2f78c5",  # refs/pr/2, SFconvertbot, model.safetensors 15 GB
    "xxl": "d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b",  # main "Update README.md (#1)": pytorch_model.bin only
}
EXPECTED_PREFIX = {"base": "78f6d82"}  # the commit the branch showed when it was audited


@hookimpl
def register_models(register) -> None:
    for size, published in (("small", "300M"), ("base", "580M"), ("large", "1.2B"), ("xl", "3.7B"), ("xxl", "13B")):
        options = {"expect_commit": EXPECTED_PREFIX[size]} if size in EXPECTED_PREFIX else {}
        register(ModelSpec(f"mt5-{size}", family="mt5", stand_in="tiny-mt5", source=f"google/mt5-{size}", revision=PINS[size],
                           options=options,
                           description=f"mT5 {size}, {published} (Xue et al., 2021); encoder + seq2seq"
                                       + ("; pickle weights only: needs allow_pickle_weights: true" if size == "xxl"
                                          else "")))
    register(ModelSpec("tiny-mt5", family="tiny-mt5", source="local:tiny-mt5",
                       options={"d_model": 32, "d_ff": 64, "layers": 2, "heads": 2, "d_kv": 16},
                       description="tiny mT5 architecture, d_model 32, 2+2 layers (tests)"))
