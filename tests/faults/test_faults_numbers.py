"""A number is right or refused: a diverged training, a metric that returns NaN and a NaN in a row never become
leaderboard rows (each fails its node, naming what and where), and every row file stays valid JSON."""

from __future__ import annotations

import json
import math
import types
from dataclasses import replace

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.rows import write_jsonl_atomic
from harness.core.specs import Metric, Task


def _run(tmp_path, target: str, lr: float = 0.001, tasks: dict | None = None):
    cfg = {"name": "nan", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"], "device": "cpu",
           "targets": [{"name": target, "languages": ["en", "de"]}], "data": {target: "synthetic"},
           "train": {"lr": lr, "batch_size": 8, "max_steps": 4, "max_length": 48}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    return CliRunner().invoke(main, ["matrix", "run", str(tmp_path / "c.yaml")])


def _rows(tmp_path) -> list[dict]:
    path = tmp_path / "out" / "leaderboard.jsonl"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]  # strict JSON: NaN would not parse


def test_a_diverged_training_fails_its_node_naming_the_step_and_value(tmp_path):
    r = _run(tmp_path, "xnli", lr=1e30)
    assert r.exit_code != 0
    assert "training diverged: the loss is nan at step 2 (task xnli, lr 1e+30, precision fp32)" in r.output
    assert "1 failed, 2 skipped" in r.output and _rows(tmp_path) == []
    # the failure is recorded, and a rerun reports it again instead of caching a number
    again = _run(tmp_path, "xnli", lr=1e30)
    assert again.exit_code != 0 and "failed in an earlier run" in again.output and _rows(tmp_path) == []


@pytest.mark.parametrize("metrics, where, message", [
    # the main metric selects the checkpoint: the training node fails, naming the selection score
    (("always_nan",), "target", "the selection score is nan at step 4 (task xnli-nan): the main metric gave a "
                                "non-finite value"),
    # a further metric: selection works, the evaluation node refuses to write a row holding it
    (("accuracy", "always_nan"), "eval", "metric always_nan of xnli-nan · en · test is nan, not a finite number"),
])
def test_a_metric_returning_nan_fails_its_node_and_writes_no_row(tmp_path, metrics, where, message):
    nan_metric = Metric("always_nan", "test-nan", lambda golds, predictions, **_: math.nan)
    xnli = plugins.registry().task("xnli")
    task = Task(replace(xnli.spec, name="xnli-nan", metrics=metrics, benchmarks={}), xnli.load, fixture=xnli.fixture)
    plugins.register_module(types.SimpleNamespace(
        register_metrics=hookimpl(lambda register: register(nan_metric)),
        register_tasks=hookimpl(lambda register: register(task))), name="nan-plugin")
    try:
        r = _run(tmp_path, "xnli-nan")
    finally:
        plugins.reset()
    assert r.exit_code != 0
    failed = [json.loads(p.read_text()) for p in (tmp_path / "out" / "cache" / "failed").glob("*.json")]
    assert any(message in f["error"] for f in failed) and {f["stage"] for f in failed} == {where}
    assert _rows(tmp_path) == []


def test_row_files_refuse_nan(tmp_path):
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        write_jsonl_atomic(tmp_path / "rows.jsonl", [{"value": float("nan")}])
    assert not (tmp_path / "rows.jsonl").exists() or (tmp_path / "rows.jsonl").read_text() == ""


@pytest.mark.slow
def test_a_torn_leaderboard_line_is_refused_and_never_deleted(tmp_path):
    """A leaderboard is rewritten atomically, so a bad line is damage: reading names the file and line, and a
    rerun refuses to merge (rewriting the file would delete the row) and leaves the file byte for byte."""
    assert _run(tmp_path, "xnli").exit_code == 0
    board = tmp_path / "out" / "leaderboard.jsonl"
    lines = board.read_text(encoding="utf-8").splitlines()
    torn = "\n".join(lines[:-1] + [lines[-1][: len(lines[-1]) // 2]])  # the last row cut mid-line, no newline
    board.write_text(torn, encoding="utf-8")
    shown = CliRunner().invoke(main, ["leaderboard", "show", str(board)])
    assert shown.exit_code != 0 and f"{board}: line {len(lines)} is not JSON" in shown.output
    again = _run(tmp_path, "xnli")
    assert again.exit_code != 0 and f"line {len(lines)} is not JSON" in again.output
    assert "rows are safe in its node store" in again.output
    assert board.read_text(encoding="utf-8") == torn


def test_a_training_node_is_done_only_with_its_weights(tmp_path, monkeypatch):
    """Old code: a target training whose selection never saved weights (NaN scores) was marked DONE without
    them, and --retry-failed could not recover it. Now such a node fails; after the cause is gone the rerun
    (with --retry-failed) completes it."""
    from harness.core import files
    from harness.modeling import encoder

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "w", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"], "device": "cpu",
        "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic"},
        "train": {"lr": 0.001, "batch_size": 8, "max_steps": 2, "max_length": 32}}))
    real = encoder.save_weights

    def forgetful(module, path, metadata=None):  # a stage that writes the encoder but not the heads
        if path.name != files.HEADS:
            real(module, path, metadata)

    with monkeypatch.context() as m:
        m.setattr(encoder, "save_weights", forgetful)
        r = CliRunner().invoke(main, ["matrix", "run", str(cfg)])
    assert r.exit_code == 1 and "finished without heads.safetensors" in " ".join(r.output.split()), r.output
    assert not list((tmp_path / "out" / "cache" / "nodes").glob("*/DONE"))
    r = CliRunner().invoke(main, ["matrix", "run", str(cfg), "--retry-failed"])
    assert r.exit_code == 0, r.output


def test_a_full_disk_while_writing_a_leaderboard_keeps_the_old_file_whole(tmp_path, monkeypatch):
    import errno
    import os

    from harness.core import rows as rows_mod
    from harness.core.rows import read_jsonl

    path = tmp_path / "lb.jsonl"
    write_jsonl_atomic(path, [{"a": 1}])

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rows_mod.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        write_jsonl_atomic(path, [{"a": 2}, {"a": 3}])
    assert read_jsonl(path, torn_tail=False) == [{"a": 1}]
    assert sorted(os.listdir(tmp_path)) == ["lb.jsonl"]
