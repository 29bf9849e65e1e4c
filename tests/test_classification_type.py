"""Classification type: pooling choice and segment ids, on hand-made tensors."""

from __future__ import annotations

import types

import torch

from harness.core.registry import registry
from harness.core.specs import TaskSpec


def _spec(**defaults):
    return TaskSpec(name="t", kind="classification", roles=("target",), languages=("en",), metrics=("accuracy",),
                    labels=("a", "b"), defaults=defaults)


class _Echo(torch.nn.Module):
    """An 'encoder' whose states are the input ids as floats (hidden size 1) and that records its kwargs."""

    def forward(self, input_ids, attention_mask, **kw):
        self.kw = kw
        return types.SimpleNamespace(last_hidden_state=input_ids.float().unsqueeze(-1))


class _Capture(torch.nn.Module):
    def forward(self, pooled):
        self.x = pooled
        return pooled


def _pooled(head, encoder, batch):
    head.net = _Capture()
    registry().task_type("classification").forward(encoder, head, batch)
    return head.net.x.squeeze(-1).tolist()


def test_pooling_cls_mean_and_encoder_preference():
    ctype = registry().task_type("classification")
    batch = {"input_ids": torch.tensor([[2, 4, 6, 0], [3, 5, 0, 0]]),
             "attention_mask": torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])}
    enc = _Echo()
    assert _pooled(ctype.build_head(_spec(), 1), enc, batch) == [2.0, 3.0]  # first position
    assert _pooled(ctype.build_head(_spec(pooling="mean"), 1), enc, batch) == [4.0, 4.0]  # (2+4+6)/3, (3+5)/2
    enc.harness_pooling = "mean"
    assert _pooled(ctype.build_head(_spec(), 1), enc, batch) == [4.0, 4.0]  # the encoder's preference
    assert _pooled(ctype.build_head(_spec(pooling="cls"), 1), enc, batch) == [2.0, 3.0]  # the task's choice wins


def test_segment_ids_reach_the_encoder_when_the_tokenizer_makes_them():
    ctype = registry().task_type("classification")
    feats = [{"example_index": 0, "input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": 1,
              "token_type_ids": [0, 1, 1]},
             {"example_index": 1, "input_ids": [5, 6], "attention_mask": [1, 1], "labels": 0,
              "token_type_ids": [0, 1]}]
    batch = ctype.collate(feats, pad_id=0)
    assert batch["token_type_ids"].tolist() == [[0, 1, 1], [0, 1, 0]]
    enc = _Echo()
    ctype.forward(enc, ctype.build_head(_spec(), 1), batch)
    assert enc.kw["token_type_ids"].tolist() == [[0, 1, 1], [0, 1, 0]]
    no_segments = ctype.collate([{k: v for k, v in f.items() if k != "token_type_ids"} for f in feats], pad_id=0)
    assert "token_type_ids" not in no_segments
