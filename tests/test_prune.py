"""``harness matrix prune``: the weights of finished trainings go, the leaderboard stays and is reported again
without retraining; a later reader of a pruned training redoes it and gets the values an unpruned run gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core.rows import read_jsonl, without_timings

TINY = {"lr": 0.001, "batch_size": 8, "max_steps": 2, "max_length": 32, "eval_batch_size": 64}
DROP = ("created", "predictions", "git_sha", "data_location", "intermediate_data")


def _config(folder: Path, languages: list[str]) -> Path:
    cfg = {"name": "tiny", "output_dir": str(folder / "out"), "models": ["tiny-xlmr"],
           "intermediate": ["none", "mnli"], "targets": [{"name": "xnli", "languages": languages}],
           "seeds": [1], "data": {"xnli": "synthetic", "mnli": "synthetic"}, "train": TINY, "device": "cpu"}
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def _rows(folder: Path) -> list[str]:
    rows = read_jsonl(folder / "out" / "leaderboard.jsonl")
    return sorted(json.dumps({k: v for k, v in without_timings(r).items() if k not in DROP}, sort_keys=True)
                  for r in rows)


def _weights(folder: Path) -> dict[str, int]:
    nodes = folder / "out" / "cache" / "nodes"
    return {str(p.relative_to(nodes)): p.stat().st_size for p in nodes.rglob("*.safetensors")}


@pytest.mark.slow
def test_prune_keeps_the_leaderboard_and_a_new_reader_redoes_the_training(tmp_path):
    (tmp_path / "a").mkdir()
    cfg = _config(tmp_path / "a", ["en", "de"])
    _cli("matrix", "run", str(cfg))
    before_rows, weights = _rows(tmp_path / "a"), _weights(tmp_path / "a")
    # 3 trainings (mnli; xnli after none and after mnli), each with encoder + heads
    assert len({name.split("/")[0] for name in weights}) == 3

    dry = json.loads(_cli("matrix", "prune", str(cfg), "--dry-run", "--json").output)
    assert dry["dry_run"] and _weights(tmp_path / "a") == weights  # nothing deleted
    assert sum(n["bytes"] for n in dry["nodes"]) == sum(weights.values())

    out = _cli("matrix", "prune", str(cfg)).output
    assert f"freed {sum(weights.values()) / 1e6:.1f} MB from 3 training node(s)" in out
    assert _weights(tmp_path / "a") == {}
    nodes = tmp_path / "a" / "out" / "cache" / "nodes"
    for name in weights:  # the record names each deleted file with the size and sha256 its DONE had
        key, file = name.split("/", 1)
        done = json.loads((nodes / key / "DONE").read_text())["files"][file]
        assert json.loads((nodes / key / "PRUNED").read_text())["files"][file] == done
    assert "pruned: 3 cached training node(s)" in _cli("matrix", "plan", str(cfg)).output
    assert "freed 0.0 MB from 0" in _cli("matrix", "prune", str(cfg)).output  # nothing left to prune

    rerun = _cli("matrix", "run", str(cfg)).output
    assert "0 ran" in rerun and "0 failed" in rerun
    assert _rows(tmp_path / "a") == before_rows

    # a new language reads the pruned target trainings: they are redone, and every value equals a fresh run's
    wider = _config(tmp_path / "a", ["en", "de", "fr"])
    _cli("matrix", "run", str(wider))
    (tmp_path / "b").mkdir()
    _cli("matrix", "run", str(_config(tmp_path / "b", ["en", "de", "fr"])))
    assert _rows(tmp_path / "a") == _rows(tmp_path / "b")
    events = read_jsonl(tmp_path / "a" / "out" / "cache" / "events.jsonl")
    needed = [e for e in events if e["event"] == "pruned_needed"]
    # both target trainings, and the MNLI checkpoint that the redone training after MNLI reads
    assert len(needed) == 3 and all("deleted by `harness matrix prune`" in e["reason"] for e in needed)
    assert not [e for e in events if e["event"] == "corrupt"]
    assert len(_rows(tmp_path / "a")) > len(before_rows)


@pytest.mark.slow
def test_a_training_with_an_unfinished_reader_is_kept(tmp_path):
    cfg = _config(tmp_path, ["en", "de"])
    _cli("matrix", "run", str(cfg))
    weights = _weights(tmp_path)
    plan = json.loads(_cli("matrix", "plan", str(cfg), "--json", "--nodes").output)
    evals = [n for n in plan["nodes"] if n["stage"] == "eval"]
    (tmp_path / "out" / "cache" / "nodes" / evals[0]["key"] / "DONE").unlink()  # one evaluation unfinished
    entries = json.loads(_cli("matrix", "prune", str(cfg), "--json").output)["nodes"]
    kept = [e for e in entries if e["kept"]]
    assert len(kept) >= 1 and all("still needs it" in e["kept"] for e in kept)
    left = _weights(tmp_path)
    assert left and set(left) < set(weights)
    assert {name.split("/")[0] for name in left} == {e["key"] for e in kept}


@pytest.mark.slow
def test_run_with_prune_deletes_weights_as_readers_finish_and_changes_no_value(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _cli("matrix", "run", str(_config(tmp_path / "a", ["en", "de"])), "--prune")
    _cli("matrix", "run", str(_config(tmp_path / "b", ["en", "de"])))
    assert _weights(tmp_path / "a") == {} and len({n.split("/")[0] for n in _weights(tmp_path / "b")}) == 3
    assert _rows(tmp_path / "a") == _rows(tmp_path / "b")
    events = read_jsonl(tmp_path / "a" / "out" / "cache" / "events.jsonl")
    names = [e["event"] for e in events]
    assert names.count("pruned") == 3
    # during the run, not only at its end: the MNLI checkpoint goes once the training that reads it finished,
    # before the evaluations of that training run
    assert names.index("pruned") < max(i for i, n in enumerate(names) if n == "start")


@pytest.mark.slow
def test_a_torn_pruned_record_never_passes_deleted_weights_as_present(tmp_path):
    """A PRUNED record that does not parse (torn, edited) lists nothing: the deleted weights count as missing, the
    node is not finished (``matrix plan`` puts it back to run) and a rerun redoes it with the same rows."""
    from harness.store.integrity import quick_check

    cfg = _config(tmp_path, ["en"])
    _cli("matrix", "run", str(cfg))
    rows = _rows(tmp_path)
    _cli("matrix", "prune", str(cfg))
    nodes = tmp_path / "out" / "cache" / "nodes"
    torn = sorted(p.parent for p in nodes.glob("*/PRUNED"))
    for folder in torn:
        (folder / "PRUNED").write_text('{"format": 1, "files": {"encoder.safe')
        assert quick_check(folder, folder.name) == "encoder.safetensors: missing"
    plan = json.loads(_cli("matrix", "plan", str(cfg), "--json").output)
    assert sum(s["nodes"] - s["cached"] for s in plan["stages"].values()) >= len(torn) == 3
    _cli("matrix", "run", str(cfg))
    assert _rows(tmp_path) == rows and len(_weights(tmp_path)) > 0
