"""Resume state of a training node (minimal part: the graceful-stop flag shared with the executors).

A training node keeps its resume state in ``cache_dir/resume/KEY/`` (stable across kills, unlike the node's
temporary work folder). Graceful stop: :func:`request_stop` (called by a signal handler) makes the training loop
write a checkpoint at the next step boundary and raise :class:`Preempted`.
"""

from __future__ import annotations

from pathlib import Path

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


def resume_dir(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "resume" / key
