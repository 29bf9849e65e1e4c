"""Token classification (UD-POS, PAN-X/WikiANN NER): one tag per *word*, predicted from its first sub-token.

Example layout: ``{"id", "tokens": [str, ...], "tags": [str, ...] | None}`` (``tags`` None when the split carries
no gold, e.g. XTREME's processed test files).

Encoding, as XTREME's ``run_tag.py`` does it: each word is tokenised on its own (a word that yields no pieces,
such as a lone zero-width character, becomes the unknown token so it still gets a prediction), the first piece
carries the word's label and the other pieces are ignored (-100). Unlike ``run_tag.py``, a sentence whose pieces
do not fit in ``max_length`` is **split into consecutive segments at word boundaries, never truncated**, so every
word is predicted and scored (a single word longer than a whole segment keeps its first ``max_length - 2``
pieces). Each segment is one feature ``<cls> pieces… <sep>``; ``decode`` stitches the segments back in order.

Predictions are tag lists, one tag per word; the gold kept beside them is ``tags``.
"""

from __future__ import annotations

from typing import Any

from ..metrics import score_by_name
from .base import TaskType, pad, pad_inputs


def _special_ids(tokenizer) -> tuple[int, int]:
    cls = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    if cls is None or sep is None:
        raise ValueError("tagging needs a tokenizer with cls/sep (or bos/eos) tokens")
    return int(cls), int(sep)


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

    def build_head(self, spec, hidden_size: int):
        from torch import nn

        return nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden_size, len(spec.labels)))

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        label_ids = {label: i for i, label in enumerate(spec.labels)}
        cls, sep = _special_ids(tokenizer)
        budget = max(1, max_length - 2)
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
                ids, labels, firsts = [cls], [-100], []
                for w in range(start, stop):
                    p = pieces[w][:budget]
                    firsts.append(len(ids))
                    labels.extend([label_ids[tags[w]] if tags is not None else -100] + [-100] * (len(p) - 1))
                    ids.extend(p)
                ids.append(sep)
                labels.append(-100)
                feats.append({"example_index": ex_i, "segment": seg_i, "word_start": start, "input_ids": ids,
                              "attention_mask": [1] * len(ids), "labels": labels, "first_positions": firsts})
        return feats

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        return {**pad_inputs(features, pad_id), "labels": pad([f["labels"] for f in features], -100)}

    def forward(self, encoder, head, batch):
        hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        return head(hidden)

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
