"""Leaderboard files keep configs apart (issues 25/27): two configs that measured the same cells are refused
with how to select one; aggregate scores each task on its own split (FLORES devtest) and never prints empty
tables silently."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fixtures_report import write_demo

from harness.cli.main import main
from harness.results.gains import gains
from harness.results.leaderboard import ConfigMix, check_configs_apart, load_rows, select_config


def _two_configs(tmp_path):
    """The demo rows (config 'demo') plus a copy as config 'rerun' whose mnli XNLI rows all score 100."""
    path = write_demo(tmp_path, qa_and_ner=False)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    extra = []
    for r in rows:
        r2 = {**r, "config_name": "rerun", "config_hash": "bbbbbbbbbbbb"}
        if r["intermediate"] == "mnli":
            r2["value"] = 100.0
            r2["predictions"] = None
        extra.append(r2)
    for r in rows:
        r["config_hash"] = "aaaaaaaaaaaa"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows + extra))
    return path


def test_mixed_configs_are_refused_and_selectable(tmp_path):
    path = _two_configs(tmp_path)
    rows = load_rows(path)
    # the old failure: one report over both configs silently mixes them (last row of a cell wins here; the
    # aggregate averages): the English gain of demo-small is neither demo's +20 nor rerun's +40
    mixed = [g for g in gains(rows, n_boot=10)["gains"] if g["model"] == "demo-small"][0]
    assert mixed["en"]["gain"] != pytest.approx(20.0)
    with pytest.raises(ConfigMix, match="more than one config.*'demo'.*'rerun'.*--config NAME or --config-sha"):
        check_configs_apart(rows)
    demo = select_config(rows, config="demo")
    check_configs_apart(demo)
    small = [g for g in gains(demo, n_boot=10)["gains"] if g["model"] == "demo-small"][0]
    assert small["en"]["gain"] == pytest.approx(20.0)
    assert len(select_config(rows, config_sha="bbbb")) == len(rows) // 2
    with pytest.raises(ValueError, match="no rows of config nope; the files hold"):
        select_config(rows, config="nope")
    runner = CliRunner()
    for cmd in ("report", "aggregate"):
        res = runner.invoke(main, ["leaderboard", cmd, str(path), "--n-boot", "10"] if cmd == "report"
                            else ["leaderboard", cmd, str(path)])
        assert res.exit_code != 0 and "--config NAME" in res.output, res.output
    res = runner.invoke(main, ["leaderboard", "report", str(path), "--n-boot", "10", "--config", "demo", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert [g["en"]["gain"] for g in rep["gains"] if g["model"] == "demo-small"] == [pytest.approx(20.0)]


def test_configs_that_measured_different_things_share_a_file(tmp_path):
    path = write_demo(tmp_path, qa_and_ner=False)
    rows = load_rows(path)
    for r in rows:
        if r["model"] == "demo-large":
            r["config_name"] = "large-only"
    check_configs_apart(rows)   # no cell measured twice: nothing to refuse


def test_aggregate_scores_flores_on_devtest_and_says_when_a_split_is_empty(tmp_path):
    path = write_demo(tmp_path, qa_and_ner=False)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    flores = []
    for r in rows[:3]:
        flores.append({**r, "task": "flores", "split": "devtest", "metric": "spbleu", "language": "deu_Latn",
                       "lang_pair": "eng_Latn-deu_Latn", "predictions": None})
    out = tmp_path / "flores.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in flores))
    runner = CliRunner()
    res = runner.invoke(main, ["leaderboard", "aggregate", str(out), "--json"])
    assert res.exit_code == 0, res.output
    tasks = json.loads(res.output)["tasks"]
    assert [t["task"] for t in tasks] == ["flores"]   # before: default split test, no rows, an empty table
    res = runner.invoke(main, ["leaderboard", "aggregate", str(out), "--split", "test"])
    assert res.exit_code != 0 and "no rows at split 'test'" in res.output and "--split devtest" in res.output
