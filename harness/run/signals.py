"""Graceful stop: SIGTERM or SIGUSR1 (what SLURM or a cluster manager sends before preemption or a time limit)
sets the stop flag of :mod:`harness.training.checkpoint` instead of killing the process. A training node sees the flag at
its next step boundary, writes a resume checkpoint and raises :class:`~harness.run.stop.Preempted`; a node
that is not training runs to its end; no new node starts. The executors report such a node as ``requeue`` (not
failed): no failure record, dependents wait, and a rerun resumes it. Later signals only repeat the request;
SIGKILL (or SIGINT, untouched) remains the hard stop.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from harness.run.stop import request_stop

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


def stop_handler(on_stop: Callable[[int], None] | None = None) -> Callable[[int, Any], None]:
    """A signal handler that requests a graceful stop, then calls ``on_stop(signum)`` (e.g. to tell workers)."""

    def handle(signum: int, frame: Any) -> None:
        request_stop(f"signal {signal.Signals(signum).name}")
        if on_stop is not None:
            on_stop(signum)

    return handle


def install_stop_handlers(signals: tuple[int, ...] = STOP_SIGNALS,
                          on_stop: Callable[[int], None] | None = None) -> dict[int, Any]:
    """Install :func:`stop_handler` for ``signals``; returns the previous handlers (empty off the main thread,
    where Python cannot install handlers: the process then keeps its own)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    handler = stop_handler(on_stop)
    return {s: signal.signal(s, handler) for s in signals}


def restore_handlers(previous: dict[int, Any]) -> None:
    for s, h in previous.items():
        signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextlib.contextmanager
def graceful_stop(signals: tuple[int, ...] = STOP_SIGNALS,
                  on_stop: Callable[[int], None] | None = None) -> Iterator[None]:
    """Within the block, ``signals`` request a graceful stop; the previous handlers come back afterwards."""
    previous = install_stop_handlers(signals, on_stop)
    try:
        yield
    finally:
        restore_handlers(previous)
