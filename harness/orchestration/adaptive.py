"""``matrix run --until-resolved``: rounds of seeds for the gain cells the report cannot decide yet.

Round 1 runs the config's seeds. After each round the report's gains (:mod:`harness.results.seeds_plan`) decide
per cell (model × intermediate × target task) whether it needs more seeds; those cells get ``len(config seeds)``
more (at most ``max_seeds``), drawn in order from the seeds after the config's largest, and their ``none``
baseline gets the same ones, so every comparison stays paired. The extended plan is the config's plan with the
extra seeds' nodes added for those cells only: every node of the config's plan keeps its key (it is cached), so a
round only runs what is new. The decisions go to ``OUTPUT_DIR/seeds_plan.json`` after every round; a later
``matrix run`` of the same config (same hash) plans those seeds again, so a rerun with everything done runs
nothing and stops at once with the same decision, and a plain ``matrix run`` keeps the extra seeds' rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.rows import read_jsonl
from harness.orchestration.scheduler import Outcome
from harness.planning.lock import Lock
from harness.planning.plan import Plan, build_plan
from harness.results import seeds_plan as sp
from harness.results.leaderboard import merge_leaderboard


@dataclass
class Adaptive:
    """What ``until_resolved`` did: the last round's plan and outcome, every round's counts, the final record."""

    plan: Plan
    outcome: Outcome
    rounds: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, Any] | None = None


def _cell(node_params: dict[str, Any]) -> str:
    return sp.cell_of(node_params["model"]["name"], node_params["intermediate"], node_params["task"]["name"])


def extend_plan(plan: Plan, seeds: dict[str, list[int]], lock: Lock) -> Plan:
    """``plan`` plus the nodes of each cell's extra seeds (``seeds``: cell → its seeds) and of its ``none``
    baseline (the union of its settings' seeds); every node of ``plan`` is kept with its key."""
    base = list(plan.config.seeds)
    extra = sorted({s for ss in seeds.values() for s in ss} - set(base))
    if not extra:
        return plan
    wanted = {cell: set(ss) for cell, ss in seeds.items()}
    for cell, ss in seeds.items():
        model, _, task = cell.rsplit("/", 2)
        wanted.setdefault(sp.cell_of(model, "none", task), set()).update(ss)
    full = build_plan(plan.config.model_copy(update={"seeds": base + extra}), lock=lock)
    missing = set(plan.nodes) - set(full.nodes)
    if missing:  # extra seeds must only add nodes; anything else would recompute what is cached
        raise RuntimeError(f"extra seeds changed {len(missing)} node key(s) of the config's plan")
    keep = set(plan.nodes)
    for node in reversed(list(full.nodes.values())):  # dependents first: a kept node keeps its upstream
        if node.key in keep:
            keep.update(node.deps)
        elif node.stage != "intermediate" and node.params["seed"] in wanted.get(_cell(node.params), ()):
            keep.add(node.key)
            keep.update(node.deps)
    nodes = {k: n for k, n in full.nodes.items() if k in keep}
    added = sum(1 for k, n in nodes.items() if n.stage == "eval" and k not in plan.nodes)
    return Plan(plan.config, plan.config_hash, plan.output_dir, plan.cache_dir, plan.leaderboard, nodes,
                plan.cells + added)


def recorded_plan(plan: Plan, lock: Lock) -> Plan:
    """The plan with the seeds an earlier ``--until-resolved`` run of this config recorded (else ``plan``)."""
    return extend_plan(plan, sp.seeds_by_cell(sp.read_record(plan.output_dir, plan.config_hash)), lock)


def stamp_leaderboard(plan: Plan) -> bool:
    """Set ``seeds_plan`` on this config's leaderboard rows from its record; False when there is none."""
    record = sp.read_record(plan.output_dir, plan.config_hash)
    if record is None or not plan.leaderboard.exists():
        return False
    where = os.path.relpath(sp.record_path(plan.output_dir), plan.leaderboard.parent)
    rows = [r for r in read_jsonl(plan.leaderboard) if r.get("config_name") == plan.config.name]
    merge_leaderboard(plan.leaderboard, plan.config.name, sp.stamp(rows, record, where))
    return True


def decide_plan(plan: Plan, *, max_seeds: int, width: float, adjust: str, n_boot: int = 1000,
                level: float = 0.95) -> dict[str, dict[str, Any]]:
    """The decisions (:func:`harness.results.seeds_plan.decide`) on this config's rows of the leaderboard, with
    the report's defaults (each task's own eval split, bootstrap seed 0)."""
    from harness.results.gains import gains
    from harness.results.leaderboard import load_rows

    rows = [r for r in load_rows(plan.leaderboard) if r.get("config_name") == plan.config.name]
    report = gains(rows, split="auto", n_boot=n_boot, seed=0, level=level)
    return sp.decide(report, max_seeds=max_seeds, width=width, adjust=adjust)


def until_resolved(plan: Plan, lock: Lock, run_round: Callable[[Plan], Outcome], *, max_seeds: int = 10,
                   width: float = 0.0, adjust: str = "holm", echo: Callable[[str], Any] = print) -> Adaptive:
    """Run rounds (module docstring) until no cell needs more seeds; ``run_round`` runs one plan. A round that
    does not finish (a failed or interrupted node) stops the loop before deciding anything."""
    base = list(plan.config.seeds)
    pool = [s for s in range(max(base) + 1, max(base) + 1 + max_seeds) if s not in base]
    seeds = sp.seeds_by_cell(sp.read_record(plan.output_dir, plan.config_hash))
    result = Adaptive(plan, Outcome())
    while True:
        current = result.plan = extend_plan(plan, seeds, lock)
        result.outcome = run_round(current)
        o = result.outcome
        entry = {"round": len(result.rounds) + 1, "nodes": len(current.nodes), "ran": len(o.done),
                 "cached": len(o.cached)}
        result.rounds.append(entry)
        if not o.ok:
            echo(f"round {entry['round']}: not finished; nothing decided (rerun to resume)")
            return result
        cells = decide_plan(current, max_seeds=max_seeds, width=width, adjust=adjust)
        more = sp.grow(cells, len(base), max_seeds)
        result.record = {"config_name": plan.config.name, "config_hash": plan.config_hash, "base_seeds": base,
                         "max_seeds": max_seeds, "width": width, "adjust": adjust, "cells": cells}
        sp.write_record(plan.output_dir, result.record)
        entry["more_seeds"] = more
        echo(f"round {entry['round']}: {entry['ran']} node(s) ran, {entry['cached']} cached; "
             + (f"more seeds for {', '.join(f'{c} (→ {n})' for c, n in more.items())}" if more
                else "every cell stopped"))
        if not more:
            stamp_leaderboard(plan)
            return result
        for cell, n in more.items():
            seeds[cell] = base + pool[: n - len(base)]


def summary_lines(record: dict[str, Any], record_file: Path) -> list[str]:
    """One line per cell: seeds and why it stopped, with each comparison's adjusted interval."""
    out = []
    for name, c in record["cells"].items():
        comps = "; ".join(f"{x['group']} {x['gain']:+.2f} [{x['lo']:+.2f}, {x['hi']:+.2f}]" for x in c["comparisons"])
        out.append(f"{name}: {len(c['seeds'])} seeds, {c['status']} ({record['adjust']}-adjusted: {comps})")
    out.append(f"seeds plan: {record_file}")
    return out
