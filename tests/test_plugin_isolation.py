"""A bad third-party plugin is reported in one line naming its package, and everything else keeps working.

Each case installs fake distributions the way pip does (a real ``*.dist-info`` folder with ``entry_points.txt`` in
the ``xlt_harness`` group, on a temporary ``sys.path`` entry): one bad plugin beside one good third-party plugin.
Then the registry, ``harness plugins``, ``harness tasks`` and a tiny matrix that does not use the bad plugin
(tiny-xlmr, synthetic XNLI) must all work.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import write_tiny_matrix

from harness.cli.main import main
from harness.core import registry as plugins
from harness.core.rows import read_jsonl

HEADER = "from harness.api import ModelSpec, Task, TaskSpec, hookimpl\n\n"


def task_plugin(name: str, kind: str = "classification") -> str:
    spec = (f"TaskSpec(name={name!r}, kind={kind!r}, roles=('target',), languages=('en',), metrics=('accuracy',), "
            "labels=('a', 'b'))")
    return HEADER + f"@hookimpl\ndef register_tasks(register):\n    register(Task({spec}, load=lambda **kw: []))\n"


# case -> (plugin module source, the reason its one line must give)
CASES = {
    "import_error": (
        HEADER + "import xlt_no_such_dependency_anywhere  # noqa: F401\n",
        "import of 'xlt_evil_import_error' failed: ModuleNotFoundError: "
        "No module named 'xlt_no_such_dependency_anywhere'",
    ),
    "hook_raises": (  # registers a model first: a failing plugin contributes nothing at all
        HEADER + "@hookimpl\ndef register_models(register):\n"
        "    register(ModelSpec('evil-model', family='tiny-xlmr', source='local:tiny-xlmr'))\n"
        "    raise RuntimeError('boom from the plugin')\n",
        "register_models raised RuntimeError: boom from the plugin",
    ),
    "empty_task_name": (task_plugin(""), "register_tasks: task name '' is not a safe name"),
    "unsafe_task_name": (task_plugin("../evil[/bold]"), "register_tasks: task name '../evil[/bold]' is not a safe name"),
    "invalid_task_field": (
        task_plugin("evil-task", kind=""),
        "register_tasks: task 'evil-task': name its kind (a registered task type",
    ),
    "duplicate_builtin": (
        task_plugin("xnli"),
        "task 'xnli' is already registered by plugin 'xnli' (package xlt-harness 0.1.0)",
    ),
    "misspelled_hook": (
        HEADER + "@hookimpl\ndef register_task(register):\n    pass\n",
        "unknown hook 'register_task' (did you mean 'register_tasks'?)",
    ),
    "unknown_specname": (
        HEADER + "@hookimpl(specname='register_taskz')\ndef add_tasks(register):\n    pass\n",
        "unknown hook 'register_taskz' (did you mean 'register_tasks'?)",
    ),
}


def install(site: Path, package: str, module: str, source: str, entry_point: str) -> None:
    """A distribution ``package`` 0.1 whose ``xlt_harness`` entry point ``entry_point`` is ``module``."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{package.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[xlt_harness]\n{entry_point} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site folder on sys.path with the good plugin installed; the registry reloads from it."""
    site = tmp_path / "site"
    site.mkdir()
    install(site, "xlt-good-plugin", "xlt_good_plugin", task_plugin("good-task"), "good")
    monkeypatch.syspath_prepend(str(site))
    plugins.reset()
    yield site
    plugins.reset()
    for name in [m for m in sys.modules if m.startswith(("xlt_evil_", "xlt_good_"))]:
        del sys.modules[name]


def lines_naming(text: str, package: str) -> list[str]:
    return [line for line in text.splitlines() if package in line]


