"""What the three stages share: a node's task and model resolved once, progress, resume folders, scoring."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
