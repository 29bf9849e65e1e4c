"""What a training node processed and what its loggers see: the :class:`Meter` the training loop reports to.

The loop hands every drawn micro-batch to :meth:`Meter.batch` (examples and non-padding input tokens are counted,
special tokens included; each micro-batch once, whatever the number of processes), calls :meth:`Meter.step` after
each optimizer step and :meth:`Meter.dev` for each checkpoint-selection score. With loggers selected
(``harness matrix run --logger NAME``, see :mod:`harness.core.loggers`) each step's loss, learning rate and
throughput, and each dev point, go to them; the meter only reads numbers, it changes none.
"""

from __future__ import annotations

import time
from typing import Any

from harness.core.loggers import Logger, LoggerUnavailable, LogNode, NodeLog, check
from harness.core.registry import registry
from harness.run.hardware import Energy, device_info, gpu_indices, versions

__all__ = ["LoggerUnavailable", "Meter", "feature_tokens", "open_logs", "resolve_loggers"]


def feature_tokens(feature: dict[str, Any]) -> int:
    """Input tokens of one feature (unpadded ``input_ids``; a multiple-choice feature: every choice's)."""
    ids = feature.get("input_ids") or []
    return sum(len(x) for x in ids) if ids and isinstance(ids[0], list) else len(ids)


def resolve_loggers(names: tuple[str, ...] | list[str]) -> list[Logger]:
    """The registered loggers of ``names``, in order, each once. An unknown name raises
    :class:`harness.core.registry.UnknownName`, a logger whose package is missing
    :class:`harness.core.loggers.LoggerUnavailable` (one line naming the ``pip install`` that fixes it)."""
    loggers = [registry().logger(name) for name in dict.fromkeys(names)]
    check(loggers)
    return loggers


def open_logs(names: tuple[str, ...] | list[str], node: LogNode) -> list[NodeLog]:
    """Open each named logger for ``node`` (``node.dir`` is ``OUTPUT_DIR/logs``; each gets its own subfolder)."""
    loggers = resolve_loggers(names)
    logs: list[NodeLog] = []
    try:
        for logger in loggers:
            logs.append(logger.open(LogNode(**{**node.__dict__, "dir": node.dir / logger.name})))
    except BaseException:
        for log in logs:
            log.close()
        raise
    return logs


class Meter:
    """Counts a training node's examples and tokens, times its steps and fans its curves out to ``logs``."""

    def __init__(self, logs: list[NodeLog] | None = None, dev_metric: str | None = None, device: Any = "cpu",
                 count: int = 1) -> None:
        self.logs = list(logs or [])
        self.dev_metric = dev_metric or "score"
        self.examples: int | None = 0
        self.tokens: int | None = 0
        self.device, self.count = device, count
        self.energy = Energy(gpu_indices(device, count))
        self._started = time.perf_counter()
        self._step_examples = self._step_tokens = 0

    def begin(self) -> None:
        """A step starts (its throughput is measured from here)."""
        self._started = time.perf_counter()
        self._step_examples = self._step_tokens = 0

    def batch(self, features: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Count one drawn micro-batch; returns it unchanged."""
        n_tokens = sum(feature_tokens(f) for f in features)
        self._step_examples += len(features)
        self._step_tokens += n_tokens
        if self.tokens is not None and self.examples is not None:
            self.examples += len(features)
            self.tokens += n_tokens
        return features

    def step(self, step: int, loss: float, lr: float) -> None:
        """After an optimizer step: send its loss, learning rate and throughput to the loggers."""
        if not self.logs:
            return
        seconds = max(time.perf_counter() - self._started, 1e-9)
        scalars = {"train/loss": loss, "train/lr": lr, "train/examples_per_s": self._step_examples / seconds,
                   "train/tokens_per_s": self._step_tokens / seconds}
        for log in self.logs:
            log.step(step, scalars)

    def dev(self, step: int, value: float, metric: str | None = None) -> None:
        """One dev-curve point (``dev/<metric>``, the selection metric unless ``metric`` names another)."""
        for log in self.logs:
            log.dev(step, f"dev/{metric or self.dev_metric}", value)

    def state(self) -> dict[str, Any]:
        """What a resume checkpoint keeps (the counts so far)."""
        return {"examples": self.examples, "tokens": self.tokens}

    def load(self, state: dict[str, Any] | None) -> None:
        """Counts from a resume checkpoint; one written before counts existed leaves them unknown (None)."""
        if state is None:
            self.examples = self.tokens = None
            return
        self.examples, self.tokens = state["examples"], state["tokens"]

    def record(self) -> dict[str, Any]:
        """The node's budget fields: tokens and examples trained on, device kind and count, energy, versions."""
        return {"tokens": self.tokens, "examples": self.examples, "device": device_info(self.device, self.count),
                "energy_j": self.energy.joules(), **versions()}

    def close(self) -> None:
        """Close every logger (each once; one that fails to close does not keep the others open)."""
        logs, self.logs = self.logs, []
        errors = []
        for log in logs:
            try:
                log.close()
            except Exception as err:  # noqa: BLE001 - reported after the others are closed
                errors.append(err)
        if errors:
            raise errors[0]
