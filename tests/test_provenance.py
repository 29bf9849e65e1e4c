"""Every row says what data and model produced it; hub revisions are locked beside the config (issue 13, part A)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core.rows import ROW_KEYS, SCHEMA_VERSION, read_jsonl, upgrade_row
from harness.orchestration.scheduler import run_plan
from harness.planning import lock as lockmod
from harness.planning.config import parse_config
from harness.planning.lock import Lock, LockError, lock_path
from harness.planning.plan import build_plan
from harness.planning.provenance import model_id
from harness.run.context import Context
from harness.toolkit.data import fingerprint_paths

REPO = Path(__file__).resolve().parents[1]
TINY = {"lr": 0.001, "batch_size": 8, "max_steps": 2, "max_length": 48, "eval_batch_size": 32}
SHA_A = "a" * 40
SHA_B = "b" * 40


def _run(cfg: dict):
    plan = build_plan(parse_config(cfg))
    ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name=plan.config.name, config_hash=plan.config_hash)
    outcome = run_plan(plan, ctx)
    assert outcome.ok, outcome.failed
    return plan, read_jsonl(plan.leaderboard)


@pytest.mark.slow
def test_quickstart_row_says_synthetic_and_names_its_data_fingerprint(tmp_path):
    cfg = yaml.safe_load((REPO / "configs" / "quickstart.yaml").read_text())
    cfg.update(output_dir=str(tmp_path / "out"), leaderboard=str(tmp_path / "lb.jsonl"), models=["tiny-xlmr"],
               intermediate=["none", "mnli"], targets=[{"name": "xnli", "languages": ["de"]}], seeds=[1],
               train=TINY, device="cpu")
    before = datetime.now().astimezone()
    plan, rows = _run(cfg)
    assert len(rows) == 2
    xnli_fp = "sha256:" + fingerprint_paths([tmp_path / "out" / "data" / "xnli"])
    mnli_fp = "sha256:" + fingerprint_paths([tmp_path / "out" / "data" / "mnli"])
    for row in rows:
        assert list(row) == list(ROW_KEYS) and row["schema_version"] == SCHEMA_VERSION == 2
        assert row["synthetic"] is True and row["data_source"] == "synthetic"
        assert row["data_location"] == str(tmp_path / "out" / "data" / "xnli")
        assert row["data_fingerprint"] == xnli_fp and row["data_revision"] is None
        assert row["model_id"] == "local:tiny-xlmr" and row["model_source"] == "builtin"
        assert row["model_revision"] is None and row["model_weights_sha256"] is None
        created = datetime.fromisoformat(row["created"])
        assert created.utcoffset() == timedelta(0) and before - timedelta(seconds=1) <= created
    mnli_row = next(r for r in rows if r["intermediate"] == "mnli")
    assert mnli_row["intermediate_data"] == [{"task": "mnli", "source": "synthetic",
                                              "location": str(tmp_path / "out" / "data" / "mnli"),
                                              "revision": None, "fingerprint": mnli_fp}]
    assert next(r for r in rows if r["intermediate"] == "none")["intermediate_data"] == []


def test_model_ids_are_unique_per_spec(registry):
    ids = {name: model_id(spec) for name, spec in registry.models.items()}
    assert ids["tiny-xlmr"] == "local:tiny-xlmr" and ids["tiny-xlmr-large"] == "local:tiny-xlmr-large"
    assert ids["xlm-roberta-base"] == "FacebookAI/xlm-roberta-base"
    assert len(set(ids.values())) == len(ids)


def _tiny_model_folder(folder: Path) -> Path:
    """A tiny XLM-R saved like a downloaded model (safetensors + tokenizer): loadable by the hf-encoder family."""
    from harness.core.registry import registry

    reg = registry()
    enc = reg.family("tiny-xlmr").load(reg.models["tiny-xlmr"], seed=0)
    enc.module.save_pretrained(folder, safe_serialization=True)
    enc.tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_local_folder_row_names_the_shared_files_and_the_weights_sha256(tmp_path, shared_data):
    model_dir = _tiny_model_folder(tmp_path / "mymodel")
    weights = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
    cfg = {"name": "local", "output_dir": str(tmp_path / "out"),
           "models": [{"name": "mine", "family": "hf-encoder", "source": str(model_dir)}],
           "intermediate": ["none"],
           "targets": [{"name": "xnli", "languages": ["de"], "train_split": "dev[0:16]", "select_split": "dev[16:24]",
                        "eval_splits": ["dev[400:416]"]}],
           "seeds": [1], "data": {"xnli": str(shared_data / "xnli")}, "train": TINY, "device": "cpu"}
    _, rows = _run(cfg)
    [row] = rows
    assert row["synthetic"] is False and row["data_source"] == "local"
    assert row["data_location"] == str((shared_data / "xnli").resolve())
    assert row["data_fingerprint"] == "sha256:" + fingerprint_paths([shared_data / "xnli"])
    assert row["model_source"] == "local" and row["model_id"] == str(model_dir)
    assert row["model_weights_sha256"] == {"model.safetensors": weights}
    assert row["model_revision"] == "sha256:" + weights


def test_weights_hash_is_remembered_while_the_file_is_untouched(tmp_path, monkeypatch):
    from harness.toolkit import filehash

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    lock = Lock()
    assert lock.model_weights("m", folder) == {"model.safetensors": hashlib.sha256(b"weights").hexdigest()}
    calls = []
    real = filehash.stream_sha256
    monkeypatch.setattr(filehash, "stream_sha256", lambda p: calls.append(p) or real(p))
    filehash._loaded = None  # a new process: the digest comes from the cache file, not from memory
    lock.model_weights("m", folder)
    assert calls == []
    (folder / "model.safetensors").write_bytes(b"weightz")  # same size, new content
    assert lock.model_weights("m", folder) == {"model.safetensors": hashlib.sha256(b"weightz").hexdigest()}
    assert len(calls) == 1


def test_a_hand_edited_lock_hash_is_not_trusted(tmp_path):
    """Old code: a lock entry whose size and mtime matched was believed, so rows recorded a sha256 the weights
    do not have. Now every digest comes from the file; the disagreement is a note."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    config = tmp_path / "c.yaml"
    lock = Lock.for_config(config)
    lock.model_weights("m", folder)
    assert lock.save()
    data = json.loads(lock.path.read_text())
    data["local"]["model:m"]["files"]["model.safetensors"]["sha256"] = "0" * 64
    lock.path.write_text(json.dumps(data))
    again = Lock.for_config(config)
    real = hashlib.sha256(b"weights").hexdigest()
    assert again.model_weights("m", folder) == {"model.safetensors": real}
    assert any("lock was edited" in n and real in n for n in again.notes), again.notes


