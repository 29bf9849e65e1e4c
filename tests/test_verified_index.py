"""The store's index of verified nodes (harness.store.verified): a rerun trusts files whose stat signature is
unchanged since they were hashed, hashes anything else, and skips a leaderboard merge only when the file is byte
for byte what the last merge of the same nodes wrote. ``MARGIN_NS`` is 0 here (files in a test are seconds old;
with the real 2 s margin nothing would be recorded, which the last test checks)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from test_cache_integrity import last_run, node_of, trainings, values  # noqa: F401 - ``trainings`` is a fixture
from test_engine import fake, noop_cfg, run  # noqa: F401 - ``fake`` is a fixture

from harness.store import integrity, verified
from harness.store.integrity import DONE


@pytest.fixture
def hashed(monkeypatch):
    """Names of the finished nodes whose files are hashed (a Counter by node key)."""
    seen: Counter = Counter()
    real = integrity.hash_file

    def spy(path, *fd_size):
        if Path(path).parent.parent.name == "nodes":
            seen[Path(path).parent.name] += 1
        return real(path, *fd_size)

    monkeypatch.setattr(integrity, "hash_file", spy)
    return seen


@pytest.fixture
def no_margin(monkeypatch):
    monkeypatch.setattr(verified, "MARGIN_NS", 0)


def test_a_rerun_trusts_unchanged_nodes_and_leaves_the_leaderboard_alone(trainings, hashed, no_margin, tmp_path):  # noqa: F811 - the fixture imported above
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)  # the end of the run hashes each reported node (collecting its rows) and records it
    evals = {n.key for n in plan.by_stage("eval")}
    assert evals <= set(hashed)  # (and the trainings, checked before a node read them)
    index = json.loads((plan.cache_dir / "verified.json").read_text())
    assert evals <= set(index["nodes"]) and list(index["leaderboards"]) == [str(plan.leaderboard.resolve())]
    before, inode = values(plan), plan.leaderboard.stat().st_ino
    hashed.clear()
    _, out = run(cfg)
    assert len(out.cached) == 7 and not hashed  # nothing read again
    assert plan.leaderboard.stat().st_ino == inode and values(plan) == before  # not rewritten
    (cached,) = [e for e in last_run(plan.cache_dir) if e["event"] == "cached"]  # one record, not seven
    assert cached["count"] == 7 and cached["stages"] == {"intermediate": 1, "target": 2, "eval": 4}


def test_a_byte_changed_at_equal_size_and_mtime_is_caught(trainings, hashed, no_margin, tmp_path):  # noqa: F811 - the fixture imported above
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    run(cfg)  # the index now holds every eval node
    before = values(plan)
    key = node_of(plan, "eval", "noop-i → noop-t [de]")
    rows = plan.cache_dir / "nodes" / key / "rows.jsonl"
    st = rows.stat()
    rows.write_text(rows.read_text().replace('"value": 12.0', '"value": 92.0'))  # same size
    os.utime(rows, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime: only the ctime tells
    assert rows.stat().st_size == st.st_size and rows.stat().st_mtime_ns == st.st_mtime_ns
    hashed.clear()
    _, out = run(cfg)
    assert out.done == [key] and hashed[key] >= 1
    assert values(plan) == before
    (corrupt,) = [e for e in last_run(plan.cache_dir) if e["event"] == "corrupt"]
    assert corrupt["node"] == key and corrupt["file"] == "rows.jsonl"


def test_a_scrambled_checkpoint_is_not_trusted_from_the_index(trainings, no_margin, tmp_path):  # noqa: F811 - the fixture imported above
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    inter = node_of(plan, "intermediate", "noop-i")
    target = node_of(plan, "target", "noop-i")
    (plan.cache_dir / "nodes" / target / DONE).unlink()
    run(cfg)  # the target is redone: its input (the intermediate node) is hashed and enters the index
    assert inter in json.loads((plan.cache_dir / "verified.json").read_text())["nodes"]
    ckpt = plan.cache_dir / "nodes" / inter / "encoder.safetensors"
    st = ckpt.stat()
    with open(ckpt, "r+b") as fh:
        fh.seek(2048)
        fh.write(os.urandom(4096))
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns))
    (plan.cache_dir / "nodes" / target / DONE).unlink()
    _, out = run(cfg)
    assert inter in out.done and target in out.done
    assert [(e["node"], e["file"]) for e in last_run(plan.cache_dir) if e["event"] == "corrupt"] == \
        [(inter, "encoder.safetensors")]


def test_an_edited_leaderboard_is_merged_again(trainings, no_margin, tmp_path):  # noqa: F811 - the fixture imported above
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    run(cfg)
    before = values(plan)
    text = plan.leaderboard.read_text()
    plan.leaderboard.write_text(text.replace('"value": 12.0', '"value": 13.0'))
    _, out = run(cfg)
    assert len(out.cached) == 7 and values(plan) == before
    plan.leaderboard.unlink()
    run(cfg)
    assert values(plan) == before


def test_a_damaged_index_is_ignored_and_rewritten(trainings, hashed, no_margin, tmp_path):  # noqa: F811 - the fixture imported above
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    run(cfg)
    index = plan.cache_dir / "verified.json"
    index.write_text('{"format": 1, "nodes": {')  # torn
    hashed.clear()
    _, out = run(cfg)
    assert len(out.cached) == 7 and set(hashed) == {n.key for n in plan.by_stage("eval")}
    assert len(json.loads(index.read_text())["nodes"]) == 4


def test_files_younger_than_the_margin_are_not_recorded(trainings, hashed, tmp_path):  # noqa: F811 - the fixture imported above
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    hashed.clear()
    run(cfg)
    run(cfg)  # files seconds old: racily clean, hashed again each time
    assert set(hashed.values()) == {6}  # 3 files of each eval node, in each of the two reruns
    assert json.loads((plan.cache_dir / "verified.json").read_text())["nodes"] == {}


def test_status_of_a_finished_matrix_reads_only_its_runs_events(trainings, no_margin, tmp_path):  # noqa: F811 - the fixture imported above
    from harness.run.context import Context
    from harness.store.events import read_events
    from harness.store.status import matrix_status

    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    run(cfg)
    events = read_events(plan.cache_dir)
    runs = [e for e in events if e["event"] in ("run_start", "run_end")]
    assert read_events(plan.cache_dir, only=("run_start", "run_end")) == runs and len(runs) == 4
    st = matrix_status(plan, Context(cache_dir=plan.cache_dir))
    assert st["phase"] == "finished" and st["totals"]["done"] == 7 and st["eta_s"] == 0.0
    assert st["last_run"]["run"] == runs[-1]["run"] and st["last_run"]["status"] == "ok"
    assert st["last_event"] == [e for e in events if e.get("node")][-1]["time"]
    assert {n["state"] for n in st["nodes"]} == {"done"}


def test_status_trusts_an_unchanged_done_and_checks_any_other(trainings, no_margin, tmp_path):  # noqa: F811 - the fixture imported above
    from harness.run.context import Context
    from harness.store.status import done_nodes

    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    ctx = Context(cache_dir=plan.cache_dir)
    assert done_nodes(plan, ctx) == set(plan.nodes)
    key = node_of(plan, "eval", "none → noop-t [en]")
    done = plan.cache_dir / "nodes" / key / DONE
    marker = json.loads(done.read_text())
    done.write_text(json.dumps({**marker, "key": "another"}))  # a different DONE: the quick check decides
    assert done_nodes(plan, ctx) == set(plan.nodes) - {key}
    done.unlink()
    assert done_nodes(plan, ctx) == set(plan.nodes) - {key}


def test_a_writer_killed_mid_flush_leaves_nothing_behind(trainings, no_margin, tmp_path):  # noqa: F811 - the fixture imported above
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    torn = plan.cache_dir / ".verified.json.999999.tmp"
    torn.write_text('{"format": 1, "nod')  # what a kill during the write leaves (the index itself is intact)
    (plan.cache_dir / "nodes" / node_of(plan, "eval", "none → noop-t [en]") / DONE).unlink()
    _, out = run(cfg)  # one node redone: the index is written again, the torn file removed under the lock
    assert len(out.done) == 1 and not torn.exists()
    assert len(json.loads((plan.cache_dir / "verified.json").read_text())["nodes"]) >= 4
