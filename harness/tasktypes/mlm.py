"""Masked language modelling, an intermediate-stage objective (the "continued multilingual MLM" baseline).

Example layout: ``{"id", "language", "text"}``. Masking is **static** and seeded by the example id (BERT's
recipe: 15% of the non-special pieces are chosen — at least one per sequence — of which 80% become the mask
token, 10% a random piece, 10% stay), so a run is reproducible and features can be cached. The head is a
dense+GELU+LayerNorm transform whose output is scored against the encoder's own input-embedding matrix (tied
decoder, no vocabulary-sized parameters of its own); logits are computed only at the masked positions, which keeps
memory at ``n_masked × vocab`` even for XLM-R's 250k pieces.

MLM is never a target: ``decode``/``score`` refuse. Using non-English text in the intermediate stage is a
declared exemption (``exemptions: [multilingual-mlm]``) recorded in every row.
"""

from __future__ import annotations

import random
from typing import Any

from harness.core.tasktype import TaskType, is_text, pad, pad_inputs

MASK_PROB = 0.15


def mask_tokens(ids: list[int], special: list[int], mask_id: int, vocab_size: int, seed: str,
                prob: float = MASK_PROB) -> tuple[list[int], list[int]]:
    """(input ids, labels) with BERT's 80/10/10 masking of ``prob`` of the non-special positions (≥ 1)."""
    rng = random.Random(seed)
    candidates = [i for i, s in enumerate(special) if not s]
    if not candidates:
        return list(ids), [-100] * len(ids)
    k = max(1, round(prob * len(candidates)))
    chosen = sorted(rng.sample(candidates, k))
    inputs, labels = list(ids), [-100] * len(ids)
    for i in chosen:
        labels[i] = ids[i]
        r = rng.random()
        if r < 0.8:
            inputs[i] = mask_id
        elif r < 0.9:
            inputs[i] = rng.randrange(vocab_size)
    return inputs, labels


class MaskedLMType(TaskType):
    kind = "mlm"

    def build_head(self, spec, hidden_size: int):
        from torch import nn

        return nn.Sequential(nn.Linear(hidden_size, hidden_size), nn.GELU(), nn.LayerNorm(hidden_size))

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        if tokenizer.mask_token_id is None:
            raise ValueError(f"{spec.name}: the tokenizer has no mask token; masked-LM needs one")
        enc = tokenizer([e["text"] for e in examples], truncation=True, max_length=max_length,
                        return_special_tokens_mask=True)
        feats = []
        for i, e in enumerate(examples):
            ids, labels = mask_tokens(enc["input_ids"][i], enc["special_tokens_mask"][i], tokenizer.mask_token_id,
                                      len(tokenizer), seed=f"{spec.name}:{e['id']}")
            feats.append({"example_index": i, "input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
        return feats

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        return {**pad_inputs(features, pad_id), "labels": pad([f["labels"] for f in features], -100)}

    def forward(self, encoder, head, batch):
        hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        picked = hidden[batch["labels"] != -100]  # (n_masked, hidden), row-major like the labels below
        return head(picked) @ encoder.get_input_embeddings().weight.t()

    def loss(self, logits, batch):
        from torch.nn import functional as F

        labels = batch["labels"]
        return F.cross_entropy(logits.float(), labels[labels != -100])

    def decode(self, outputs: list, features: list[dict], examples: list[dict], spec) -> list[Any]:
        raise NotImplementedError(f"{spec.name}: masked-LM is an intermediate-stage objective, not an evaluated task")

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str) -> dict[str, Any]:
        raise NotImplementedError(f"{spec.name}: masked-LM is an intermediate-stage objective, not an evaluated task")

    def gold(self, example: dict) -> Any:
        return None

    def check_example(self, example: dict, spec) -> str | None:
        return None if is_text(example.get("text")) else "no 'text' string"
