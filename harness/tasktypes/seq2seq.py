"""Sequence-to-sequence fine-tuning for generation targets (FLORES), top to bottom: data → features → train →
select by chrF++ → save. Isik et al. (2024) fine-tune before measuring translation; so do we.

The model is the family's encoder module, which must expose ``seq2seq(**kwargs)`` (the full model's forward) and
``generate`` (the ``mt5`` family's wrapper does): the intermediate-trained weights were loaded into it by the
caller, so the intermediate encoder carries into this stage as into every target. Training data is bitext, the
declared exemption ``bitext`` from the English-only rule: the task's own training split in both directions for
every language of the target entry (FLORES: ``dev``), or a folder of line-parallel files in the task's layout
(option ``bitext``). When training and selection read the same split, the last ``select_fraction`` of its
sentences (by ``line``, the same lines in every language) is held out for selection and never trained on.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from harness.core import files

IGNORE = -100


def load_bitext(p: dict[str, Any], split: str, options: dict[str, Any]) -> list[dict]:
    """Rows of ``split`` for every language of the entry (both directions), from the task's data or ``bitext``."""
    from harness.core.registry import registry
    from harness.planning.task_data import load_split
    from harness.toolkit.data import SplitRef

    languages = p.get("languages") or []
    if not languages:
        raise ValueError(f"{p['task']['name']}: a generation target needs its languages to train on")
    if options.get("bitext"):
        folder = Path(options["bitext"]).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"options.bitext: folder {folder} does not exist; give a folder of line-parallel "
                                    "files in the task's layout (FLORES: dev/{code}.dev)")
        ref = SplitRef.parse(split)
        task = registry().task(p["task"]["name"])
        return [e for lang in languages for e in ref.apply(task.load(split=ref.name, language=lang, data_dir=folder))]
    return [e for lang in languages for e in load_split(p["task"], split, lang)]


def hold_out(rows: list[dict], fraction: float) -> tuple[list[dict], list[dict]]:
    """(train, select): the sentences whose ``line`` is in the last ``fraction`` of lines go to selection."""
    lines = sorted({e.get("line", i) for i, e in enumerate(rows)})
    n_select = max(1, math.ceil(fraction * len(lines))) if fraction > 0 else 0
    if n_select >= len(lines):
        raise ValueError(f"select_fraction={fraction} leaves no training sentence out of {len(lines)}")
    cut = set(lines[len(lines) - n_select:])
    train = [e for i, e in enumerate(rows) if e.get("line", i) not in cut]
    select = [e for i, e in enumerate(rows) if e.get("line", i) in cut]
    return train, select


def featurize(examples: list[dict], prompts: list[str], tokenizer, max_source: int, max_target: int
              ) -> tuple[list[dict], dict[str, int]]:
    """Token ids of prompt and target per example; counts of sources and targets cut to their maximum."""
    src = tokenizer(prompts, add_special_tokens=True)["input_ids"]
    tgt = tokenizer([e["target"] for e in examples], add_special_tokens=True)["input_ids"]
    feats = [{"input_ids": s[:max_source], "labels": t[:max_target]} for s, t in zip(src, tgt)]
    counts = {"sources": sum(len(s) > max_source for s in src), "targets": sum(len(t) > max_target for t in tgt)}
    return feats, counts


def collate(features: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    from harness.core.tasktype import pad

    ids = pad([f["input_ids"] for f in features], pad_id)
    return {"input_ids": ids, "attention_mask": pad([[1] * len(f["input_ids"]) for f in features], 0),
            "labels": pad([f["labels"] for f in features], IGNORE)}


def seq2seq_loss(model, batch: dict[str, torch.Tensor], label_smoothing: float) -> torch.Tensor:
    """Teacher forcing: the model sees the gold prefix (labels shifted right inside the model); token-level CE."""
    out = model.seq2seq(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    logits = out.logits
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), batch["labels"].reshape(-1),
                           ignore_index=IGNORE, label_smoothing=label_smoothing)


