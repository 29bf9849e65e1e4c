"""Training throughput: our loop (harness.training.loop.train) vs a plain transformers ``Trainer``, same run; examples/s,
tokens/s and model FLOPs utilisation (MFU).

Both train the same freshly initialised model (same seed, same weights) on the same synthetic XNLI
features lengthened to realistic size (``--length``, default 128 tokens per premise/hypothesis pair, like real
XNLI/MNLI pairs at ``max_length`` 128: each pair's texts are repeated with other examples' sentences until the pair
is about that long; the smoke sentences alone are ~19 tokens, which flatters per-step overheads), with the same batch size, optimiser, learning rate and number of steps, on the same device and
thread count. Only the timed steps count (set-up, tokenisation and model building are excluded); a few warm-up
steps run first on each side.

**tokens/s** counts real (non-pad) tokens: examples/s x the mean feature length. **MFU** is achieved model
FLOP/s over the matmul peak measured in the same run (best of several large square matmuls in the training
precision, same device and threads). Model FLOPs per token follow PaLM (Chowdhery et al. 2022, app. B):
``6 N + 12 L h s`` for training, N the non-embedding parameters, L layers, h hidden, s the mean sequence length.

``--random-init`` builds a registered hub model's architecture from its published config with random weights
(no download; the tiny byte-level BPE tokenizer supplies ids, all within the vocabulary), e.g. the base config:

    python benchmarks/train_throughput.py [--model tiny-xlmr-large] [--steps 60] [--batch 16] [--repeats 3]
    python benchmarks/train_throughput.py --model xlm-roberta-base --random-init     # the acceptance (≈128 tokens)
    python benchmarks/train_throughput.py --model xlm-roberta-base --random-init --quick   # < 3 minutes
    python benchmarks/train_throughput.py --model xlm-roberta-large --random-init --device cuda --precision bf16 \
        --batch 32 --max-length 128
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn


def random_init_encoder(model_name: str, seed: int):
    """A registered hub model's architecture from its published config, random weights, tiny tokenizer."""
    from transformers import AutoModel
    from xlt_harness_plugins.models.published import make_config
    from xlt_harness_plugins.models.tiny_xlmr import train_tokenizer

    from harness.core.registry import registry
    from harness.modeling.encoder import Encoder

    config = make_config(registry().model(model_name).source)
    torch.manual_seed(seed)
    module = AutoModel.from_config(config)
    return Encoder(module=module, tokenizer=train_tokenizer(600), hidden_size=int(config.hidden_size))


def lengthen(examples: list[dict], tokenizer, target: int) -> list[dict]:
    """Each pair grown with the next examples' sentences (premise and hypothesis ~3:1, like XNLI) until it has
    about ``target`` tokens; ``target`` 0 keeps the smoke sentences as they are."""
    if target <= 0:
        return examples
    out = []
    for i, e in enumerate(examples):
        a, b, j = e["text_a"], e["text_b"], i + 1
        while len(tokenizer(a, b)["input_ids"]) < target:
            o = examples[j % len(examples)]
            a, b, j = f"{a} {o['text_a']}", (f"{b} {o['text_b']}" if j % 3 == 0 else b), j + 1
        out.append({**e, "text_a": a, "text_b": b})
    return out


def build(model_name: str, seed: int, max_length: int, random_init: bool = False, length: int = 0):
    """The model (encoder + classification head) and the XNLI training features (pairs of ~``length`` tokens)."""
    from harness.core.registry import registry
    from harness.modeling.encoder import TaskModel, load_encoder

    reg = registry()
    task = reg.task("xnli")
    ttype = reg.task_type(task.spec.kind)
    data = Path(tempfile.mkdtemp()) / "xnli"
    task.fixture(data_dir=data, n_train=512)
    examples = task.load(split="train", language="en", data_dir=data)
    enc = random_init_encoder(model_name, seed) if random_init else load_encoder(reg.model(model_name), seed=seed)
    examples = lengthen(examples, enc.tokenizer, min(length, max_length))
    feats = ttype.featurize(examples, enc.tokenizer, task.spec, max_length)
    model = TaskModel(enc.module, {"xnli": ttype.build_head(task.spec, enc.hidden_size)})
    return model, feats, ttype, enc.pad_id


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_ours(model, feats, ttype, pad_id, steps: int, batch: int, warmup: int, device: str = "cpu",
               precision: str = "fp32") -> float:
    """Seconds for ``steps`` optimiser steps of harness.training.loop.train (warm-up steps excluded)."""
    from harness.planning.config import resolve_hp
    from harness.training.loop import TrainTask, train

    times = []
    hp = resolve_hp({"lr": 1e-4, "batch_size": batch, "max_steps": warmup + steps, "warmup_ratio": 0.0,
                     "precision": precision})
    task = TrainTask("xnli", ttype, feats, batch)

    def progress(info):
        _sync(device)
        times.append(time.perf_counter())

    train(model, [task], hp, torch.device(device), seed=0, pad_id=pad_id, progress=progress)
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


