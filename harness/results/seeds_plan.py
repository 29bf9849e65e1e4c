"""Adaptive seeds (``harness matrix run CONFIG --until-resolved``): which gain cells need more seeds, and why not.

A *cell* is one model × intermediate setting × target task; its comparisons are the report's gains over ``none``
(:func:`harness.results.gains.gains`, the same records, bootstrap and multiplicity family): English (``en``) and
the non-English mean (``xx``), per split and metric. Each comparison gets a multiplicity-*adjusted* interval,
``gain ± z·se``: ``se`` is the bootstrap standard error the report's p-value uses and ``z`` the normal quantile at
the adjusted level ``1 − α / (2k)``, ``k = p_adjusted / p`` (Holm by default, the report's verdicts; ``bh`` or
``none``), so the interval excludes 0 exactly when the adjusted p-value is below α ("helps" / "hurts").

A comparison is *open* when its adjusted interval includes 0 and is wider than ``width``. A cell with an open
comparison gets more seeds until it has ``max_seeds`` (status ``max seeds``); otherwise it stops as ``resolved``
(every adjusted interval excludes 0) or ``narrower than W`` (some interval includes 0 but is at most ``width``
wide). The decisions live in ``OUTPUT_DIR/seeds_plan.json`` (:data:`RECORD`), and every leaderboard row of a cell
carries ``seeds_plan``: ``{"seeds": n, "stopped": status, "record": path}`` (the ``none`` rows: ``"baseline"``).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from statistics import NormalDist
from typing import Any

RECORD = "seeds_plan.json"
RECORD_VERSION = 1
ADJUST = {"holm": "p_holm", "bh": "p_bh", "none": "p"}
RESOLVED, MAX_SEEDS, NARROW, ADDING, BASELINE = "resolved", "max seeds", "narrower than W", "adding seeds", "baseline"


def cell_of(model: str, intermediate: str, task: str) -> str:
    """The cell's name in the record: ``model/intermediate/task``."""
    return f"{model}/{intermediate}/{task}"


def adjusted_interval(g: dict[str, Any], alpha: float, adjust: str = "holm") -> tuple[float, float, float]:
    """``(lo, hi, p_adjusted)`` of one report comparison (``rec['en']`` or ``rec['xx']``): ``gain ± z·se`` at the
    adjusted level (module docstring); zero spread gives ``[gain, gain]``."""
    gain, p = float(g["gain"]), float(g["p"])
    p_adj = g.get(ADJUST[adjust])
    p_adj = p if p_adj is None else float(p_adj)  # outside the family: not adjusted
    se = float(g.get("se") or 0.0)
    if se == 0.0:
        return gain, gain, p_adj
    k = p_adj / p if p > 0 else 1.0 / alpha  # p underflowed to 0: any finite k keeps 0 outside
    z = NormalDist().inv_cdf(1 - alpha / (2 * min(max(k, 1.0), 1e9)))
    return gain - z * se, gain + z * se, p_adj


def decide(report: dict[str, Any], *, max_seeds: int, width: float = 0.0, adjust: str = "holm"
           ) -> dict[str, dict[str, Any]]:
    """Per cell (:func:`cell_of`): its seeds, status (``resolved``, ``narrower than W``, ``max seeds`` or
    ``adding seeds``) and the adjusted interval of each comparison, from a :func:`~harness.results.gains.gains`
    report."""
    alpha = 1 - float(report["level"])
    cells: dict[str, dict[str, Any]] = {}
    comparisons: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in report["gains"]:
        name = cell_of(rec["model"], rec["intermediate"], rec["task"])
        cells.setdefault(name, {"model": rec["model"], "intermediate": rec["intermediate"], "task": rec["task"],
                                "seeds": sorted(rec["seeds"], key=str),
                                "baseline_seeds": sorted(rec["baseline_seeds"], key=str)})
        for group in ("en", "xx"):
            g = rec.get(group)
            if g is None or g.get("p") is None:
                continue
            lo, hi, p_adj = adjusted_interval(g, alpha, adjust)
            comparisons[name].append({"split": rec["split"], "metric": rec["metric"], "group": group,
                                      "gain": g["gain"], "lo": lo, "hi": hi, "width": hi - lo, "p_adjusted": p_adj,
                                      "open": bool(lo <= 0 <= hi and hi - lo > width)})
    for name, cell in cells.items():
        comps = comparisons[name]
        if any(c["open"] for c in comps):
            cell["status"] = MAX_SEEDS if len(cell["seeds"]) >= max_seeds else ADDING
        elif all(not c["lo"] <= 0 <= c["hi"] for c in comps):
            cell["status"] = RESOLVED
        else:
            cell["status"] = NARROW
        cell["comparisons"] = comps
    return dict(sorted(cells.items()))


def grow(cells: dict[str, dict[str, Any]], step: int, max_seeds: int) -> dict[str, int]:
    """How many seeds each cell still ``adding seeds`` gets next: ``step`` more, at most ``max_seeds``."""
    return {name: min(len(c["seeds"]) + step, max_seeds) for name, c in cells.items() if c["status"] == ADDING}


def record_path(output_dir: Path) -> Path:
    return Path(output_dir) / RECORD


def read_record(output_dir: Path, config_hash: str) -> dict[str, Any] | None:
    """The record of an earlier ``--until-resolved`` run of this config (same hash), else None."""
    path = record_path(output_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION or data.get("config_hash") != config_hash:
        return None
    return data


def write_record(output_dir: Path, data: dict[str, Any]) -> Path:
    """Write the record whole (temporary file + rename)."""
    path = record_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": RECORD_VERSION, **data}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def seeds_by_cell(record: dict[str, Any] | None) -> dict[str, list[int]]:
    """Each recorded cell's seeds (what a rerun plans again)."""
    return {name: list(c["seeds"]) for name, c in ((record or {}).get("cells") or {}).items()}


def stamp(rows: list[dict[str, Any]], record: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """``rows`` with ``seeds_plan`` set on every row of a recorded cell and on its ``none`` baseline rows."""
    cells = record.get("cells") or {}
    baseline: dict[tuple, set] = defaultdict(set)
    for c in cells.values():
        baseline[(c["model"], c["task"])].update(c["baseline_seeds"])
    out = []
    for r in rows:
        inter = r.get("intermediate") or "none"
        c = cells.get(cell_of(r.get("model"), inter, r.get("task")))
        if c is not None:
            r = {**r, "seeds_plan": {"seeds": len(c["seeds"]), "stopped": c["status"], "record": where}}
        elif inter == "none" and (r.get("model"), r.get("task")) in baseline:
            n = len(baseline[(r["model"], r["task"])])
            r = {**r, "seeds_plan": {"seeds": n, "stopped": BASELINE, "record": where}}
        out.append(r)
    return out
