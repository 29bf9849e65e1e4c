"""``harness matrix plan|check|run``: the plan, its cost and the run; status and prune live in matrix_store."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.check import (
    _load_plan,
    machine_or_fail,
    matrix_check,
    needs_preflight,
    preflight,
    set_option,
    update_lock_option,
    validate_or_fail,
)
from harness.cli.console import console, emit_json, err_console, esc, fail

MODELS_AS_HELP = ("tiny: every model replaced by a tiny stand-in of its family and every task's data by its synthetic "
                  "data, on CPU, in OUTPUT_DIR-tiny-standins (rows name the stand-in: TINY-standin-for-MODEL)")


@click.group()
def matrix() -> None:
    """Plan and run a models × intermediate × targets × languages × seeds matrix."""


def plan_summary(plan, done: set[str] | None = None, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Node counts, what is cached, what reuse saves and the estimate from this cache's timings (``done``, the
    finished nodes, and ``events``, the log, when the caller has them: each is read once at 200k nodes)."""
    from harness.run.context import Context
    from harness.store.integrity import pruned_names
    from harness.store.status import done_nodes, plan_costs

    ctx = Context(cache_dir=plan.cache_dir)
    done = done_nodes(plan, ctx) if done is None else done
    stages: dict[str, dict[str, int]] = {}
    pruned = 0
    for node in plan.nodes.values():
        s = stages.setdefault(node.stage, {"nodes": 0, "cached": 0})
        s["nodes"] += 1
        finished = node.key in done
        s["cached"] += finished
        pruned += finished and bool(pruned_names(ctx.node_dir(node.key)))
    # Without reuse every cell would train its own intermediate checkpoint and target model.
    n_targets_trainable = len({(n.params["model"]["name"], n.params["intermediate"], n.params["task"]["name"],
                                n.params["seed"]) for n in plan.by_stage("target")})
    independent_inter = sum(1 for n in plan.by_stage("eval") if n.params["intermediate"] != "none")
    return {
        "config": plan.config.name, "config_hash": plan.config_hash, "cells": plan.cells, "stages": stages,
        "intermediate_checkpoints": len(plan.by_stage("intermediate")),
        "reuse": {
            "intermediate_trainings_without_reuse": independent_inter,
            "intermediate_trainings_with_reuse": len(plan.by_stage("intermediate")),
            "target_trainings_without_reuse": sum(1 for n in plan.by_stage("eval") if n.params["trained"]),
            "target_trainings_with_reuse": n_targets_trainable,
        },
        "estimate": plan_costs(plan, ctx, plan.config.workers, done=done, events=events),
        "pruned": pruned,
        "cache_dir": str(plan.cache_dir), "leaderboard": str(plan.leaderboard),
    }


def with_recorded_seeds(plan, config: str):
    """The plan plus the seeds an earlier ``matrix run --until-resolved`` of this config recorded."""
    from harness.orchestration.adaptive import recorded_plan
    from harness.planning.lock import Lock

    return recorded_plan(plan, Lock.for_config(config))


@matrix.command("plan")
@click.argument("config", type=click.Path())
@click.option("--json", "as_json", is_flag=True)
@click.option("--nodes", "show_nodes", is_flag=True, help="list every node with its key and dependencies")
@click.option("--gpu-memory-gb", type=float, default=None,
              help="memory of one GPU (default: the config's gpu_memory_gb); warn for training nodes that won't fit")
@update_lock_option
@click.option("--device-kind", default=None,
              help="device of the cost estimate: cpu, a100, h100-sxm, h100-pcie, h200, l40s, v100 "
                   "(default: cpu when the config's device is cpu, else h100-sxm)")
@click.option("--before-download", is_flag=True,
              help="plan before the data is here: offline, hub revisions not locked yet are planned as 'unlocked' "
                   "and missing data folders are costed from the tasks' declared sizes (no lock written)")
