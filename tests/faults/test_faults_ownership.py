"""The run owns only what it created: user files in ``cache_dir/tmp/`` and ``cache_dir/heartbeats/`` survive a run
and a rerun, while the leftovers the harness itself names (a killed worker's work folder, a dead heartbeat) go."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from harness.cli.main import main


def test_user_files_in_tmp_and_heartbeats_survive_runs(tmp_path):
    cache = tmp_path / "cache"
    notes = cache / "tmp" / "my-notes" / "thesis.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("chapter 1")
    mine = cache / "tmp" / "0123456789abcdef0123.4242.deadbeef"  # what a killed worker of ours leaves
    mine.mkdir()
    (mine / "partial.bin").write_bytes(b"x")
    beats = cache / "heartbeats"
    beats.mkdir()
    foreign = beats / "my-monitor.json"
    foreign.write_text(json.dumps({"pid": 1, "note": "a file of my own"}))
    dead = beats / "0123456789abcdef0123.json"  # a heartbeat as the harness writes it, its owner long gone
    dead.write_text(json.dumps({"pid": 2 ** 22 + 7, "host": "elsewhere", "started": 0, "time": 0, "interval": 1}))
    cfg = {"name": "own", "output_dir": str(tmp_path / "out"), "cache_dir": str(cache), "models": ["tiny-xlmr"],
           "device": "cpu", "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic"},
           "train": {"lr": 0.001, "batch_size": 8, "max_steps": 2, "max_length": 48}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    for cmd in (["run"], ["run"], ["prune"], ["run", "--prune"]):  # a run, a cached rerun, prunes
        r = CliRunner().invoke(main, ["matrix", *cmd, str(tmp_path / "c.yaml")])
        assert r.exit_code == 0, r.output
        assert notes.read_text() == "chapter 1" and foreign.exists()
    assert not mine.exists() and not dead.exists()


def test_user_data_under_output_dir_is_never_replaced_by_synthetic_data(tmp_path):
    """Old code: ``data: {xnli: synthetic}`` with the user's own files in ``output_dir/data/xnli`` deleted that
    folder and wrote synthetic data in its place. Now the plan refuses in one line and the files stay."""
    out = tmp_path / "out"
    mine = out / "data" / "xnli" / "test-de.tsv"
    mine.parent.mkdir(parents=True)
    mine.write_text("premise\thypo\tentailment\n")
    cfg = {"name": "own", "output_dir": str(out), "models": ["tiny-xlmr"], "device": "cpu",
           "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic"},
           "train": {"lr": 0.001, "batch_size": 8, "max_steps": 2, "max_length": 48}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    for cmd in (["matrix", "plan"], ["matrix", "run"]):
        r = CliRunner().invoke(main, [*cmd, str(tmp_path / "c.yaml")])
        assert r.exit_code != 0
        assert "holds files the harness did not write" in r.output and str(mine.parent) in r.output, r.output
        assert "Traceback" not in r.output
    assert sorted(p.name for p in mine.parent.iterdir()) == ["test-de.tsv"]
    assert mine.read_text() == "premise\thypo\tentailment\n"


def test_synthetic_data_is_written_into_an_empty_folder_and_reused(tmp_path):
    from harness.planning.task_data import SYNTHETIC_MARK, prepare_data

    folder = tmp_path / "data" / "xnli"
    folder.mkdir(parents=True)
    prepare_data({"kind": "synthetic", "path": str(folder)}, "xnli")
    assert (folder / SYNTHETIC_MARK).exists()
    before = sorted(p.name for p in folder.rglob("*"))
    prepare_data({"kind": "synthetic", "path": str(folder)}, "xnli")  # ours: kept as it is
    assert sorted(p.name for p in folder.rglob("*")) == before


def test_leaderboard_html_replaces_only_its_own_figures(tmp_path):
    """Old code: ``leaderboard html --out site`` removed the whole ``site/figures/`` folder, a user's files too."""
    from harness.results.figures import MANIFEST
    from harness.results.gains import gains
    from harness.results.html import build

    mine = tmp_path / "site" / "figures" / "my-diagram.png"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"mine")
    old = tmp_path / "site" / "figures" / "gain_vs_params.png"  # what an earlier page wrote
    old.write_bytes(b"old figure")
    (mine.parent / MANIFEST).write_text('["gain_vs_params.png"]')
    build([], gains([]), tmp_path / "site")
    assert mine.read_bytes() == b"mine" and not (old.exists() and old.read_bytes() == b"old figure")


def test_a_file_that_is_not_a_leaderboard_row_is_one_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n')
    for cmd in ("show", "report", "aggregate"):
        r = CliRunner().invoke(main, ["leaderboard", cmd, str(path)])
        assert r.exit_code != 0 and "row 1 has no" in r.output and "Traceback" not in r.output, (cmd, r.output)
