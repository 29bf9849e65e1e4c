"""``harness leaderboard``: show (and, from issue 8, aggregate, report, html, export) leaderboard JSONL."""

from __future__ import annotations

import click


@click.group()
def leaderboard() -> None:
    """Read, aggregate and report leaderboard JSONL files."""


@leaderboard.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="print the rows as JSON")
def show(files: tuple[str, ...], as_json: bool) -> None:
    """Print the main metric per model × intermediate × task, English apart from the cross-lingual mean."""
    from ..cli import console, emit_json, fail
    from ..leaderboard import load_rows, print_summary

    try:
        rows = load_rows(*files)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    if as_json:
        emit_json(rows)
        return
    for f in files:
        print_summary(console, f)
