"""What each node of the DAG does: intermediate training, target training, evaluation (one module each).

Each stage reads its node's params (plain JSON), writes its outputs into ``work`` (a temporary folder the
runner renames into the node store when the node finishes; file names in :mod:`harness.core.files`) and
returns a small summary. Upstream outputs are read from ``cache_dir/nodes/KEY``. :data:`STAGE_FUNCTIONS` is what
executors call, each stage wrapped with its CPU thread budget (training stages first free the model kept for
evaluations).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.core import files
from harness.core.specs import ModelSpec
from harness.planning.plan import Node
from harness.run.context import Context
from harness.stages.evaluate import release_eval_model, run_eval
from harness.stages.intermediate import run_intermediate
from harness.stages.target import run_target


def _releasing(stage: Callable) -> Callable:
    """Run a training stage after freeing the model kept for evaluations (in this process, before any launch)."""

    @functools.wraps(stage)
    def run(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
        release_eval_model()
        return stage(node, work, ctx)

    return run


@functools.lru_cache(maxsize=64)
def _nonembed_params(model_json: str) -> int | None:
    from harness.modeling.encoder import describe

    try:
        return describe(ModelSpec(**json.loads(model_json))).get("params_nonembed")
    except Exception:  # noqa: BLE001 - unknown size: the node gets the full budget
        return None


def _threaded(stage: Callable) -> Callable:
    """Run a stage with its CPU thread budget (harness.run.threads): tiny models single-threaded, else the cores
    shared out between the executor's workers (``XLT_WORKERS``), or the ``threads`` knob."""

    @functools.wraps(stage)
    def run(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
        from harness.run.threads import node_threads

        node_threads(_nonembed_params(json.dumps(node.params.get("model"), sort_keys=True)), ctx.threads)
        return stage(node, work, ctx)

    return run


class IncompleteNode(RuntimeError):
    """A stage returned without writing a file its node must hold."""


def _requiring(stage: Callable, names: tuple[str, ...]) -> Callable:
    """A training node is finished only with its weights: a stage that returns without writing ``names`` (a
    selection that never kept a step, a recipe that forgot to save) fails the node instead of marking it done."""

    @functools.wraps(stage)
    def run(node: Node, work: Path, ctx: Context) -> dict[str, Any]:
        summary = stage(node, work, ctx)
        missing = [n for n in names if not (work / n).is_file()]
        if missing:
            raise IncompleteNode(f"{node.stage} node {node.label} finished without {', '.join(missing)}; it is not "
                                 "marked done (rerun with --retry-failed once the cause is fixed)")
        return summary

    return run


STAGE_FUNCTIONS = {"intermediate": _threaded(_releasing(_requiring(run_intermediate, (files.ENCODER,)))),
                   "target": _threaded(_releasing(_requiring(run_target, (files.ENCODER, files.HEADS)))),
                   "eval": _threaded(run_eval)}
