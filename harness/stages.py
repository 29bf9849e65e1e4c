"""What each node of the DAG does: intermediate training, target training, evaluation.

Each function reads its node's params (plain JSON), writes its outputs into ``work`` (a temporary folder the
runner renames into the cache when the node finishes) and returns a small summary. Upstream outputs are read
from ``cache_dir/nodes/KEY``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .data import SplitRef, ZeroShotViolation, guard_zero_shot, sha256_file
from .distributed import launchable
from .metrics import Value
from .plan import Node
from .plugins import registry
from .provenance import row_fields
from .results import make_row, signature, write_jsonl_atomic
from .specs import ModelSpec
from .task_data import load_split


@dataclass
class Context:
    cache_dir: Path
    device: str = "auto"
    config_name: str | None = None
    config_hash: str | None = None
    progress: Callable[[Node, dict[str, Any]], None] | None = None
    nproc: int = 1  # processes per training node (data parallel / FSDP, see harness.distributed)
    strategy: str = "ddp"
    threads: int | None = None  # the config's ``threads`` knob: CPU threads per node (see harness.threads)
    prune: bool = False  # delete a training's weights once its readers finished (``matrix run --prune``)

    def node_dir(self, key: str) -> Path:
        return self.cache_dir / "nodes" / key


def target_spec(params: dict[str, Any]):
    """The target task's spec with the config entry's ``options`` laid over its ``defaults`` (task-type knobs
    such as ``doc_stride`` or ``null_score_diff_threshold``; they are part of the node key)."""
    spec = registry().task(params["task"]["name"]).spec
    options = params.get("options") or {}
    return dataclasses.replace(spec, defaults={**spec.defaults, **options}) if options else spec


def _model(params: dict[str, Any]) -> ModelSpec:
    return ModelSpec(**params["model"])


def _report(ctx: Context, node: Node) -> Callable[[dict[str, Any]], None] | None:
    if ctx.progress is None:
        return None
    return lambda info: ctx.progress(node, info)


def _resume(ctx: Context, node: Node, work: Path, hp: dict[str, Any], carry: tuple[str, ...] = ()):
    """The node's resume folder (``cache_dir/resume/KEY``, it survives a kill; see :mod:`harness.checkpoint`)."""
    from .checkpoint import Resume, resume_dir

    return Resume(resume_dir(ctx.cache_dir, node.key), hp.get("checkpoint_every"), outputs=work, carry=carry)


def _finish(resume) -> None:
    """Training is over: the step log joins the node's outputs, the resume folder goes (rank 0)."""
    from .distributed import is_main

    if is_main():
        resume.finish()


