"""Multilingual BERT (``bert-base-multilingual-cased``, Devlin et al. 2019) and a tiny BERT built locally.

mBERT loads through the ``hf-encoder`` family (``BertModel`` via the Auto classes) from the hub id or a local
folder; its shape and parameter count come from the published config (``published.py``), offline.

``tiny-mbert`` is a ``BertModel`` with a cased WordPiece tokenizer built on the fly (``[CLS] A [SEP] B [SEP]``
with token types 0…0 1…1 that the tokenizer returns, like mBERT's); sizes through ``options`` (hidden, layers, heads, intermediate, vocab_size,
max_positions, dropout).
"""

from __future__ import annotations

from harness.api import ModelFamily, ModelSpec, encoder_config, hookimpl, model_options, seeded_encoder

TINY_DEFAULTS = {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64, "vocab_size": 600, "max_positions": 128,
                 "dropout": 0.1}
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _options(spec: ModelSpec) -> dict:
    return model_options(spec, TINY_DEFAULTS)


def train_wordpiece(vocab_size: int, extra_text: list[str] | None = None):
    """A cased WordPiece tokenizer (mBERT's scheme) built from the built-in multilingual smoke corpus.

    The vocabulary is built deterministically (tokenizers' WordPiece trainer is not): the special tokens, every
    character and its ``##`` continuation, then the most frequent whole words (ties alphabetical).
    """
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    from harness.api import corpus

    normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    pre = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for line in corpus() + list(extra_text or []):
        words.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(line)))
    chars = sorted({c for w in words for c in w})
    vocab = SPECIALS + chars + ["##" + c for c in chars]
    known = set(vocab)
    for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if w not in known:
            vocab.append(w)
            known.add(w)
    tok = Tokenizer(models.WordPiece(vocab={t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.WordPiece()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    # segment ids like mBERT's own tokenizer: every task kind passes them to the encoder
    return PreTrainedTokenizerFast(tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
                                   unk_token="[UNK]", mask_token="[MASK]",
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])


def tiny_config(spec: ModelSpec, vocab_size: int):
    from transformers import BertConfig

    return encoder_config(BertConfig, _options(spec), vocab_size, type_vocab_size=2, pad_token_id=0)


def load_tiny(spec: ModelSpec, seed: int = 0):
    from transformers import BertModel

    o = _options(spec)
    tokenizer = train_wordpiece(o["vocab_size"])
    config = tiny_config(spec, len(tokenizer))
    return seeded_encoder(lambda: BertModel(config, add_pooling_layer=False), tokenizer, o["hidden"], seed,
                          max_length=o["max_positions"])


def describe_tiny(spec: ModelSpec) -> dict:
    from transformers import BertModel

    from .published import describe_on_meta

    config = tiny_config(spec, _options(spec)["vocab_size"])
    return describe_on_meta(config, lambda: BertModel(config, add_pooling_layer=False))


@hookimpl
def register_model_families(register) -> None:
    register(ModelFamily("tiny-mbert", load=load_tiny, describe=describe_tiny,
                         description="tiny BERT built locally; cased WordPiece trained on the fly (tests)"))


@hookimpl
def register_models(register) -> None:
    register(ModelSpec("mbert", family="hf-encoder", stand_in="tiny-mbert", source="google-bert/bert-base-multilingual-cased",
                       revision="3f076fdb1ab68d5b2880cb87a0886f315b8146f8",
                       layers=12, hidden=768, vocab=119_547,
                       description="multilingual BERT, cased, 104 languages (Devlin et al., 2019)"))
    register(ModelSpec("tiny-mbert", family="tiny-mbert", source="local:tiny-mbert",
                       options={"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64},
                       description="tiny BERT (mBERT architecture), hidden 32, 2 layers (tests)"))
