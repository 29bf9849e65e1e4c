"""The content-checked cache (issue 13): DONE records the sha256 of every file; a node whose files changed (even at
equal size) is redone before it is used or reported, and every node computed from a redone node is redone too.
Also the event log's torn lines. Stage functions are stand-ins that make each training distinguishable."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_engine import fake, noop_cfg, run  # noqa: F401 - ``fake`` is a fixture

from harness.cli.main import main
from harness.core.rows import make_row, read_jsonl, write_jsonl_atomic
from harness.orchestration.execute import run_node
from harness.planning.config import parse_config
from harness.planning.plan import build_plan
from harness.run.context import Context
from harness.stages import STAGE_FUNCTIONS
from harness.store import integrity
from harness.store.events import append_events, read_events
from harness.store.integrity import DONE
from harness.store.nodestore import is_done


class Trainings:
    """Each intermediate training writes an 8 KiB checkpoint filled with its own number; a target records the
    number of the checkpoint it started from; an eval row's value is 10 × that number + the target's number."""

    def __init__(self) -> None:
        self.count = Counter()

    def __call__(self, node, work, ctx):
        self.count[node.stage] += 1
        n = self.count[node.stage]
        p = node.params
        if node.stage == "intermediate":
            (work / "encoder.safetensors").write_bytes(bytes([n]) * 8192)
        elif node.stage == "target":
            inter = (ctx.node_dir(p["upstream"]) / "encoder.safetensors").read_bytes()[0] if p["upstream"] else 0
            (work / "trained.json").write_text(json.dumps({"inter": inter, "target": n}))
        else:
            trained = json.loads((ctx.node_dir(p["trained"]) / "trained.json").read_text())
            write_jsonl_atomic(work / "rows.jsonl", [make_row(
                model=p["model"]["name"], intermediate=p["intermediate"], task=p["task"]["name"],
                language=p["language"], split="test", metric="accuracy", seed=p["seed"], node=node.key,
                value=float(10 * trained["inter"] + trained["target"]), predictions=f"nodes/{node.key}/rows.jsonl")])
        return {"ok": True}


@pytest.fixture
def trainings(fake, monkeypatch):  # noqa: F811 - the fixture imported above
    t = Trainings()
    for stage in STAGE_FUNCTIONS:
        monkeypatch.setitem(STAGE_FUNCTIONS, stage, t)
    return t


def values(plan) -> dict[tuple[str, str], float]:
    return {(r["intermediate"], r["language"]): r["value"] for r in read_jsonl(plan.leaderboard)}


def last_run(cache: Path) -> list[dict]:
    events = read_events(cache)
    run_id = [e for e in events if e["event"] == "run_start"][-1]["run"]
    return [e for e in events if e.get("run") == run_id]


def node_of(plan, stage: str, part: str) -> str:
    (key,) = [n.key for n in plan.by_stage(stage) if part in n.label]
    return key


def test_done_records_the_sha256_of_every_file(trainings, tmp_path):
    plan, out = run(noop_cfg(tmp_path))
    assert out.ok and len(out.done) == 7
    inter = node_of(plan, "intermediate", "noop-i")
    marker = json.loads((plan.cache_dir / "nodes" / inter / DONE).read_text())
    import hashlib

    assert marker["files"]["encoder.safetensors"] == {"size": 8192, "sha256": hashlib.sha256(b"\x01" * 8192).hexdigest()}
    assert marker["upstream"] == {} and marker["format"] == 2
    target = node_of(plan, "target", "noop-i")
    assert json.loads((plan.cache_dir / "nodes" / target / DONE).read_text())["upstream"] == {inter: marker["digest"]}


def test_a_byte_changed_at_equal_size_in_rows_redoes_the_eval_node(trainings, tmp_path):
    plan, _ = run(noop_cfg(tmp_path))
    before = values(plan)
    assert before == {("none", "en"): 1.0, ("none", "de"): 1.0, ("noop-i", "en"): 12.0, ("noop-i", "de"): 12.0}
    key = node_of(plan, "eval", "noop-i → noop-t [de]")
    rows = plan.cache_dir / "nodes" / key / "rows.jsonl"
    text = rows.read_text()
    assert '"value": 12.0' in text
    rows.write_text(text.replace('"value": 12.0', '"value": 92.0'))  # same length: the size check cannot see it
    ctx = Context(cache_dir=plan.cache_dir)
    assert is_done(ctx, key)  # the cheap check (what `matrix status` uses) still passes
    _, out = run(noop_cfg(tmp_path))
    assert out.done == [key] and trainings.count["eval"] == 5
    assert values(plan) == before  # the original value, recomputed from the untouched trained node
    (corrupt,) = [e for e in last_run(plan.cache_dir) if e["event"] == "corrupt"]
    assert corrupt["node"] == key and corrupt["file"] == "rows.jsonl"


def test_a_scrambled_intermediate_checkpoint_is_redone_with_everything_downstream(trainings, tmp_path):
    plan, _ = run(noop_cfg(tmp_path))
    inter = node_of(plan, "intermediate", "noop-i")
    ckpt = plan.cache_dir / "nodes" / inter / "encoder.safetensors"
    with open(ckpt, "r+b") as fh:
        fh.seek(2048)
        fh.write(os.urandom(4096))
    assert ckpt.stat().st_size == 8192
    _, out = run(noop_cfg(tmp_path))  # nothing reads the checkpoint: the (intact) rows are reported, nothing redone
    assert len(out.cached) == 7 and values(plan)[("noop-i", "de")] == 12.0
    target = node_of(plan, "target", "noop-i")
    (plan.cache_dir / "nodes" / target / DONE).unlink()  # the target must be retrained: it would load the checkpoint
    _, out = run(noop_cfg(tmp_path))
    redone = {inter, target} | {n.key for n in plan.by_stage("eval") if "noop-i" in n.label}
    assert set(out.done) == redone and len(out.cached) == 3  # the `none` branch is untouched
    # the second intermediate training (2) fed the second noop-i target training (3): no mix of two trainings
    assert values(plan) == {("none", "en"): 1.0, ("none", "de"): 1.0, ("noop-i", "en"): 23.0, ("noop-i", "de"): 23.0}
    events = last_run(plan.cache_dir)
    assert [(e["node"], e["file"]) for e in events if e["event"] == "corrupt"] == [(inter, "encoder.safetensors")]
    assert {e["node"] for e in events if e["event"] == "invalidated"} == redone - {target}  # target: no DONE


def test_an_upstream_redone_elsewhere_makes_its_cached_downstream_stale(trainings, tmp_path):
    plan, _ = run(noop_cfg(tmp_path))
    ctx = Context(cache_dir=plan.cache_dir, device="cpu")
    inter = plan.nodes[node_of(plan, "intermediate", "noop-i")]
    (ctx.node_dir(inter.key) / DONE).unlink()  # e.g. another matrix sharing the cache redid it
    run_node(inter, ctx)
    target = node_of(plan, "target", "noop-i")
    assert is_done(ctx, target) and integrity.stale_upstream(ctx, plan.nodes[target]) is not None
    _, out = run(noop_cfg(tmp_path))
    assert {plan.nodes[k].stage for k in out.done} == {"target", "eval"} and len(out.done) == 3
    assert values(plan)[("noop-i", "de")] == 23.0


def test_an_old_done_without_hashes_is_redone(trainings, tmp_path):
    plan, _ = run(noop_cfg(tmp_path))
    key = node_of(plan, "eval", "none → noop-t [en]")
    folder = plan.cache_dir / "nodes" / key
    sizes = {n: i["size"] for n, i in json.loads((folder / DONE).read_text())["files"].items()}
    (folder / DONE).write_text(json.dumps({"key": key, "files": sizes}))  # the format before content hashes
    assert not is_done(Context(cache_dir=plan.cache_dir), key)
    _, out = run(noop_cfg(tmp_path))
    assert out.done == [key]
    (stale,) = [e for e in last_run(plan.cache_dir) if e["event"] == "stale"]
    assert "no content hashes" in stale["reason"]


def test_files_are_hashed_when_used_or_reported_not_on_status(trainings, tmp_path, monkeypatch):
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    hashed: list[str] = []
    real = integrity.hash_file
    def spy(path, *fd_size):  # checks of finished nodes only (not the manifest of a node being written)
        if Path(path).parent.parent.name == "nodes":
            hashed.append(Path(path).parent.name)
        return real(path, *fd_size)

    monkeypatch.setattr(integrity, "hash_file", spy)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert CliRunner().invoke(main, ["matrix", "status", str(path)]).exit_code == 0
    assert hashed == []
    _, out = run(cfg)  # all cached: only the eval nodes (reported) are read back, each once
    assert len(out.cached) == 7
    evals = {n.key for n in plan.by_stage("eval")}
    assert Counter(hashed) == {k: 3 for k in evals}  # rows.jsonl, node.json, summary.json: once per run
    hashed.clear()
    (plan.cache_dir / "nodes" / node_of(plan, "eval", "noop-i → noop-t [de]") / DONE).unlink()
    run(cfg)  # one eval node to redo: the nodes it reads (trained target, intermediate's budget) are checked
    assert set(hashed) == evals | {node_of(plan, "target", "noop-i"), node_of(plan, "intermediate", "noop-i")}
    assert node_of(plan, "target", "none") not in hashed


# ------------------------------------------------------------------------------------------------ event log


def test_a_torn_event_line_is_skipped_with_a_warning_and_status_works(fake, tmp_path, capsys):  # noqa: F811
    cfg = noop_cfg(tmp_path)
    plan, _ = run(cfg)
    log = plan.cache_dir / "events.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    torn = len(lines) // 2
    lines[torn] = lines[torn][: len(lines[torn]) // 2] + "\n"  # a kill mid-append, later appends after it
    log.write_text("".join(lines))
    events = read_events(plan.cache_dir)
    assert len(events) == len(lines) - 1
    assert f"warning: {log}: line {torn + 1} is not a complete event" in capsys.readouterr().err
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    for command in ("status", "plan"):
        r = CliRunner().invoke(main, ["matrix", command, str(path)])
        assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["matrix", "status", str(path), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["totals"]["done"] == 7


def test_the_next_append_after_a_torn_tail_starts_a_fresh_line(tmp_path, capsys):
    log = tmp_path / "events.jsonl"
    log.write_text('{"event": "start", "node": "a"}\n{"event": "fin')  # killed mid-append
    append_events(tmp_path, [{"event": "start", "node": "b"}])
    assert log.read_text().splitlines()[1:] == ['{"event": "fin', '{"event": "start", "node": "b"}']
    assert [e["node"] for e in read_events(tmp_path)] == ["a", "b"]
    assert f"{log}: line 2 is not a complete event" in capsys.readouterr().err


def test_a_plan_without_a_cache_hashes_nothing(fake, tmp_path):  # noqa: F811
    plan = build_plan(parse_config(noop_cfg(tmp_path)))
    assert integrity.check_cached(list(plan.nodes.values()), Context(cache_dir=plan.cache_dir), set()) == {}
