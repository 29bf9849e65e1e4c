"""Names, labels, splits and messages are user data: rich must print them literally, never as markup."""

from __future__ import annotations

import io
import json
import types

import yaml
from click.testing import CliRunner
from rich.console import Console

from harness.cli.main import main
from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.rows import make_row, write_jsonl_atomic
from harness.core.specs import Task, TaskSpec


def test_leaderboard_show_prints_bracketed_names_literally(tmp_path):
    path = tmp_path / "lb.jsonl"
    rows = [make_row(model="evil[/bold]", intermediate="[red]mnli", task="xnli", language=lang, split="test[0:300]",
                     metric="accuracy", value=value, seed=1) for lang, value in (("en", 50.0), ("de", 25.0))]
    write_jsonl_atomic(path, rows)
    r = CliRunner().invoke(main, ["leaderboard", "show", str(path)])
    assert r.exit_code == 0, r.output
    (line,) = [line for line in r.output.splitlines() if "evil" in line]
    assert [c.strip() for c in line.split("│")[1:-1]] == [
        "evil[/bold]", "-", "[red]mnli", "xnli", "test[0:300]", "accuracy", "50.00", "25.00", "25.00"]


def _config(tmp_path, **extra):
    cfg = {"name": "esc[/bold]", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"], "device": "cpu",
           "targets": [{"name": "xnli", "languages": ["en", "de"], "eval_splits": ["test[0:300]"]}],
           "data": {"xnli": "synthetic"}, "train": {"max_steps": 1, "batch_size": 4, "max_length": 16}, **extra}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_plan_nodes_keep_language_brackets(tmp_path):
    r = CliRunner().invoke(main, ["matrix", "plan", str(_config(tmp_path)), "--nodes"])
    assert r.exit_code == 0, r.output
    assert "matrix esc[/bold] (2 cells)" in r.output
    labels = [line.split(maxsplit=2)[2].split("  ←")[0] for line in r.output.splitlines() if line.startswith("  ") and " eval " in line]
    assert labels == ["tiny-xlmr · none → xnli [en] · seed 0", "tiny-xlmr · none → xnli [de] · seed 0"]


def test_failure_line_prints_markup_like_error_literally(tmp_path, monkeypatch):
    def load(**_):
        raise RuntimeError("broken [/bold] loader for [de]")

    spec = TaskSpec(name="evil-t", kind="classification", roles=("target",), languages=("en", "de"),
                    metrics=("accuracy",), labels=("a", "b"))
    plugin = types.SimpleNamespace(register_tasks=hookimpl(lambda register: register(Task(spec, load=load))))
    plugins.register_module(plugin, name="evil-loader")
    try:
        data = tmp_path / "data"
        data.mkdir()
        config = _config(tmp_path, targets=[{"name": "evil-t"}], data={"evil-t": str(data)})
        r = CliRunner().invoke(main, ["matrix", "run", str(config)])  # the plan-time data check meets it first
        assert r.exit_code == 2 and "RuntimeError: broken [/bold] loader for [de]" in r.output, r.output
        monkeypatch.setattr("harness.planning.validate.validate_plan", lambda plan: None)  # now the run-time failure line
        r = CliRunner().invoke(main, ["matrix", "run", str(config)])
        assert r.exit_code == 1, r.output
        (line,) = [line for line in r.stderr.splitlines() if line.startswith("failed")]
        assert line.startswith("failed tiny-xlmr · none → evil-t · seed 0: ")
        assert "broken [/bold] loader for [de]" in line
    finally:
        plugins.reset()


def test_progress_description_keeps_brackets():
    from harness.run.progress import MatrixProgress

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    node = types.SimpleNamespace(key="k1", stage="eval", label="m · none → xnli [de] · [/bold]")
    plan = types.SimpleNamespace(nodes={"k1": node})
    with MatrixProgress(console, plan) as progress:
        progress.update(node, {"step": 1, "total": 2, "loss": 0.5})
    assert "eval: m · none → xnli [de] · [/bold]" in out.getvalue()


def test_plugins_table_escapes_names():
    plugin = types.SimpleNamespace(register_executors=hookimpl(lambda register: register("local2", dict)))
    plugins.register_module(plugin, name="odd[/bold]")
    try:
        r = CliRunner().invoke(main, ["plugins"])
        assert r.exit_code == 0, r.output
        assert any("odd[/bold]" in line and "executor:local2" in line for line in r.output.splitlines())
        assert {row["name"] for row in json.loads(CliRunner().invoke(main, ["plugins", "--json"]).stdout)} >= {
            "odd[/bold]", "xnli"}
    finally:
        plugins.reset()
