"""A new task kind and a new metric, from a plugin alone: ``ordinal`` classification and ``ordinal_error``.

Labels of an ``ordinal`` task are ordered (``spec.labels`` from one end of the scale to the other; for NLI:
entailment < neutral < contradiction). The kind trains like classification (a linear head on the pooled encoder
output, cross-entropy) and is scored by its task's metrics; ``ordinal_error`` is the mean distance, in steps of
the scale, between the predicted and the gold label (0 is perfect; lower is better). It has a per-example scorer,
so ``harness leaderboard report`` resamples it over examples like accuracy, with no edit to the core.
"""

from __future__ import annotations

from typing import Any

from harness.api import Metric, TaskType, is_text, pad_inputs, score_by_name

KIND = "ordinal"


def _rank(labels: tuple[str, ...], label: Any) -> int:
    if label not in labels:
        raise ValueError(f"label {label!r} is not on the scale {', '.join(labels)}")
    return labels.index(label)


def ordinal_metric(labels: tuple[str, ...], name: str = "ordinal_error") -> Metric:
    """The metric for a scale: per example, ``|rank(prediction) - rank(gold)|``; the corpus value is their mean."""

    def per_example(gold: Any, prediction: Any) -> float:
        return float(abs(_rank(labels, prediction) - _rank(labels, gold)))

    def score(golds: list, predictions: list, **_: Any) -> float:
        if not golds or len(golds) != len(predictions):
            raise ValueError(f"{len(predictions)} predictions for {len(golds)} examples")
        return sum(per_example(g, p) for g, p in zip(golds, predictions)) / len(golds)

    return Metric(name, f"mean-abs-rank-distance({'<'.join(labels)})", score, per_example=per_example,
                  higher_is_better=False, description="mean distance between predicted and gold label on the scale")


class OrdinalType(TaskType):
    """Sentence-pair classification onto an ordered scale (``text_a``, ``text_b``, ``label`` per example)."""

    kind = KIND
    registry_metrics = True  # scored through the metric registry: metric names are checked at plan time

    def build_head(self, spec, hidden_size: int):
        from torch import nn

        head = nn.Linear(hidden_size, len(spec.labels))
        head.pooling = spec.defaults.get("pooling")
        return head

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        enc = tokenizer([e["text_a"] for e in examples], [e["text_b"] for e in examples], truncation=True,
                        max_length=max_length)
        return [{"example_index": i, "input_ids": enc["input_ids"][i],
                 "labels": _rank(spec.labels, e["label"]) if e.get("label") is not None else -100}
                for i, e in enumerate(examples)]

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        import torch

        batch = pad_inputs(features, pad_id)
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch

    def forward(self, encoder, head, batch):
        from harness.api import pool, resolve_pooling, run_encoder

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
        return score_by_name(spec.metrics, [e.get("label") for e in examples], predictions, language=language)

    def check_example(self, example: dict, spec) -> str | None:
        for key in ("text_a", "text_b"):
            if not is_text(example.get(key)):
                return f"no {key!r} string"
        if example.get("label") not in spec.labels:
            return f"label {example.get('label')!r} is not one of {', '.join(spec.labels)}"
        return None