def train_generation(p: dict[str, Any], work: Path, spec, ttype, enc, device: torch.device,
                     progress: Callable[[dict[str, Any]], None] | None = None, resume=None) -> dict[str, Any]:
    """Fine-tune ``enc.module`` on bitext; keep the checkpoint with the best chrF++ on the held-out slice."""
    from harness.metrics.mt import chrf_pp
    from harness.modeling.encoder import save_weights
    from harness.tasktypes.options import BITEXT_EXEMPTION, options_of

    # --- setup ---------------------------------------------------------------------------------------------
    options = options_of(p)
    hp = p["hp"]
    model = enc.module
    if not hasattr(model, "seq2seq"):
        raise ValueError(f"{p['model']['name']}: generation training needs a sequence-to-sequence model with "
                         "seq2seq() and generate() (an mt5-family model without encoder_only); prompted families "
                         "are not trained")
    rows = load_bitext(p, p["train_split"], options)
    if p["train_split"] == p["select_split"]:  # FLORES: both dev; hold a slice of its sentences out
        train_ex, select_ex = hold_out(rows, float(options["select_fraction"]))
    else:
        train_ex, select_ex = rows, load_bitext(p, p["select_split"], options)
    tok = enc.tokenizer
    feats, cut = featurize(train_ex, ttype.prompts(train_ex, options), tok, int(options["max_source_length"]),
                           int(options["max_target_length"]))
    label_smoothing = float(options["label_smoothing"])

    def select(m) -> float:
        hyps, _ = ttype.generate(enc, select_ex, options, device=device, num_beams=int(options["select_num_beams"]))
        m.train()
        return chrf_pp(hyps, [e["target"] for e in select_ex]).value

    def keep(m, step: int, score: float) -> None:
        save_weights(m, work / files.ENCODER)
        save_weights(torch.nn.ModuleDict({spec.name: ttype.build_head(spec, enc.hidden_size)}),
                     work / files.HEADS)
        (work / "best.json").write_text(json.dumps({"step": step, "chrf++": score}))

    fitted = fit(model, feats, hp, device, p["seed"], enc.pad_id, label_smoothing, select=select, on_best=keep,
                 progress=progress, name=spec.name, resume=resume)

    # --- save the record -----------------------------------------------------------------------------------
    source = {"bitext": str(options["bitext"])} if options.get("bitext") else {"task": p["task"]["name"]}
    summary = {
        **fitted, "select_metric": "chrf++",
        "train_source": {**source, "train_split": p["train_split"], "select_split": p["select_split"],
                         "languages": p["languages"], "n_train": len(train_ex), "n_select": len(select_ex)},
        "exemptions": [BITEXT_EXEMPTION], "truncated": cut, "label_smoothing": label_smoothing,
    }
    (work / files.CONFIG).write_text(json.dumps(p, indent=2, sort_keys=True))
    (work / files.SUMMARY).write_text(json.dumps(summary))
    return {"steps": fitted["steps"], "best_step": fitted["best_step"], "best_dev": fitted["best_score"],
            "n_train": len(train_ex),
            "n_select": len(select_ex)}



