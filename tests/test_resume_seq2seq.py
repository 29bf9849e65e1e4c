"""Resume of the sequence-to-sequence loop (FLORES targets, ``harness.tasktypes.seq2seq.fit``): a graceful stop writes a
checkpoint and raises ``Preempted``; a fresh model resumes from it and ends bit-identical to an uninterrupted run
(weights, loss curve, best step) on CPU, with the resume recorded in the summary as exact."""

from __future__ import annotations

import json

import pytest

from harness.run.stop import Preempted, clear_stop, request_stop
from harness.training.checkpoint import Resume, resume_record

HP = {"batch_size": 4, "max_steps": 8, "epochs": 1, "warmup_ratio": 0.25, "weight_decay": 0.01, "lr": 3e-3,
      "max_grad_norm": 1.0, "precision": "fp32", "eval_every": 2}


def _run(root, work, stop_at=None):
    import torch

    from harness.core.registry import registry
    from harness.modeling.encoder import load_encoder
    from harness.tasktypes.seq2seq import featurize, fit

    torch.set_num_threads(1)
    spec = registry().model("tiny-mt5").with_overrides(options={"d_model": 32, "d_ff": 64, "dropout": 0.1})
    enc = load_encoder(spec, seed=0)
    examples = [{"source": f"the cat {i} is red", "target": f"die Katze {i} ist rot"} for i in range(10)]
    feats, _ = featurize(examples, [e["source"] for e in examples], enc.tokenizer, 16, 16)

    def progress(info):
        if info["step"] == stop_at:
            request_stop("test")

    best_weights = {}

    def keep(model, step, score):
        best_weights["step"] = step
        best_weights["w"] = {k: v.clone() for k, v in model.state_dict().items()}

    resume = Resume(root, "3 steps", outputs=work)
    summary = fit(enc.module, feats, HP, torch.device("cpu"), 0, enc.pad_id, label_smoothing=0.1,
                  select=lambda m: -abs(float(next(m.parameters()).detach().sum())), on_best=keep,
                  progress=progress, resume=resume)
    return summary, {k: v.clone() for k, v in enc.module.state_dict().items()}


def test_seq2seq_graceful_stop_then_resume_is_bit_identical(tmp_path):
    import torch

    clear_stop()
    reference, ref_weights = _run(tmp_path / "ref", tmp_path / "work-ref")
    assert reference["resumed"] is None
    with pytest.raises(Preempted, match="stopped at step 5"):
        _run(tmp_path / "cut", tmp_path / "work-cut", stop_at=5)
    clear_stop()
    assert [p.name for p in Resume(tmp_path / "cut").checkpoints()] == ["ckpt-000000003", "ckpt-000000005"]
    resumed, weights = _run(tmp_path / "cut", tmp_path / "work-cut")
    assert resumed["losses"] == reference["losses"] and len(resumed["losses"]) == 8
    assert (resumed["best_step"], resumed["best_score"]) == (reference["best_step"], reference["best_score"])
    assert all(torch.equal(weights[k], ref_weights[k]) for k in ref_weights)
    assert resumed["resumed"] == {"from_steps": [5], "exact": True,
                                  "note": "CPU: bit-identical to an uninterrupted run"}
    log = [json.loads(x) for x in (tmp_path / "cut" / "train_log.jsonl").read_text().splitlines()]
    cut = log.index({"resumed_from": 5})
    assert [r["step"] for r in log[:cut] if "step" in r] == [1, 2, 3, 4, 5]
    assert [r["step"] for r in log[cut:] if "step" in r] == [6, 7, 8]


def test_resume_record_says_gpu_resume_is_not_exact():
    assert resume_record([], "cpu") is None
    rec = resume_record([300, 600], "cuda")
    assert rec["from_steps"] == [300, 600] and rec["exact"] is False and "not bit-deterministic" in rec["note"]
