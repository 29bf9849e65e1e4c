"""``harness score --benchmark``: a whole XTREME / XTREME-R submission folder scored like the official script.

Reference values (tests/data/xtreme_official_reference.json) come from running google-research/xtreme's
``evaluate.py`` (commit da430dd06cc7344ceb2e7cb030219656ebf0606a, the version with ``--xtreme_version``; seqeval
0.0.12 in its own venv, outside this repository) on the folders ``xtreme_submission_fixture.write`` produces:

    python evaluate.py --prediction_folder P --label_folder L --xtreme_version {xtreme,xtreme-r} --output_file O

For ``xtreme-r`` the official script crashes when Mewsli-X and Tatoeba are both present (Mewsli-X has no
``avg_metric``, so its ``retrieval`` group sums a float and a dict); it was run once without ``mewslix`` and once
on ``mewslix`` alone, and the two outputs merged. It never reports an XTREME-R ``all_task`` (LAReQA has no
languages), so only the per-language numbers, task averages and groups are compared for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xtreme_submission_fixture as fixture

from harness.results.submission import score_submission

REFERENCE = json.loads((Path(__file__).parent / "data" / "xtreme_official_reference.json").read_text())
GROUPS = {"structured": "tagging"}  # our declared category name -> the official group name


@pytest.mark.parametrize("version", ["xtreme", "xtreme-r"])
def test_submission_scores_equal_the_official_script(tmp_path: Path, version: str) -> None:
    fixture.write(tmp_path, version)
    got = score_submission(version, tmp_path / "predictions", tmp_path / "labels")
    ref = REFERENCE[version]
    official_tasks = [t for t, v in ref.items() if isinstance(v, dict) and "avg_metric" in v or t == "mewslix"]
    assert sorted(got["tasks"]) == sorted(official_tasks)
    n = 0
    for task in official_tasks:
        for metric, langs in ref[task].items():
            if metric.startswith("avg_"):
                if metric in got["tasks"][task]:
                    assert got["tasks"][task][metric] == pytest.approx(langs, abs=1e-6), (task, metric)
                continue
            for lang, value in langs.items():
                assert got["tasks"][task]["languages"][metric][lang] == pytest.approx(value, abs=1e-6), (task, lang)
                n += 1
    for group, value in got["groups"].items():
        name = GROUPS.get(group, group)
        if name in ref:
            assert value == pytest.approx(ref[name], abs=1e-6), group
    if version == "xtreme":
        assert n == 343
        assert got["status"] == "complete"
        assert got["all_task"] == pytest.approx(ref["all_task"], abs=1e-6)
        assert got["all_task"] == pytest.approx(64.153363, abs=1e-6)
    else:
        assert got["missing_tasks"] == ["lareqa"]  # XTREME-R's evaluate.py lists it with no languages
        assert got["all_task"] is None and got["status"].startswith("partial")


def test_missing_files_are_listed_not_fatal(tmp_path: Path) -> None:
    fixture.write(tmp_path, "xtreme")
    (tmp_path / "predictions" / "xnli" / "test-de.tsv").unlink()
    got = score_submission("xtreme", tmp_path / "predictions", tmp_path / "labels")
    assert got["missing_files"] == [str(tmp_path / "predictions" / "xnli" / "test-de.tsv")]
    assert got["all_task"] is None and got["missing_tasks"] == ["xnli"]
    assert "de" not in got["tasks"]["xnli"]["languages"]["accuracy"]
