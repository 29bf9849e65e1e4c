"""The evaluation stage: zero-shot evaluation in one language: a predictions file per split and one
leaderboard row per metric, each row carrying its provenance and the budgets of the trainings it read."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from harness.core import files
from harness.core.rows import make_row, signature, write_jsonl_atomic
from harness.metrics import Value
from harness.planning.plan import Node
from harness.planning.provenance import row_fields
from harness.planning.task_data import load_split
from harness.run.context import Context
from harness.stages.common import measured, metric_values, model_spec, resolve_target, score
from harness.stages.intermediate import intermediate_budget
from harness.toolkit.data import SplitRef, sha256_file

# The last model an eval node loaded (one entry; training stages release it before they build theirs).
_EVAL_MODEL: dict[str, tuple[Any, Any]] = {}


def release_eval_model() -> None:
    """Drop the model kept for consecutive evaluations (called before training, to free its memory)."""
    _EVAL_MODEL.clear()


def _trained_budget(trained_dir: Path) -> dict[str, Any]:
    """Steps, selected step, epochs or step cap of the target training a row's model comes from."""
    summary = json.loads((trained_dir / files.SUMMARY).read_text())
    thp = json.loads((trained_dir / files.CONFIG).read_text())["hp"]
    budget = {"target_steps": summary["steps"], "best_step": summary["best_step"],
              "target_steps_per_epoch": summary["steps_per_epoch"],
              "target_epochs": thp["epochs"] if not thp["max_steps"] else None, "target_max_steps": thp["max_steps"],
              "target_lr": thp.get("lr")}
    if summary.get("resumed"):  # resumed after a kill or preemption: from which steps, and whether exactly
        budget["target_resumed"] = summary["resumed"]
    if summary.get("nproc_note"):  # asked for several processes, trained in one (see launchable)
        budget["target_nproc_note"] = summary["nproc_note"]
    return {**budget, **measured("target", trained_dir, summary)}