@launchable
def run_intermediate(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
    """Train the encoder on one or several English intermediate tasks; keep only the encoder."""
    from .models import TaskModel, load_encoder, pick_device, save_weights
    from .train import TrainTask, train

    p = node.params
    reg = registry()
    enc = load_encoder(_model(p), seed=p["seed"])
    heads, tasks, specs = {}, [], []
    for info in p["tasks"]:
        spec = reg.task(info["name"]).spec
        ttype = reg.task_type(spec.kind)
        hp = p["hp"][info["name"]]
        examples = load_split(info, info.get("train_split") or spec.train_split, spec.train_language)
        if not (spec.kind == "mlm" and "multilingual-mlm" in p["exemptions"]):
            guard_zero_shot(examples, spec.train_language, spec.name, purpose="intermediate training")
        examples += _translated(p, info["name"], spec)
        if spec.kind == "tagging" and not spec.labels:  # open tag set (CCG): the training split's tags
            spec = replace(spec, labels=tuple(sorted({t for e in examples for t in e["tags"] or ()})))
        heads[spec.name] = ttype.build_head(spec, enc.hidden_size)
        specs.append(spec)
        tasks.append(TrainTask(spec.name, ttype, ttype.featurize(examples, enc.tokenizer, spec, hp["max_length"]),
                               hp["batch_size"]))
    model = TaskModel(enc.module, heads)
    hp = p["hp"][p["tasks"][0]["name"]]
    device = pick_device(ctx.device)
    resume = _resume(ctx, node, work, hp)
    final: dict[str, TaskModel] = {}  # the trained model, whole (under FSDP: rank 0's gathered copy)

    def keep(m: TaskModel, step: int, score: float) -> None:
        save_weights(m.encoder.cpu(), work / "encoder.safetensors")
        final["model"] = m

    summary = train(model, tasks, hp, device, p["seed"], enc.pad_id, sampling=p["sampling"],
                    temperature=p["temperature"], progress=_report(ctx, node), resume=resume, on_best=keep)
    _finish(resume)
    summary["n_train"] = {t.name: len(t.features) for t in tasks}
    summary["dev"] = {spec.name: _intermediate_dev(final["model"], spec, info, p["hp"][spec.name], device, enc)
                      for spec, info in zip(specs, p["tasks"])} if "model" in final else {}  # rank 0 writes
    (work / "config.json").write_text(json.dumps(p, indent=2, sort_keys=True))
    (work / "train_summary.json").write_text(json.dumps(summary))
    return {"steps": summary["steps"], "final_loss": summary["losses"][-1] if summary["losses"] else None}


def _intermediate_dev(model, spec, info: dict[str, Any], hp: dict[str, Any], device, enc) -> dict[str, Any]:
    """The trained intermediate head's own English dev score (is the intermediate task learned?), on the entry's
    ``dev_split`` or the task's select split; ``missing`` says why there is none (no such split in the data)."""
    from .data import DataMissing
    from .train import predict

    split = info.get("dev_split") or spec.select_split
    try:
        examples = load_split(info, split, spec.train_language)
    except DataMissing as err:
        return {"split": split, "missing": str(err)}
    ttype = registry().task_type(spec.kind)
    feats = ttype.featurize(examples, enc.tokenizer, spec, hp["max_length"])
    outputs = predict(model, spec.name, ttype, feats, hp["eval_batch_size"], device, enc.pad_id, hp["precision"])
    try:
        main = _score(spec, ttype, examples, ttype.decode(outputs, feats, examples, spec), spec.train_language)
    except (ValueError, NotImplementedError) as err:  # e.g. mlm: a training objective with no evaluation
        return {"split": split, "missing": f"{type(err).__name__}: {err}"}
    value = main[spec.main_metric]
    return {"split": split, "metric": spec.main_metric, "n": len(examples),
            "value": value.value if isinstance(value, Value) else float(value)}


def intermediate_budget(node_dir: Path) -> dict[str, Any]:
    """Steps, epochs or step cap, and per-task draws of an intermediate checkpoint (from its train summary)."""
    summary = json.loads((Path(node_dir) / "train_summary.json").read_text())
    config = json.loads((Path(node_dir) / "config.json").read_text())
    hp = config["hp"][config["tasks"][0]["name"]]
    return {"intermediate_steps": summary["steps"], "intermediate_steps_per_epoch": summary["steps_per_epoch"],
            "intermediate_epochs": hp["epochs"] if not hp["max_steps"] else None,
            "intermediate_max_steps": hp["max_steps"], "intermediate_task_steps": summary.get("task_steps"),
            "intermediate_n_train": summary.get("n_train"), "intermediate_dev": summary.get("dev"),
            **({"intermediate_resumed": summary["resumed"]} if summary.get("resumed") else {})}


def _translated(p: dict[str, Any], task: str, spec) -> list[dict]:
    """Translate-train intermediate data: the task's own loader over each user-supplied translated folder.

    Allowed only under the declared ``translate-train`` exemption (checked when the config is read); each
    example is tagged with its language so rows and guards can tell it apart.
    """
    sources = (p.get("translated") or {}).get(task) or {}
    if sources and "translate-train" not in p["exemptions"]:
        raise ZeroShotViolation(f"{task}: translated intermediate data needs the declared exemption 'translate-train'")
    out: list[dict] = []
    ref = SplitRef.parse(spec.train_split)
    for lang, src in sorted(sources.items()):
        rows = ref.apply(registry().task(task).load(split=ref.name, language=lang, data_dir=Path(src["path"])))
        out += [{**e, "id": f"{lang}:{e['id']}", "language": lang} for e in rows]
    return out


def _one_process_only(node: Node) -> str | None:
    """Why a target training cannot be split across processes: the seq2seq loop (harness.seq2seq) has no data
    parallel path yet."""
    if target_spec(node.params).kind == "generation":
        return "the seq2seq (generation) loop runs in one process"
    return None


@launchable(single_process=_one_process_only)
def run_target(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
    """Fine-tune a fresh head plus the (intermediate-trained) encoder on English; select on English dev."""
    from .models import TaskModel, load_encoder, pick_device, save_weights
    from .train import TrainTask, predict, train

    p = node.params
    reg = registry()
    spec = target_spec(p)
    ttype = reg.task_type(spec.kind)
    upstream = ctx.node_dir(p["upstream"]) if p["upstream"] else None
    enc = load_encoder(_model(p), seed=p["seed"], checkpoint=upstream)
    if spec.kind == "generation":  # its own recipe: seq2seq on bitext (declared exemption), see harness.seq2seq
        from .seq2seq import train_generation

        resume = _resume(ctx, node, work, p["hp"], carry=("encoder.safetensors", "heads.safetensors", "best.json"))
        summary = train_generation(p, work, spec, ttype, enc, pick_device(ctx.device), progress=_report(ctx, node),
                                   resume=resume)
        _finish(resume)
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
        scores = _score(spec, ttype, select_ex, preds, lang)
        main = scores[spec.main_metric]
        return main.value if isinstance(main, Value) else float(main)

    def keep(m: TaskModel, step: int, score: float) -> None:
        save_weights(m.encoder, work / "encoder.safetensors")
        save_weights(m.heads, work / "heads.safetensors")
        (work / "best.json").write_text(json.dumps({"step": step, "score": score}))

    resume = _resume(ctx, node, work, hp, carry=("encoder.safetensors", "heads.safetensors", "best.json"))
    summary = train(model, [TrainTask(spec.name, ttype, train_feats, hp["batch_size"])], hp, device, p["seed"],
                    enc.pad_id, select=select, on_best=keep, progress=_report(ctx, node), resume=resume)
    _finish(resume)
    (work / "config.json").write_text(json.dumps(p, indent=2, sort_keys=True))
    (work / "train_summary.json").write_text(json.dumps(summary))
    return {"steps": summary["steps"], "best_step": summary["best_step"], "best_dev": summary["best_score"],
            "n_train": len(train_ex), "n_select": len(select_ex)}


def _score(spec, ttype, examples: list[dict], predictions: list[Any], language: str) -> dict[str, Any]:
    task = registry().task(spec.name)
    if task.score is not None:
        return task.score(examples=examples, predictions=predictions, language=language)
    return ttype.score(examples, predictions, spec, language)


def metric_values(scores: dict[str, Any]):
    """(metric, value) pairs; a metric may map to a list of values (e.g. one per translation direction)."""
    for metric, value in scores.items():
        for v in value if isinstance(value, list) else [value]:
            yield metric, v


# The last model an eval node loaded (one entry; training stages release it before they build theirs).
_EVAL_MODEL: dict[str, tuple[Any, Any]] = {}


def release_eval_model() -> None:
    """Drop the model kept for consecutive evaluations (called before training, to free its memory)."""
    _EVAL_MODEL.clear()


# why: one evaluation recipe (load model, per split: load, predict, score, write rows) read top to bottom.
def run_eval(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
    """Zero-shot evaluation in one language: predictions file per split, one row per metric."""
    from .models import (
        HEADS_FILE,
        TaskModel,
        count_parameters,
        describe,
        load_encoder,
        load_weights,
        pick_device,
    )
    from .train import predict

    p = node.params
    reg = registry()
    spec = target_spec(p)
    ttype = reg.task_type(spec.kind)
    model_spec = _model(p)
    source = p["trained"] or p["upstream"]
    # Evaluations of one trained model in many languages run back to back: load it once per process.
    cache_key = json.dumps([p["model"], p["seed"], str(ctx.node_dir(source)) if source else None, p["trained"],
                            spec.name, spec.defaults], sort_keys=True, default=str)
    if cache_key in _EVAL_MODEL:
        enc, model = _EVAL_MODEL[cache_key]
    else:
        _EVAL_MODEL.clear()
        enc = load_encoder(model_spec, seed=p["seed"], checkpoint=ctx.node_dir(source) if source else None)
        model = None
        if p["trained"]:
            model = TaskModel(enc.module, {spec.name: ttype.build_head(spec, enc.hidden_size)})
            load_weights(model.heads, ctx.node_dir(p["trained"]) / HEADS_FILE)
        _EVAL_MODEL[cache_key] = (enc, model)
    device = pick_device(ctx.device)
    meta = describe(model_spec)
    if meta.get("params") is None:
        meta["params"], meta["params_nonembed"] = count_parameters(enc.module)
    budget = None
    if p["trained"]:
        summary = json.loads((ctx.node_dir(p["trained"]) / "train_summary.json").read_text())
        thp = json.loads((ctx.node_dir(p["trained"]) / "config.json").read_text())["hp"]
        budget = {"target_steps": summary["steps"], "best_step": summary["best_step"],
                  "target_steps_per_epoch": summary["steps_per_epoch"],
                  "target_epochs": thp["epochs"] if not thp["max_steps"] else None, "target_max_steps": thp["max_steps"]}
        if summary.get("resumed"):  # resumed after a kill or preemption: from which steps, and whether exactly
            budget["target_resumed"] = summary["resumed"]
        if summary.get("nproc_note"):  # asked for several processes, trained in one (see launchable)
            budget["target_nproc_note"] = summary["nproc_note"]
    if p.get("eval_precision"):  # evaluation in bf16/fp16 (config eval_precision) is recorded beside the budget
        budget = {**(budget or {}), "eval_precision": p["eval_precision"]}
    if p["upstream"]:  # the intermediate stage's budget travels with every row it feeds
        budget = {**(budget or {}), **intermediate_budget(ctx.node_dir(p["upstream"]))}

    rows = []
    for split in p["splits"]:
        examples = load_split(p["task"], split, p["language"])
        if hasattr(ttype, "evaluate"):
            trained_dir = str(ctx.node_dir(p["trained"])) if p["trained"] else None
            predictions, scores = ttype.evaluate(enc, examples, spec, p["language"], device=device,
                                                 params={**p, "split": split, "trained_dir": trained_dir})
        else:
            feats = ttype.featurize(examples, enc.tokenizer, spec, p["max_length"])
            outputs = predict(model, spec.name, ttype, feats, p["eval_batch_size"] or 64, device, enc.pad_id,
                              p.get("eval_precision") or "fp32")
            predictions = ttype.decode(outputs, feats, examples, spec)
            scores = _score(spec, ttype, examples, predictions, p["language"])
        safe = str(SplitRef.parse(split)).replace("[", "_").replace(":", "-").replace("]", "")
        pred_path = work / f"predictions-{safe}.jsonl"
        write_jsonl_atomic(pred_path, (
            {"id": e["id"], "prediction": pr, "gold": ttype.gold(e)} for e, pr in zip(examples, predictions)
        ))
        digest = sha256_file(pred_path)
        for metric, value in metric_values(scores):
            v = value if isinstance(value, Value) else Value(float(value))
            from .metrics import IMPLEMENTATION

            gen = (v.extra or {}).get("generation")  # generation rows: decoding, template, k, truncation
            exemptions = p["exemptions"] + ([gen["train_exemption"]] if gen and gen.get("train_exemption") else [])

            rows.append(make_row(
                model=model_spec.name, **{"model_id": model_spec.source, "model_revision": model_spec.revision,
                                          **row_fields(p.get("provenance"))},
                model_family=model_spec.family, model_params=meta.get("params"),
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
                **({"depth": model_spec.options["depth"]} if model_spec.options.get("depth") else {}),
            ))
    write_jsonl_atomic(work / "rows.jsonl", rows)
    return {"rows": len(rows)}


def _releasing(stage: Callable) -> Callable:
    """Run a training stage after freeing the model kept for evaluations (in this process, before any launch)."""

    @functools.wraps(stage)
    def run(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
        release_eval_model()
        return stage(node, work, ctx)

    return run


@functools.lru_cache(maxsize=64)
def _nonembed_params(model_json: str) -> int | None:
    from .models import describe

    try:
        return describe(ModelSpec(**json.loads(model_json))).get("params_nonembed")
    except Exception:  # noqa: BLE001 - unknown size: the node gets the full budget
        return None


def _threaded(stage: Callable) -> Callable:
    """Run a stage with its CPU thread budget (harness.threads): tiny models single-threaded, else the cores
    shared out between the executor's workers (``XLT_WORKERS``), or the ``threads`` knob."""

    @functools.wraps(stage)
    def run(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
        from .threads import node_threads

        node_threads(_nonembed_params(json.dumps(node.params.get("model"), sort_keys=True)), ctx.threads)
        return stage(node, work, ctx)

    return run


STAGE_FUNCTIONS = {"intermediate": _threaded(_releasing(run_intermediate)),
                   "target": _threaded(_releasing(run_target)), "eval": _threaded(run_eval)}
