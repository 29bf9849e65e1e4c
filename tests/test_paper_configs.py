"""configs/paper/: every config (the paper's matrix, the XLM-R and mT5 ladders, their pilots) plans offline
before any download and prints its cost; the XLM-R pilot runs end to end with tiny stand-ins (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.planning.config import load_config
from harness.planning.standins import tiny_for, with_models_as

REPO = Path(__file__).resolve().parents[1]
PAPER = sorted((REPO / "configs" / "paper").glob("*.yaml"))


def _copy(tmp_path: Path, path: Path) -> Path:
    cfg = yaml.safe_load(path.read_text())
    cfg["output_dir"] = str(tmp_path / "out")
    out = tmp_path / path.name
    out.write_text(yaml.safe_dump(cfg))
    return out


def test_the_six_paper_configs_exist():
    assert sorted(p.stem for p in PAPER) == ["mt5-scale", "mt5-scale-pilot", "xlmr-paper", "xlmr-paper-pilot",
                                       "xlmr-scale", "xlmr-scale-pilot"]


@pytest.mark.parametrize("path", PAPER, ids=lambda p: p.stem)
def test_paper_config_plans_offline_with_a_cost(tmp_path, path):
    r = CliRunner().invoke(main, ["matrix", "plan", str(_copy(tmp_path, path)), "--before-download", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{"):])
    cost = out["cost"]
    assert out["provisional"] is True and cost["device"] == "h100-sxm"
    assert cost["device_hours"] > 0 and cost["disk_gb_no_prune"] > cost["disk_gb_prune_final"] > 0
    assert set(cost["stages"]) == {"intermediate", "target", "eval"}
    assert all(s["device_hours"] > 0 and s["sizes"] == "declared" for s in cost["stages"].values())
    assert all(v > 0 for v in cost["memory"]["stages"].values())
    assert not (tmp_path / f"{path.stem}.lock.json").exists()  # a provisional plan writes no lock


def test_paper_plan_without_before_download_names_the_fix(tmp_path):
    r = CliRunner().invoke(main, ["matrix", "plan", str(_copy(tmp_path, REPO / "configs/paper/xlmr-paper.yaml"))])
    assert r.exit_code != 0 and "no locked revision" in r.output


def test_models_as_tiny_keeps_families_and_marks_stand_ins():
    cfg, _ = load_config(REPO / "configs" / "paper" / "mt5-scale.yaml")
    tiny = with_models_as(cfg, "tiny")
    assert [m.name for m in tiny.models] == [f"tiny-mt5-standin-for-mt5-{s}"
                                             for s in ("small", "base", "large", "xl", "xxl")]
    assert set(tiny.data.values()) == {"synthetic"} and tiny.name == "mt5-scale-tiny-standins"
    assert tiny.output_dir == "runs/paper/mt5-scale-tiny-standins" and tiny.device == "cpu"
    assert tiny.train.precision == "fp32" and tiny.train.max_length == 128
    assert [tiny_for(n, None) for n in ("xlm-roberta-base", "xlm-roberta-large", "xlm-roberta-xl",
                                        "xlm-roberta-xxl", "mbert")] == [
        "tiny-xlmr", "tiny-xlmr-large", "tiny-xlmr-xl", "tiny-xlmr-xl", "tiny-mbert"]


@pytest.mark.slow
def test_xlmr_pilot_runs_end_to_end_with_tiny_stand_ins(tmp_path):
    path = _copy(tmp_path, REPO / "configs" / "paper" / "xlmr-scale-pilot.yaml")
    r = CliRunner().invoke(main, ["matrix", "run", str(path), "--models-as", "tiny", "--offline"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (tmp_path / "out-tiny-standins" / "leaderboard.jsonl").open()]
    assert {r["model"] for r in rows} == {"tiny-xlmr-standin-for-xlm-roberta-base"}
    assert all(r["synthetic"] is True and r["data_source"] == "synthetic" for r in rows)
    assert {r["task"] for r in rows} == {"xnli", "udpos", "xquad"}
    assert {r["intermediate"] for r in rows} == {"none", "mnli", "squad_v2", "hellaswag"}
    shutil.rmtree(tmp_path / "out-tiny-standins", ignore_errors=True)
