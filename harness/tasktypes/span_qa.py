"""Extractive span QA (XQuAD, MLQA, TyDiQA-GoldP, SQuAD v1.1/v2.0): start/end logits over the context.

Example layout: ``{"id", "context", "question", "answers": {"text": [...], "answer_start": [...]} | None}`` with
``answer_start`` a *character* offset into ``context`` (loaders convert byte offsets). ``answers`` None means the
split carries no gold (scoring raises ``MissingGold``); empty lists mean "unanswerable" (SQuAD v2.0).

Encoding (the recipe of XTREME's ``run_squad.py``): the question is cut to ``max_query_length`` pieces; the
context is tokenised once with character offsets and cut into **sliding windows** of at most ``max_length``
tokens (question and special tokens included), each window starting ``doc_stride`` pieces after the previous
one, so every context token is in some window (when ``doc_stride`` is not shorter than a window — a short
``max_length`` — the step becomes half a window so that windows still overlap; XTREME's 384/128 never hits this). Each window is one feature ``<cls> question <sep> window <sep>``
(the special-token layout is read from the tokenizer's own pair template, so BERT, XLM-R and mT5 all work).
Segment ids (``token_type_ids``) follow that template too (mBERT: 0 up to the first ``[SEP]``, 1 for the context
and the last ``[SEP]``, as XTREME's ``run_squad`` passes them) and reach the encoder.
Training labels the first answer's first/last piece, or the **no-answer position** when the answer is not inside
the window.

The no-answer position is the template's first special token: ``<cls>`` (position 0) for BERT and XLM-R, as in
``run_squad``; for a family without CLS it is the separator after the question (mT5: ``question </s> context
</s>``, so the ``</s>`` after the question — never a question or context piece, present in every window). A
tokenizer whose pair template has no special token at all is rejected with an error.

Decoding: per example, over all its windows, the ``n_best_size`` best start and end logits give candidate spans
inside the context with ``end >= start`` and at most ``max_answer_length`` pieces, scored by start + end logit;
the best candidate's text is the context **sliced by character offsets** (never re-built from whitespace
tokens, so Chinese, Japanese and Thai answers come out exactly; surrounding whitespace is stripped).

Knobs (``TaskSpec.defaults``; XTREME's values are the defaults here):

- ``doc_stride`` (128), ``max_query_length`` (64), ``max_answer_length`` (30), ``n_best_size`` (20);
- ``allow_no_answer`` (False): SQuAD-v2-style unanswerable questions. When True the model may answer ``""``:
  the null score is the no-answer position's start + end logit (the minimum over the example's windows) and the
  prediction is ``""`` when ``null_score - best_span_score > null_score_diff_threshold``; training examples with
  empty answers are labelled at the no-answer position in every window. When False an empty answer list is never predicted for,
  and a question with no valid span gets ``""``.
- ``null_score_diff_threshold`` (0.0): the threshold above.

Predictions are answer strings; the gold kept beside each is the list of answer texts.
"""

from __future__ import annotations

from typing import Any

from harness.core.tasktype import TaskType, is_text, pad, pad_inputs
from harness.metrics import score_by_name

DEFAULTS = {"doc_stride": 128, "max_query_length": 64, "max_answer_length": 30, "n_best_size": 20,
            "allow_no_answer": False, "null_score_diff_threshold": 0.0}


# XTREME's recipe for the span-QA targets (``run_squad.py``'s training settings and the knobs above): a task's
# ``TaskSpec.defaults`` may start from it (``defaults=dict(XTREME_RECIPE)``).
XTREME_RECIPE = {"lr": 3e-5, "batch_size": 32, "max_length": 384, "epochs": 2, "doc_stride": 128,
                 "max_query_length": 64, "max_answer_length": 30, "n_best_size": 20}


def qa_options(spec) -> dict[str, Any]:
    """The span-QA knobs of ``spec`` (its ``defaults``) over XTREME's values."""
    return {k: spec.defaults.get(k, v) for k, v in DEFAULTS.items()}


def pair_layout(tokenizer) -> tuple[list[int], list[int], list[int]]:
    """Special-token ids before the question, between question and context, and after the context."""
    enc = tokenizer("a", "b")
    seq = enc.sequence_ids(0)
    ids = enc["input_ids"]
    first_a = seq.index(0)
    last_a = max(i for i, s in enumerate(seq) if s == 0)
    first_b = seq.index(1)
    last_b = max(i for i, s in enumerate(seq) if s == 1)
    return list(ids[:first_a]), list(ids[last_a + 1 : first_b]), list(ids[last_b + 1 :])


