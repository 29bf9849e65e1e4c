"""Planning only reads: no data is written until a run needs it, and node keys do not depend on that."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.core.rows import read_jsonl
from harness.orchestration.scheduler import prepare_plan_data
from harness.planning.config import ConfigError, parse_config
from harness.planning.plan import build_plan
from harness.planning.task_data import prepare_data

REPO = Path(__file__).resolve().parents[1]


def _quickstart(tmp_path: Path):
    cfg = yaml.safe_load((REPO / "configs" / "quickstart.yaml").read_text())
    cfg.update(output_dir=str(tmp_path / "out"), leaderboard=str(tmp_path / "lb.jsonl"))
    return parse_config(cfg)


def test_plan_writes_nothing_and_keeps_the_quickstart_keys(tmp_path):
    plan = build_plan(_quickstart(tmp_path))
    assert list(tmp_path.iterdir()) == []  # no output folder, no synthetic data, no cache
    committed = {r["node"] for r in read_jsonl(REPO / "leaderboards" / "quickstart.jsonl")}
    assert {n.key for n in plan.by_stage("eval")} == committed  # the evaluation nodes of the committed rows
    cfg = plan.config  # models × intermediate settings × languages × seeds, one eval split
    assert len(committed) == len(cfg.models) * len(cfg.intermediate) * len(cfg.targets[0].languages) * len(cfg.seeds)


def test_data_is_prepared_at_run_time_with_the_planned_fingerprint(tmp_path):
    plan = build_plan(_quickstart(tmp_path))
    prepare_plan_data(plan)
    assert sorted(p.name for p in (tmp_path / "out" / "data").iterdir()) == sorted(plan.config.data)
    prepare_plan_data(plan)  # idempotent
    again = build_plan(_quickstart(tmp_path))  # now fingerprinted from the written folders: same keys
    assert list(again.nodes) == list(plan.nodes)


def test_prepare_data_leaves_a_complete_copy_alone(tmp_path):
    folder = tmp_path / "xnli"
    folder.mkdir()
    (folder / "SYNTHETIC.md").write_text("mine")
    prepare_data({"kind": "synthetic", "path": str(folder)}, "xnli")
    assert [p.name for p in folder.iterdir()] == ["SYNTHETIC.md"]


def test_model_family_declares_whether_it_needs_a_source(tmp_path):
    base = {"name": "m", "output_dir": str(tmp_path / "out"), "intermediate": ["none"],
            "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic"}}
    plan = build_plan(parse_config({**base, "models": [{"name": "mine", "family": "tiny-xlmr"}]}))
    assert {n.params["model"]["source"] for n in plan.nodes.values()} == {"local:tiny-xlmr"}
    with pytest.raises(ConfigError, match=r"models\[0\]: unknown model 'mine2'; give family and source"):
        build_plan(parse_config({**base, "models": [{"name": "mine2", "family": "hf-encoder"}]}))
