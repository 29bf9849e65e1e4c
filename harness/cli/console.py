"""Terminal output shared by the CLI and its command modules: the rich consoles, one-line errors, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

# Piped output (CI logs, files) gets a wide fixed width so tables stay readable.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def fail(message: str) -> None:
    """Print one actionable line to stderr and exit 2."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(2)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def esc(*values: Any) -> list[str]:
    """Each value as a string with rich markup escaped (names, labels, paths are user-controlled)."""
    return [escape(str(v)) for v in values]


def warn_broken() -> None:
    """One stderr line per broken plugin, naming its package and the reason."""
    from harness.core.registry import broken_plugins

    for b in broken_plugins():
        err_console.print(f"[yellow]warning:[/] {escape(b.line())}", highlight=False, soft_wrap=True)