def bench_trainer(model, feats, ttype, pad_id, steps: int, batch: int, warmup: int, device: str = "cpu",
                  precision: str = "fp32") -> float:
    """Seconds for ``steps`` optimiser steps of transformers.Trainer (warm-up steps excluded)."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    times = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            _sync(device)
            times.append(time.perf_counter())

    out = tempfile.mkdtemp()
    args = TrainingArguments(
        output_dir=out, max_steps=warmup + steps, per_device_train_batch_size=batch, learning_rate=1e-4,
        weight_decay=0.01, warmup_steps=0, lr_scheduler_type="linear", logging_strategy="no",
        save_strategy="no", report_to=[], use_cpu=device == "cpu", dataloader_num_workers=0, seed=0,
        disable_tqdm=True, remove_unused_columns=False, bf16=precision == "bf16", fp16=precision == "fp16",
    )
    rows = [{"input_ids": f["input_ids"], "attention_mask": f["attention_mask"], "labels": f["labels"]} for f in feats]
    trainer = Trainer(model=_TrainerModule(model, ttype), args=args, train_dataset=rows,
                      data_collator=lambda fs: ttype.collate(fs, pad_id), callbacks=[Clock()])
    trainer.train()
    return times[-1] - times[warmup - 1]


def matmul_peak(device: str, precision: str, n: int | None = None, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n matmul in the training precision on this device (the MFU denominator)."""
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    n = n or (8192 if device.startswith("cuda") else 1024)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(repeats + 1):  # the first call warms up
        _sync(device)
        t = time.perf_counter()
        (a @ b).sum().item() if device == "cpu" else a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def train_flops_per_token(model, mean_length: float) -> float:
    """PaLM's training FLOPs per token: 6 x non-embedding parameters + 12 x layers x hidden x sequence length."""
    from xlt_harness_plugins.models.published import count_params, shape_of

    _, nonembed = count_params(model)
    shape = shape_of(model.encoder.config)
    return 6 * nonembed + 12 * shape["layers"] * shape["hidden"] * mean_length


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-xlmr-large")
    ap.add_argument("--random-init", action="store_true",
                    help="build the model's published architecture with random weights (no download)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--length", type=int, default=128, help="target tokens per pair (0: the ~19-token smoke pairs)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="8 steps of batch 8, one repeat (< 3 minutes)")
    ap.add_argument("--skip-trainer", action="store_true", help="time only our loop")
    a = ap.parse_args()
    if a.quick:
        a.steps, a.warmup, a.batch, a.repeats = 8, 2, 8, 1

    loops = (("ours", bench_ours),) + (() if a.skip_trainer else (("trainer", bench_trainer),))
    results: dict[str, list[float]] = {name: [] for name, _ in loops}
    for _ in range(a.repeats):  # alternate so drift in machine load hits both sides alike
        for name, fn in loops:
            model, feats, ttype, pad_id = build(a.model, seed=0, max_length=a.max_length, random_init=a.random_init,
                                                length=a.length)
            seconds = fn(model, feats, ttype, pad_id, a.steps, a.batch, a.warmup, a.device, a.precision)
            results[name].append(a.steps * a.batch / seconds)
    mean_len = statistics.fmean(len(f["input_ids"]) for f in feats)
    flops_tok = train_flops_per_token(model, mean_len)
    peak = matmul_peak(a.device, a.precision)
    device_name = torch.cuda.get_device_name() if a.device.startswith("cuda") else f"cpu x{torch.get_num_threads()}"
    print(f"model={a.model}{' (random init, published config)' if a.random_init else ''} device={device_name} "
          f"precision={a.precision} steps={a.steps} batch={a.batch} max_length={a.max_length} length={a.length} "
          f"threads={torch.get_num_threads()}")
    print(f"mean tokens/example={mean_len:.1f}  train FLOPs/token={flops_tok:.3e}  "
          f"measured {a.precision} matmul peak={peak / 1e9:.1f} GFLOP/s")
    print(f"{'loop':<10}{'examples/s':>12}{'tokens/s':>12}{'MFU':>9}   examples/s per run (median of {a.repeats})")
    for name in results:
        ex = statistics.median(results[name])
        tok = ex * mean_len
        print(f"{name:<10}{ex:>12.1f}{tok:>12.0f}{tok * flops_tok / peak:>9.1%}   "
              + ", ".join(f"{x:.1f}" for x in results[name]))
    if "trainer" in results:
        print(f"ratio ours/trainer: {statistics.median(results['ours']) / statistics.median(results['trainer']):.3f}")


if __name__ == "__main__":
    main()
