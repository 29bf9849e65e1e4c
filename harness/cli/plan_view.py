"""The cost table `harness matrix plan` prints: per stage and in total, device-hours, peak memory per GPU with
the chosen strategy, disk with and without ``--prune`` (``harness.planning.cost``, ``harness.modeling.memory``)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table


def _meta_of(model: dict[str, Any]) -> dict[str, Any]:
    from harness.core.specs import ModelSpec
    from harness.modeling.meta import describe

    try:
        return describe(ModelSpec(**model))
    except Exception as err:  # noqa: BLE001 - an unknown architecture offline: its counts stay unknown
        return {"describe_error": f"{type(err).__name__}: {err}"}


def stage_memory(plan, meta_of=_meta_of, nproc: int | None = None, strategy: str | None = None) -> dict[str, Any]:
    """Peak estimated training memory per GPU (GiB) of each training stage, with the config's strategy."""
    from harness.modeling.memory import estimate_for_hp

    cfg = plan.config
    nproc = nproc or cfg.nproc or 1
    strat = (strategy or cfg.strategy) if nproc > 1 else "single"
    out: dict[str, Any] = {}
    metas: dict[str, dict[str, Any]] = {}
    for node in plan.nodes.values():
        if node.stage not in ("intermediate", "target"):
            continue
        name = node.params["model"]["name"]
        meta = metas.setdefault(name, meta_of(node.params["model"]))
        hps = list(node.params["hp"].values()) if node.stage == "intermediate" else [node.params["hp"]]
        try:
            gib = max(estimate_for_hp(meta, hp, strategy=strat, nproc=nproc).total_gb for hp in hps)
        except ValueError:
            out.setdefault(node.stage, None)
            continue
        if node.stage not in out or (out[node.stage] is not None and gib > out[node.stage]):
            out[node.stage] = round(gib, 2)
    return {"strategy": strat, "nproc": nproc, "stages": out}


def plan_cost_summary(plan, device_kind: str | None = None, done: set[str] | None = None,
                      events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The plan's cost (``harness.planning.cost``) on ``device_kind`` (default: cpu for a cpu config, else
    h100-sxm), calibrated on the finished nodes of its cache, with each training stage's peak memory per GPU.
    ``done`` and ``events``: the finished nodes and the events log, when the caller has read them."""
    from harness.planning.cost import plan_cost
    from harness.run.context import Context
    from harness.store.events import read_events
    from harness.store.status import done_nodes

    done = done_nodes(plan, Context(cache_dir=plan.cache_dir)) if done is None else done
    kind = device_kind or ("cpu" if plan.config.device == "cpu" else "h100-sxm")
    cost = plan_cost(plan, _meta_of, device=kind, history=read_events(plan.cache_dir) if events is None else events,
                     done=done.__contains__)
    cost["memory"] = stage_memory(plan)
    return cost


def _hours(v: float | None, known: float) -> str:
    return "unknown" if v is None else (f"{v:,.2f}" if v >= 0.1 or v == 0 else f"{v:.2g}")


def print_cost(console, cost: dict[str, Any]) -> None:
    """The cost table, each figure labelled with its basis."""
    unit = "GPU-h" if cost["gpu"] else "CPU-h"
    mem = cost["memory"]
    table = Table("stage", "nodes to run", unit, "peak GiB/GPU", "disk kept GB", "sizes", "throughput basis",
                  title=escape(f"cost on {cost['device_label']} ({cost['device']}), {mem['strategy']} x{mem['nproc']}"))
    for stage, s in cost["stages"].items():
        peak = mem["stages"].get(stage, "-") if stage != "eval" else "-"
        table.add_row(*map(escape, (stage, str(s["nodes"]), _hours(s["device_hours"], s["device_hours_known_part"]),
                                    "unknown" if peak is None else str(peak), f"{s['disk_gb']:,.2f}", s["sizes"],
                                    s["basis"])))
    console.print(table)
    total = cost["device_hours"]
    if total is None:
        whys = sorted({w for s in cost["stages"].values() for w in s["why_unknown"]})
        console.print(f"total: unknown ({sum(s['unknown_nodes'] for s in cost['stages'].values())} node(s) without "
                      f"an estimate: {'; '.join(whys[:3])}); the known part is {cost['device_hours_known_part']:,.2f} "
                      f"{unit}", highlight=False, markup=False, soft_wrap=True)
    else:
        console.print(f"total: {total:,.2f} {unit} (≈ {cost['wall_hours']:,.2f} h wall with {cost['workers']} "
                      f"worker(s)); rates: {cost['device_source']}"
                      + (f", MFU {cost['assumed_mfu']:.0%} assumed" if cost["gpu"] else ""),
                      highlight=False, markup=False, soft_wrap=True)
    console.print(f"disk: {cost['disk_gb_no_prune']:,.2f} GB kept without --prune; with --prune "
                  f"{cost['disk_gb_prune_final']:,.2f} GB at the end, peak ≈ {cost['disk_gb_prune_peak']:,.2f} GB "
                  f"(incl. {cost['resume_checkpoint_gb_peak']:,.2f} GB of resume checkpoints)",
                  highlight=False, markup=False)