def tiny_matrix(tmp_path: Path) -> Path:
    return write_tiny_matrix(tmp_path / "matrix.yaml", "isolation", tmp_path / "out", "xnli", ["en", "de"],
                             max_steps=2, max_length=32)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_plugin_is_one_line_and_the_rest_works(case, site, tmp_path):
    source, reason = CASES[case]
    package = f"xlt-evil-{case.replace('_', '-')}"
    install(site, package, f"xlt_evil_{case}", source, f"evil_{case}")

    broken = plugins.broken_plugins()
    assert [(b.name, b.package, b.version) for b in broken] == [(f"evil_{case}", package, "0.1")]
    assert reason in broken[0].reason
    assert broken[0].line() == f"plugin 'evil_{case}' (package {package} 0.1) is broken and was skipped: " + \
        broken[0].reason
    reg = plugins.registry()
    assert reg.origin[("task", "good-task")] == "good" and reg.origin[("task", "xnli")] == "xnli"
    assert "evil-model" not in reg.models and "evil-task" not in reg.tasks

    runner = CliRunner()
    r = runner.invoke(main, ["plugins"])
    assert r.exit_code == 0, r.output
    assert len(lines_naming(r.output, package)) == 1, r.output
    assert reason in " ".join(r.output.split())
    listed = {line.split("│")[1].strip() for line in r.stdout.splitlines() if line.count("│") >= 4}
    assert {"good", "xnli", "tiny_xlmr", "harness.orchestration.local_executor"} <= listed and f"evil_{case}" not in listed

    r = runner.invoke(main, ["plugins", "--json"])
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["good"]["package"] == "xlt-good-plugin" and rows["good"]["contributes"] == ["task:good-task"]
    assert rows[f"evil_{case}"]["package"] == package and reason in rows[f"evil_{case}"]["error"]
    assert rows[f"evil_{case}"]["contributes"] == [] and rows["xnli"]["error"] is None

    r = runner.invoke(main, ["tasks", "--json"])
    assert r.exit_code == 0, r.output
    tasks = {t["name"]: t["plugin"] for t in json.loads(r.stdout)}
    assert tasks["good-task"] == "good" and tasks["xnli"] == "xnli"
    assert len(lines_naming(r.stderr, package)) == 1

    config = tiny_matrix(tmp_path)
    r = runner.invoke(main, ["matrix", "plan", str(config), "--json"])
    assert r.exit_code == 0, r.output
    assert {s: v["nodes"] for s, v in json.loads(r.stdout)["stages"].items()} == {"target": 1, "eval": 2}
    r = runner.invoke(main, ["matrix", "run", str(config)])
    assert r.exit_code == 0, r.output
    assert len(lines_naming(r.output, package)) == 1
    rows = read_jsonl(tmp_path / "out" / "leaderboard.jsonl")
    assert sorted((x["task"], x["language"], x["split"], x["metric"], x["n"]) for x in rows) == [
        ("xnli", "de", "test", "accuracy", 60), ("xnli", "en", "test", "accuracy", 60)]


def test_name_clash_between_two_third_party_plugins_names_both_packages(site):
    install(site, "xlt-evil-clash", "xlt_evil_clash", task_plugin("good-task"), "evil_clash")
    (b,) = plugins.broken_plugins()
    # Third-party plugins are collected in registration order (sorted by package): the first one keeps its name.
    assert b.package == "xlt-good-plugin" and b.name == "good"
    assert "task 'good-task' is already registered by plugin 'evil_clash' (package xlt-evil-clash 0.1)" in b.line()
    assert "xlt-good-plugin" in b.line()
    assert plugins.registry().origin[("task", "good-task")] == "evil_clash"


def test_unknown_name_points_at_broken_plugins(site):
    install(site, "xlt-evil-raises", "xlt_evil_raises", HEADER + "@hookimpl\ndef register_tasks(register):\n"
            "    raise ValueError('no')\n", "evil_raises")
    with pytest.raises(KeyError, match=r"Broken plugins \(see `harness plugins`\): evil_raises"):
        plugins.registry().task("evil-task")


def test_hand_registered_plugin_with_a_typo_is_broken_not_fatal():
    import types

    from harness.core.hookspecs import hookimpl

    plugins.reset()
    try:
        plugins.register_module(types.SimpleNamespace(register_modls=hookimpl(lambda register: None)), name="typo")
        (b,) = plugins.broken_plugins()
        assert b.line() == ("plugin 'typo' (registered by hand) is broken and was skipped: unknown hook "
                            "'register_modls' (did you mean 'register_models'?); the hooks are register_models, "
                            "register_model_families, register_tasks, register_task_types, register_metrics, "
                            "register_executors, register_loggers")
        assert "xnli" in plugins.registry().tasks
    finally:
        plugins.reset()
