"""Every understanding task kind on every family: tiny XLM-R (``<s> … </s>``), tiny mBERT (``[CLS] … [SEP]`` with
segment ids) and tiny mT5 (no CLS, only ``</s>``, masked-mean pooling).

Each trainable kind is fine-tuned for a few full-batch steps (dropout off, fixed seeds) on a fixed hand-made
dataset: the loss must fall to below ``FALL`` of its first value, and the predictions must decode into the task's
format (a label, a choice index in range, one tag per word, a substring of the context or ""). Retrieval has no
training: its predictions must name examples of the split, with the encoder's declared pooling. The encodings are
also checked exactly against each tokenizer's own pair template (segment ids, no-answer position, first sub-token).
"""

from __future__ import annotations

import pytest
import torch

from harness.core.registry import registry
from harness.core.specs import TaskSpec
from harness.modeling.encoder import TaskModel, load_encoder
from harness.training.loop import TrainTask, predict, train

FAMILIES = ["tiny-xlmr", "tiny-mbert", "tiny-mt5"]
STEPS = 20
# Full-batch AdamW at lr 5e-3 on 4 examples, 20 steps: every family/kind measured between 0.001 and 0.24 of its
# first loss (span QA and tagging on tiny mT5 are the slowest); 0.8 leaves room for thread-count rounding while a
# model that does not learn (labels on special tokens, a head reading the wrong positions) stays near 1.0.
FALL = 0.8
HP = {"grad_accum": 1, "max_steps": STEPS, "epochs": 1, "warmup_ratio": 0.0, "eval_every": None, "weight_decay": 0.0,
      "lr": 5e-3, "max_grad_norm": 1.0, "precision": "fp32"}


def _spec(kind: str, **kw) -> TaskSpec:
    return TaskSpec(name=f"toy-{kind}", kind=kind, roles=("target",), languages=("en",), metrics=("accuracy",), **kw)


SPECS = {
    "classification": _spec("classification", labels=("yes", "no")),
    "multiple_choice": _spec("multiple_choice"),
    "tagging": _spec("tagging", labels=("DET", "NOUN", "AUX", "PART", "ADJ", "CCONJ")),
    "span_qa": _spec("span_qa", defaults={"allow_no_answer": True, "doc_stride": 4}),
}

DATA = {
    "classification": [
        {"id": "c0", "text_a": "the cat is red", "text_b": "the dog is red", "label": "yes"},
        {"id": "c1", "text_a": "the cat is green", "text_b": "the dog is small", "label": "no"},
        {"id": "c2", "text_a": "the car is red", "text_b": "the tree is red", "label": "yes"},
        {"id": "c3", "text_a": "the car is quiet", "text_b": "the bird is old", "label": "no"},
    ],
    "multiple_choice": [
        {"id": "m0", "context": "the cat is red", "question": "the cat is", "choices": ["red", "green", "old"],
         "label": 0},
        {"id": "m1", "context": "the dog is big", "question": "the dog is", "choices": ["small", "big"], "label": 1},
        {"id": "m2", "context": "the book is old", "question": "", "choices": ["fast", "warm", "old"], "label": 2},
        {"id": "m3", "context": "", "question": "the river is quiet", "choices": ["quiet", "red"], "label": 0},
    ],
    "tagging": [
        {"id": "t0", "tokens": ["the", "cat", "is", "red"], "tags": ["DET", "NOUN", "AUX", "ADJ"]},
        {"id": "t1", "tokens": ["the", "dog", "is", "not", "big"], "tags": ["DET", "NOUN", "AUX", "PART", "ADJ"]},
        # longer than one segment at max_length 12 for every family: split at word boundaries, every word tagged
        {"id": "t2", "tokens": "the rivière is quiet and the oiseau is not small and the tree is green".split(),
         "tags": ["DET", "NOUN", "AUX", "ADJ", "CCONJ", "DET", "NOUN", "AUX", "PART", "ADJ", "CCONJ", "DET", "NOUN",
                  "AUX", "ADJ"]},
        {"id": "t3", "tokens": ["the", "book", "is", "not", "old"], "tags": ["DET", "NOUN", "AUX", "PART", "ADJ"]},
    ],
    "span_qa": [
        {"id": "q0", "context": "the cat is red and the dog is big", "question": "the dog is",
         "answers": {"text": ["big"], "answer_start": [30]}},
        {"id": "q1", "context": "the car is old and the tree is green", "question": "the car is",
         "answers": {"text": ["old"], "answer_start": [11]}},
        {"id": "q2", "context": "the bird is fast", "question": "the bird is",
         "answers": {"text": ["fast"], "answer_start": [12]}},
        {"id": "q3", "context": "the book is warm", "question": "the river is",
         "answers": {"text": [], "answer_start": []}},  # unanswerable
    ],
}
MAX_LENGTH = {"classification": 32, "multiple_choice": 32, "tagging": 12, "span_qa": 16}


def _encoder(family: str):
    return load_encoder(registry().model(family), seed=0)


def _no_dropout(model) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0


