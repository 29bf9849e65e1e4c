"""The intermediate stage: train the encoder on one or several English intermediate tasks; keep only the
encoder, and each task head's own English dev score (is the intermediate task learned?)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.core import files
from harness.core.registry import registry
from harness.planning.plan import Node
from harness.planning.task_data import load_split
from harness.run.context import Context
from harness.stages.common import (
    finish,
    main_value,
    measured,
    model_spec,
    reporter,
    resume_for,
    score,
    tracking,
)
from harness.toolkit.data import SplitRef, ZeroShotViolation, guard_zero_shot
from harness.training.distributed import launchable


@launchable
def run_intermediate(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
    """Train the encoder on one or several English intermediate tasks; keep only the encoder."""
    from harness.modeling.encoder import TaskModel, load_encoder, pick_device, save_weights
    from harness.training.loop import TrainTask, train

    p = node.params
    reg = registry()
    enc = load_encoder(model_spec(p), seed=p["seed"])
    heads, tasks, specs = {}, [], []
    for info in p["tasks"]:
        spec = reg.task(info["name"]).spec
        ttype = reg.task_type(spec.kind)
        hp = p["hp"][info["name"]]
        examples = load_split(info, info.get("train_split") or spec.train_split, spec.train_language)
        if not (spec.kind == "mlm" and "multilingual-mlm" in p["exemptions"]):
            guard_zero_shot(examples, spec.train_language, spec.name, purpose="intermediate training")
        examples += _translated(p, info["name"])
        if spec.kind == "tagging" and not spec.labels:  # open tag set (CCG): the training split's tags
            spec = replace(spec, labels=tuple(sorted({t for e in examples for t in e["tags"] or ()})))
        heads[spec.name] = ttype.build_head(spec, enc.hidden_size)
        specs.append(spec)
        tasks.append(TrainTask(spec.name, ttype, ttype.featurize(examples, enc.tokenizer, spec, hp["max_length"]),
                               hp["batch_size"]))
    model = TaskModel(enc.module, heads)
    hp = p["hp"][p["tasks"][0]["name"]]
    device = pick_device(ctx.device)
    resume = resume_for(ctx, node, work, hp)
    final: dict[str, TaskModel] = {}  # the trained model, whole (under FSDP: rank 0's gathered copy)

    def keep(m: TaskModel, step: int, score: float) -> None:
        save_weights(m.encoder.cpu(), work / files.ENCODER)
        final["model"] = m

    with tracking(ctx, node, hp, device) as meter:
        summary = train(model, tasks, hp, device, p["seed"], enc.pad_id, sampling=p["sampling"],
                        temperature=p["temperature"], progress=reporter(ctx, node), resume=resume, on_best=keep,
                        meter=meter)
        finish(resume)
        summary["n_train"] = {t.name: len(t.features) for t in tasks}
        summary["dev"] = {spec.name: _intermediate_dev(final["model"], spec, info, p["hp"][spec.name], device, enc)
                          for spec, info in zip(specs, p["tasks"])} if "model" in final else {}  # rank 0 writes
        for name, dev in summary["dev"].items():  # each head's own dev score: one point at the last step
            if dev.get("value") is not None:
                meter.dev(summary["steps"], dev["value"], metric=f"{name}/{dev['metric']}")
        summary.update(meter.record())
    (work / files.CONFIG).write_text(json.dumps(p, indent=2, sort_keys=True))
    (work / files.SUMMARY).write_text(json.dumps(summary))
    return {"steps": summary["steps"], "final_loss": summary["losses"][-1] if summary["losses"] else None}


def _intermediate_dev(model, spec, info: dict[str, Any], hp: dict[str, Any], device, enc) -> dict[str, Any]:
    """The trained intermediate head's own English dev score (is the intermediate task learned?), on the entry's
    ``dev_split`` or the task's select split; ``missing`` says why there is none (no such split in the data)."""
    from harness.toolkit.data import DataMissing
    from harness.training.loop import predict

    split = info.get("dev_split") or spec.select_split
    try:
        examples = load_split(info, split, spec.train_language)
    except DataMissing as err:
        return {"split": split, "missing": str(err)}
    reg = registry()
    ttype = reg.task_type(spec.kind)
    feats = ttype.featurize(examples, enc.tokenizer, spec, hp["max_length"])
    outputs = predict(model, spec.name, ttype, feats, hp["eval_batch_size"], device, enc.pad_id, hp["precision"])
    try:
        scores = score(reg.task(spec.name), spec, ttype, examples, ttype.decode(outputs, feats, examples, spec),
                       spec.train_language)
    except (ValueError, NotImplementedError) as err:  # e.g. mlm: a training objective with no evaluation
        return {"split": split, "missing": f"{type(err).__name__}: {err}"}
    return {"split": split, "metric": spec.main_metric, "n": len(examples),
            "value": main_value(scores, spec.main_metric)}


def intermediate_budget(node_dir: Path) -> dict[str, Any]:
    """Steps, epochs or step cap, and per-task draws of an intermediate checkpoint (from its train summary)."""
    summary = json.loads((Path(node_dir) / files.SUMMARY).read_text())
    config = json.loads((Path(node_dir) / files.CONFIG).read_text())
    hp = config["hp"][config["tasks"][0]["name"]]
    return {"intermediate_steps": summary["steps"], "intermediate_steps_per_epoch": summary["steps_per_epoch"],
            "intermediate_epochs": hp["epochs"] if not hp["max_steps"] else None,
            "intermediate_max_steps": hp["max_steps"], "intermediate_lr": hp.get("lr"),
            "intermediate_task_steps": summary.get("task_steps"),
            "intermediate_n_train": summary.get("n_train"), "intermediate_dev": summary.get("dev"),
            **measured("intermediate", node_dir, summary),
            **({"intermediate_resumed": summary["resumed"]} if summary.get("resumed") else {})}


def _translated(p: dict[str, Any], task: str) -> list[dict]:
    """Translate-train intermediate data: the task's own loader over each user-supplied translated folder.

    Allowed only under the declared ``translate-train`` exemption (checked when the config is read); each
    example is tagged with its language so rows and guards can tell it apart.
    """
    sources = (p.get("translated") or {}).get(task) or {}
    if sources and "translate-train" not in p["exemptions"]:
        raise ZeroShotViolation(f"{task}: translated intermediate data needs the declared exemption 'translate-train'")
    out: list[dict] = []
    registered = registry().task(task)
    ref = SplitRef.parse(registered.spec.train_split)
    for lang, src in sorted(sources.items()):
        rows = ref.apply(registered.load(split=ref.name, language=lang, data_dir=Path(src["path"])))
        out += [{**e, "id": f"{lang}:{e['id']}", "language": lang} for e in rows]
    return out
