"""Every command of the README's "Using it" block works as written on the quickstart's output.

The commands are read from the README itself (the first ``bash`` block under ``## Using it``) and run through the
CLI, in order, from a folder laid out like the repository after ``bash scripts/quickstart.sh``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli.main import main

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[list[str]]:
    """The ``harness`` command lines of the "Using it" block (comments dropped, `source` lines skipped)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Using it"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README: no ```bash block under '## Using it'"
    commands = []
    for line in block.group(1).splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if not line or line.startswith(("#", "source ")):
            continue
        args = shlex.split(line)
        assert args[0] == "harness", f"README 'Using it': not a harness command: {line}"
        commands.append(args[1:])
    return commands


def test_the_block_has_every_public_command():
    names = {args[0] for args in readme_commands()}
    assert {"plugins", "models", "tasks", "matrix", "leaderboard", "score"} <= names


def readme_until_resolved() -> list[str]:
    """The ``--until-resolved`` command of the README's "Using it" section, as words after ``harness``."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Using it"):]
    lines = [ln for block in re.findall(r"```bash\n(.*?)```", section, re.S) for ln in block.splitlines()
             if "--until-resolved" in ln]
    assert lines, "README 'Using it': no --until-resolved command"
    args = shlex.split(re.sub(r"\s+#\s.*$", "", lines[0]))
    assert args[0] == "harness"
    return args[1:]


def test_the_until_resolved_command_parses():
    """Its options exist as written (tests/test_until_resolved.py runs it on a one-size copy of the quickstart)."""
    args = readme_until_resolved()
    assert args[:3] == ["matrix", "run", "configs/quickstart.yaml"] and "--max-seeds" in args
    res = CliRunner().invoke(main, [*args, "--help"])
    assert res.exit_code == 0 and "--until-resolved" in res.output, res.output


@pytest.mark.slow
def test_readme_commands_work_on_the_quickstart_output(quickstart_root, monkeypatch):
    from hubfake import FakeHub
    from huggingface_hub import constants

    hub = FakeHub().start()  # `leaderboard push|pull` talk to a loopback fake of the Hub (tests/hubfake)
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(quickstart_root / ".hub-cache"))
    runner = CliRunner()
    here = os.getcwd()
    os.chdir(quickstart_root)
    try:
        for args in readme_commands():
            res = runner.invoke(main, args, terminal_width=200)
            assert res.exit_code == 0, f"harness {shlex.join(args)}\n{res.output}"
            if args[:2] == ["leaderboard", "show"] and "--json" in args:
                rows = json.loads(res.output)  # `show --json`: every row, as the README says
                assert len(rows) == len((quickstart_root / "leaderboards" / "quickstart.jsonl").read_text()
                                        .splitlines())
            if args[:2] == ["leaderboard", "show"] and "--json" not in args:
                assert "synthetic" in res.output
            if args[0] == "score":
                assert "accuracy" in res.output
            if args[:2] == ["matrix", "plan"] and "--set" in args:  # recorded in the lock, with its own hash
                lock = json.loads((quickstart_root / "configs" / "quickstart.lock.json").read_text())
                assert lock["overrides"]["set"] == [a for a in args[3:] if a != "--set"]
            if args[:2] == ["leaderboard", "export"] and "parquet" in args:
                from harness.core.rowfiles import read_rows

                assert len(read_rows(quickstart_root / args[args.index("--out") + 1])) == 48
            if args[:2] == ["leaderboard", "report"] and "--languages" in args:
                assert "xx gain" in res.output and "synthetic" in res.output
        assert (quickstart_root / "pulled.jsonl").read_bytes() == (
            quickstart_root / "leaderboards" / "quickstart.jsonl").read_bytes()  # push → pull: the same rows
        assert (quickstart_root / "site" / "index.html").exists()
        assert "synthetic" in (quickstart_root / "site" / "index.html").read_text()
    finally:
        os.chdir(here)
        hub.stop()


def tracker_commands() -> list[str]:
    """The command lines of the ``bash`` block under ``### Experiment trackers`` (comments dropped)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Experiment trackers"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README: no ```bash block under '### Experiment trackers'"
    return [line for line in (re.sub(r"\s+#\s.*$", "", x).strip() for x in block.group(1).splitlines()) if line]


