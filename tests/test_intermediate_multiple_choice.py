"""The multiple-choice task type: segment pairing, padding of ragged choice counts, decoding, scoring, overfitting."""

from __future__ import annotations

import pytest

from harness.core.specs import TaskSpec
from harness.tasktypes.multiple_choice import MultipleChoiceType, pair_texts

SPEC = TaskSpec(name="mc-test", kind="multiple_choice", roles=("intermediate",), languages=("en",),
                metrics=("accuracy",))


def examples() -> list[dict]:
    return [
        {"id": "a", "context": "The man opened the door.", "question": "then", "choices": ["he left", "it sang"],
         "label": 0},
        {"id": "b", "context": "", "question": "Where do cats sleep?", "choices": ["bed", "sky", "sea"], "label": 0},
        {"id": "c", "context": "It rained.", "question": "", "choices": ["wet", "dry", "hot", "cold"], "label": None},
    ]


def test_pair_texts_layouts():
    ex = examples()
    assert pair_texts(ex[0]) == [("The man opened the door.", "then he left"),
                                 ("The man opened the door.", "then it sang")]
    assert pair_texts(ex[1]) == [("Where do cats sleep?", "bed"), ("Where do cats sleep?", "sky"),
                                 ("Where do cats sleep?", "sea")]
    assert pair_texts(ex[2])[3] == ("It rained.", "cold")


@pytest.fixture(scope="module")
def tiny():
    from harness.core.registry import registry
    from harness.modeling.encoder import load_encoder

    return load_encoder(registry().model("tiny-xlmr"), seed=0)


def test_registered(registry):
    assert isinstance(registry.task_type("multiple_choice"), MultipleChoiceType)


def test_featurize_collate_decode_score(tiny):
    import torch

    tt = MultipleChoiceType()
    feats = tt.featurize(examples(), tiny.tokenizer, SPEC, max_length=12)
    assert [len(f["input_ids"]) for f in feats] == [2, 3, 4]
    assert [f["labels"] for f in feats] == [0, 0, -100]
    assert all(len(ids) <= 12 for f in feats for ids in f["input_ids"])
    batch = tt.collate(feats, tiny.pad_id)
    width = max(len(ids) for f in feats for ids in f["input_ids"])
    assert tuple(batch["input_ids"].shape) == (3, 4, width)
    assert batch["choice_mask"].tolist() == [[True, True, False, False], [True, True, True, False], [True] * 4]
    head = tt.build_head(SPEC, tiny.hidden_size)
    logits = tt.forward(tiny.module.eval(), head.eval(), batch)
    assert tuple(logits.shape) == (3, 4)
    assert torch.isinf(logits[0, 2:]).all() and torch.isfinite(logits[2]).all()
    # decoding never picks a padded choice and scoring is plain accuracy over gold indices
    fake = [torch.tensor([0.1, 0.9, 5.0, 5.0]), torch.tensor([2.0, 0.0, 1.0, 9.0]), torch.tensor([0, 0, 0, 1.0])]
    preds = tt.decode(fake, feats, examples(), SPEC)
    assert preds == [1, 0, 3]
    golds = examples()[:2]
    assert tt.score(golds, preds[:2], SPEC, "en") == {"accuracy": 50.0}


def test_bad_label_is_one_line_error(tiny):
    bad = [{"id": "x", "context": "", "question": "q", "choices": ["a", "b"], "label": 2}]
    with pytest.raises(ValueError, match="label 2"):
        MultipleChoiceType().featurize(bad, tiny.tokenizer, SPEC, 16)


def test_overfits_a_few_batches(tiny):
    import torch

    from harness.modeling.encoder import TaskModel
    from harness.planning.config import resolve_hp
    from harness.training.loop import TrainTask, train

    # the right ending is always "the bird is warm", at a rotating position among two distractors
    right, wrong = "the bird is warm", ["the dog is red", "the car is old"]
    exs = []
    for i in range(12):
        choices = list(wrong)
        choices.insert(i % 3, right)
        exs.append({"id": str(i), "context": f"the {['cat', 'tree', 'house'][i % 3]} is big", "question": "so",
                    "choices": choices, "label": i % 3})
    tt = MultipleChoiceType()
    feats = tt.featurize(exs, tiny.tokenizer, SPEC, 32)
    model = TaskModel(tiny.module, {SPEC.name: tt.build_head(SPEC, tiny.hidden_size)})
    hp = resolve_hp({"lr": 3e-3, "batch_size": 12, "max_steps": 60, "warmup_ratio": 0.0})
    out = train(model, [TrainTask(SPEC.name, tt, feats, 12)], hp, torch.device("cpu"), 0, tiny.pad_id)
    first, last = sum(out["losses"][:3]) / 3, sum(out["losses"][-3:]) / 3
    assert first > 1.0  # about ln 3 at the start
    assert last < 0.5 * first, out["losses"]
