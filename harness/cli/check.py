"""``harness matrix check CONFIG``: the online preflight (``harness.planning.preflight``), printed as one report.

``matrix run`` runs it too before any node starts, unless ``--offline`` (or ``HF_HUB_OFFLINE`` is set: then the
report says what could not be checked and only the local checks count).
"""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from harness.cli.console import console, emit_json, err_console, fail, warn_broken

SET_HELP = ("override one config value, e.g. --set train.lr=2e-5 or --set models.0.train.lr=1e-3 (YAML value; "
            "repeatable, applied in order before validation)")
# The options every command that builds a plan takes (matrix plan, check, run): one definition each.
update_lock_option = click.option("--update-lock", is_flag=True,
                                  help="resolve hub revisions again and move the lock file (CONFIG.lock.json) to them")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help=SET_HELP)


def _load_plan(config: str, update_lock: bool = False, quiet: bool = False, check_data: bool = True,
               before_download: bool = False, models_as: str | None = None, overrides: tuple[str, ...] = ()):
    """Validate the config (``--set`` ``overrides`` applied) and build its plan; hub revisions come from (and new
    ones go to) its lock file, which also records the overrides.
    ``check_data``: load and check every split the plan touches (``harness.planning.validate``) before anything runs.
    ``before_download``: offline revisions not locked yet and missing data folders are planned provisionally
    (nothing saved, no data checked; ``matrix plan --before-download``). ``models_as``: ``tiny`` plans the same
    matrix with tiny stand-in models on synthetic data (``harness.planning.standins``), with no lock file."""
    from harness.core.registry import UnknownName
    from harness.core.specs import SpecError
    from harness.planning.config import ConfigError, load_config
    from harness.planning.lock import Lock, LockError
    from harness.planning.plan import build_plan
    from harness.toolkit.data import DataInvalid, DataMissing
    from harness.training.tracking import LoggerUnavailable, resolve_loggers

    warn_broken()
    try:
        cfg, _ = load_config(config, overrides)
        if models_as:
            from harness.planning.standins import with_models_as

            try:
                cfg = with_models_as(cfg, models_as)
            except ValueError as err:  # a model no plugin names a stand-in for
                fail(str(err))
        resolve_loggers(cfg.loggers)  # a tracker whose package is missing stops the plan, before any work
        lock = Lock() if models_as else Lock.for_config(config, update=update_lock)
        lock.provisional = before_download
        plan = build_plan(cfg, lock=lock)
        lock.record_overrides(list(overrides), plan.config_hash)
        lock.save()
        if check_data and not before_download:
            from harness.planning.validate import validate_plan

            validate_plan(plan)
    except (ConfigError, UnknownName, SpecError, DataMissing, DataInvalid, LockError, LoggerUnavailable) as err:
        fail(str(err))
    except OSError as err:  # a folder the config names cannot be created or read (permissions, a read-only disk)
        fail(f"{err.filename or config}: {err.strerror or err}; check the paths in {config} (output_dir, cache_dir, "
             "leaderboard, data) and their permissions")
    if not quiet:
        for note in dict.fromkeys(lock.notes):  # each once (a revision is looked up per task or model)
            err_console.print(f"lock: {escape(note)}", highlight=False, soft_wrap=True)
    return plan


@click.command("check")
@click.argument("config", type=click.Path())
@click.option("--json", "as_json", is_flag=True)
@update_lock_option
@set_option
def matrix_check(config: str, as_json: bool, update_lock: bool, overrides: tuple[str, ...]) -> None:
    """Preflight: ask the hub whether every model, dataset config/split and auxiliary file the plan reads exists
    at its locked revision; print every problem in one report (exit 1 if any)."""
    plan = _load_plan(config, update_lock, check_data=False, overrides=overrides)
    if not preflight(plan, as_json=as_json):
        sys.exit(1)


def needs_preflight(plan) -> bool:
    """Whether the plan reads anything the preflight checks (a hub model or dataset, or the FLORES SPM)."""
    from pathlib import Path

    from harness.core.registry import registry

    sources: set[str] = set()
    evaluated: set[str] = set()
    for node in plan.nodes.values():  # each model source and task looked at once (200k nodes, a few dozen of each)
        p = node.params
        src = p["model"]["source"]
        if src not in sources:
            sources.add(src)
            if not src.startswith(("local:", "/", "~", ".")) and not Path(src).expanduser().exists():
                return True
        infos = p.get("tasks") or ([p["task"]] if "task" in p else [])
        if any(i["data"]["kind"] == "hub" for i in infos):
            return True
        if node.stage == "eval" and p["task"]["name"] not in evaluated:
            evaluated.add(p["task"]["name"])
            if "spbleu" in registry().task(p["task"]["name"]).spec.metrics:
                return True
    return False


def validate_or_fail(plan) -> None:
    """Load and check every split the plan touches (``harness.planning.validate``); one line on failure."""
    from harness.planning.validate import validate_plan
    from harness.toolkit.data import DataInvalid, DataMissing

    try:
        validate_plan(plan)
    except (DataMissing, DataInvalid) as err:
        fail(str(err))


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


def machine_or_fail(plan, device: str, nproc: int | None) -> None:
    """Refuse, in one report, a local run this machine cannot do (:func:`harness.planning.runtime.check_machine`)."""
    from harness.planning.runtime import check_machine

    problems = check_machine(plan, device, nproc)
    if problems:
        fail("this machine cannot run the plan; nothing was run:\n  " + "\n  ".join(problems))
