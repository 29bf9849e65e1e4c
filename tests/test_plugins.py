"""Plugin discovery: built-ins and third-party plugins come through the same entry-point group."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.specs import SpecError, Task, TaskSpec


def test_builtins_are_entry_points_of_the_distribution():
    infos = {p.name: p for p in plugins.list_plugins()}
    for name in ("xnli", "mnli", "tiny_xlmr", "hf_encoder"):
        assert infos[name].package == "xlt-harness"
    import importlib.metadata as md

    eps = {ep.name: ep.value for ep in md.entry_points(group="xlt_harness")}
    assert eps["xnli"] == "xlt_harness_plugins.tasks.xnli"
    assert all(not v.startswith("plugins.") for v in eps.values())


def test_no_bare_plugins_module_installed(tmp_path):
    # From a folder outside the repo, only what is installed is importable: the built-ins must come as
    # `xlt_harness_plugins`, never as a bare top-level `plugins` that could shadow another package.
    code = "import importlib.util as u; print(u.find_spec('xlt_harness_plugins') is not None, u.find_spec('plugins'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "None"]


def test_plugins_json_shows_builtin_and_template_plugin():
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["xnli"]["package"] == "xlt-harness"
    assert rows["xnli"]["contributes"] == ["task:xnli"]
    if "example_nli" not in rows:
        pytest.skip("examples/plugin-template is not installed (scripts/test.sh installs it)")
    assert rows["example_nli"]["package"] == "xlt-harness-example-task"
    assert rows["example_nli"]["contributes"] == ["metric:ordinal_error", "task type:ordinal", "task:example-nli",
                                                  "task:example-nli-ordinal"]


def test_listing_commands_do_not_import_torch():
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom harness.cli.main import main\n"
        "for cmd in (['plugins'], ['tasks', '--json'], ['models', '--json']):\n"
        "    r = CliRunner().invoke(main, cmd); assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('torch', 'transformers', 'faiss') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_tasks_and_models_json():
    r = CliRunner().invoke(main, ["tasks", "--json"])
    tasks = {t["name"]: t for t in json.loads(r.output)}
    assert tasks["xnli"]["kind"] == "classification"
    assert tasks["xnli"]["languages"][0] == "en" and len(tasks["xnli"]["languages"]) == 15
    r = CliRunner().invoke(main, ["models", "--json"])
    models = {m["name"]: m for m in json.loads(r.output)["models"]}
    assert models["tiny-xlmr"]["family"] == "tiny-xlmr"
    assert models["xlm-roberta-base"]["trust_remote_code"] is False


def _spec(name="dup-task"):
    return TaskSpec(name=name, kind="classification", roles=("target",), languages=("en",), metrics=("accuracy",),
                    labels=("a", "b"))


def test_duplicate_names_break_the_later_plugin_and_name_both():
    mod_a = types.SimpleNamespace(register_tasks=hookimpl(lambda register: register(Task(_spec(), load=list))))
    mod_b = types.SimpleNamespace(register_tasks=hookimpl(lambda register: register(Task(_spec(), load=list))))
    try:
        plugins.register_module(mod_a, name="plugin-a")
        plugins.register_module(mod_b, name="plugin-b")
        assert plugins.registry().origin[("task", "dup-task")] == "plugin-a"
        assert [b.line() for b in plugins.broken_plugins()] == [
            "plugin 'plugin-b' (registered by hand) is broken and was skipped: task 'dup-task' is already "
            "registered by plugin 'plugin-a' (registered by hand); rename it or uninstall one of the two"]
    finally:
        plugins.reset()


def test_unknown_name_suggests_and_lists():
    with pytest.raises(KeyError) as err:
        plugins.registry().task("xnlii")
    assert "Did you mean 'xnli'" in str(err.value) and "Installed:" in str(err.value)


def test_invalid_spec_names_the_field():
    with pytest.raises(SpecError, match="roles"):
        TaskSpec(name="t", kind="classification", roles=("test",), languages=("en",), metrics=("accuracy",))
    with pytest.raises(SpecError, match="name its kind"):
        TaskSpec(name="t", kind="", roles=("target",), languages=("en",), metrics=("accuracy",))


def test_blocking_a_plugin(monkeypatch):
    monkeypatch.setenv("XLT_HARNESS_BLOCK", "mnli")
    plugins.reset()
    try:
        assert "mnli" not in plugins.registry().tasks and "xnli" in plugins.registry().tasks
    finally:
        monkeypatch.delenv("XLT_HARNESS_BLOCK")
        plugins.reset()


def test_broken_plugin_is_reported_not_fatal(monkeypatch):
    import importlib.metadata as md

    real = md.entry_points

    def fake(group=None):
        eps = list(real(group=group))
        return eps + [md.EntryPoint("broken", "xlt_no_such_module_anywhere", "xlt_harness")]

    monkeypatch.setattr(md, "entry_points", fake)
    plugins.reset()
    try:
        reg = plugins.registry()
        assert "xnli" in reg.tasks
        (broken,) = plugins.broken_plugins()
        assert broken.name == "broken" and "ModuleNotFoundError" in broken.reason
        r = CliRunner().invoke(main, ["plugins", "--json"])
        rows = {row["name"]: row for row in json.loads(r.stdout)}
        assert rows["broken"]["error"] == broken.reason and rows["broken"]["hooks"] == []
    finally:
        monkeypatch.undo()
        plugins.reset()


@pytest.mark.slow
def test_template_plugin_runs_in_a_matrix(tmp_path):
    from helpers import write_tiny_matrix

    from harness.core.rows import read_jsonl

    if "example-nli" not in plugins.registry().tasks:
        pytest.skip("examples/plugin-template is not installed (scripts/test.sh installs it)")
    path = write_tiny_matrix(tmp_path / "c.yaml", "template", tmp_path / "out", "example-nli", ["en", "fr"],
                             max_steps=3, max_length=48)
    r = CliRunner().invoke(main, ["matrix", "run", str(path)])
    assert r.exit_code == 0, r.output
    rows = read_jsonl(tmp_path / "out" / "leaderboard.jsonl")
    assert sorted((row["task"], row["language"], row["n"]) for row in rows) == [
        ("example-nli", "en", 40), ("example-nli", "fr", 40)]


@pytest.mark.slow
def test_template_plugin_adds_a_task_kind_and_a_metric_the_report_bootstraps(tmp_path):
    """examples/plugin-template registers kind ``ordinal`` and metric ``ordinal_error`` (a per-example scorer):
    a matrix trains and scores the task, and ``leaderboard report`` resamples it over examples, with no core edit."""
    from harness.core.rows import read_jsonl
    from harness.results.bootstrap import predictions_path, scored

    reg = plugins.registry()
    if "example-nli-ordinal" not in reg.tasks:
        pytest.skip("examples/plugin-template is not installed (scripts/test.sh installs it)")
    assert reg.origin[("task type", "ordinal")] == reg.origin[("metric", "ordinal_error")] == "example_nli"
    cfg = {"name": "ord", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"], "device": "cpu",
           "intermediate": ["none", "mnli"], "targets": [{"name": "example-nli-ordinal", "languages": ["en", "fr"]}],
           "data": {"example-nli-ordinal": "synthetic", "mnli": "synthetic"},
           "train": {"lr": 0.001, "batch_size": 8, "max_steps": 3, "max_length": 48}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(main, ["matrix", "run", str(tmp_path / "c.yaml")])
    assert r.exit_code == 0, r.output
    board = tmp_path / "out" / "leaderboard.jsonl"
    rows = [row for row in read_jsonl(board) if row["metric"] == "ordinal_error"]
    assert len(rows) == 4 and all("mean-abs-rank-distance(entailment<neutral<contradiction)" in row["signature"]
                                  for row in rows)
    scale = ("entailment", "neutral", "contradiction")
    for row in rows:  # by hand: the distance on the scale, per example, from the predictions file
        row["_file"] = str(board)
        lines = read_jsonl(predictions_path(row))
        hand = [abs(scale.index(x["prediction"]) - scale.index(x["gold"])) for x in lines]
        assert row["value"] == pytest.approx(sum(hand) / len(hand))
        assert scored(row).vector.tolist() == hand  # the record's per-example scorer, checked against the value
    out = CliRunner().invoke(main, ["leaderboard", "report", str(board), "--n-boot", "50", "--json"])
    assert out.exit_code == 0, out.output
    (gain,) = json.loads(out.output)["gains"]
    assert (gain["task"], gain["metric"], gain["intermediate"]) == ("example-nli-ordinal", "ordinal_error", "mnli")
    assert gain["method"] == ("paired: seeds (1 seed; training-seed variance not covered), then examples per language "
                              "(the test sets are not parallel)")
