"""What the three stages share: a node's task and model resolved once, progress, resume folders, scoring."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core import files
from harness.core.registry import registry
from harness.core.specs import ModelSpec, Task, TaskSpec
from harness.core.tasktype import TaskType
from harness.planning.plan import Node
from harness.run.context import Context


@dataclass(frozen=True)
class TargetParts:
    """A target or evaluation node's task, resolved once: the registered task, its spec with the config entry's
    ``options`` laid over the task's ``defaults``, and the task type of its kind."""

    task: Task
    spec: TaskSpec
    ttype: TaskType


def target_spec(params: dict[str, Any]) -> TaskSpec:
    """The target task's spec with the config entry's ``options`` laid over its ``defaults`` (task-type knobs
    such as ``doc_stride`` or ``null_score_diff_threshold``; they are part of the node key)."""
    spec = registry().task(params["task"]["name"]).spec
    options = params.get("options") or {}
    return dataclasses.replace(spec, defaults={**spec.defaults, **options}) if options else spec


def resolve_target(params: dict[str, Any]) -> TargetParts:
    reg = registry()
    spec = target_spec(params)
    return TargetParts(reg.task(spec.name), spec, reg.task_type(spec.kind))


def model_spec(params: dict[str, Any]) -> ModelSpec:
    return ModelSpec(**params["model"])


def reporter(ctx: Context, node: Node) -> Callable[[dict[str, Any]], None] | None:
    """The run's progress callback bound to this node (None: no progress display)."""
    if ctx.progress is None:
        return None
    return lambda info: ctx.progress(node, info)


def resume_for(ctx: Context, node: Node, work: Path, hp: dict[str, Any], carry: tuple[str, ...] = ()):
    """The node's resume folder (``cache_dir/resume/KEY``, it survives a kill; see
    :mod:`harness.training.checkpoint`)."""
    from harness.training.checkpoint import Resume, resume_dir

    return Resume(resume_dir(ctx.cache_dir, node.key), hp.get("checkpoint_every"), outputs=work, carry=carry)


@contextlib.contextmanager
def tracking(ctx: Context, node: Node, hp: dict[str, Any], device: Any, dev_metric: str | None = None) -> Iterator[Any]:
    """The training node's :class:`harness.training.tracking.Meter`: it counts examples and tokens and measures
    energy; on the process that writes outputs, with loggers selected, it sends the node's curves to them (each
    logger closed when the block ends, failed or not)."""
    from harness.core.loggers import LogNode
    from harness.store.events import current_run
    from harness.training.distributed import is_main, world
    from harness.training.tracking import Meter, open_logs

    logs = []
    if ctx.loggers and is_main():
        logs = open_logs(ctx.loggers, LogNode(key=node.key, label=node.label, stage=node.stage, run=current_run(),
                                              config_name=ctx.config_name, config_hash=ctx.config_hash,
                                              dir=ctx.logs_root(), hp=hp))
    meter = Meter(logs, dev_metric, device, world()[1])  # a launched group: every rank's device
    try:
        yield meter
    except BaseException:  # the node's own error is what counts: a logger failing to close must not hide it
        with contextlib.suppress(Exception):
            meter.close()
        raise
    meter.close()


def measured(stage: str, node_dir: Path, train_summary: dict[str, Any]) -> dict[str, Any]:
    """A training node's measured budget, for the rows it feeds: its key, wall seconds (the node summary), tokens
    and examples trained on, device kind and count, GPU energy in joules (null where not reported; all null for a
    node trained before these were recorded)."""
    node_summary = Path(node_dir) / files.NODE_SUMMARY
    seconds = json.loads(node_summary.read_text()).get("seconds") if node_summary.is_file() else None
    return {f"{stage}_node": Path(node_dir).name, f"{stage}_seconds": seconds,
            **{f"{stage}_{k}": train_summary.get(k) for k in ("tokens", "examples", "device", "energy_j")}}


def finish(resume) -> None:
    """Training is over: the step log joins the node's outputs, the resume folder goes (rank 0)."""
    from harness.training.distributed import is_main

    if is_main():
        resume.finish()


def score(task: Task, spec: TaskSpec, ttype: TaskType, examples: list[dict], predictions: list[Any],
          language: str) -> dict[str, Any]:
    """The task's own scorer when it has one, else its kind's."""
    if task.score is not None:
        return task.score(examples=examples, predictions=predictions, language=language)
    return ttype.score(examples, predictions, spec, language)


def main_value(scores: dict[str, Any], metric: str) -> float:
    from harness.metrics import Value

    value = scores[metric]
    return value.value if isinstance(value, Value) else float(value)


def metric_values(scores: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(metric, value) pairs; a metric may map to a list of values (e.g. one per translation direction)."""
    for metric, value in scores.items():
        for v in value if isinstance(value, list) else [value]:
            yield metric, v
