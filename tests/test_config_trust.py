"""Config errors that used to pass silently or lose their place (issue 13): empty lists, duplicate entries, YAML
line and column, "did you mean" for unknown names, task names that are not safe folder names. Each is one line."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.specs import Task, TaskSpec
from harness.planning.config import ConfigError, load_config, parse_config
from harness.planning.plan import build_plan

GOOD = {
    "name": "t", "models": ["tiny-xlmr"], "intermediate": ["none"],
    "targets": [{"name": "xnli", "languages": ["en", "de"]}], "data": {"xnli": "synthetic"},
}


def one_line(tmp_path: Path, cfg: dict) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "out"), **cfg}))
    r = CliRunner().invoke(main, ["matrix", "plan", str(path)])
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 or all(line.startswith(" ") for line in lines[1:]), r.output  # one (wrapped) line
    return " ".join(line.strip() for line in lines)


@pytest.mark.parametrize("field", ["models", "targets", "seeds", "intermediate"])
def test_an_empty_list_is_an_error_naming_the_field(tmp_path, field):
    line = one_line(tmp_path, {**GOOD, field: []})
    assert f"c.yaml: {field}: the list is empty" in line


@pytest.mark.parametrize("change, expected", [
    ({"models": ["tiny-xlmr", "tiny-xlmr-large", "tiny-xlmr"]}, "models: 'tiny-xlmr' is listed twice (models[0] and models[2])"),
    ({"seeds": [1, 2, 1]}, "seeds: 1 is listed twice (seeds[0] and seeds[2])"),
    ({"targets": ["xnli", "xnli"]}, "targets: 'xnli' is listed twice (targets[0] and targets[1] both evaluate"),
    ({"targets": [{"name": "xnli", "languages": ["en", "de"]}, {"name": "xnli", "languages": ["de"]}]},
     "targets: 'xnli' is listed twice (targets[0] and targets[1] both evaluate de (default))"),
    ({"intermediate": ["none", "mnli", "none"]}, "intermediate: 'none' is listed twice"),
    ({"targets": [{"name": "xnli", "languages": ["de", "en", "de"]}]}, "targets[0].languages: 'de' is listed twice"),
    ({"intermediate": [{"name": "mix", "tasks": ["mnli", "mnli"]}]}, "intermediate[0].tasks: 'mnli' is listed twice"),
])
def test_a_duplicate_entry_is_an_error_naming_it(tmp_path, change, expected):
    assert expected in one_line(tmp_path, {**GOOD, **change})


def test_one_task_listed_again_for_other_languages_or_splits_is_fine():
    cfg = parse_config({**GOOD, "targets": [{"name": "xnli", "languages": ["en", "de"]},
                                            {"name": "xnli", "languages": ["de"], "eval_splits": ["dev"]},
                                            {"name": "xnli", "languages": ["de"], "train": {"lr": 1e-5}}]})
    assert len(cfg.targets) == 3


def test_a_yaml_syntax_error_keeps_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\nmodels: [tiny-xlmr\ntargets: [xnli]\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    # the unclosed flow sequence is reported where the parser gave up: line 3, column 8 (1-based)
    assert str(err.value).startswith(f"{path}:3:8: not valid YAML: expected ',' or ']', but got ':'")
    path.write_text("name: t\n  models: x\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:2:9: not valid YAML: mapping values are not allowed here"):
        load_config(path)


@pytest.mark.parametrize("change, expected", [
    ({"models": ["tiny-xlmrr"]}, "models[0]: unknown model 'tiny-xlmrr'; give family and source for a new one, or use an installed model. Did you mean 'tiny-xlmr'"),
    ({"models": [{"name": "m", "family": "hf-encodr", "source": "x"}]},
     "models[0]: unknown model family 'hf-encodr'. Did you mean 'hf-encoder'"),
    ({"targets": [{"name": "xnli", "languages": ["en", "dee"]}]},
     "targets[0].languages: 'dee' is not a language of 'xnli'. Did you mean 'de'"),
    ({"intermediate": [{"name": "mnlii"}]}, "unknown task 'mnlii'. Did you mean 'mnli'"),
    ({"intermediate": [{"name": "mlm", "exemptions": ["multilingual-mlmm"]}]},
     "exemption 'multilingual-mlmm' is not one of multilingual-mlm, translate-train. Did you mean 'multilingual-mlm'"),
    ({"executor": "lokal"}, "executor: unknown executor 'lokal'. Did you mean 'local'"),
    ({"data": {"xnlii": "synthetic"}}, "data.xnlii: unknown task 'xnlii'. Did you mean 'xnli'"),
])
def test_unknown_names_suggest_the_closest(tmp_path, change, expected):
    assert expected in one_line(tmp_path, {**GOOD, **change})


def task_named(name: str) -> Task:
    def fixture(data_dir):
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        (Path(data_dir) / "train.jsonl").write_text("{}\n")

    return Task(TaskSpec(name=name, kind="classification", roles=("target",), languages=("en",),
                         metrics=("accuracy",), labels=("a",)), lambda **kw: [], fixture=fixture)


def test_a_task_name_with_dots_cannot_write_outside_output_dir(tmp_path, monkeypatch):
    # the plugin registry refuses such a name; a task put in the registry some other way is refused by the plan
    monkeypatch.setitem(plugins.registry().tasks, "../../escape", task_named("../../escape"))
    out = tmp_path / "a" / "b" / "out"
    cfg = {**GOOD, "output_dir": str(out), "targets": ["../../escape"], "data": {"../../escape": "synthetic"}}
    with pytest.raises(ConfigError, match=r"targets\[0\]\.name: task name '\.\./\.\./escape' is not a safe folder"):
        build_plan(parse_config(cfg))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(main, ["matrix", "run", str(path)])
    assert r.exit_code == 2 and "is not a safe folder name" in r.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["c.yaml"]  # nothing written anywhere


def test_a_task_name_with_a_dot_is_refused_at_plan_time(tmp_path):
    plugins.register_module(types.SimpleNamespace(register_tasks=hookimpl(lambda register: register(
        task_named("nli.v2")))), name="dotted-task")
    try:
        line = one_line(tmp_path, {**GOOD, "targets": ["nli.v2"], "data": {"nli.v2": "synthetic"}})
    finally:
        plugins.reset()
    assert "targets[0].name: task name 'nli.v2' is not a safe folder name" in line
    assert not (tmp_path / "out").exists()


def test_a_task_of_a_kind_no_plugin_registers_is_refused_at_plan_time(tmp_path):
    # kinds are open (register_task_types), so the spec accepts any kind; the plan names the missing one
    def task() -> Task:
        return Task(TaskSpec(name="reg-task", kind="regression", roles=("target",), languages=("en",),
                             metrics=("accuracy",)), lambda **kw: [])

    plugins.register_module(types.SimpleNamespace(register_tasks=hookimpl(lambda register: register(task()))),
                            name="regression-task")
    try:
        line = one_line(tmp_path, {**GOOD, "targets": ["reg-task"], "data": {"reg-task": "synthetic"}})
    finally:
        plugins.reset()
    assert "targets[0].name: task 'reg-task' is of kind 'regression', which no installed plugin registers" in line
    assert "Installed kinds: classification, generation, mlm," in line
    assert not (tmp_path / "out").exists()
