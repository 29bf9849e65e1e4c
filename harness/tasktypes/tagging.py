"""Token classification (UD-POS, PAN-X/WikiANN NER): one tag per *word*, predicted from its first sub-token.

Example layout: ``{"id", "tokens": [str, ...], "tags": [str, ...] | None}`` (``tags`` None when the split carries
no gold, e.g. XTREME's processed test files).

Encoding, as XTREME's ``run_tag.py`` does it: each word is tokenised on its own (a word that yields no pieces,
such as a lone zero-width character, becomes the unknown token so it still gets a prediction), the first piece
carries the word's label and the other pieces are ignored (-100). Unlike ``run_tag.py``, a sentence whose pieces
do not fit in ``max_length`` is **split into consecutive segments at word boundaries, never truncated**, so every
word is predicted and scored (a single word longer than a whole segment keeps the first pieces that fit beside
the special tokens). Each segment is one feature wrapped in the tokenizer's **own** single-sequence template, read from the
fast tokenizer's ``sequence_ids`` (``<s> pieces… </s>`` for XLM-R, ``[CLS] pieces… [SEP]`` for mBERT,
``pieces… </s>`` for mT5, which has no CLS; nothing for a tokenizer without special tokens), so no family needs a
CLS or BOS token; ``decode`` stitches the segments back in order. Segment ids, when the tokenizer makes them, are
all 0 (one sequence) and reach the encoder with the batch.

Predictions are tag lists, one tag per word; the gold kept beside them is ``tags``.
"""

from __future__ import annotations

from typing import Any

from harness.core.tasktype import TaskType, is_text, pad, pad_inputs
from harness.metrics import score_by_name


def single_layout(tokenizer) -> tuple[list[int], list[int]]:
    """Special-token ids the tokenizer puts before and after one sequence (either may be empty)."""
    enc = tokenizer("a")
    seq = enc.sequence_ids(0)
    ids = enc["input_ids"]
    inside = [i for i, s in enumerate(seq) if s == 0]
    if not inside:
        raise ValueError(f"tagging: the tokenizer {type(tokenizer).__name__} turns 'a' into no pieces; "
                         "use a tokenizer that encodes text")
    return list(ids[: inside[0]]), list(ids[inside[-1] + 1 :])


def word_pieces(words: list[str], tokenizer) -> list[list[int]]:
    """Sub-token ids of each word, tokenised alone; an empty result becomes ``[unk]``."""
    if not words:
        return []
    ids = tokenizer([str(w) for w in words], add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0
    return [list(p) if len(p) else [int(unk)] for p in ids]


def segment_words(pieces: list[list[int]], budget: int) -> list[tuple[int, int]]:
    """Greedy ``[start, stop)`` word ranges whose pieces fit in ``budget`` (a too-long word is alone)."""
    segments, start, used = [], 0, 0
    for i, p in enumerate(pieces):
        n = min(len(p), budget)
        if used + n > budget and i > start:
            segments.append((start, i))
            start, used = i, 0
        used += n
    if start < len(pieces) or not segments:
        segments.append((start, len(pieces)))
    return segments


class TaggingType(TaskType):
    kind = "tagging"
    registry_metrics = True

    def build_head(self, spec, hidden_size: int):
        from torch import nn

        return nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden_size, len(spec.labels)))

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        label_ids = {label: i for i, label in enumerate(spec.labels)}
        prefix, suffix = single_layout(tokenizer)
        budget = max(1, max_length - len(prefix) - len(suffix))
        segments = "token_type_ids" in tokenizer("a")
        feats = []
        for ex_i, e in enumerate(examples):
            words, tags = e["tokens"], e.get("tags")
            if tags is not None and len(tags) != len(words):
                raise ValueError(f"{spec.name}: example {e['id']!r} has {len(words)} tokens but {len(tags)} tags")
            if tags is not None:
                bad = [t for t in tags if t not in label_ids]
                if bad:
                    raise ValueError(f"{spec.name}: example {e['id']!r} has tag {bad[0]!r}; allowed: {list(spec.labels)}")
            pieces = word_pieces(words, tokenizer)
            for seg_i, (start, stop) in enumerate(segment_words(pieces, budget)):
                ids, labels, firsts = list(prefix), [-100] * len(prefix), []
                for w in range(start, stop):
                    p = pieces[w][:budget]
                    firsts.append(len(ids))
                    labels.extend([label_ids[tags[w]] if tags is not None else -100] + [-100] * (len(p) - 1))
                    ids.extend(p)
                ids.extend(suffix)
                labels.extend([-100] * len(suffix))
                feat = {"example_index": ex_i, "segment": seg_i, "word_start": start, "input_ids": ids,
                        "attention_mask": [1] * len(ids), "labels": labels, "first_positions": firsts}
                if segments:
                    feat["token_type_ids"] = [0] * len(ids)
                feats.append(feat)
        return feats

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        batch = {**pad_inputs(features, pad_id), "labels": pad([f["labels"] for f in features], -100)}
        if "token_type_ids" in features[0]:
            batch["token_type_ids"] = pad([f["token_type_ids"] for f in features], 0)
        return batch

    def forward(self, encoder, head, batch):
        from harness.modeling.encoder import run_encoder

        return head(run_encoder(encoder, batch).last_hidden_state)

    def loss(self, logits, batch):
        from torch.nn import functional as F

        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), batch["labels"].reshape(-1),
                               ignore_index=-100)

    def decode(self, outputs: list, features: list[dict], examples: list[dict], spec) -> list[Any]:
        preds: list[list[str | None]] = [[None] * len(e["tokens"]) for e in examples]
        for out, f in zip(outputs, features):
            best = out.argmax(-1)
            for k, pos in enumerate(f["first_positions"]):
                preds[f["example_index"]][f["word_start"] + k] = spec.labels[int(best[pos])]
        for e, p in zip(examples, preds):
            if any(t is None for t in p):
                raise RuntimeError(f"{spec.name}: example {e['id']!r} has words without a prediction")
        return preds

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str) -> dict[str, Any]:
        golds = [e.get("tags") for e in examples]
        return score_by_name(spec.metrics, golds, predictions, language=language)

    def gold(self, example: dict) -> Any:
        return example.get("tags")

    def check_prediction(self, example: dict, prediction: Any, spec) -> str | None:
        tokens = example.get("tokens") or []
        if not isinstance(prediction, list) or len(prediction) != len(tokens):
            got = len(prediction) if isinstance(prediction, list) else type(prediction).__name__
            return f"{got} predicted tags for a sentence of {len(tokens)} tokens"
        bad = [t for t in prediction if t not in spec.labels] if spec.labels else []
        return f"tag {bad[0]!r} is not one of {', '.join(spec.labels)}" if bad else None

    def check_example(self, example: dict, spec) -> str | None:
        tokens, tags = example.get("tokens"), example.get("tags")
        if not isinstance(tokens, list) or not tokens or not all(is_text(t) for t in tokens):
            return "'tokens' is not a non-empty list of strings"
        if tags is None:
            return "no tags (a file without its tag column; the split carries no gold, which training and scoring need)"
        if not isinstance(tags, list) or len(tags) != len(tokens):
            return f"{len(tokens)} tokens but {len(tags) if isinstance(tags, list) else 'no list of'} tags"
        bad = [t for t in tags if t not in spec.labels] if spec.labels else []
        if bad:
            return f"tag {bad[0]!r} is not one of {', '.join(spec.labels)}"
        return None
