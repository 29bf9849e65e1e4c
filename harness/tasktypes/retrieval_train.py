"""XTREME-R retrieval fine-tuning (``retrieval_regime: xtreme-r``): the encoder becomes a shared-tower dual encoder
trained on English (query, candidate) pairs, then the retrieval evaluation runs on the trained encoder.

The objective is XTREME-R's ``BertForRetrieval`` loss: queries and candidates go through the same encoder, their
pooled vectors are L2-normalised, the similarity matrix of a batch is multiplied by a learned logit scale
(initialised to ``logit_scale``, 100 in the reference) and each query's own candidate is the gold class of a
softmax over the batch's candidates (in-batch negatives). Pooling, layer and prefixes are the retrieval options the
evaluation uses, so training and evaluation embed alike. Steps, optimiser, checkpoints, resume and determinism are
the shared loop's (:func:`harness.training.loop.train`); checkpoint selection keeps the step with the lowest
English dev loss (the reference's ``evaluate`` returns the mean dev loss), computed on fixed batches in file order.

Training examples (layout ``pair``): ``{"id", "language": "en", "query": str, "candidate": str}``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

REGIMES = ("training-free", "xtreme-r")
# The fine-tune recipe knobs a task declares in ``defaults["retrieval_finetune"]`` (targets override them in
# ``options["retrieval_finetune"]``); the step recipe itself (lr, epochs, batch, ...) is the target's ``train``.
FINETUNE_KEYS = ("data", "max_query_length", "logit_scale")


def regime_of(defaults: dict[str, Any]) -> str:
    """The retrieval regime of a target: its ``retrieval_regime`` option, else the task's default, else
    ``training-free``."""
    regime = defaults.get("retrieval_regime") or "training-free"
    if regime not in REGIMES:
        raise ValueError(f"retrieval_regime {regime!r} is not one of {', '.join(REGIMES)}")
    return regime


def finetune_options(defaults: dict[str, Any], task: str) -> dict[str, Any]:
    """The task's fine-tune recipe knobs (``data``, ``max_query_length``, ``logit_scale``); an error for a task
    that declares none (XTREME-R fine-tunes only LAReQA and Mewsli-X)."""
    conf = defaults.get("retrieval_finetune")
    if not conf:
        raise ValueError(f"{task}: retrieval_regime 'xtreme-r' needs a fine-tune recipe (defaults.retrieval_finetune "
                         "with English training pairs); XTREME-R evaluates this task training-free")
    bad = sorted(set(conf) - set(FINETUNE_KEYS))
    if bad:
        raise ValueError(f"{task}: unknown retrieval_finetune key(s) {bad}; allowed: {', '.join(FINETUNE_KEYS)}")
    return {"max_query_length": 96, "logit_scale": 100.0, **conf}


def pair_loss(queries: torch.Tensor, candidates: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """Mean in-batch softmax cross-entropy: row i of ``scale · q̂ ĉᵀ`` (unit vectors) has its gold at column i."""
    logits = pair_logits(queries, candidates, scale)
    return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))


def pair_logits(queries: torch.Tensor, candidates: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """``(batch, batch)`` logits: cosine similarities of every query with every candidate, times ``scale``."""
    q = F.normalize(queries.float(), p=2, dim=-1)
    c = F.normalize(candidates.float(), p=2, dim=-1)
    return (q @ c.T) * scale


class LogitScale(nn.Module):
    """The dual encoder's only head: the learned logit scale (one parameter, as in XTREME-R's ``BertForRetrieval``)."""

    def __init__(self, init: float = 100.0) -> None:
        super().__init__()
        self.logit_scale = nn.Parameter(torch.full((1,), float(init)))


class PairObjective:
    """What the shared loop calls for the pair loss (``collate``, ``forward``, ``loss``), bound to the retrieval
    embedding options (``layer``, ``pooling``, prefixes) so that training pools exactly as evaluation does."""

    def __init__(self, opts: Any) -> None:
        self.opts = opts

    def featurize(self, examples: list[dict], tokenizer, max_query: int, max_candidate: int) -> list[dict]:
        q = tokenizer([self.opts.query_prefix + e["query"] for e in examples], truncation=True, max_length=max_query)
        c = tokenizer([self.opts.doc_prefix + e["candidate"] for e in examples], truncation=True,
                      max_length=max_candidate)
        return [{"example_index": i, "input_ids": q["input_ids"][i], "c_input_ids": c["input_ids"][i]}
                for i in range(len(examples))]

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        from harness.core.tasktype import pad

        q = [f["input_ids"] for f in features]
        c = [f["c_input_ids"] for f in features]
        return {"input_ids": pad(q, pad_id), "attention_mask": pad([[1] * len(r) for r in q], 0),
                "c_input_ids": pad(c, pad_id), "c_attention_mask": pad([[1] * len(r) for r in c], 0)}

    def encode(self, encoder, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pooled vectors of one side (the layer and pooling of the retrieval options; ``-1`` = last block)."""
        from harness.modeling.encoder import pool

        layer = self.opts.layer
        out = encoder(input_ids=input_ids, attention_mask=mask, output_hidden_states=layer != -1)
        states = out.last_hidden_state if layer == -1 else out.hidden_states[layer]
        return pool(states, mask, self.opts.pooling)

    def forward(self, encoder, head, batch: dict[str, Any]) -> torch.Tensor:
        q = self.encode(encoder, batch["input_ids"], batch["attention_mask"])
        c = self.encode(encoder, batch["c_input_ids"], batch["c_attention_mask"])
        return pair_logits(q, c, head.logit_scale)

    def loss(self, logits: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))


