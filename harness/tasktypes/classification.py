"""Sequence and sequence-pair classification (XNLI, PAWS-X, MNLI, QQP, SST-2, ...).

The head reads the first position (``<s>``/``[CLS]``) by default, or the attention-masked mean of the states when
``pooling: mean`` is set in the task's defaults or a target's ``options``, or when the encoder declares
``harness_pooling = "mean"`` (mT5, which has no CLS token). Segment ids (``token_type_ids``) are passed to
encoders whose tokenizer produces them (mBERT).
"""

from __future__ import annotations

from typing import Any

from harness.core.tasktype import Problem, TaskType, is_text, pad, pad_inputs
from harness.metrics import score_by_name


class ClassificationType(TaskType):
    kind = "classification"
    registry_metrics = True

    def build_head(self, spec, hidden_size: int):
        from torch import nn

        pooling = spec.defaults.get("pooling")
        if pooling not in (None, "cls", "mean"):
            raise ValueError(f"{spec.name}: pooling {pooling!r} is not one of 'cls', 'mean'")

        class ClassificationHead(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.pooling = pooling  # None: the encoder's preference, else the first position
                self.net = nn.Sequential(
                    nn.Dropout(0.1), nn.Linear(hidden_size, hidden_size), nn.Tanh(), nn.Dropout(0.1),
                    nn.Linear(hidden_size, len(spec.labels)),
                )

            def forward(self, pooled):
                return self.net(pooled)

        return ClassificationHead()

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        label_ids = {label: i for i, label in enumerate(spec.labels)}
        pairs = [e.get("text_b") is not None for e in examples]
        if any(pairs) and not all(pairs):
            raise ValueError(f"{spec.name}: mixed single-sentence and pair examples")
        texts_a = [e["text_a"] for e in examples]
        enc = (
            tokenizer(texts_a, [e["text_b"] for e in examples], truncation=True, max_length=max_length)
            if any(pairs)
            else tokenizer(texts_a, truncation=True, max_length=max_length)
        )
        feats = []
        for i, e in enumerate(examples):
            label = e.get("label")
            if label is not None and label not in label_ids:
                raise ValueError(f"{spec.name}: example {e['id']!r} has label {label!r}; allowed: {list(spec.labels)}")
            feat = {
                "example_index": i,
                "input_ids": enc["input_ids"][i],
                "attention_mask": enc["attention_mask"][i],
                "labels": label_ids[label] if label is not None else -100,
            }
            if "token_type_ids" in enc:
                feat["token_type_ids"] = enc["token_type_ids"][i]
            feats.append(feat)
        return feats

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        import torch

        batch = pad_inputs(features, pad_id)
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        if "token_type_ids" in features[0]:
            batch["token_type_ids"] = pad([f["token_type_ids"] for f in features], 0)
        return batch

    def forward(self, encoder, head, batch):
        from harness.modeling.encoder import pool, resolve_pooling, run_encoder

        hidden = run_encoder(encoder, batch).last_hidden_state
        return head(pool(hidden, batch["attention_mask"], resolve_pooling(head.pooling, encoder)))

    def loss(self, logits, batch):
        from torch.nn import functional as F

        return F.cross_entropy(logits.float(), batch["labels"], ignore_index=-100)

    def decode(self, outputs: list, features: list[dict], examples: list[dict], spec) -> list[Any]:
        preds: list[Any] = [None] * len(examples)
        for out, f in zip(outputs, features):
            preds[f["example_index"]] = spec.labels[int(out.argmax())]
        return preds

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str) -> dict[str, Any]:
        golds = [e.get("label") for e in examples]
        return score_by_name(spec.metrics, golds, predictions, language=language)

    def check_prediction(self, example: dict, prediction: Any, spec) -> str | None:
        if spec.labels and prediction not in spec.labels:
            return f"prediction {prediction!r} is not one of {', '.join(spec.labels)}"
        return None

    def check_example(self, example: dict, spec) -> str | None:
        if not is_text(example.get("text_a")):
            return "no 'text_a' string"
        if example.get("text_b") is not None and not is_text(example["text_b"]):
            return "'text_b' is not a string"
        label = example.get("label")
        if label is None:
            return "no label (a row without its label column; the split carries no gold, which training and scoring need)"
        if label not in spec.labels:
            return f"label {label!r} is not one of {', '.join(spec.labels)}"
        return None

    def check_split(self, examples: list[dict], spec) -> list[Problem]:
        pairs = [e.get("text_b") is not None for e in examples]
        if any(pairs) and not all(pairs):
            first = pairs.index(not pairs[0])
            return [Problem(f"mixed single-sentence and pair examples (example {examples[first]['id']!r} differs "
                            "from the first)", first)]
        return []
