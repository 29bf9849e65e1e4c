"""Leaderboard files: whole-file atomic writes, locked appends of complete lines, signatures, provenance."""

from __future__ import annotations

import json
import multiprocessing as mp
import os

import pytest

from harness.core.rows import (
    ROW_KEYS,
    append_jsonl,
    harness_git_sha,
    make_row,
    read_jsonl,
    signature,
    write_jsonl_atomic,
)


def test_make_row_has_every_key_and_rejects_unknown():
    row = make_row(model="m", value=1.5)
    assert list(row) == list(ROW_KEYS) and row["value"] == 1.5 and row["schema_version"] == 2
    with pytest.raises(KeyError, match="unknown row keys \\['valeu'\\]"):
        make_row(valeu=1)


def test_signature_format():
    assert signature("f1", "xquad", "2", "squad-v1.1", avg="unweighted") == (
        "f1|task:xquad@2|impl:squad-v1.1|avg:unweighted|harness:0.1.0"
    )


def test_git_sha_is_the_packages_own():
    sha = harness_git_sha()
    assert sha is None or len(sha.split("-")[0]) == 40


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "lb.jsonl"
    write_jsonl_atomic(path, [{"a": 1}, {"a": 2}])
    write_jsonl_atomic(path, [{"a": 3}])
    assert read_jsonl(path) == [{"a": 3}]
    assert [p.name for p in tmp_path.iterdir()] == ["lb.jsonl"]  # no temp file left behind


def test_torn_last_line_is_ignored_but_torn_middle_line_is_an_error(tmp_path):
    path = tmp_path / "lb.jsonl"
    path.write_text('{"a": 1}\n{"a": 2')
    assert read_jsonl(path) == [{"a": 1}]
    path.write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        read_jsonl(path)


def _writer(path: str, worker: int) -> None:
    for i in range(50):
        append_jsonl(path, [{"worker": worker, "i": i, "pad": "x" * 5000}])


def test_concurrent_appends_never_interleave(tmp_path):
    path = tmp_path / "events.jsonl"
    procs = [mp.get_context("fork").Process(target=_writer, args=(str(path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 200
    rows = [json.loads(line) for line in lines]
    for w in range(4):
        assert [r["i"] for r in rows if r["worker"] == w] == list(range(50))
    assert os.path.getsize(path) == sum(len(line) + 1 for line in lines)


def test_check_gold_messages():
    from harness.metrics import MissingGold, accuracy, check_gold

    with pytest.raises(ValueError, match="nothing to score: no questions"):
        check_gold([], [], unit="questions")
    with pytest.raises(MissingGold, match=r"gold answers are missing for this split \(XTREME blanks them\)"):
        check_gold(["a", None], ["a", "b"], what="answers", why="XTREME blanks them")
    with pytest.raises(ValueError, match="1 predictions for 2 examples"):
        accuracy(["a", "b"], ["a"])
    assert accuracy(["a", "b", "c", "d"], ["a", "b", "c", "x"]) == 75.0