def _hub_cfg(tmp_path: Path) -> dict:
    """A config whose model comes from the hub (planning only: nothing is downloaded)."""
    return {"name": "hub", "output_dir": str(tmp_path / "out"),
            "models": [{"name": "xlmr", "family": "hf-encoder", "source": "org/some-model"}],
            "intermediate": ["none"], "targets": [{"name": "xnli", "languages": ["de"]}],
            "data": {"xnli": "synthetic"}}


@pytest.fixture
def hub(monkeypatch):
    """A fake hub: ``hub.sha`` is what it answers now; ``hub.calls`` counts the questions."""
    class Hub:
        sha = SHA_A
        calls: list = []

    def resolve(kind, repo_id, revision):
        Hub.calls.append((kind, repo_id, revision))
        return Hub.sha

    monkeypatch.setattr(lockmod, "resolve_revision", resolve)
    monkeypatch.setattr(lockmod, "hub_offline", lambda: False)
    return Hub


def _write_cfg(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _planned_revisions(config: Path, *args: str) -> tuple[set, str]:
    result = CliRunner().invoke(main, ["matrix", "plan", str(config), "--json", "--nodes", *args])
    assert result.exit_code == 0, result.output
    plan = build_plan(parse_config(yaml.safe_load(config.read_text())), lock=Lock.for_config(config))
    return {n.params["model"]["revision"] for n in plan.nodes.values()}, result.stderr


def test_two_runs_with_a_lock_resolve_identical_revisions(tmp_path, hub):
    config = _write_cfg(tmp_path, _hub_cfg(tmp_path))
    first, err = _planned_revisions(config)
    assert first == {SHA_A} and "locked at " + SHA_A in err
    lock = json.loads(lock_path(config).read_text())
    assert lock_path(config).name == "exp.lock.json"
    assert lock["hub"]["model:org/some-model@main"]["sha"] == SHA_A
    calls = len(hub.calls)
    second, err = _planned_revisions(config)
    assert second == first and len(hub.calls) == calls  # the lock answers, the hub is not asked
    assert "using locked revision " + SHA_A in err


def test_a_moved_upstream_keeps_the_locked_revision_until_update_lock(tmp_path, hub):
    config = _write_cfg(tmp_path, _hub_cfg(tmp_path))
    _planned_revisions(config)
    keys_a = {n.key for n in build_plan(parse_config(_hub_cfg(tmp_path)), lock=Lock.for_config(config)).nodes.values()}
    hub.sha = SHA_B  # upstream pushed a new commit to main
    kept, _ = _planned_revisions(config)
    assert kept == {SHA_A}
    moved, err = _planned_revisions(config, "--update-lock")
    assert "lock moved" in err
    assert moved == {SHA_B} and json.loads(lock_path(config).read_text())["hub"]["model:org/some-model@main"]["sha"] \
        == SHA_B
    keys_b = {n.key for n in build_plan(parse_config(_hub_cfg(tmp_path)), lock=Lock.for_config(config)).nodes.values()}
    assert keys_a.isdisjoint(keys_b)  # the node key holds the resolved sha, never "@main"
    result = CliRunner().invoke(main, ["matrix", "run", "--help"])
    assert "--update-lock" in result.output


def test_hub_dataset_is_locked_and_its_fingerprint_holds_the_sha(tmp_path, hub):
    cfg = {**_hub_cfg(tmp_path), "models": ["tiny-xlmr"], "data": {}}
    lock = Lock()
    plan = build_plan(parse_config(cfg), lock=lock)
    node = plan.by_stage("eval")[0]
    assert node.params["task"]["data"] == {"kind": "hub", "dataset": "facebook/xnli", "revision": SHA_A}
    assert node.params["task"]["fingerprint"] == f"hub:facebook/xnli@{SHA_A}"
    assert node.params["provenance"]["data"]["revision"] == SHA_A
    assert ("dataset", "facebook/xnli", None) in hub.calls


def test_a_full_sha_pinned_in_the_config_needs_no_hub(tmp_path, monkeypatch):
    monkeypatch.setattr(lockmod, "resolve_revision", lambda *a: pytest.fail("the hub was asked"))
    cfg = _hub_cfg(tmp_path)
    cfg["models"][0]["revision"] = SHA_B
    plan = build_plan(parse_config(cfg))
    assert {n.params["model"]["revision"] for n in plan.nodes.values()} == {SHA_B}


def test_offline_without_a_lock_entry_is_one_line_naming_the_id_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(lockmod, "resolve_revision", lambda *a: pytest.fail("the hub was asked offline"))
    config = _write_cfg(tmp_path, {**_hub_cfg(tmp_path), "models": ["tiny-xlmr"], "data": {}})
    for command in (["matrix", "plan"], ["matrix", "run"]):
        result = CliRunner().invoke(main, [*command, str(config)])
        assert result.exit_code != 0 and "Traceback" not in result.output
        [line] = result.stderr.strip().splitlines()
        assert "dataset facebook/xnli@main" in line and "offline" in line
        assert "point data.xnli at a folder" in line and "harness matrix plan" in line
    assert not lock_path(config).exists()
    with pytest.raises(LockError, match="org/some-model"):
        build_plan(parse_config(_hub_cfg(tmp_path)))


def test_old_rows_stay_loadable(tmp_path):
    old = {"schema_version": 1, "model": "m", "task": "xnli", "language": "de", "value": 50.0, "created": None}
    row = upgrade_row(old)
    assert list(row)[: len(ROW_KEYS)] == list(ROW_KEYS) and row["value"] == 50.0 and row["synthetic"] is None
    from harness.results.leaderboard import load_rows

    path = tmp_path / "lb.jsonl"
    path.write_text(json.dumps(old) + "\n")
    assert load_rows(path)[0]["data_fingerprint"] is None


def test_a_run_reads_a_hub_dataset_at_the_locked_sha(monkeypatch):
    import datasets

    from harness.planning.task_data import load_split
    from harness.toolkit.data import load_hf

    seen = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **kw: seen.append(kw["revision"]) or [])
    load_split({"name": "xnli", "data": {"kind": "hub", "dataset": "facebook/xnli", "revision": SHA_A}}, "test", "de")
    assert seen == [SHA_A]  # the plugin asks for its spec's revision; the run reads the locked sha
    load_hf("facebook/xnli", "de", "test", revision="main")
    assert seen == [SHA_A, "main"]  # outside a run, the caller's revision