@click.option("--models-as", type=click.Choice(["tiny"]), default=None, help=MODELS_AS_HELP)
@set_option
def matrix_plan(config: str, as_json: bool, show_nodes: bool, gpu_memory_gb: float | None, update_lock: bool,
                device_kind: str | None, before_download: bool, models_as: str | None,
                overrides: tuple[str, ...]) -> None:
    """Show the DAG: node counts per stage, what is cached, what checkpoint reuse saves, and its cost."""
    from harness.cli.plan_view import plan_cost_summary, print_cost
    from harness.modeling.memory import plan_warnings
    from harness.planning.cost import DEVICES
    from harness.run.context import Context
    from harness.store.events import read_events
    from harness.store.status import done_nodes

    if device_kind is not None and device_kind not in DEVICES:
        fail(f"--device-kind {device_kind!r} is not one of {', '.join(DEVICES)}")
    plan = with_recorded_seeds(_load_plan(config, update_lock, before_download=before_download, models_as=models_as,
                                          overrides=overrides), config)
    done, events = done_nodes(plan, Context(cache_dir=plan.cache_dir)), read_events(plan.cache_dir)
    summary = plan_summary(plan, done, events)
    summary["provisional"] = before_download
    summary["cost"] = plan_cost_summary(plan, device_kind, done, events)
    summary["memory_warnings"] = plan_warnings(plan, gpu_memory_gb)
    for line in summary["memory_warnings"]:
        err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
    if as_json:
        summary["nodes"] = [n.to_json() | {"params": None} for n in plan.nodes.values()] if show_nodes else None
        emit_json(summary)
        return
    table = Table("stage", "nodes", "cached", "to run", title=escape(f"matrix {plan.config.name} ({plan.cells} cells)"))
    for stage, s in summary["stages"].items():
        table.add_row(*esc(stage, s["nodes"], s["cached"], s["nodes"] - s["cached"]))
    console.print(table)
    r = summary["reuse"]
    console.print(
        f"reuse: {r['intermediate_trainings_with_reuse']} intermediate checkpoints serve "
        f"{r['intermediate_trainings_without_reuse']} cells; {r['target_trainings_with_reuse']} target trainings "
        f"serve {r['target_trainings_without_reuse']} language evaluations"
    )
    if before_download:
        console.print("provisional (--before-download): revisions not locked yet and missing data folders are "
                      "planned from the tasks' declared sizes; node keys are not final, nothing was written",
                      highlight=False, markup=False)
    est = summary["estimate"]
    if est["seconds_to_run"] is None:
        console.print(f"estimate: {est['basis']}", highlight=False, markup=False)
    else:
        console.print(
            f"estimate: {'at least ' if est['nodes_unestimated'] else ''}{est['seconds_to_run']:.0f} s of compute left (≈ {est['wall_seconds']:.0f} s wall with "
            f"{plan.config.workers} worker(s)); reuse saves ≈ {est['saved_by_reuse_seconds']:.0f} s of "
            f"{est['seconds_without_reuse']:.0f} s ({est['basis']}"
            + (f"; {est['nodes_unestimated']} nodes without a timing)" if est["nodes_unestimated"] else ")"),
            highlight=False, markup=False,
        )
    if summary["pruned"]:
        console.print(f"pruned: {summary['pruned']} cached training node(s) without their weights (harness matrix "
                      "prune); a node still to run that reads one redoes it", highlight=False, markup=False)
    if show_nodes:
        for n in plan.nodes.values():
            console.print(f"  {n.key}  {n.stage:<12} {n.label}  ← {', '.join(n.deps) or '-'}", highlight=False,
                          markup=False, soft_wrap=True)
    print_cost(console, summary["cost"])
    console.print(f"cache: {summary['cache_dir']}\nleaderboard: {summary['leaderboard']}", highlight=False,
                  markup=False)


matrix.add_command(matrix_check, "check")  # harness.cli.check: the online preflight


@matrix.command("run")
@click.argument("config", type=click.Path())
@click.option("--offline", is_flag=True,
              help="skip the online preflight (harness matrix check); also implied by HF_HUB_OFFLINE")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: config's, else auto)")
@click.option("--retry-failed/--no-retry-failed", default=False,
              help="rerun nodes that failed in an earlier run (default: report them again, skip their dependents)")
@click.option("--executor", default=None, help="override the config's executor (local, ray, slurm …)")
@click.option("--nproc", type=click.IntRange(min=1), default=None,
              help="processes (GPUs) per training node (default: the config's nproc, 1)")
@click.option("--strategy", type=click.Choice(["ddp", "fsdp"]), default=None,
              help="multi-process training: data parallel or FSDP (default: the config's strategy)")
@update_lock_option
@click.option("--prune", is_flag=True,
              help="delete each training's weights as soon as every node reading them finished (see matrix prune)")
@click.option("--until-resolved", is_flag=True,
              help="after the config's seeds, add seeds to the gain cells whose adjusted interval includes 0, "
                   "round by round (OUTPUT_DIR/seeds_plan.json records why each cell stopped)")
@click.option("--max-seeds", type=click.IntRange(min=1), default=10, show_default=True,
              help="--until-resolved: most seeds per cell")
@click.option("--width", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="--until-resolved: an interval at most this wide (metric points) stops its cell too")
@click.option("--adjust", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True,
              help="--until-resolved: the multiplicity adjustment of the intervals (the report's verdicts: holm)")
@click.option("--models-as", type=click.Choice(["tiny"]), default=None, help=MODELS_AS_HELP)
@set_option
@click.option("--logger", "loggers", multiple=True, metavar="NAME",
              help="experiment tracker for the training curves (tensorboard, wandb, mlflow; repeatable; added to "
                   "the config's loggers); files under OUTPUT_DIR/logs/NAME/")