@torch.no_grad()
def dev_loss(model, name: str, objective: PairObjective, features: list[dict], batch_size: int,
             device: torch.device, pad_id: int) -> float:
    """Mean pair loss over ``features`` in fixed batches of ``batch_size`` (file order; the last may be smaller)."""
    from harness.training.loop import to_device

    was_training = model.training
    model.to(device).eval()
    total, n = 0.0, 0
    for i in range(0, len(features), batch_size):
        part = features[i : i + batch_size]
        batch = to_device(objective.collate(part, pad_id), device)
        total += float(objective.loss(objective.forward(model.encoder, model.heads[name], batch), batch)) * len(part)
        n += len(part)
    model.train(was_training)
    return total / max(1, n)


# why: one recipe read top to bottom (English pairs → features → the shared loop → selected weights and files).
def fit_dual_encoder(params: dict[str, Any], work: Path, spec, encoder, device: torch.device, opts: Any,
                     progress=None, resume=None) -> dict[str, Any]:
    """Fine-tune ``encoder`` as a dual encoder on the task's English pairs, embedding with the retrieval options
    ``opts`` (:class:`~harness.search.embed.EmbedOptions`); keep the lowest-dev-loss step."""
    from harness.core import files
    from harness.modeling.encoder import TaskModel, save_weights
    from harness.planning.task_data import load_split
    from harness.toolkit.data import guard_zero_shot
    from harness.training.loop import TrainTask, train

    hp, lang = params["hp"], spec.train_language
    recipe = finetune_options(spec.defaults, spec.name)
    train_ex = load_split(params["task"], params["train_split"], lang)
    guard_zero_shot(train_ex, lang, spec.name, purpose="target training")
    select_ex = load_split(params["task"], params["select_split"], lang)
    guard_zero_shot(select_ex, lang, spec.name, purpose="checkpoint selection")
    objective = PairObjective(opts)
    max_query = min(int(recipe["max_query_length"]), int(hp["max_length"]))
    train_feats = objective.featurize(train_ex, encoder.tokenizer, max_query, hp["max_length"])
    select_feats = objective.featurize(select_ex, encoder.tokenizer, max_query, hp["max_length"])
    model = TaskModel(encoder.module, {spec.name: LogitScale(recipe["logit_scale"])})
    micro = max(1, int(hp["batch_size"]) // int(hp["grad_accum"]))  # the in-batch negatives of one forward
    if micro < 2:
        raise ValueError(f"{spec.name}: a forward pass of batch_size/grad_accum = {micro} pair has no in-batch "
                         "negatives (the loss is 0); raise train.batch_size or lower train.grad_accum")

    def select(m: TaskModel) -> float:  # higher is better: the negated English dev loss
        return -dev_loss(m, spec.name, objective, select_feats, micro, device, encoder.pad_id)

    def keep(m: TaskModel, step: int, score: float) -> None:
        save_weights(m.encoder, work / files.ENCODER)
        save_weights(m.heads, work / files.HEADS)
        (work / files.BEST).write_text(json.dumps({"step": step, "score": score}))

    summary = train(model, [TrainTask(spec.name, objective, train_feats, hp["batch_size"])], hp, device,
                    params["seed"], encoder.pad_id, select=select, on_best=keep, progress=progress, resume=resume)
    summary["logit_scale"] = float(model.heads[spec.name].logit_scale.detach())
    (work / files.CONFIG).write_text(json.dumps(params, indent=2, sort_keys=True))
    (work / files.SUMMARY).write_text(json.dumps(summary))
    return {"steps": summary["steps"], "best_step": summary["best_step"], "best_dev": summary["best_score"],
            "n_train": len(train_ex), "n_select": len(select_ex)}


def finetune_record(trained_dir: str | Path | None, defaults: dict[str, Any]) -> dict[str, Any] | None:
    """The fine-tune recipe a row records (``retrieval_finetune``): data, lr, epochs or steps, batch, lengths and
    the selected checkpoint, read from the target node's files (None: no fine-tune)."""
    if not trained_dir:
        return None
    from harness.core import files

    trained_dir = Path(trained_dir)
    conf = json.loads((trained_dir / files.CONFIG).read_text())
    hp = conf["hp"]
    best = json.loads((trained_dir / files.BEST).read_text()) if (trained_dir / files.BEST).exists() else {}
    summary = json.loads((trained_dir / files.SUMMARY).read_text())
    recipe = finetune_options(defaults, conf["task"]["name"])
    dev_loss_best = -best["score"] if isinstance(best.get("score"), (int, float)) and math.isfinite(best["score"]) else None
    return {"data": recipe.get("data"), "train_split": conf["train_split"], "select_split": conf["select_split"],
            "lr": hp["lr"], "epochs": None if hp["max_steps"] else hp["epochs"], "max_steps": hp["max_steps"],
            "steps": summary["steps"], "batch": hp["batch_size"], "grad_accum": hp["grad_accum"],
            "warmup_ratio": hp["warmup_ratio"], "weight_decay": hp["weight_decay"],
            "max_len": {"query": min(int(recipe["max_query_length"]), int(hp["max_length"])),
                        "candidate": hp["max_length"]},
            "logit_scale_init": recipe["logit_scale"],
            "checkpoint": {"step": best.get("step", summary.get("best_step")), "selection": "min English dev loss",
                           "dev_loss": dev_loss_best}}


def finetune_signature(record: dict[str, Any] | None) -> str | None:
    """The fine-tune recipe in a signature field (``data=train/dev,lr=2e-05,ep=3.0,bs=16,acc=4,len=96/256,ckpt=9000``)."""
    if record is None:
        return None
    length = record["max_len"]
    budget = f"ep={record['epochs']}" if record["epochs"] is not None else f"steps={record['max_steps']}"
    return (f"data={record['train_split']}/{record['select_split']},lr={record['lr']},{budget},"
            f"bs={record['batch']},acc={record['grad_accum']},len={length['query']}/{length['candidate']},"
            f"ckpt={record['checkpoint']['step']}")