def _check_format(kind: str, examples: list[dict], preds: list, spec: TaskSpec) -> None:
    assert len(preds) == len(examples)
    for e, p in zip(examples, preds):
        if kind == "classification":
            assert p in spec.labels
        elif kind == "multiple_choice":
            assert isinstance(p, int) and 0 <= p < len(e["choices"])
        elif kind == "tagging":
            assert len(p) == len(e["tokens"]) and set(p) <= set(spec.labels)
        else:
            assert p == "" or p in e["context"]


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("kind", list(SPECS))
def test_kind_trains_and_decodes_on_family(kind, family):
    torch.manual_seed(0)
    enc = _encoder(family)
    spec, examples = SPECS[kind], DATA[kind]
    ttype = registry().task_type(kind)
    feats = ttype.featurize(examples, enc.tokenizer, spec, MAX_LENGTH[kind])
    torch.manual_seed(1)
    model = TaskModel(enc.module, {spec.name: ttype.build_head(spec, enc.hidden_size)})
    _no_dropout(model)
    summary = train(model, [TrainTask(spec.name, ttype, feats, len(feats))], HP, torch.device("cpu"), seed=0,
                    pad_id=enc.pad_id)
    losses = summary["losses"]
    print(f"{kind} {family} first {losses[0]:.4f} last {losses[-1]:.4f} ratio {losses[-1] / losses[0]:.3f}")
    assert len(losses) == STEPS and losses[-1] < FALL * losses[0]
    outputs = predict(model, spec.name, ttype, feats, 8, torch.device("cpu"), enc.pad_id)
    _check_format(kind, examples, ttype.decode(outputs, feats, examples, spec), spec)


# --- exact encodings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_tagging_uses_the_tokenizers_own_template_and_first_pieces(family):
    tok = _encoder(family).tokenizer
    ttype = registry().task_type("tagging")
    words = ["the", "rivière", "is", "red"]
    feat = ttype.featurize([{"id": "x", "tokens": words, "tags": ["DET", "NOUN", "AUX", "ADJ"]}], tok,
                           SPECS["tagging"], 64)[0]
    pieces = [tok(w, add_special_tokens=False)["input_ids"] for w in words]
    flat = [i for p in pieces for i in p]
    # the word-by-word pieces inside the tokenizer's own single-sequence template
    specials = {"tiny-xlmr": ([tok.cls_token_id], [tok.sep_token_id]),
                "tiny-mbert": ([tok.cls_token_id], [tok.sep_token_id]),
                "tiny-mt5": ([], [tok.eos_token_id])}[family]
    assert feat["input_ids"] == specials[0] + flat + specials[1]
    starts = [len(specials[0]) + sum(len(p) for p in pieces[:k]) for k in range(len(words))]
    assert feat["first_positions"] == starts
    labelled = [i for i, lab in enumerate(feat["labels"]) if lab != -100]
    assert labelled == starts and [feat["labels"][i] for i in starts] == [0, 1, 2, 4]
    assert ("token_type_ids" in feat) == (family == "tiny-mbert")


@pytest.mark.parametrize("family", FAMILIES)
def test_span_qa_segments_and_no_answer_position(family):
    tok = _encoder(family).tokenizer
    ttype = registry().task_type("span_qa")
    ex = {"id": "x", "context": "the cat is red", "question": "the cat is",
          "answers": {"text": ["red"], "answer_start": [11]}}
    feat = ttype.featurize([ex], tok, SPECS["span_qa"], 64)[0]
    ref = tok(ex["question"], ex["context"])
    assert feat["input_ids"] == ref["input_ids"]  # one window: exactly the tokenizer's pair encoding
    if family == "tiny-mbert":  # [CLS] q [SEP] -> 0, context [SEP] -> 1, as run_squad passes them
        assert feat["token_type_ids"] == ref["token_type_ids"] and 1 in feat["token_type_ids"]
    else:
        assert "token_type_ids" not in feat or set(feat["token_type_ids"]) == {0}
    n_q = len(tok(ex["question"], add_special_tokens=False)["input_ids"])
    null = feat["null_position"]
    if family == "tiny-mt5":  # no CLS: the </s> after the question
        assert null == n_q and feat["input_ids"][null] == tok.eos_token_id
    else:
        assert null == 0 and feat["input_ids"][0] == tok.cls_token_id
    # unanswerable, or answer outside the window: labelled at the no-answer position
    none = ttype.featurize([{**ex, "answers": {"text": [], "answer_start": []}}], tok, SPECS["span_qa"], 64)[0]
    assert (none["start_positions"], none["end_positions"]) == (null, null)
    s, e = feat["start_positions"], feat["end_positions"]
    assert null not in (s, e) and tok.decode(feat["input_ids"][s : e + 1]).strip() == "red"