# why: one evaluation recipe (load model, per split: load, predict, score, write rows) read top to bottom.
def run_eval(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
    """Zero-shot evaluation in one language: predictions file per split, one row per metric."""
    from harness.metrics import IMPLEMENTATION
    from harness.modeling.encoder import (
        TaskModel,
        count_parameters,
        describe,
        load_encoder,
        load_weights,
        pick_device,
    )
    from harness.run.hardware import Energy, device_info, gpu_indices, versions
    from harness.training.loop import predict
    from harness.training.tracking import feature_tokens

    started = time.perf_counter()
    p = node.params
    task, spec, ttype = (parts := resolve_target(p)).task, parts.spec, parts.ttype
    mspec = model_spec(p)
    source = p["trained"] or p["upstream"]
    # Evaluations of one trained model in many languages run back to back: load it once per process.
    cache_key = json.dumps([p["model"], p["seed"], str(ctx.node_dir(source)) if source else None, p["trained"],
                            spec.name, spec.defaults], sort_keys=True, default=str)
    if cache_key in _EVAL_MODEL:
        enc, model = _EVAL_MODEL[cache_key]
    else:
        _EVAL_MODEL.clear()
        enc = load_encoder(mspec, seed=p["seed"], checkpoint=ctx.node_dir(source) if source else None)
        model = None
        if p["trained"]:
            model = TaskModel(enc.module, {spec.name: ttype.build_head(spec, enc.hidden_size)})
            load_weights(model.heads, ctx.node_dir(p["trained"]) / files.HEADS)
        _EVAL_MODEL[cache_key] = (enc, model)
    device = pick_device(ctx.device)
    energy = Energy(gpu_indices(device))
    meta = describe(mspec)
    if meta.get("params") is None:
        meta["params"], meta["params_nonembed"] = count_parameters(enc.module)
    budget = _trained_budget(ctx.node_dir(p["trained"])) if p["trained"] else None
    if p.get("eval_precision"):  # evaluation in bf16/fp16 (config eval_precision) is recorded beside the budget
        budget = {**(budget or {}), "eval_precision": p["eval_precision"]}
    if p["upstream"]:  # the intermediate stage's budget travels with every row it feeds
        budget = {**(budget or {}), **intermediate_budget(ctx.node_dir(p["upstream"]))}

    rows, tokens = [], 0  # tokens: the encoder's inputs (None where a kind evaluates by itself)
    for split in p["splits"]:
        examples = load_split(p["task"], split, p["language"])
        if hasattr(ttype, "evaluate"):
            trained_dir = str(ctx.node_dir(p["trained"])) if p["trained"] else None
            predictions, scores = ttype.evaluate(enc, examples, spec, p["language"], device=device,
                                                 params={**p, "split": split, "trained_dir": trained_dir})
            tokens = None
        else:
            feats = ttype.featurize(examples, enc.tokenizer, spec, p["max_length"])
            tokens = None if tokens is None else tokens + sum(feature_tokens(f) for f in feats)
            outputs = predict(model, spec.name, ttype, feats, p["eval_batch_size"] or 64, device, enc.pad_id,
                              p.get("eval_precision") or "fp32")
            predictions = ttype.decode(outputs, feats, examples, spec)
            scores = score(task, spec, ttype, examples, predictions, p["language"])
        pred_path = work / files.predictions(str(SplitRef.parse(split)))
        write_jsonl_atomic(pred_path, (
            {"id": e["id"], "prediction": pr, "gold": ttype.gold(e)} for e, pr in zip(examples, predictions)
        ))
        digest = sha256_file(pred_path)
        for metric, value in metric_values(scores):
            v = value if isinstance(value, Value) else Value(float(value))
            gen = (v.extra or {}).get("generation")  # generation rows: decoding, template, k, truncation
            exemptions = p["exemptions"] + ([gen["train_exemption"]] if gen and gen.get("train_exemption") else [])

            if not isinstance(v.value, (int, float)) or not math.isfinite(v.value):
                raise ValueError(f"metric {metric} of {spec.name} · {p['language']} · {split} is {v.value!r}, not a "
                                 "finite number: the scorer (or the predictions it read) is broken; no row is written")
            rows.append(make_row(
                model=mspec.name, **{"model_id": mspec.source, "model_revision": mspec.revision,
                                     **row_fields(p.get("provenance"))},
                model_weights_format=enc.weights_format,
                model_family=mspec.family, model_params=meta.get("params"),
                model_params_nonembed=meta.get("params_nonembed"), intermediate=p["intermediate"],
                intermediate_tasks=p["intermediate_tasks"], exemptions=exemptions, task=spec.name,
                task_version=spec.version, task_kind=spec.kind, language=p["language"], split=split,
                metric=metric, value=v.value, seed=p["seed"], direction=v.direction, variant=v.variant,
                lang_pair=(v.extra or {}).get("lang_pair"), n=v.n if v.n is not None else len(examples),
                signature=v.signature or signature(metric, spec.name, spec.version, IMPLEMENTATION.get(metric),
                                                   avg=spec.average),
                budget=budget, config_name=ctx.config_name, config_hash=ctx.config_hash, node=node.key,
                predictions=str(Path("nodes") / node.key / pred_path.name), predictions_sha256=digest,
                **({"generation": gen} if gen else {}),
                **{k: (v.extra or {})[k] for k in ("retrieval_regime", "retrieval_finetune")
                   if (v.extra or {}).get(k) is not None},
                **({"depth": mspec.options["depth"]} if mspec.options.get("depth") else {}),
            ))
    spent = {"eval_seconds": round(time.perf_counter() - started, 3), "eval_tokens": tokens,
             "eval_device": device_info(device), "eval_energy_j": energy.joules(), **versions()}
    for row in rows:  # what this evaluation took, known once every split is scored
        row["budget"] = {**(row["budget"] or {}), **spent}
    write_jsonl_atomic(work / files.ROWS, rows)
    return {"rows": len(rows)}
