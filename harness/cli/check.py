"""``harness matrix check CONFIG``: the online preflight (``harness.planning.preflight``), printed as one report.

``matrix run`` runs it too before any node starts, unless ``--offline`` (or ``HF_HUB_OFFLINE`` is set: then the
report says what could not be checked and only the local checks count).
"""

from __future__ import annotations

from rich.markup import escape

from harness.cli.console import console, emit_json, err_console


def preflight(plan, offline: bool = False, as_json: bool = False, quiet_ok: bool = False) -> bool:
    """Check the plan against the hub; print every problem (and what was checked); True when nothing is missing."""
    from harness.planning.preflight import check_plan

    report = check_plan(plan, offline=True if offline else None)
    if as_json:
        emit_json({"ok": report.ok, "problems": [p.__dict__ for p in report.problems],
                   "unchecked": report.unchecked, "checked": report.checked})
        return report.ok
    if not quiet_ok:
        for line in report.checked:
            console.print(f"ok: {escape(line)}", highlight=False, soft_wrap=True)
    for line in report.unchecked:
        err_console.print(f"[yellow]not checked:[/] {escape(line)}", highlight=False, soft_wrap=True)
    for p in report.problems:
        err_console.print(f"[red]problem:[/] {escape(p.line())}", highlight=False, soft_wrap=True)
    if report.problems:
        err_console.print(f"preflight: {len(report.problems)} problem(s); nothing was run", highlight=False)
    else:
        console.print(f"preflight: {len(report.checked)} hub read(s) checked, no problem"
                      + (f", {len(report.unchecked)} not checked" if report.unchecked else ""), highlight=False)
    return report.ok
