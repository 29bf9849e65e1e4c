"""The committed real study (docs/real-offline.md) recomputes from the repository alone: its rows and its pack
(``leaderboards/real-offline.jsonl.pack.tar.xz``, the per-example predictions) give every interval from
predictions, the page rebuilt from them lists each task in every table, shows the caveats, and prints the
report's own intervals. Nothing here needs ../shared or runs/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli.main import main
from harness.results.gains import fmt_gain
from harness.results.pack import pack_path

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "leaderboards" / "real-offline.jsonl"
ARGS = ["--split", "all", "--metric", "bucc2018=bucc_f1_margin_oracle", "--n-boot", "200"]
TASKS = ("xnli", "panx", "tatoeba", "bucc2018")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report() -> dict:
    assert pack_path(BOARD).exists(), "the real study's pack is committed beside its rows"
    r = CliRunner().invoke(main, ["leaderboard", "report", str(BOARD), *ARGS, "--json"])
    assert r.exit_code == 0, r.output[-2000:]
    return json.loads(r.stdout)


def test_every_interval_of_the_real_study_comes_from_its_predictions(report):
    assert {g["task"] for g in report["gains"]} == set(TASKS)
    for g in report["gains"]:
        assert g["predictions_missing"] == 0, (g["task"], g["intermediate"], g["method"])
        assert "PREDICTIONS MISSING" not in g["method"] and "seeds only" not in g["method"]


def test_the_rebuilt_page_lists_every_task_shows_the_caveats_and_the_reports_intervals(report, tmp_path):
    out = tmp_path / "page"
    r = CliRunner().invoke(main, ["leaderboard", "html", str(BOARD), *ARGS, "--out", str(out),
                                  "--config-file", str(ROOT / "examples" / "real-offline.yaml")])
    assert r.exit_code == 0, r.output[-2000:]
    page = (out / "index.html").read_text()
    assert "Caveats" in page and "Real samples, not the full test sets" in page
    tables = re.findall(r"<table.*?</table>", page, flags=re.S)
    assert len(tables) == 5  # gains, trends, task scores, benchmark scores, provenance
    for table in tables:
        for task in TASKS:
            assert re.search(rf"[>(,:]\s*{task}\b", table), (task, table[:300])  # a cell, a list, "not counted: …"
    for g in report["gains"]:
        for group in ("en", "xx"):
            if g.get(group) and g[group].get("lo") is not None:
                assert fmt_gain(g[group], g) in page, (g["task"], g["intermediate"], group)
