"""Experiment trackers ("loggers"): what a plugin registers with ``register_loggers`` and what a training node
sends to it.

A :class:`Logger` names a tracker, the modules it needs (``requires``, checked with ``importlib.util.find_spec``:
nothing is imported until a node opens it) and the command that installs them. ``open(node)`` is called once per
training node (intermediate, target) on the process that writes the node's outputs, with a :class:`LogNode`; the
:class:`NodeLog` it returns receives ``step(step, scalars)`` after every optimizer step (the scalars are
:data:`STEP_SCALARS`), ``dev(step, metric, value)`` for every point of the dev curve, and ``close()`` once.

Logging is not part of a result: choosing loggers changes no number, no node key and no config hash, and a
cached node logs nothing (it does not train again).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# What ``NodeLog.step`` receives after each optimizer step: the step's mean training loss, the learning rate that
# step used, and throughput over the step's wall time (examples and non-padding input tokens per second).
STEP_SCALARS = ("train/loss", "train/lr", "train/examples_per_s", "train/tokens_per_s")


@dataclass(frozen=True)
class LogNode:
    """One training node, as a logger sees it. ``key`` is the node key (eval rows name it in
    ``budget.intermediate_node`` / ``budget.target_node``), ``dir`` the folder this logger may write under
    (``OUTPUT_DIR/logs/<logger name>/``), ``hp`` the node's resolved hyper-parameters."""

    key: str
    label: str
    stage: str
    run: str | None
    config_name: str | None
    config_hash: str | None
    dir: Path
    hp: dict[str, Any] = field(default_factory=dict)


class NodeLog:
    """What ``Logger.open`` returns; override what the tracker needs (each method here does nothing)."""

    def step(self, step: int, scalars: dict[str, float]) -> None:
        """Scalars of one optimizer step (:data:`STEP_SCALARS`)."""

    def dev(self, step: int, metric: str, value: float) -> None:
        """One point of the dev curve: ``metric`` (e.g. ``dev/accuracy``) after ``step`` steps."""

    def close(self) -> None:
        """The node finished (or failed): flush and release the tracker."""


@dataclass(frozen=True)
class Logger:
    """An experiment tracker: ``open(LogNode) -> NodeLog``; ``requires``: modules it imports; ``install``: the
    one command that provides them (named when one is missing)."""

    name: str
    open: Callable[[LogNode], NodeLog]
    requires: tuple[str, ...] = ()
    install: str | None = None
    description: str = ""

    def missing(self) -> str | None:
        """None when every required module can be imported, else one line naming the missing one and the fix."""
        for module in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                fix = self.install or f"pip install {module}"
                return f"logger {self.name!r} needs the {module!r} package, which is not installed: {fix}"
        return None


class LoggerUnavailable(ValueError):
    """A selected logger whose package is missing; the message is one line naming the install command."""


def check(loggers: list[Logger]) -> None:
    """Raise :class:`LoggerUnavailable` for the first logger whose required package is missing."""
    for logger in loggers:
        problem = logger.missing()
        if problem:
            raise LoggerUnavailable(problem)
