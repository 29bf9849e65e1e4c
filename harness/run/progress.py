"""Rich progress for a running matrix: overall nodes, and the current node's stage, step, loss and ETA."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class MatrixProgress:
    def __init__(self, console: Console, plan) -> None:
        self.plan = plan
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
            disable=not console.is_terminal,
        )
        self.overall = None
        self.current = None
        self.current_key = None
        self.seen: set[str] = set()

    def __enter__(self) -> MatrixProgress:
        self.progress.__enter__()
        self.overall = self.progress.add_task("matrix", total=len(self.plan.nodes), info="")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def update(self, node, info: dict[str, Any]) -> None:
        """Called by training stages: ``{step, total, loss, task}``."""
        if node.key != self.current_key:
            if self.current is not None:
                self.progress.remove_task(self.current)
            self.current_key = node.key
            self.current = self.progress.add_task(escape(f"{node.stage}: {node.label}"), total=info.get("total"), info="")
            if node.key not in self.seen:
                self.seen.add(node.key)
                self.progress.advance(self.overall)
        loss = info.get("loss")
        self.progress.update(self.current, completed=info.get("step", 0),
                             info=f"loss {loss:.4f}" if loss is not None else "")