def pair_segments(tokenizer) -> tuple[list[int], int, list[int], int, list[int]] | None:
    """Segment ids of the pair template's parts (prefix, question piece, middle, context piece, suffix), or None
    when the tokenizer makes no ``token_type_ids``."""
    enc = tokenizer("a", "b")
    if "token_type_ids" not in enc:
        return None
    seq, types = enc.sequence_ids(0), list(enc["token_type_ids"])
    first_a, first_b = seq.index(0), seq.index(1)
    last_a = max(i for i, s in enumerate(seq) if s == 0)
    last_b = max(i for i, s in enumerate(seq) if s == 1)
    return types[:first_a], types[first_a], types[last_a + 1 : first_b], types[first_b], types[last_b + 1 :]


def no_answer_position(prefix: list[int], n_question: int, middle: list[int], suffix: list[int],
                       n_context: int) -> int:
    """Where "no answer in this window" is labelled: the template's first special token (see the docstring)."""
    if prefix:
        return 0
    if middle:
        return n_question
    if suffix:
        return n_question + n_context
    raise ValueError("span_qa: the tokenizer's pair template has no special token to mark 'no answer'; "
                     "use a tokenizer whose pair template adds one (e.g. a separator)")


def windows(n_tokens: int, max_tokens: int, doc_stride: int) -> list[tuple[int, int]]:
    """``(start, length)`` of each window over ``n_tokens`` context pieces (run_squad's doc-span loop)."""
    spans, start = [], 0
    while True:
        length = min(n_tokens - start, max_tokens)
        spans.append((start, length))
        if start + length >= n_tokens:
            return spans
        start += min(length, doc_stride)


def _answer_tokens(offsets: list[tuple[int, int]], start_char: int, end_char: int) -> tuple[int, int] | None:
    """First and last context piece covering ``[start_char, end_char)``; None if no piece does."""
    first = next((i for i, (s, e) in enumerate(offsets) if e > start_char and e > s), None)
    last = next((i for i in range(len(offsets) - 1, -1, -1) if offsets[i][0] < end_char and offsets[i][1] > offsets[i][0]),
                None)
    if first is None or last is None or last < first:
        return None
    return first, last


