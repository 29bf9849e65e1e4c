"""The plugin API of xlt-harness: every hook a plugin may implement.

A plugin is a plain module with ``@hookimpl`` functions, registered through the ``xlt_harness`` entry-point
group (the built-ins use the same group). Each hook receives a ``register`` callable and calls it once per
object it contributes; validation, name clashes and "did you mean" stay in the core (``harness.core.registry``).

Hooks take keyword arguments only; an implementation may accept fewer arguments than its spec. Plugin modules
must not import torch, transformers or faiss at top level: listing plugins has to stay fast.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "xlt_harness"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_models(register: Callable) -> None:
    """Contribute named models: call ``register(harness.core.specs.ModelSpec(...))`` for each."""


@hookspec
def register_model_families(register: Callable) -> None:
    """Contribute model families (loaders of an architecture): ``register(harness.core.specs.ModelFamily(...))``."""


@hookspec
def register_tasks(register: Callable) -> None:
    """Contribute tasks: ``register(harness.core.specs.Task(...))`` for each (spec data plus a loader)."""


@hookspec
def register_task_types(register: Callable) -> None:
    """Contribute task kinds (encoding, head, loss, decoding): ``register(MyType())``, a ``harness.api.TaskType``
    subclass instance whose ``kind`` tasks then name."""


@hookspec
def register_metrics(register: Callable) -> None:
    """Contribute metrics: ``register(harness.api.Metric(...))`` for each (scorer, signature, how to resample)."""


@hookspec
def register_executors(register: Callable) -> None:
    """Contribute matrix executors: ``register(name, executor_factory)``; ``local`` is built in."""


@hookspec
def register_loggers(register: Callable) -> None:
    """Contribute experiment trackers: ``register(harness.api.Logger(name, open, requires=..., install=...))``;
    ``open(harness.api.LogNode)`` returns a ``harness.api.NodeLog`` that receives one training node's per-step loss,
    learning rate and throughput and its dev-curve points (see :mod:`harness.core.loggers`)."""
