"""Built-in plugins build on the public core (``harness.toolkit.formats`` …) and never import another plugin module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
PACKAGE = "xlt_harness_plugins"  # the import name of ROOT/plugins


def _module_name(path: Path, root: Path = PLUGINS) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _imported(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative imports resolved."""
    own = _module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            out.append((node.lineno, prefix))
            # ``from . import mnli`` names a module in ``names``
            out += [(node.lineno, f"{prefix}.{a.name}") for a in node.names]
    return out


def _implements_a_hook(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(d, ast.Name) and d.id == "hookimpl" or isinstance(d, ast.Attribute) and d.attr == "hookimpl"
               for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) for d in node.decorator_list)


def plugin_modules(root: Path = PLUGINS) -> dict[str, Path]:
    """Module name → file of every plugin module: a module that implements a hook (what entry points name).

    Package ``__init__`` files and helper modules that contribute nothing (``models/published.py``: published
    configs shared by the model families) are not plugins.
    """
    return {_module_name(p, root): p for p in sorted(root.rglob("*.py"))
            if p.name != "__init__.py" and _implements_a_hook(p)}


def cross_plugin_imports(root: Path = PLUGINS) -> list[str]:
    """``file:line imports module`` for every plugin module importing another plugin module."""
    plugins = plugin_modules(root)
    bad = []
    for name, path in sorted((_module_name(p, root), p) for p in root.rglob("*.py")):
        for line, target in _imported(path, root):
            if target in plugins and target != name:
                bad.append(f"{path.relative_to(root)}:{line} imports {target}")
    return bad


def test_built_in_plugins_do_not_import_each_other():
    assert len(plugin_modules()) >= 30  # every task, model and executor plugin is seen
    assert cross_plugin_imports() == []


def test_package_init_files_are_empty():
    for init in PLUGINS.rglob("__init__.py"):
        code = [n for n in ast.parse(init.read_text(encoding="utf-8")).body
                if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert code == [], f"{init.relative_to(ROOT)} holds code; plugins share code through harness.toolkit.formats"


def test_entry_points_name_plugin_modules():
    import tomllib

    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["xlt_harness"]
    assert set(eps.values()) <= set(plugin_modules())


def test_the_check_catches_the_old_imports(tmp_path):
    """Before harness.toolkit.formats, udpos imported panx's reader and anli imported the mnli/snli modules."""
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "__init__.py").write_text("")
    hook = "from harness.core.hookspecs import hookimpl\n\n@hookimpl\ndef register_tasks(register):\n    pass\n"
    (tasks / "panx.py").write_text(hook)
    (tasks / "mnli.py").write_text(hook)
    (tasks / "udpos.py").write_text("from .panx import read_tag_file\n" + hook)
    (tasks / "anli.py").write_text("def load_plus():\n    from . import mnli\n" + hook)
    (tasks / "xquad.py").write_text("import xlt_harness_plugins.tasks.panx\n" + hook)
    assert cross_plugin_imports(tmp_path) == ["tasks/anli.py:2 imports xlt_harness_plugins.tasks.mnli",
                     "tasks/udpos.py:1 imports xlt_harness_plugins.tasks.panx",
                     "tasks/xquad.py:1 imports xlt_harness_plugins.tasks.panx"]


@pytest.mark.parametrize("word", ["xnli", "panx", "xquad", "udpos", "tydiqa", "mnli", "tatoeba"])
def test_formats_names_no_task(word):
    """The toolkit is generic: no built-in task name in its code (docstrings aside)."""
    tree = ast.parse((ROOT / "harness" / "toolkit" / "formats.py").read_text(encoding="utf-8"))
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and id(n) not in docs]
    names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)] + strings
    assert not [s for s in names if word in s.lower()]
