"""The process-wide stop flag: a signal handler (:mod:`harness.run.signals`) requests a stop, the training loop
sees it at its next step boundary, writes a resume checkpoint and raises :class:`Preempted`."""

from __future__ import annotations

_STOP = {"requested": False, "reason": ""}


class Preempted(Exception):
    """A training node stopped on request after writing a resume checkpoint; rerunning it continues from there."""

    def __init__(self, step: int, reason: str = "") -> None:
        super().__init__(f"stopped at step {step} after writing a resume checkpoint" + (f" ({reason})" if reason else ""))
        self.step = step


def request_stop(reason: str = "") -> None:
    """Ask the running training loop to checkpoint and stop at its next step boundary (signal-handler safe)."""
    _STOP["requested"], _STOP["reason"] = True, reason


def stop_requested() -> bool:
    return bool(_STOP["requested"])


def clear_stop() -> None:
    _STOP["requested"], _STOP["reason"] = False, ""
