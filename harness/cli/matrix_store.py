"""``harness matrix status|prune``: read (and prune) a matrix's cache."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.check import _load_plan
from harness.cli.console import console, emit_json, esc
from harness.cli.matrix import matrix, with_recorded_seeds


@matrix.command("status")
@click.argument("config", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (includes every node's state)")
def matrix_status_cmd(config: str, as_json: bool) -> None:
    """Progress of a running or finished matrix, read from its cache and events log."""
    from harness.run.context import Context
    from harness.store.status import matrix_status

    plan = _load_plan(config, quiet=True, check_data=False)
    plan = with_recorded_seeds(plan, config)
    st = matrix_status(plan, Context(cache_dir=plan.cache_dir), workers=plan.config.workers, per_node=as_json)
    if as_json:
        emit_json(st)
        return
    cols = ("nodes", "done", "running", "interrupted", "failed", "skipped", "pending")
    table = Table("stage", *cols,
                  title=escape(f"matrix {st['config']}: {st['phase']}, {100 * st['progress']:.1f}% done"))
    for stage, s in st["stages"].items():
        table.add_row(*esc(stage, *(s[c] for c in cols)))
    table.add_row(*esc("all", *(st["totals"][c] for c in cols)))
    console.print(table)
    run = st["last_run"]
    if run:
        console.print(f"last run {run['run']} ({run['executor']}): {run['status'] or 'no end recorded'}, "
                      f"{run['elapsed_s']:.0f} s", highlight=False, markup=False)
    for r in st["running"]:
        console.print(f"  running {r['label']} on {r['host']}:{r['pid']}", highlight=False, markup=False)
    for r in st["interrupted"]:
        step = r["checkpoint_step"]
        console.print(f"  interrupted {r['label']}" + (f" (resumes from step {step})" if step is not None else ""),
                      highlight=False, markup=False)
    for f in st["failed"]:
        console.print("  [red]failed[/] " + escape(f"{f['label']}: {f['error']} (attempts: {f['attempts']})"),
                      highlight=False, soft_wrap=True)
    if st["totals"]["done"] < st["totals"]["nodes"]:
        eta = f"≈ {st['eta_s']:.0f} s" if st["eta_s"] is not None else "unknown"
        console.print(f"ETA {eta} ({st['eta_basis']})", highlight=False, markup=False)
    console.print(f"leaderboard: {st['leaderboard']} ({st['leaderboard_rows']} rows)", highlight=False,
                  markup=False)



@matrix.command("prune")
@click.argument("config", type=click.Path())
@click.option("--dry-run", is_flag=True, help="list what would be deleted, delete nothing")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def matrix_prune_cmd(config: str, dry_run: bool, as_json: bool) -> None:
    """Delete the weights of finished trainings whose readers (target trainings, evaluations) all finished.

    Rows, predictions, logs and summaries stay; a rerun reports the same leaderboard without retraining. A node
    added later that reads a pruned training redoes it."""
    from harness.run.context import Context
    from harness.store.prune import prune

    plan = _load_plan(config, quiet=True, check_data=False)
    plan = with_recorded_seeds(plan, config)
    entries = prune(plan, Context(cache_dir=plan.cache_dir), dry_run=dry_run)
    if as_json:
        emit_json({"dry_run": dry_run, "nodes": [e.to_json() for e in entries]})
        return
    done = [e for e in entries if e.kept is None]
    for e in entries:
        what = "kept" if e.kept else ("would delete" if dry_run else "deleted")
        size = f"{e.bytes / 1e6:.1f} MB"
        console.print(escape(f"  {what:<12} {size:>10}  {e.stage:<12} {e.label}" + (f"  ({e.kept})" if e.kept else "")),
                      highlight=False, soft_wrap=True)
    freed = sum(e.bytes for e in done)
    amount = f"{freed / 1e9:.2f} GB" if freed >= 1e9 else f"{freed / 1e6:.1f} MB"
    console.print(f"{'would free' if dry_run else 'freed'} {amount} from {len(done)} training node(s); "
                  f"{len(entries) - len(done)} kept (a reader is not finished); cache: {plan.cache_dir}",
                  highlight=False, markup=False)
