"""``harness matrix run CONFIG --until-resolved``: seeds go only to the gain cells the report cannot decide yet.

Fast tests check the decision (adjusted intervals, statuses, the next seeds), the plan extension (extra seeds only
add nodes, the baseline gets the same ones), the row stamps and the report's pairing on a setting's own seeds. The
slow test runs the README's command on the quickstart config with one model size: the control (SST-2) gets a
third seed and stops at ``max seeds``, the planted MNLI keeps its two (``resolved``); a rerun runs nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_readme_commands import readme_until_resolved

from harness.cli.main import main
from harness.core.rows import read_jsonl
from harness.orchestration.adaptive import extend_plan
from harness.planning.config import parse_config
from harness.planning.lock import Lock
from harness.planning.plan import build_plan
from harness.results import seeds_plan as sp
from harness.results.gains import gains
from harness.results.leaderboard import load_rows

REPO = Path(__file__).resolve().parents[1]


def _cmp(gain: float, p: float, p_holm: float, se: float) -> dict:
    return {"gain": gain, "p": p, "p_holm": p_holm, "p_bh": p_holm, "se": se}


def test_adjusted_interval_excludes_zero_exactly_when_the_adjusted_p_is_below_alpha():
    p = 0.04550026389635842  # 2 · (1 − Φ(2)): gain 2, se 1
    lo, hi, p_adj = sp.adjusted_interval(_cmp(2.0, p, 2 * p, 1.0), 0.05)  # Holm doubled it: z = Φ⁻¹(1 − 0.0125)
    assert (round(lo, 4), round(hi, 4), p_adj) == (-0.2414, 4.2414, 2 * p)
    lo, hi, p_adj = sp.adjusted_interval(_cmp(2.0, p, 2 * p, 1.0), 0.05, "none")  # unadjusted: z = 1.96
    assert (round(lo, 4), round(hi, 4), p_adj) == (0.04, 3.96, p)
    assert sp.adjusted_interval(_cmp(0.0, 1.0, 1.0, 0.0), 0.05) == (0.0, 0.0, 1.0)  # no spread: [gain, gain]


def _rec(model: str, inter: str, seeds: list[int], en: dict) -> dict:
    return {"model": model, "intermediate": inter, "task": "xnli", "split": "test", "metric": "accuracy",
            "seeds": seeds, "baseline_seeds": seeds, "en": en, "xx": None}


def test_decide_statuses_and_the_next_seeds():
    report = {"level": 0.95, "gains": [
        _rec("m", "mnli", [1, 2], _cmp(10.0, 1e-6, 4e-6, 2.0)),   # excludes 0: resolved
        _rec("m", "sst2", [1, 2], _cmp(1.0, 0.5, 1.0, 2.0)),      # includes 0, wide: more seeds
        _rec("m", "qqp", [1, 2, 3, 4], _cmp(1.0, 0.5, 1.0, 2.0)),  # the same at the cap: max seeds
        _rec("m", "snli", [1, 2], _cmp(0.0, 1.0, 1.0, 0.0)),      # [0, 0]: not wider than 0
    ]}
    cells = sp.decide(report, max_seeds=4)
    assert {k: c["status"] for k, c in cells.items()} == {
        "m/mnli/xnli": "resolved", "m/sst2/xnli": "adding seeds", "m/qqp/xnli": "max seeds",
        "m/snli/xnli": "narrower than W"}
    assert sp.grow(cells, 2, 4) == {"m/sst2/xnli": 4} and sp.grow(cells, 2, 3) == {"m/sst2/xnli": 3}
    wide = sp.decide(report, max_seeds=4, width=100.0)  # every interval is narrower than 100 points
    assert {k: c["status"] for k, c in wide.items()} == {
        "m/mnli/xnli": "resolved", "m/sst2/xnli": "narrower than W", "m/qqp/xnli": "narrower than W",
        "m/snli/xnli": "narrower than W"}


def _quickstart(tmp_path: Path, models: list[str]) -> dict:
    cfg = yaml.safe_load((REPO / "configs" / "quickstart.yaml").read_text())
    cfg.update(models=models, output_dir=str(tmp_path / "runs"), leaderboard=str(tmp_path / "board.jsonl"))
    return cfg


def test_extra_seeds_only_add_the_cell_and_its_baseline(tmp_path):
    plan = build_plan(parse_config(_quickstart(tmp_path, ["tiny-xlmr"])))
    ext = extend_plan(plan, {"tiny-xlmr/sst2/xnli": [1, 2, 3]}, Lock())
    assert set(plan.nodes) < set(ext.nodes)  # every node of the config's plan keeps its key
    added = sorted(n.label for k, n in ext.nodes.items() if k not in plan.nodes)
    assert added == sorted(
        ["tiny-xlmr · sst2 · seed 3", "tiny-xlmr · sst2 → xnli · seed 3", "tiny-xlmr · none → xnli · seed 3"]
        + [f"tiny-xlmr · {i} → xnli [{lang}] · seed 3" for i in ("sst2", "none") for lang in ("en", "de", "es", "fr")])
    assert ext.cells == plan.cells + 8 and ext.config_hash == plan.config_hash
    order = {k: i for i, k in enumerate(ext.nodes)}
    assert all(order[d] < order[k] for k, n in ext.nodes.items() for d in n.deps)  # still topological
    assert extend_plan(plan, {}, Lock()) is plan


def test_stamp_marks_the_cells_and_their_baseline():
    record = {"cells": {"m/sst2/xnli": {"model": "m", "intermediate": "sst2", "task": "xnli", "seeds": [1, 2, 3],
                                        "baseline_seeds": [1, 2, 3], "status": "max seeds"},
                        "m/mnli/xnli": {"model": "m", "intermediate": "mnli", "task": "xnli", "seeds": [1, 2],
                                        "baseline_seeds": [1, 2], "status": "resolved"}}}
    rows = [{"model": "m", "intermediate": i, "task": t} for i, t in
            (("sst2", "xnli"), ("mnli", "xnli"), ("none", "xnli"), ("none", "pawsx"))]
    out = sp.stamp(rows, record, "runs/seeds_plan.json")
    assert [r.get("seeds_plan") for r in out] == [
        {"seeds": 3, "stopped": "max seeds", "record": "runs/seeds_plan.json"},
        {"seeds": 2, "stopped": "resolved", "record": "runs/seeds_plan.json"},
        {"seeds": 3, "stopped": "baseline", "record": "runs/seeds_plan.json"},
        None]


def test_a_setting_is_paired_on_its_own_seeds_when_the_baseline_has_more(tmp_path):
    from fixtures_report import write_demo

    board = write_demo(tmp_path, qa_and_ner=False)
    rows = load_rows(board)
    extra = [{**r, "seed": 3} for r in rows if r["model"] == "demo-small" and r["intermediate"] == "none"
             and r["seed"] == 1]  # a third baseline seed, another setting's: sw 20 instead of the seeds' mean 30
    rec = next(g for g in gains(rows + extra, n_boot=50)["gains"] if g["model"] == "demo-small")
    assert rec["baseline_seeds"] == rec["seeds"] == [1, 2] and "unpaired" not in rec["method"]
    assert (round(rec["en"]["gain"], 6), round(rec["xx"]["gain"], 6)) == (20.0, 15.0)  # the fixture's hand values


@pytest.mark.slow
def test_until_resolved_adds_seeds_to_the_control_only_and_a_rerun_runs_nothing(tmp_path):
    config = tmp_path / "quickstart.yaml"
    config.write_text(yaml.safe_dump(_quickstart(tmp_path, ["tiny-xlmr"])))
    args = [str(config) if a == "configs/quickstart.yaml" else a for a in readme_until_resolved()]
    assert args[-2:] == ["--max-seeds", "3"]
    res = CliRunner().invoke(main, args, terminal_width=200)
    assert res.exit_code == 0, res.output
    # 2 seeds × (none: target + 4 evals; mnli, sst2: intermediate + target + 4 evals) = 34 nodes, then seed 3 for
    # sst2 (6 nodes) and its none baseline (5 nodes)
    assert "round 1: 34 node(s) ran, 0 cached; more seeds for tiny-xlmr/sst2/xnli (→ 3)" in res.output
    assert "round 2: 11 node(s) ran, 34 cached; every cell stopped" in res.output
    record_file = tmp_path / "runs" / "seeds_plan.json"
    record = json.loads(record_file.read_text())
    assert {k: (c["seeds"], c["status"]) for k, c in record["cells"].items()} == {
        "tiny-xlmr/mnli/xnli": ([1, 2], "resolved"), "tiny-xlmr/sst2/xnli": ([1, 2, 3], "max seeds")}
    rows = read_jsonl(tmp_path / "board.jsonl")
    seeds = {i: sorted({r["seed"] for r in rows if r["intermediate"] == i}) for i in ("none", "mnli", "sst2")}
    assert seeds == {"none": [1, 2, 3], "mnli": [1, 2], "sst2": [1, 2, 3]}
    stamps = {(r["intermediate"], r["seeds_plan"]["seeds"], r["seeds_plan"]["stopped"]) for r in rows}
    assert stamps == {("none", 3, "baseline"), ("mnli", 2, "resolved"), ("sst2", 3, "max seeds")}
    report = CliRunner().invoke(main, ["leaderboard", "report", str(tmp_path / "board.jsonl")], terminal_width=200)
    assert "seeds tiny-xlmr xnli sst2: 3 seeds, stopped: max seeds" in report.output

    before = record_file.read_bytes()
    again = CliRunner().invoke(main, args, terminal_width=200)
    assert again.exit_code == 0, again.output
    assert "round 1: 0 node(s) ran, 45 cached; every cell stopped" in again.output
    assert "round 2" not in again.output and "nodes: 0 ran, 45 cached" in again.output
    assert record_file.read_bytes() == before  # the same decision
