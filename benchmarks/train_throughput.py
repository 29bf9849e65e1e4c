"""Training throughput: our loop (harness.train.train) vs a plain transformers ``Trainer``, same run.

Both train the same freshly initialised model (same seed, same weights) on the same synthetic XNLI
features, with the same batch size, optimiser, learning rate and number of steps, on the same device and
thread count. Only the timed steps count (set-up, tokenisation and model building are excluded); a few warm-up
steps run first on each side.

    python benchmarks/train_throughput.py [--model tiny-xlmr-large] [--steps 60] [--batch 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn


def build(model_name: str, seed: int, max_length: int):
    """The model (encoder + classification head) and the XNLI training features."""
    from harness.models import TaskModel, load_encoder
    from harness.plugins import registry

    reg = registry()
    task = reg.task("xnli")
    ttype = reg.task_type(task.spec.kind)
    data = Path(tempfile.mkdtemp()) / "xnli"
    task.fixture(data_dir=data, n_train=512)
    examples = task.load(split="train", language="en", data_dir=data)
    enc = load_encoder(reg.model(model_name), seed=seed)
    feats = ttype.featurize(examples, enc.tokenizer, task.spec, max_length)
    model = TaskModel(enc.module, {"xnli": ttype.build_head(task.spec, enc.hidden_size)})
    return model, feats, ttype, enc.pad_id


def bench_ours(model, feats, ttype, pad_id, steps: int, batch: int, warmup: int) -> float:
    """Seconds for ``steps`` optimiser steps of harness.train.train (warm-up steps excluded)."""
    from harness.config import resolve_hp
    from harness.train import TrainTask, train

    times = []
    hp = resolve_hp({"lr": 1e-4, "batch_size": batch, "max_steps": warmup + steps, "warmup_ratio": 0.0})
    task = TrainTask("xnli", ttype, feats, batch)

    def progress(info):
        times.append(time.perf_counter())

    train(model, [task], hp, torch.device("cpu"), seed=0, pad_id=pad_id, progress=progress)
    return times[-1] - times[warmup - 1]


class _TrainerModule(nn.Module):
    """The same TaskModel behind the (input_ids, attention_mask, labels) → {'loss'} interface Trainer expects."""

    def __init__(self, model, ttype) -> None:
        super().__init__()
        self.model, self.ttype = model, ttype

    def forward(self, input_ids, attention_mask, labels):
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
        logits = self.ttype.forward(self.model.encoder, self.model.heads["xnli"], batch)
        return {"loss": self.ttype.loss(logits, batch), "logits": logits}


def bench_trainer(model, feats, ttype, pad_id, steps: int, batch: int, warmup: int) -> float:
    """Seconds for ``steps`` optimiser steps of transformers.Trainer (warm-up steps excluded)."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    times = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            times.append(time.perf_counter())

    out = tempfile.mkdtemp()
    args = TrainingArguments(
        output_dir=out, max_steps=warmup + steps, per_device_train_batch_size=batch, learning_rate=1e-4,
        weight_decay=0.01, warmup_steps=0, lr_scheduler_type="linear", logging_strategy="no",
        save_strategy="no", report_to=[], use_cpu=True, dataloader_num_workers=0, seed=0,
        disable_tqdm=True, remove_unused_columns=False,
    )
    rows = [{"input_ids": f["input_ids"], "attention_mask": f["attention_mask"], "labels": f["labels"]} for f in feats]
    trainer = Trainer(model=_TrainerModule(model, ttype), args=args, train_dataset=rows,
                      data_collator=lambda fs: ttype.collate(fs, pad_id), callbacks=[Clock()])
    trainer.train()
    return times[-1] - times[warmup - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-xlmr-large")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    results = {"ours": [], "trainer": []}
    for _ in range(a.repeats):  # alternate so drift in machine load hits both sides alike
        for name, fn in (("ours", bench_ours), ("trainer", bench_trainer)):
            model, feats, ttype, pad_id = build(a.model, seed=0, max_length=a.max_length)
            seconds = fn(model, feats, ttype, pad_id, a.steps, a.batch, a.warmup)
            results[name].append(a.steps * a.batch / seconds)
    ours, theirs = statistics.median(results["ours"]), statistics.median(results["trainer"])
    print(f"model={a.model} steps={a.steps} batch={a.batch} max_length={a.max_length} threads={torch.get_num_threads()}")
    print(f"{'loop':<10}{'examples/s (median of ' + str(a.repeats) + ')':>32}   runs")
    for name in ("ours", "trainer"):
        print(f"{name:<10}{statistics.median(results[name]):>32.1f}   " + ", ".join(f"{x:.1f}" for x in results[name]))
    print(f"ratio ours/trainer: {ours / theirs:.3f}")


if __name__ == "__main__":
    main()