def test_the_tracker_block_runs_the_quickstart_with_tensorboard():
    lines = tracker_commands()
    assert lines[0] == "harness matrix run configs/quickstart.yaml --logger tensorboard"
    assert lines[1] == "tensorboard --logdir runs/quickstart/logs/tensorboard"


@pytest.mark.slow
def test_readme_tracker_commands_write_tensorboard_curves_of_every_training(tmp_path, quickstart_board):
    """The "Experiment trackers" block on a fresh copy of the quickstart: one event folder per training node, with
    one ``train/*`` point per optimizer step and the dev curve, and the very rows the quickstart writes without it."""
    import math
    import shutil

    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'xlt-harness[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from harness.core.rows import read_jsonl, without_timings

    (tmp_path / "configs").mkdir()
    shutil.copy(README.parent / "configs" / "quickstart.yaml", tmp_path / "configs" / "quickstart.yaml")
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        for line in tracker_commands():
            args = shlex.split(line)
            if args[0] == "harness":
                res = CliRunner().invoke(main, args[1:], terminal_width=200)
                assert res.exit_code == 0, f"{line}\n{res.output}"
            else:  # the viewer: its --logdir is where the event folders are
                assert args[:2] == ["tensorboard", "--logdir"] and Path(args[2]).is_dir(), line
    finally:
        os.chdir(here)
    out = tmp_path / "runs" / "quickstart"
    nodes = {p.name: p for p in (out / "cache" / "nodes").iterdir()}
    trained = {k: p for k, p in nodes.items()
               if json.loads((p / "node.json").read_text())["stage"] in ("intermediate", "target")}
    assert len(trained) == 20  # 2 sizes × 2 seeds × (mnli, sst2 intermediate + 3 target trainings)
    assert {p.name for p in (out / "logs" / "tensorboard").iterdir()} == set(trained)
    for key, node_dir in trained.items():
        summary = json.loads((node_dir / "train_summary.json").read_text())
        n_train = summary.get("n_train") or json.loads((node_dir / "summary.json").read_text())["n_train"]
        n = n_train if isinstance(n_train, int) else sum(n_train.values())
        per_epoch = math.ceil(n / 16)  # quickstart: batch 16, 6 epochs
        assert summary["steps"] == math.ceil(6 * per_epoch), key
        acc = EventAccumulator(str(out / "logs" / "tensorboard" / key))
        acc.Reload()
        tags = set(acc.Tags()["scalars"])
        for tag in ("train/loss", "train/lr", "train/examples_per_s", "train/tokens_per_s"):
            assert [e.step for e in acc.Scalars(tag)] == list(range(1, summary["steps"] + 1)), (key, tag)
        assert [e.value for e in acc.Scalars("train/loss")] == pytest.approx(summary["losses"], rel=1e-6)
        if "dev/accuracy" in tags:  # a target training: selection after every epoch
            assert [e.step for e in acc.Scalars("dev/accuracy")] == [per_epoch * i for i in range(1, 7)]
        else:  # an intermediate training: its head's own dev score at the last step
            (dev_tag,) = tags - {"train/loss", "train/lr", "train/examples_per_s", "train/tokens_per_s"}
            assert dev_tag in ("dev/mnli/accuracy", "dev/sst2/accuracy")
            assert [e.step for e in acc.Scalars(dev_tag)] == [summary["steps"]]
    drop = ("created", "predictions", "git_sha", "data_location", "intermediate_data")

    def comparable(rows):
        return sorted(json.dumps({k: v for k, v in without_timings(r).items() if k not in drop}, sort_keys=True)
                      for r in rows)

    assert comparable(read_jsonl(tmp_path / "leaderboards" / "quickstart.jsonl")) == comparable(
        read_jsonl(quickstart_board))  # logging changed no number
