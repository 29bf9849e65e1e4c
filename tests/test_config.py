"""Bad configs exit non-zero with one actionable line naming the field, the bad value and what is allowed."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.planning.config import ConfigError, load_config, parse_config, resolve_hp

GOOD = {
    "name": "t", "models": ["tiny-xlmr"], "intermediate": ["none"],
    "targets": [{"name": "xnli", "languages": ["en", "de"]}], "data": {"xnli": "synthetic"},
}


def _plan(tmp_path, cfg: dict):
    cfg = {"output_dir": str(tmp_path / "out"), **cfg}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return CliRunner().invoke(main, ["matrix", "plan", str(path)])


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    return " ".join(lines)


def test_good_config_plans(tmp_path):
    r = _plan(tmp_path, GOOD)
    assert r.exit_code == 0, r.output
    assert "eval" in r.output and "target" in r.output


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"targets": [{"name": "xnlli"}]}, "targets[0].name: unknown task 'xnlli'. Did you mean 'xnli'"),
        ({"modles": ["tiny-xlmr"]}, "modles: unknown field (allowed: name, output_dir"),
        ({"train": {"lrr": 0.1}}, "train.lrr: unknown field (allowed: lr, batch_size"),
        ({"seeds": ["one"]}, "seeds[0]: Input should be a valid integer"),
        ({"train": {"lr": -1}}, "train.lr: Input should be greater than 0 (got -1)"),
        ({"models": ["tiny-xlmrr"]}, "models[0]: unknown model 'tiny-xlmrr'"),
        ({"targets": [{"name": "xnli", "languages": ["xx"]}]}, "targets[0].languages: 'xx' is not a language of 'xnli'"),
        ({"intermediate": ["xnli"]}, "intermediate[0]: task 'xnli' is not an intermediate task"),
        ({"targets": [{"name": "xnli", "eval_splits": ["test[a:b]"]}]}, "is not NAME or NAME[START:STOP]"),
        ({"train": {"precision": "fp8"}}, "train.precision: Input should be 'fp32', 'bf16' or 'fp16'"),
        ({"executor": "lokal"}, "executor: unknown executor 'lokal'. Did you mean 'local'"),
        ({"data": {"xnli": "/nonexistent/xnli"}}, "data.xnli: folder /nonexistent/xnli does not exist"),
    ],
)
def test_bad_config_one_line(tmp_path, change, expected):
    line = _error_line(_plan(tmp_path, {**GOOD, **change}))
    assert expected in line


def test_missing_config_file(tmp_path):
    line = _error_line(CliRunner().invoke(main, ["matrix", "plan", str(tmp_path / "nope.yaml")]))
    assert "config file" in line and "not found" in line


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\nmodels: [tiny-xlmr]\ntargets: [xnli]\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_top_level_must_be_mapping():
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_config(["models"])


def test_hp_layers_override_in_order():
    hp = resolve_hp({"lr": 2e-5, "max_length": 128}, {"lr": 3e-5}, None, {"batch_size": 8})
    assert hp["lr"] == 3e-5 and hp["max_length"] == 128 and hp["batch_size"] == 8 and hp["warmup_ratio"] == 0.1


def test_string_entries_are_names():
    cfg = parse_config({"models": "tiny-xlmr", "targets": "xnli", "intermediate": ["none", "mnli"], "seeds": 3})
    assert [m.name for m in cfg.models] == ["tiny-xlmr"]
    assert cfg.intermediate[1].tasks == ["mnli"] and cfg.intermediate[0].tasks == []
    assert cfg.seeds == [3]