def fit(model, feats: list[dict], hp: dict[str, Any], device: torch.device, seed: int, pad_id: int,
        label_smoothing: float = 0.0, select: Callable[[Any], float] | None = None,
        on_best: Callable[[Any, int, float], None] | None = None,
        progress: Callable[[dict[str, Any]], None] | None = None, name: str = "generation",
        resume=None) -> dict[str, Any]:
    """The loop: AdamW, linear warm-up/decay, clipping, selection every ``eval_every`` steps (higher is better).

    With ``resume`` (a :class:`~harness.training.checkpoint.Resume`), it continues from the newest checkpoint, saves one
    when due or when a stop is requested (then raises ``Preempted``), as the classification loop does."""
    from harness.run.stop import Preempted, stop_requested
    from harness.training.checkpoint import resume_record
    from harness.training.loop import _test_kill, autocast, check_finite

    rng = random.Random(seed)
    torch.manual_seed(seed)
    batch_size = int(hp["batch_size"])
    steps_per_epoch = math.ceil(len(feats) / batch_size)
    total_steps = int(hp["max_steps"] or math.ceil(float(hp["epochs"]) * steps_per_epoch))
    warmup = int(hp["warmup_ratio"] * total_steps)
    eval_every = int(hp["eval_every"] or steps_per_epoch)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / max(1, warmup) if s < warmup
        else max(0.0, (total_steps - s) / max(1, total_steps - warmup)))

    # --- resume --------------------------------------------------------------------------------------------
    st: dict[str, Any] = {"losses": [], "best": {"score": -math.inf, "step": 0}, "order": [], "tokens": 0,
                          "resumed_from": [], "step": 0}
    if resume is not None:
        st = _restore(resume, st, model, optimizer, schedule, rng)
    losses, best, order, tokens = st["losses"], st["best"], st["order"], st["tokens"]

    # --- train ---------------------------------------------------------------------------------------------
    started = time.perf_counter()
    for step in range(st["step"] + 1, total_steps + 1):
        if len(order) < batch_size:  # reshuffle every pass
            fresh = list(range(len(feats)))
            rng.shuffle(fresh)
            order += fresh
        idx, order = order[:batch_size], order[batch_size:]
        batch = {k: v.to(device) for k, v in collate([feats[i] for i in idx], pad_id).items()}
        with autocast(device, hp["precision"]):
            loss = seq2seq_loss(model, batch, label_smoothing)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), hp["max_grad_norm"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        schedule.step()
        losses.append(check_finite("loss", float(loss.detach()), step, name, hp))
        tokens += int((batch["labels"] != IGNORE).sum()) + int(batch["attention_mask"].sum())
        if resume is not None:
            resume.log({"step": step, "loss": losses[-1], "task": name})
        if progress:
            progress({"step": step, "total": total_steps, "loss": losses[-1], "task": name})

        # --- selection by chrF++ on the held-out slice ---------------------------------------------------
        if select is not None and (step % eval_every == 0 or step == total_steps):
            score = check_finite("selection score (chrF++)", select(model), step, name, hp)
            if score > best["score"]:
                best = {"score": score, "step": step}
                if on_best:
                    on_best(model, step, score)

        # --- resume checkpoint, graceful stop ---------------------------------------------------------------
        if resume is not None:
            stop = stop_requested() and step < total_steps
            if stop or (step < total_steps and resume.due(step)):
                _save(resume, step, model, optimizer, schedule, rng, {
                    "losses": losses, "best": best, "order": order, "tokens": tokens,
                    "resumed_from": st["resumed_from"]})
            if not st["resumed_from"]:
                _test_kill(step, True)
            if stop:
                raise Preempted(step)

    elapsed = time.perf_counter() - started
    return {"steps": total_steps, "steps_per_epoch": steps_per_epoch, "losses": losses, "best_score": best["score"],
            "best_step": best["step"], "warmup_steps": warmup, "tokens": tokens, "seconds": elapsed,
            "tokens_per_s": tokens / max(1e-9, elapsed), "resumed": resume_record(st["resumed_from"], device)}


def _save(resume, step: int, model, optimizer, schedule, rng: random.Random, loop: dict[str, Any]) -> None:
    """One resume checkpoint of the seq2seq loop: weights, AdamW, schedule, every RNG, the data order."""
    from harness.training.checkpoint import random_state, save_model_state, save_rng

    tmp = resume.begin(step)
    weights = save_model_state(model, optimizer, tmp)  # one process, as the classification loop's
    save_rng(tmp)
    resume.commit(tmp, {"step": step, "weights": weights, "schedule": schedule.state_dict(),
                        "sampler_rng": random_state(rng), **loop})
    resume.log({"checkpoint": step})


def _restore(resume, st: dict[str, Any], model, optimizer, schedule, rng: random.Random) -> dict[str, Any]:
    """Load the newest complete checkpoint into the loop's objects; return the loop state (``step`` 0: fresh)."""
    from harness.training.checkpoint import load_model_state, load_rng, set_random_state

    ckpt, rejected = resume.latest_sound()  # a checkpoint whose files differ from its manifest is never used
    if ckpt is None:
        resume.log({"start": 0, **({"rejected_checkpoints": rejected} if rejected else {})}, fresh=True)
        return st
    if rejected:
        resume.log({"rejected_checkpoints": rejected})
    state = json.loads((ckpt / "state.json").read_text())
    load_model_state(model, optimizer, ckpt, state["weights"])
    schedule.load_state_dict(state["schedule"])
    set_random_state(rng, state["sampler_rng"])
    load_rng(ckpt)
    resume.restore_outputs(ckpt)
    resume.log({"resumed_from": state["step"]})
    return {**st, **{k: state[k] for k in ("losses", "best", "order", "tokens", "step")},
            "resumed_from": [*state.get("resumed_from", []), int(state["step"])]}
