"""Multiple choice (HellaSwag, Cosmos QA, CommonsenseQA, SIQA, COPA/XCOPA): score each choice, softmax over them.

Example layout: ``{"id", "context", "question", "choices": [str, ...], "label": int | None}``. Each choice becomes
one encoder input, a sequence pair:

- first segment: ``context`` (or ``question`` when ``context`` is empty, as in CommonsenseQA);
- second segment: ``question + " " + choice`` (or the choice alone when the question went first or is empty).

So a sentence-completion task (HellaSwag: context ``ctx_a``, question ``ctx_b``, choices the endings) reads
naturally, and a reading-comprehension task (Cosmos QA) puts the passage first and question plus answer second.
Truncation is ``longest_first`` at ``max_length``. The head scores the pooled pair with one linear unit (after a
dense+tanh layer, like the classification head); pooling is chosen as in classification (``pooling: cls | mean`` in
the task's defaults, else the encoder's declared pooling — the masked mean for mT5 —, else the first token), and
segment ids (``token_type_ids``) reach encoders whose tokenizer makes them (mBERT: 0 for the first segment, 1
for the second). Examples in a batch may have different numbers of choices (padded choices are
masked out of the softmax). Predictions are choice indices (int); ``label`` is the gold index.
"""

from __future__ import annotations

from typing import Any

from harness.core.tasktype import TaskType, is_text
from harness.metrics import score_by_name


def pair_texts(example: dict) -> list[tuple[str, str]]:
    """The (first, second) segment of every choice of ``example`` (see the module docstring)."""
    context = (example.get("context") or "").strip()
    question = (example.get("question") or "").strip()
    out = []
    for choice in example["choices"]:
        choice = str(choice).strip()
        if context:
            out.append((context, f"{question} {choice}".strip() if question else choice))
        else:
            out.append((question, choice))
    return out


class MultipleChoiceType(TaskType):
    kind = "multiple_choice"
    registry_metrics = True

    def build_head(self, spec, hidden_size: int):
        from torch import nn

        pooling = spec.defaults.get("pooling")
        if pooling not in (None, "cls", "mean"):
            raise ValueError(f"{spec.name}: pooling {pooling!r} is not one of 'cls', 'mean'")
        head = nn.Sequential(
            nn.Dropout(0.1), nn.Linear(hidden_size, hidden_size), nn.Tanh(), nn.Dropout(0.1), nn.Linear(hidden_size, 1),
        )
        head.pooling = pooling  # None: the encoder's preference, else the first position
        return head

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        flat_a, flat_b, owner = [], [], []
        for i, e in enumerate(examples):
            if not e.get("choices"):
                raise ValueError(f"{spec.name}: example {e.get('id')!r} has no choices")
            label = e.get("label")
            if label is not None and not (isinstance(label, int) and 0 <= label < len(e["choices"])):
                raise ValueError(f"{spec.name}: example {e['id']!r} has label {label!r}; allowed: an int in "
                                 f"0..{len(e['choices']) - 1} or None")
            for a, b in pair_texts(e):
                flat_a.append(a)
                flat_b.append(b)
                owner.append(i)
        enc = tokenizer(flat_a, flat_b, truncation="longest_first", max_length=max_length) if flat_a else {
            "input_ids": []}
        segments = "token_type_ids" in enc
        feats: list[dict] = [
            {"example_index": i, "input_ids": [], "attention_mask": [],
             "labels": e["label"] if e.get("label") is not None else -100, **({"token_type_ids": []} if segments else {})}
            for i, e in enumerate(examples)
        ]
        for j, i in enumerate(owner):
            feats[i]["input_ids"].append(enc["input_ids"][j])
            if segments:
                feats[i]["token_type_ids"].append(enc["token_type_ids"][j])
        for f in feats:
            f["attention_mask"] = [[1] * len(ids) for ids in f["input_ids"]]
        return feats

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        import torch

        n_choices = max(len(f["input_ids"]) for f in features)
        width = max(len(ids) for f in features for ids in f["input_ids"])
        ids = torch.full((len(features), n_choices, width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(features), n_choices, width), dtype=torch.long)
        choice_mask = torch.zeros((len(features), n_choices), dtype=torch.bool)
        segments = "token_type_ids" in features[0]
        types = torch.zeros((len(features), n_choices, width), dtype=torch.long) if segments else None
        for row, f in enumerate(features):
            for c, seq in enumerate(f["input_ids"]):
                ids[row, c, : len(seq)] = torch.tensor(seq)
                mask[row, c, : len(seq)] = 1
                choice_mask[row, c] = True
                if types is not None:
                    types[row, c, : len(seq)] = torch.tensor(f["token_type_ids"][c])
        # a padded choice still needs one attended token so the encoder never sees an all-masked row
        mask[:, :, 0] = 1
        batch = {"input_ids": ids, "attention_mask": mask, "choice_mask": choice_mask,
                 "labels": torch.tensor([f["labels"] for f in features], dtype=torch.long)}
        if types is not None:
            batch["token_type_ids"] = types
        return batch

    def forward(self, encoder, head, batch):
        from harness.modeling.encoder import pool, resolve_pooling, run_encoder

        b, c, w = batch["input_ids"].shape
        flat = {k: batch[k].view(b * c, w) for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        hidden = run_encoder(encoder, flat).last_hidden_state
        pooled = pool(hidden, flat["attention_mask"], resolve_pooling(getattr(head, "pooling", None), encoder))
        scores = head(pooled).view(b, c).float()
        return scores.masked_fill(~batch["choice_mask"], float("-inf"))

    def loss(self, logits, batch):
        from torch.nn import functional as F

        return F.cross_entropy(logits, batch["labels"], ignore_index=-100)

    def decode(self, outputs: list, features: list[dict], examples: list[dict], spec) -> list[Any]:
        preds: list[Any] = [None] * len(examples)
        for out, f in zip(outputs, features):
            n = len(f["input_ids"])
            preds[f["example_index"]] = int(out[:n].argmax())
        return preds

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str) -> dict[str, Any]:
        golds = [e.get("label") for e in examples]
        return score_by_name(spec.metrics, golds, predictions, language=language)

    def check_prediction(self, example: dict, prediction: Any, spec) -> str | None:
        if isinstance(prediction, bool) or not isinstance(prediction, int) or prediction < 0:
            return f"prediction {prediction!r} is not a choice index"
        n = len(example.get("choices") or [])  # a label-only gold file (XCOPA's) lists no choices
        if n and prediction >= n:
            return f"prediction {prediction} is not a choice index in 0..{n - 1}"
        return None

    def check_example(self, example: dict, spec) -> str | None:
        for key in ("context", "question"):
            if example.get(key) is not None and not is_text(example[key]):
                return f"{key!r} is not a string"
        choices = example.get("choices")
        if not isinstance(choices, list) or not choices or not all(is_text(c) for c in choices):
            return "'choices' is not a non-empty list of strings"
        label = example.get("label")
        if label is None:
            return "no label (the split carries no gold, which training and scoring need)"
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(choices):
            return f"label {label!r} is not a choice index in 0..{len(choices) - 1}"
        return None
