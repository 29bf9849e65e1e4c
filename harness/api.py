"""The public API of xlt-harness: the one module a plugin or a third-party package imports.

Everything a task, model, metric, task-kind or executor plugin needs is named here; nothing else under
``harness`` is promised to stay where it is. A name here changes only with a version bump of the package
(``harness.__version__``: a removal or an incompatible change bumps the major version, an addition the minor
one). The built-in plugins (``xlt_harness_plugins``) and ``examples/plugin-template`` import only this module.

What is here, by what it is for (``docs/architecture.md`` shows where each comes from):

- **hooks**: :data:`hookimpl` marks a plugin's ``register_models``, ``register_model_families``,
  ``register_tasks``, ``register_task_types``, ``register_metrics``, ``register_executors`` and
  ``register_loggers`` functions (:mod:`harness.core.hookspecs` documents each).
- **loggers** (experiment trackers): :class:`Logger` (what ``register_loggers`` registers), :class:`LogNode` (the
  training node it is opened for), :class:`NodeLog` (what it returns: per-step :data:`STEP_SCALARS`, dev points,
  close) and :class:`LoggerUnavailable`.
- **records**: :class:`Task` / :class:`TaskSpec` (a task and its metadata), :class:`ModelSpec` /
  :class:`ModelFamily`, :class:`Metric` (a scorer, its signature and how ``leaderboard report`` resamples it),
  :class:`BenchmarkEntry` / :class:`ExportLayout` (a task's place in a benchmark and its submission files),
  :class:`TaskType` / :class:`Problem` (a task kind: encoding, head, loss, decoding, checks), :data:`XTREME_RECIPE`.
- **data**: the readers of the benchmarks' file formats (``read_*``, ``write_*``, :func:`load_hub_or_folder`,
  :func:`first_existing`), the Hub loader (:func:`load_hf`, :func:`check_split`, :func:`load_with_subfolders`) and
  :class:`DataMissing` (raise it naming the path and how to get the data).
- **synthetic fixtures**: :data:`SYNTHETIC_NOTE`, :data:`LEXICON`, :func:`nli_rows`, :func:`planted_nli_rows`,
  :func:`corpus`, :func:`qa_articles`, :func:`byte_bpe_tokenizer`.
- **models**: :func:`model_options`, :func:`encoder_config`, :func:`seeded_encoder`; and (loaded on first use, they
  import torch) :class:`Encoder`, :data:`POOLINGS`, :func:`count_parameters`, and for a task kind's ``forward``
  :func:`run_encoder` (the encoder on a batch) and :func:`pool` / :func:`resolve_pooling` (one vector per input).
- **metrics**: :func:`score_by_name` (a task kind's ``score`` over ``spec.metrics``), :class:`Value`, :class:`MissingGold`, :func:`nn_accuracy`, :func:`map_at_k`, :func:`prf`,
  :func:`apply_threshold`, :func:`best_threshold`.
- **executors** (loaded on first use): the contract :class:`Executor` / :class:`Backend` (see
  :mod:`harness.orchestration.contract`), what a node needs to run in a worker (:class:`Node`, :class:`Context`,
  :func:`context_to_json`, :func:`execute`; :func:`follow_launch` on the nodes after the first of a multi-node
  job), the scheduler (:func:`run_dag`, :func:`triage`, :func:`apply_result`,
  :class:`Outcome`), stop signals (:func:`graceful_stop`, :func:`install_stop_handlers`, :func:`clear_stop`) and
  the run log (:func:`log_event`, :func:`read_events`, :func:`set_run`), and :func:`registry` (every installed plugin's contributions).

Importing this module stays cheap (no torch, transformers or faiss): plugin modules import it at top level.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness import __version__
from harness.core.hookspecs import hookimpl
from harness.core.loggers import STEP_SCALARS, Logger, LoggerUnavailable, LogNode, NodeLog
from harness.core.specs import (
    BenchmarkEntry,
    ExportLayout,
    Metric,
    ModelFamily,
    ModelSpec,
    SpecError,
    Task,
    TaskSpec,
)
from harness.core.tasktype import Problem, TaskType, is_text, pad, pad_inputs
from harness.metrics.base import MissingGold, Value, score_by_name
from harness.metrics.ranking import apply_threshold, best_threshold, map_at_k, nn_accuracy, prf
from harness.modeling.local import encoder_config, model_options, seeded_encoder
from harness.tasktypes.span_qa import XTREME_RECIPE
from harness.toolkit.data import DataMissing, check_split, load_hf, load_with_subfolders
from harness.toolkit.formats import (
    FormatError,
    first_existing,
    load_hub_or_folder,
    read_bitext,
    read_conll,
    read_conllu,
    read_jsonl,
    read_lines,
    read_squad_json,
    read_text,
    read_tsv,
    read_tsv_dicts,
    squad_from_hub,
    tags_from_hub,
    write_conll,
    write_jsonl,
    write_squad,
    write_tsv,
)
from harness.toolkit.synthetic import (
    LEXICON,
    SYNTHETIC_NOTE,
    byte_bpe_tokenizer,
    corpus,
    nli_rows,
    planted_nli_rows,
    qa_articles,
)

# Names loaded on first use: they import torch (models) or the scheduler and node store (executors).
_LAZY = {
    "Encoder": "harness.modeling.encoder",
    "POOLINGS": "harness.modeling.encoder",
    "count_parameters": "harness.modeling.encoder",
    "pool": "harness.modeling.encoder",
    "resolve_pooling": "harness.modeling.encoder",
    "run_encoder": "harness.modeling.encoder",
    "choose_weights": "harness.toolkit.weights",
    "model_files": "harness.toolkit.weights",
    "WeightsRefused": "harness.toolkit.weights",
    "Backend": "harness.orchestration.contract",
    "Executor": "harness.orchestration.contract",
    "Node": "harness.planning.plan",
    "Context": "harness.run.context",
    "context_to_json": "harness.orchestration.execute",
    "execute": "harness.orchestration.execute",
    "follow_launch": "harness.training.distributed_launch",
    "Outcome": "harness.orchestration.scheduler",
    "apply_result": "harness.orchestration.scheduler",
    "run_dag": "harness.orchestration.scheduler",
    "triage": "harness.orchestration.scheduler",
    "clear_stop": "harness.run.stop",
    "graceful_stop": "harness.run.signals",
    "install_stop_handlers": "harness.run.signals",
    "log_event": "harness.store.events",
    "read_events": "harness.store.events",
    "set_run": "harness.store.events",
    "registry": "harness.core.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'harness.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BenchmarkEntry", "DataMissing", "ExportLayout", "FormatError", "LEXICON", "LogNode", "Logger", "LoggerUnavailable",
    "Metric", "MissingGold", "ModelFamily", "NodeLog", "STEP_SCALARS",
    "ModelSpec", "Problem", "SYNTHETIC_NOTE", "SpecError", "Task", "TaskSpec", "TaskType", "Value", "XTREME_RECIPE",
    "__version__", "apply_threshold", "best_threshold", "byte_bpe_tokenizer", "check_split", "corpus",
    "encoder_config", "first_existing", "hookimpl", "is_text", "load_hf", "load_hub_or_folder",
    "load_with_subfolders", "map_at_k", "model_options", "nli_rows", "nn_accuracy", "pad", "pad_inputs",
    "planted_nli_rows", "prf", "qa_articles", "read_bitext", "read_conll", "read_conllu", "read_jsonl", "read_lines",
    "read_squad_json", "read_text", "read_tsv", "read_tsv_dicts", "score_by_name", "seeded_encoder", "squad_from_hub",
    "tags_from_hub", "write_conll", "write_jsonl", "write_squad", "write_tsv", *_LAZY,
]
