"""The task-type interface and the padding helpers task types share."""

from __future__ import annotations

from typing import Any


class TaskType:
    """Interface of a task type; subclasses implement the methods that training and evaluation call."""

    kind: str = ""
    trainable: bool = True

    def build_head(self, spec, hidden_size: int):  # -> torch.nn.Module
        raise NotImplementedError

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        """Turn examples into features (lists of ints); each feature keeps ``example_index``."""
        raise NotImplementedError

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        """Pad a list of features into a batch of tensors."""
        raise NotImplementedError

    def forward(self, encoder, head, batch: dict[str, Any]):
        """Run encoder + head on a batch; return the logits the loss and decoding need."""
        raise NotImplementedError

    def loss(self, logits, batch: dict[str, Any]):
        raise NotImplementedError

    def decode(self, outputs: list, features: list[dict], examples: list[dict], spec) -> list[Any]:
        """Per-example predictions (one per example, in example order) from per-feature outputs."""
        raise NotImplementedError

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str) -> dict[str, Any]:
        """Metrics named in ``spec.metrics`` on these predictions (the task may override)."""
        raise NotImplementedError

    def gold(self, example: dict) -> Any:
        """The gold answer kept in the predictions file beside each prediction."""
        return example.get("label")


def pad(rows: list[list[int]], value: int):
    """A ``(len(rows), longest row)`` long tensor holding ``rows`` right-padded with ``value``."""
    import torch

    out = torch.full((len(rows), max(len(r) for r in rows)), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def pad_inputs(features: list[dict], pad_id: int) -> dict[str, Any]:
    """``input_ids`` padded with ``pad_id`` and the matching ``attention_mask`` (1 on real tokens)."""
    ids = [f["input_ids"] for f in features]
    return {"input_ids": pad(ids, pad_id), "attention_mask": pad([[1] * len(r) for r in ids], 0)}