class SpanQAType(TaskType):
    kind = "span_qa"
    registry_metrics = True

    def build_head(self, spec, hidden_size: int):
        from torch import nn

        return nn.Linear(hidden_size, 2)

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        opt = qa_options(spec)
        prefix, middle, suffix = pair_layout(tokenizer)
        types = pair_segments(tokenizer)
        n_special = len(prefix) + len(middle) + len(suffix)
        feats = []
        contexts: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}  # paragraphs repeat across questions
        for ex_i, e in enumerate(examples):
            q_ids = tokenizer(e["question"], add_special_tokens=False)["input_ids"][: opt["max_query_length"]]
            if e["context"] not in contexts:
                c = tokenizer(e["context"], add_special_tokens=False, return_offsets_mapping=True)
                contexts[e["context"]] = (c["input_ids"], [tuple(o) for o in c["offset_mapping"]])
            c_ids, c_off = contexts[e["context"]]
            max_tokens = max_length - len(q_ids) - n_special
            if max_tokens < 1:
                raise ValueError(f"{spec.name}: max_length {max_length} leaves no room for the context of "
                                 f"{e['id']!r} (question {len(q_ids)} pieces); raise max_length")
            answer = None
            answers = e.get("answers")
            if answers and answers.get("text"):
                text, start = answers["text"][0], int(answers["answer_start"][0])
                answer = _answer_tokens(c_off, start, start + len(text))
            stride = opt["doc_stride"] if opt["doc_stride"] < max_tokens else max(1, max_tokens // 2)
            for start, length in windows(len(c_ids), max_tokens, stride):
                ids = prefix + list(q_ids) + middle
                ctx0 = len(ids)
                ids = ids + list(c_ids[start : start + length]) + suffix
                token_to_char: list[tuple[int, int] | None] = [None] * len(ids)
                for k in range(length):
                    token_to_char[ctx0 + k] = c_off[start + k]
                null = no_answer_position(prefix, len(q_ids), middle, suffix, length)
                s_pos = e_pos = null
                if answer is not None and start <= answer[0] and answer[1] < start + length:
                    s_pos, e_pos = ctx0 + answer[0] - start, ctx0 + answer[1] - start
                feat = {"example_index": ex_i, "input_ids": ids, "attention_mask": [1] * len(ids),
                        "start_positions": s_pos, "end_positions": e_pos, "token_to_char": token_to_char,
                        "null_position": null}
                if types is not None:
                    t_pre, t_q, t_mid, t_c, t_suf = types
                    feat["token_type_ids"] = t_pre + [t_q] * len(q_ids) + t_mid + [t_c] * length + t_suf
                feats.append(feat)
        return feats

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        import torch

        batch = {**pad_inputs(features, pad_id),
                 "start_positions": torch.tensor([f["start_positions"] for f in features], dtype=torch.long),
                 "end_positions": torch.tensor([f["end_positions"] for f in features], dtype=torch.long)}
        if "token_type_ids" in features[0]:
            batch["token_type_ids"] = pad([f["token_type_ids"] for f in features], 0)
        return batch

    def forward(self, encoder, head, batch):
        from harness.modeling.encoder import run_encoder

        hidden = run_encoder(encoder, batch).last_hidden_state
        logits = head(hidden).float()
        logits = logits.masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, -1e4)
        return logits[..., 0], logits[..., 1]

    def loss(self, logits, batch):
        from torch.nn import functional as F

        start, end = logits
        return (F.cross_entropy(start, batch["start_positions"]) + F.cross_entropy(end, batch["end_positions"])) / 2

    def decode(self, outputs: list, features: list[dict], examples: list[dict], spec) -> list[Any]:
        opt = qa_options(spec)
        best: list[tuple[float, str] | None] = [None] * len(examples)
        null: list[float | None] = [None] * len(examples)
        for (start_logits, end_logits), f in zip(outputs, features):
            i = f["example_index"]
            t2c = f["token_to_char"]
            n = len(t2c)
            s_log, e_log = start_logits[:n].tolist(), end_logits[:n].tolist()
            null_pos = f.get("null_position", 0)
            score_null = s_log[null_pos] + e_log[null_pos]
            null[i] = score_null if null[i] is None else min(null[i], score_null)
            top = opt["n_best_size"]
            starts = sorted(range(n), key=lambda k: -s_log[k])[:top]
            ends = sorted(range(n), key=lambda k: -e_log[k])[:top]
            context = examples[i]["context"]
            for s in starts:
                if t2c[s] is None:
                    continue
                for e in ends:
                    if t2c[e] is None or e < s or e - s + 1 > opt["max_answer_length"]:
                        continue
                    score = s_log[s] + e_log[e]
                    if best[i] is None or score > best[i][0]:
                        best[i] = (score, context[t2c[s][0] : t2c[e][1]].strip())
        preds: list[Any] = []
        for i in range(len(examples)):
            if best[i] is None:
                preds.append("")
            elif opt["allow_no_answer"] and null[i] is not None and null[i] - best[i][0] > opt["null_score_diff_threshold"]:
                preds.append("")
            else:
                preds.append(best[i][1])
        return preds

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str) -> dict[str, Any]:
        golds = [self.gold(e) for e in examples]
        return score_by_name(spec.metrics, golds, predictions, language=language)

    def gold(self, example: dict) -> Any:
        answers = example.get("answers")
        return None if answers is None else list(answers.get("text") or [])

    def check_prediction(self, example: dict, prediction: Any, spec) -> str | None:
        if prediction is not None and not isinstance(prediction, str):
            return f"prediction {prediction!r} is not an answer string"
        return None

    def check_example(self, example: dict, spec) -> str | None:
        context, answers = example.get("context"), example.get("answers")
        if not is_text(context) or not context:
            return "no 'context' text"
        if not is_text(example.get("question")):
            return "no 'question' string"
        if answers is None:
            return "no answers (the split carries no gold, which training and scoring need; XTREME blanks some of them)"
        texts, starts = (answers.get("text"), answers.get("answer_start")) if isinstance(answers, dict) else (0, 0)
        if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
            return "'answers' is not {'text': [...], 'answer_start': [...]} with as many starts as texts"
        for text, start in zip(texts, starts):
            if not is_text(text) or isinstance(start, bool) or not isinstance(start, int):
                return f"answer {text!r} at {start!r} is not a string at a character offset"
            if not 0 <= start <= len(context) - len(text):
                return f"answer {text!r} starts at {start}, outside the context ({len(context)} characters)"
            if context[start : start + len(text)] != text:
                return (f"answer {text!r} does not match the context at {start} "
                        f"({context[start : start + len(text)]!r}); offsets must count characters")
        return None
