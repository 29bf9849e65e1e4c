"""The target stage: fine-tune a fresh head plus the (intermediate-trained) encoder on the English training
split; keep the step with the best English dev score. A task type with its own recipe (``fit``, e.g. the
seq2seq loop of generation) trains itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.core import files
from harness.planning.plan import Node
from harness.planning.task_data import load_split
from harness.run.context import Context
from harness.stages.common import (
    finish,
    main_value,
    model_spec,
    reporter,
    resolve_target,
    resume_for,
    score,
    tracking,
)
from harness.toolkit.data import guard_zero_shot
from harness.training.distributed import launchable


def _one_process_only(node: Node) -> str | None:
    """Why a target training cannot be split across processes (None: it can): a task type's own ``fit`` declares
    it (``fit_single_process``)."""
    return resolve_target(node.params).ttype.fit_single_process


@launchable(single_process=_one_process_only)
def run_target(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
    """Fine-tune a fresh head plus the (intermediate-trained) encoder on English; select on English dev."""
    from harness.modeling.encoder import TaskModel, load_encoder, pick_device, save_weights
    from harness.training.loop import TrainTask, predict, train

    p = node.params
    task, spec, ttype = (parts := resolve_target(p)).task, parts.spec, parts.ttype
    upstream = ctx.node_dir(p["upstream"]) if p["upstream"] else None
    enc = load_encoder(model_spec(p), seed=p["seed"], checkpoint=upstream)
    if ttype.fit is not None:  # the kind's own recipe (generation: seq2seq on bitext, a declared exemption)
        resume = resume_for(ctx, node, work, p["hp"], carry=files.SELECTED)
        summary = ttype.fit(p, work, spec, enc, pick_device(ctx.device), progress=reporter(ctx, node), resume=resume)
        finish(resume)
        return summary
    hp = p["hp"]
    lang = spec.train_language
    train_ex = load_split(p["task"], p["train_split"], lang)
    guard_zero_shot(train_ex, lang, spec.name, purpose="target training")
    select_ex = load_split(p["task"], p["select_split"], lang)
    guard_zero_shot(select_ex, lang, spec.name, purpose="checkpoint selection")
    model = TaskModel(enc.module, {spec.name: ttype.build_head(spec, enc.hidden_size)})
    device = pick_device(ctx.device)
    train_feats = ttype.featurize(train_ex, enc.tokenizer, spec, hp["max_length"])
    select_feats = ttype.featurize(select_ex, enc.tokenizer, spec, hp["max_length"])

    def select(m: TaskModel) -> float:
        outputs = predict(m, spec.name, ttype, select_feats, hp["eval_batch_size"], device, enc.pad_id, hp["precision"])
        preds = ttype.decode(outputs, select_feats, select_ex, spec)
        return main_value(score(task, spec, ttype, select_ex, preds, lang), spec.main_metric)

    def keep(m: TaskModel, step: int, score: float) -> None:
        save_weights(m.encoder, work / files.ENCODER)
        save_weights(m.heads, work / files.HEADS)
        (work / files.BEST).write_text(json.dumps({"step": step, "score": score}))

    resume = resume_for(ctx, node, work, hp, carry=files.SELECTED)
    with tracking(ctx, node, hp, device, dev_metric=spec.main_metric) as meter:
        summary = train(model, [TrainTask(spec.name, ttype, train_feats, hp["batch_size"])], hp, device, p["seed"],
                        enc.pad_id, select=select, on_best=keep, progress=reporter(ctx, node), resume=resume,
                        meter=meter)
        finish(resume)
        summary.update(meter.record())
    (work / files.CONFIG).write_text(json.dumps(p, indent=2, sort_keys=True))
    (work / files.SUMMARY).write_text(json.dumps(summary))
    return {"steps": summary["steps"], "best_step": summary["best_step"], "best_dev": summary["best_score"],
            "n_train": len(train_ex), "n_select": len(select_ex)}
