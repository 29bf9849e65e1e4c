"""Seq2seq training throughput: our loop (``harness.tasktypes.seq2seq.fit``) vs a plain transformers ``Seq2SeqTrainer``,
same run, same freshly initialised tiny mT5 (same seed and weights), same SYNTHETIC bitext features, batch size,
AdamW, learning rate, steps, device and thread count. tokens/s counts real source + target tokens of the batches
trained on, divided by the wall time of the training call (tokenisation and model building excluded); medians of
``--repeats`` runs per side, the ratio is ours / Trainer's.

    python benchmarks/seq2seq_throughput.py [--d-model 64] [--steps 40] [--batch 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

import torch


def bitext(n: int, seed: int = 0) -> list[dict]:
    from harness.toolkit.synthetic import LEXICON

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        a, b, c, d = (rng.randrange(8) for _ in range(4))
        en, de = LEXICON["en"], LEXICON["de"]
        src = en["and"].format(x=en["is"].format(n=en["nouns"][a], a=en["adjs"][b]),
                               y=en["not"].format(n=en["nouns"][c], a=en["adjs"][d]))
        tgt = de["and"].format(x=de["is"].format(n=de["nouns"][a], a=de["adjs"][b]),
                               y=de["not"].format(n=de["nouns"][c], a=de["adjs"][d]))
        rows.append({"id": str(i), "source": src, "target": tgt, "src_name": "English", "tgt_name": "German",
                     "direction": "en->xx"})
    return rows


def build(d_model: int, seed: int):
    from xlt_harness_plugins.models.mt5 import load_tiny

    from harness.core.specs import ModelSpec

    spec = ModelSpec("bench-mt5", family="tiny-mt5", source="local:tiny-mt5",
                     options={"d_model": d_model, "d_ff": 2 * d_model, "layers": 2, "heads": 4, "d_kv": d_model // 4,
                              "dropout": 0.0})
    return load_tiny(spec, seed=seed)


def ours(feats, d_model, steps, batch, lr, seed) -> float:
    from harness.planning.config import resolve_hp
    from harness.tasktypes.seq2seq import fit

    enc = build(d_model, seed)
    hp = resolve_hp({"lr": lr, "batch_size": batch, "max_steps": steps, "warmup_ratio": 0.0, "weight_decay": 0.0})
    out = fit(enc.module, feats, hp, torch.device("cpu"), seed, enc.pad_id)
    return out["tokens_per_s"]


def trainer(feats, d_model, steps, batch, lr, seed) -> float:
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

    enc = build(d_model, seed)
    model = enc.module.model  # the bare MT5ForConditionalGeneration inside the family's wrapper
    data = [{"input_ids": f["input_ids"], "labels": f["labels"]} for f in feats]
    with tempfile.TemporaryDirectory() as out:
        args = Seq2SeqTrainingArguments(out, per_device_train_batch_size=batch, max_steps=steps, learning_rate=lr,
                                        warmup_steps=0, weight_decay=0.0, lr_scheduler_type="linear",
                                        max_grad_norm=1.0, logging_strategy="no", save_strategy="no",
                                        report_to=[], use_cpu=True, seed=seed, dataloader_num_workers=0,
                                        disable_tqdm=True)
        t = Seq2SeqTrainer(model=model, args=args, train_dataset=data,
                           data_collator=DataCollatorForSeq2Seq(enc.tokenizer, model=model))
        start = time.perf_counter()
        t.train()
        elapsed = time.perf_counter() - start
    # the same number of examples per step as ours; count their real tokens in the order the sampler may pick:
    # every feature has close to the mean length, so steps x batch x mean tokens per feature
    mean = statistics.mean(len(f["input_ids"]) + len(f["labels"]) for f in feats)
    return steps * batch * mean / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from harness.tasktypes.generation import DEFAULT_OPTIONS, GenerationType
    from harness.tasktypes.seq2seq import featurize

    rows = bitext(512)
    enc = build(args.d_model, 0)
    prompts = GenerationType().prompts(rows, DEFAULT_OPTIONS)
    feats, _ = featurize(rows, prompts, enc.tokenizer, 512, 256)
    a, b = [], []
    for r in range(args.repeats):  # interleaved, so load changes hit both sides alike
        a.append(ours(feats, args.d_model, args.steps, args.batch, args.lr, r))
        b.append(trainer(feats, args.d_model, args.steps, args.batch, args.lr, r))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"threads={torch.get_num_threads()} d_model={args.d_model} batch={args.batch} steps={args.steps} "
          f"repeats={args.repeats}: harness.tasktypes.seq2seq {ma:.0f} tok/s, Seq2SeqTrainer {mb:.0f} tok/s, "
          f"ratio {ma / mb:.2f}")


if __name__ == "__main__":
    main()
