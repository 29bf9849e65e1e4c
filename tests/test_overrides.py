"""``--set KEY.PATH=VALUE`` on ``harness matrix plan|run|check``: applied to the config mapping before validation,
the same errors as the YAML, recorded in the lock file and the run's config copy, and a different config hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core.rows import read_jsonl
from harness.planning.config import ConfigError, MatrixConfig, config_hash, load_config
from harness.planning.overrides import OverrideError, apply_overrides, parse_override, write_config_copy

REPO = Path(__file__).resolve().parents[1]

TINY = {"name": "tiny", "models": ["tiny-xlmr", "tiny-xlmr-large"], "intermediate": ["none"],
        "targets": [{"name": "xnli", "languages": ["en", "de"], "eval_splits": ["test"]}], "seeds": [1],
        "data": {"xnli": "synthetic"}, "train": {"lr": 0.001, "batch_size": 16, "max_steps": 2, "max_length": 32}}


def _config(tmp_path: Path, data: dict | None = None, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**(data or TINY), "output_dir": str(tmp_path / "out")}, sort_keys=False))
    return path


def test_values_are_yaml_scalars_and_flow_values():
    assert parse_override("train.lr=2e-5").value == "2e-5"  # as the YAML file would hold it: pydantic reads 2e-05
    assert parse_override("train.lr=2.0e-5").value == 2e-5
    assert parse_override("seeds=[1, 2]").value == [1, 2]
    assert parse_override("train.gradient_checkpointing=true").value is True
    assert parse_override("targets.0.languages=[no, de]").value == ["no", "de"]  # `no` is Norwegian, as in configs
    assert parse_override("models.0.revision=null").path == ("models", "0", "revision")
    assert parse_override("name=a=b").value == "a=b"  # split at the first '='


def test_overrides_apply_before_validation_and_change_the_hash(tmp_path):
    path = _config(tmp_path)
    base, _ = load_config(path)
    cfg, _ = load_config(path, ("train.lr=2e-5", "models.1.train.lr=0.01", "seeds=[3, 4]"))
    assert cfg.train.lr == 2e-5 and base.train.lr == 0.001
    assert cfg.models[0].train is None and cfg.models[1].train.lr == 0.01  # the name shorthand expanded
    assert cfg.seeds == [3, 4]
    assert config_hash(cfg) != config_hash(base)
    same = {**TINY, "train": {**TINY["train"], "lr": "2e-5"}, "seeds": [3, 4],
            "models": ["tiny-xlmr", {"name": "tiny-xlmr-large", "train": {"lr": 0.01}}]}
    written, _ = load_config(_config(tmp_path, same, "same.yaml"))
    assert config_hash(written) == config_hash(cfg)  # the same values in the YAML: the same experiment
    assert load_config(path, ())[0] == base  # the file itself is untouched


def test_a_wrong_value_gets_the_yaml_error(tmp_path):
    path = _config(tmp_path)
    with pytest.raises(ConfigError) as by_set:
        load_config(path, ("train.lr=-1",))
    bad = _config(tmp_path, {**TINY, "train": {**TINY["train"], "lr": -1}}, "bad.yaml")
    with pytest.raises(ConfigError) as by_yaml:
        load_config(bad)
    assert str(by_set.value) == f"{path} (with --set train.lr=-1): train.lr: Input should be greater than 0 (got -1)"
    assert str(by_yaml.value) == f"{bad}: train.lr: Input should be greater than 0 (got -1)"
    with pytest.raises(ConfigError, match=r"targets\[0\]\.eval_splits: .*'tes\[x'"):
        load_config(path, ("targets.0.eval_splits=['tes[x']",))


def test_an_unknown_path_names_the_keys_allowed_there(tmp_path):
    path = _config(tmp_path)
    with pytest.raises(ConfigError, match=r"--set train\.lrr=1: train\.lrr: unknown field \(allowed at train: lr, "
                                          r"batch_size, grad_accum,"):
        load_config(path, ("train.lrr=1",))
    with pytest.raises(ConfigError, match=r"--set modls\.0\.lr=1: modls: unknown field \(allowed at the top level: "
                                          r"name, output_dir, cache_dir, leaderboard, models,"):
        load_config(path, ("modls.0.lr=1",))
    with pytest.raises(ConfigError, match=r"models\.0\.lr: unknown field \(allowed at models\.0: name, family, "):
        load_config(path, ("models.0.lr=1",))


def test_list_indices_are_checked(tmp_path):
    path = _config(tmp_path)
    with pytest.raises(ConfigError, match=r"--set models\.2\.train\.lr=1: models has 2 entries; give an index 0\.\.1"):
        load_config(path, ("models.2.train.lr=1",))
    with pytest.raises(ConfigError, match=r"models is a list; give an index 0\.\.1, e\.g\. models\.0"):
        load_config(path, ("models.first.train.lr=1",))
    with pytest.raises(ConfigError, match=r"name is the value 'tiny', not a mapping or a list"):
        load_config(path, ("name.x=1",))
    with pytest.raises(ConfigError, match=r"expected KEY\.PATH=VALUE, e\.g\. --set train\.lr=2e-5"):
        load_config(path, ("train.lr",))
    with pytest.raises(ConfigError, match=r"'train\.\.lr' is not a key path"):
        load_config(path, ("train..lr=1",))


def test_free_mappings_take_any_key_and_missing_levels_are_made():
    raw = {"models": "tiny-xlmr", "targets": ["xnli"]}
    out = apply_overrides(raw, ["data.xnli=synthetic", "models.0.options.hidden=8", "target_train.epochs=2"],
                          MatrixConfig)
    assert out == {"models": [{"name": "tiny-xlmr", "options": {"hidden": 8}}], "targets": ["xnli"],
                   "data": {"xnli": "synthetic"}, "target_train": {"epochs": 2}}
    assert raw == {"models": "tiny-xlmr", "targets": ["xnli"]}  # a copy: the loaded mapping is not changed
    with pytest.raises(OverrideError, match=r"intermediate is not set in the config; set the whole list, e\.g\. "
                                            r"--set intermediate=\[a, b\]"):
        apply_overrides(raw, ["intermediate.0.name=mnli"], MatrixConfig)


def test_plan_records_the_overrides_in_the_lock(tmp_path):
    path = _config(tmp_path)
    runner = CliRunner()
    plain = runner.invoke(main, ["matrix", "plan", str(path), "--json"])
    assert plain.exit_code == 0, plain.output
    lock = tmp_path / "c.lock.json"
    assert not lock.exists() or "overrides" not in json.loads(lock.read_text())
    res = runner.invoke(main, ["matrix", "plan", str(path), "--json", "--set", "train.lr=2e-5", "--set",
                               "seeds=[2]"])
    assert res.exit_code == 0, res.output
    hashed = json.loads(res.output)["config_hash"]
    assert hashed != json.loads(plain.output)["config_hash"]
    assert json.loads(lock.read_text())["overrides"] == {"set": ["train.lr=2e-5", "seeds=[2]"], "config_hash": hashed}
    assert runner.invoke(main, ["matrix", "plan", str(path)]).exit_code == 0
    assert "overrides" not in json.loads(lock.read_text())  # a plan without overrides removes the record
    res = runner.invoke(main, ["matrix", "check", str(path), "--set", "train.lrr=1"])
    assert res.exit_code == 2 and "train.lrr: unknown field (allowed at train: lr," in res.output


def test_the_config_copy_loads_to_the_same_hash(tmp_path):
    path = _config(tmp_path)
    cfg, _ = load_config(path, ("train.lr=2e-5",))
    copy = write_config_copy(cfg, config_hash(cfg), path, ["train.lr=2e-5"], tmp_path / "out")
    assert copy == tmp_path / "out" / "config.yaml"
    head = copy.read_text().splitlines()[:3]
    assert head == [f"# written by harness matrix run: the config it ran (source: {path})",
                    "# overrides: --set train.lr=2e-5", f"# config_hash: {config_hash(cfg)}"]
    again, _ = load_config(copy)
    assert config_hash(again) == config_hash(cfg) and again.train.lr == 2e-5


@pytest.mark.slow
def test_run_with_overrides_writes_its_hash_into_rows_and_the_config_copy(tmp_path):
    path = _config(tmp_path, {**TINY, "models": ["tiny-xlmr"]})
    res = CliRunner().invoke(main, ["matrix", "run", str(path), "--offline", "--set", "train.lr=0.002"])
    assert res.exit_code == 0, res.output
    cfg, _ = load_config(path, ("train.lr=0.002",))
    rows = read_jsonl(tmp_path / "out" / "leaderboard.jsonl")
    assert {r["config_hash"] for r in rows} == {config_hash(cfg)} != {config_hash(load_config(path)[0])}
    assert "# overrides: --set train.lr=0.002" in (tmp_path / "out" / "config.yaml").read_text()


def test_models_take_their_own_learning_rate_in_the_yaml_and_by_set(tmp_path):
    from harness.planning.plan import build_plan

    cfg, _ = load_config(_config(tmp_path, {**TINY, "models": [{"name": "tiny-xlmr", "train": {"lr": 1.0e-3}},
                                                               {"name": "tiny-xlmr-large", "train": {"lr": 2.0e-5}}]}))
    lrs = {n.params["model"]["name"]: n.params["hp"]["lr"] for n in build_plan(cfg).by_stage("target")}
    assert lrs == {"tiny-xlmr": 1e-3, "tiny-xlmr-large": 2e-5}
    cfg, _ = load_config(_config(tmp_path), ("models.1.train.lr=2e-5",))  # train.lr 0.001 for the other model
    lrs = {n.params["model"]["name"]: n.params["hp"]["lr"] for n in build_plan(cfg).by_stage("target")}
    assert lrs == {"tiny-xlmr": 1e-3, "tiny-xlmr-large": 2e-5}