def test_span_qa_decodes_no_answer_from_its_position():
    ttype = registry().task_type("span_qa")
    spec = SPECS["span_qa"]
    ex = {"id": "x", "context": "the cat", "question": "q", "answers": None}
    t2c = [None, None, (0, 3), (4, 7), None]  # q </s> the cat </s>: no-answer at the first </s>
    feat = {"example_index": 0, "token_to_char": t2c, "null_position": 1}
    start = torch.tensor([0.0, 5.0, 1.0, 0.0, 9.0])
    end = torch.tensor([0.0, 5.0, 0.0, 1.0, 9.0])
    assert ttype.decode([(start, end)], [feat], [ex], spec) == [""]  # null 10 > best span "the cat" 2
    assert ttype.decode([(start, end)], [{**feat, "null_position": 0}], [ex], spec) == ["the cat"]


def test_multiple_choice_pools_as_declared_and_passes_segments():
    import types

    class Echo(torch.nn.Module):
        def forward(self, input_ids, attention_mask, **kw):
            self.kw = kw
            return types.SimpleNamespace(last_hidden_state=input_ids.float().unsqueeze(-1))

    class Capture(torch.nn.Module):
        def forward(self, x):
            self.x = x
            return x

    ttype = registry().task_type("multiple_choice")
    feats = [{"example_index": 0, "input_ids": [[2, 4, 6], [3, 5]], "attention_mask": [[1, 1, 1], [1, 1]],
              "token_type_ids": [[0, 1, 1], [0, 1]], "labels": 0}]
    batch = ttype.collate(feats, pad_id=0)
    assert batch["token_type_ids"].tolist() == [[[0, 1, 1], [0, 1, 0]]]
    head = ttype.build_head(SPECS["multiple_choice"], 1)
    head[-1] = Capture()
    enc = Echo()
    ttype.forward(enc, head, batch)
    assert enc.kw["token_type_ids"].tolist() == [[0, 1, 1], [0, 1, 0]]
    first = head[-1].x
    enc.harness_pooling = "mean"  # mT5's declaration: the masked mean (2+4+6)/3, (3+5)/2
    ttype.forward(enc, head, batch)
    assert head[-1].x is not first
    head_probe = ttype.build_head(SPECS["multiple_choice"], 1)
    for m in head_probe:  # identity head: read the pooled value itself
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.ones_(m.weight)
            torch.nn.init.zeros_(m.bias)
    head_probe[2] = torch.nn.Identity()
    head_probe.eval()  # no dropout scaling
    assert ttype.forward(enc, head_probe, batch).tolist() == [[4.0, 4.0]]
    del enc.harness_pooling
    assert ttype.forward(enc, head_probe, batch).tolist() == [[2.0, 3.0]]  # first position
    cls_spec = _spec("multiple_choice", defaults={"pooling": "cls"})
    enc.harness_pooling = "mean"
    head_cls = ttype.build_head(cls_spec, 1)
    head_cls.load_state_dict(head_probe.state_dict())
    head_cls[2] = torch.nn.Identity()
    head_cls.eval()
    assert ttype.forward(enc, head_cls, batch).tolist() == [[2.0, 3.0]]  # the task's explicit choice wins


def test_multiple_choice_segment_ids_follow_the_pair_template():
    tok = _encoder("tiny-mbert").tokenizer
    ttype = registry().task_type("multiple_choice")
    ex = DATA["multiple_choice"][0]
    feat = ttype.featurize([ex], tok, SPECS["multiple_choice"], 32)[0]
    ref = tok("the cat is red", "the cat is green")
    assert feat["input_ids"][1] == ref["input_ids"] and feat["token_type_ids"][1] == ref["token_type_ids"]
    assert 1 in feat["token_type_ids"][1]


@pytest.mark.parametrize("family", FAMILIES)
def test_retrieval_honours_declared_pooling_and_decodes(family):
    from harness.tasktypes.retrieval import resolve_options

    enc = _encoder(family)
    spec = TaskSpec(name="toy-bitext", kind="retrieval", roles=("target",), languages=("de",), metrics=("accuracy",),
                    defaults={"retrieval": {"protocol": "bitext", "max_length": 32, "search": "flat"}})
    _, opts, _ = resolve_options(spec, {}, encoder=enc)
    assert opts.pooling == "mean"  # mT5 declares it; the others fall back to retrieval's default
    enc.module.harness_pooling = "cls"
    assert resolve_options(spec, {}, encoder=enc)[1].pooling == "cls"  # a declared pooling is honoured
    assert resolve_options(spec, {"options": {"pooling": "mean"}}, encoder=enc)[1].pooling == "mean"  # explicit wins
    del enc.module.harness_pooling
    if family == "tiny-mt5":
        enc.module.harness_pooling = "mean"
    examples = [{"id": f"b{i}", "language": "de", "source": s, "target": t} for i, (s, t) in enumerate([
        ("the cat is red", "die Katze ist rot"), ("the dog is big", "der Hund ist groß"),
        ("the house is old", "das Haus ist alt"), ("the tree is green", "der Baum ist grün")])]
    ttype = registry().task_type("retrieval")
    preds = ttype.predict(enc, examples, spec, "de")[-1]
    ids = {e["id"] for e in examples}
    assert len(preds) == 4 and all(set(p) == {"fwd", "bwd", "fwd_margin", "bwd_margin"} for p in preds)
    assert all(v in ids for p in preds for v in p.values())