def matrix_run(config: str, device: str | None, retry_failed: bool, executor: str | None, nproc: int | None,
               strategy: str | None, update_lock: bool, prune: bool, offline: bool, until_resolved: bool,
               max_seeds: int, width: float, adjust: str, models_as: str | None,
               overrides: tuple[str, ...], loggers: tuple[str, ...]) -> None:
    """Run every node not yet cached, then write the leaderboard JSONL and print a summary (the config it ran,
    overrides applied, is copied to OUTPUT_DIR/config.yaml)."""
    from harness.core.registry import registry
    from harness.orchestration.adaptive import recorded_plan, stamp_leaderboard, summary_lines
    from harness.planning.lock import Lock
    from harness.planning.overrides import write_config_copy
    from harness.run.context import Context
    from harness.run.progress import MatrixProgress

    plan = _load_plan(config, update_lock, check_data=False, models_as=models_as, overrides=overrides)
    lock = Lock.for_config(config)  # as _load_plan left it: the extended plans resolve what the plan resolved
    base_plan, plan = plan, recorded_plan(plan, lock)  # the seeds an earlier --until-resolved added
    loggers = _loggers_or_fail([*plan.config.loggers, *loggers])
    if needs_preflight(plan) and not preflight(plan, offline=offline, quiet_ok=True):
        sys.exit(1)  # what the hub must serve is checked before any data is loaded or any node runs
    validate_or_fail(plan)
    if (executor or plan.config.executor) == "local":  # the machine this run starts on runs the nodes
        machine_or_fail(plan, device or plan.config.device, nproc or plan.config.nproc)
    try:
        executor_cls = registry().executor(executor or plan.config.executor)
        options = plan.config.executor_options if (executor or plan.config.executor) == plan.config.executor else {}
        executor_cls(workers=plan.config.workers, **options)
    except (KeyError, ValueError) as err:
        fail(str(err))
    write_config_copy(plan.config, plan.config_hash, config, overrides, plan.output_dir)
    if loggers:
        console.print(f"loggers: {', '.join(loggers)} → {plan.output_dir / 'logs'} (nodes that train now)",
                      highlight=False, markup=False)

    def run_round(plan):
        with MatrixProgress(console, plan) as progress:
            ctx = Context(cache_dir=plan.cache_dir, device=device or plan.config.device,
                          config_name=plan.config.name, config_hash=plan.config_hash, progress=progress.update,
                          nproc=nproc or plan.config.nproc, strategy=strategy or plan.config.strategy,
                          threads=getattr(plan.config, "threads", None), prune=prune, loggers=loggers,
                          log_dir=plan.output_dir / "logs")
            from harness.core.rows import DamagedFile
            from harness.orchestration.scheduler import run_plan

            try:
                return run_plan(plan, ctx, executor_cls(workers=plan.config.workers, **options),
                                retry_failed=retry_failed)
            except DamagedFile as err:  # the leaderboard file: refused, left as it is, named with its line
                fail(str(err))

    record = None
    if until_resolved:
        from harness.orchestration.adaptive import until_resolved as adapt

        result = adapt(base_plan, lock, run_round, max_seeds=max_seeds, width=width, adjust=adjust,
                       echo=lambda line: console.print(line, highlight=False, markup=False))
        outcome, record, plan = result.outcome, result.record, result.plan
    else:
        outcome = run_round(plan)
        stamp_leaderboard(plan)
    from harness.results.leaderboard import print_summary

    print_summary(console, plan.leaderboard)
    for line in summary_lines(record, plan.output_dir / "seeds_plan.json") if record else []:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    console.print(f"nodes: {len(outcome.done)} ran, {len(outcome.cached)} cached, {len(outcome.failed)} failed, "
                  f"{len(outcome.skipped)} skipped → {plan.leaderboard}", highlight=False, markup=False)
    for key, error in outcome.failed.items():
        err_console.print("[red]failed[/] " + escape(f"{plan.nodes[key].label}: {error} (details: "
                          f"{plan.cache_dir / 'failed' / (key + '.json')})"), highlight=False, soft_wrap=True)
    if (outcome.interrupted or outcome.not_run) and not outcome.failed and not outcome.skipped:
        err_console.print(escape(f"stopped on request: {len(outcome.interrupted)} node(s) interrupted, "
                                 f"{len(outcome.not_run)} not started; rerun to resume"), highlight=False)
        sys.exit(75)  # EX_TEMPFAIL: not a failure, try again (a requeued SLURM job, a preempted VM)
    if not outcome.ok:
        sys.exit(1)


def _loggers_or_fail(names: list[str]) -> tuple[str, ...]:
    """The selected loggers, each once; an unknown one or one whose package is missing fails in one line."""
    from harness.core.registry import UnknownName
    from harness.training.tracking import LoggerUnavailable, resolve_loggers

    try:
        return tuple(logger.name for logger in resolve_loggers(names))
    except (UnknownName, LoggerUnavailable) as err:
        fail(str(err))
