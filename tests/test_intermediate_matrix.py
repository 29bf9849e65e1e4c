"""configs/intermediate-tiny.yaml: `none`, two single intermediate tasks and their mix, two targets; each
intermediate checkpoint is planned once and reused by every target, and the whole matrix runs end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "intermediate-tiny.yaml"


def _config(tmp_path: Path) -> Path:
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["output_dir"] = str(tmp_path / "out")
    path = tmp_path / "intermediate-tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_plan_trains_each_intermediate_once_and_reuses_it(tmp_path):
    result = CliRunner().invoke(main, ["matrix", "plan", str(_config(tmp_path)), "--json", "--nodes"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    nodes = plan["nodes"]
    inter = [n for n in nodes if n["stage"] == "intermediate"]
    targets = [n for n in nodes if n["stage"] == "target"]
    evals = [n for n in nodes if n["stage"] == "eval"]
    # 3 intermediate settings (mnli, hellaswag, mnli+hellaswag) × 1 model × 1 seed: one node each
    assert len(inter) == 3 and plan["intermediate_checkpoints"] == 3
    assert len(targets) == 4 * 2  # 4 settings (none included) × 2 target tasks
    assert len(evals) == plan["cells"] == 4 * 2 * 3  # × 3 languages
    # every intermediate checkpoint is the dependency of exactly one target training per target task
    uses = Counter(dep for n in targets for dep in n["deps"])
    assert uses == {n["key"]: 2 for n in inter}
    for n in inter:
        labels = sorted(t["label"].split(" → ")[1].split(" ")[0] for t in targets if n["key"] in t["deps"])
        assert labels == ["pawsx", "xnli"]
    assert sum(1 for t in targets if not t["deps"]) == 2  # `none` starts from the pretrained model
    assert plan["reuse"] == {"intermediate_trainings_without_reuse": 18, "intermediate_trainings_with_reuse": 3,
                             "target_trainings_without_reuse": 24, "target_trainings_with_reuse": 8}


@pytest.mark.slow
def test_matrix_runs_end_to_end_and_records_budgets(tmp_path):
    from harness.core.rows import read_jsonl
    from harness.store.events import read_events

    cfg = _config(tmp_path)
    result = CliRunner().invoke(main, ["matrix", "run", str(cfg)])
    assert result.exit_code == 0, result.output
    rows = read_jsonl(tmp_path / "out" / "leaderboard.jsonl")
    assert len(rows) == 24
    assert Counter(r["intermediate"] for r in rows) == {"none": 6, "mnli": 6, "hellaswag": 6, "mnli+hellaswag": 6}
    mix = [r for r in rows if r["intermediate"] == "mnli+hellaswag"]
    assert all(r["intermediate_tasks"] == ["mnli", "hellaswag"] for r in mix)
    for r in rows:
        assert r["budget"]["target_epochs"] == 2 and r["budget"]["target_steps"] >= 1
        if r["intermediate"] == "none":
            assert "intermediate_steps" not in r["budget"]
        else:
            assert r["budget"]["intermediate_steps"] == 30 and r["budget"]["intermediate_max_steps"] == 30
    assert sum(mix[0]["budget"]["intermediate_task_steps"].values()) == 30
    # each intermediate node ran exactly once; a second run trains nothing
    done = Counter(e["node"] for e in read_events(tmp_path / "out" / "cache") if e.get("event") == "finish"
                   and e.get("stage") == "intermediate")
    assert len(done) == 3 and set(done.values()) == {1}
    again = CliRunner().invoke(main, ["matrix", "run", str(cfg)])
    assert again.exit_code == 0 and "0 ran" in again.output


@pytest.mark.shared_data
def test_real_offline_example_plans(tmp_path, shared_data, me5_dir):
    """examples/real-offline-mini.yaml: one target training reused by both evaluations; disjoint row slices."""
    from harness.planning.config import parse_config
    from harness.planning.plan import build_plan
    from harness.toolkit.data import SplitRef

    cfg = yaml.safe_load((CONFIG.parents[1] / "examples" / "real-offline-mini.yaml").read_text())
    cfg.update(output_dir=str(tmp_path / "out"), data={"xnli": str(shared_data / "xnli"),
                                                       "sst2": str(shared_data / "sst2")})
    cfg["models"][0]["source"] = str(me5_dir)
    plan = build_plan(parse_config(cfg))
    assert len(plan.by_stage("intermediate")) == 1 and len(plan.by_stage("target")) == 2
    assert plan.cells == 2 * (7 + 1)
    for node in plan.by_stage("target"):
        rows = [SplitRef.parse(node.params[k]) for k in ("train_split", "select_split")]
        assert [(r.name, r.start, r.stop) for r in rows] == [("dev", 0, 300), ("dev", 300, 400)]
    splits = sorted({(n.params["language"], s) for n in plan.by_stage("eval") for s in n.params["splits"]})
    assert ("de", "test") in splits and ("sw", "dev[400:600]") in splits and ("en", "test") not in splits
