"""Every third-party module that ``harness/`` and ``plugins/`` import is declared in pyproject.toml: in
``dependencies``, or in an optional extra when it is imported only where it is needed (inside a function or a
``try``), so that an install without that extra still imports every module.

Imports are read with ``ast`` (module level and inside functions), and mapped to the distributions that provide
them with ``importlib.metadata.packages_distributions()``."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("harness", "plugins")
OWN = {"harness", "xlt_harness_plugins", "__future__"}  # the project's own packages


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``PyYAML`` = ``pyyaml``, ``faiss_cpu`` = ``faiss-cpu``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(pyproject: str) -> tuple[set[str], dict[str, str]]:
    """The core dependencies, and each optional dependency with the extra that declares it."""
    project = tomllib.loads(pyproject)["project"]
    name = lambda req: normalise(re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0])  # noqa: E731
    extras = {name(r): extra for extra, reqs in project.get("optional-dependencies", {}).items() for r in reqs}
    return {name(r) for r in project.get("dependencies", [])}, extras


def third_party_imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(top-level module, line, guarded)`` for every absolute import of a module outside the standard library and
    the project; ``guarded``: inside a function or a ``try`` block (not run when the module is imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        for full in names:
            top = full.split(".")[0]
            if top not in sys.stdlib_module_names and top not in OWN:
                out.append((top, node.lineno, guarded))
        inner = guarded or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Try))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return out


# Modules whose distribution has another name, for when it is not installed here (installed, the metadata says):
# NVIDIA's NVML bindings install the module ``pynvml`` from the distribution ``nvidia-ml-py`` (its PyPI page).
NOT_INSTALLED_PROVIDERS = {"pynvml": "nvidia-ml-py"}


def problems(pyproject: str, files: list[Path], root: Path = REPO) -> list[str]:
    """One line per import that pyproject.toml does not declare (or declares only in an extra while importing it
    at module level)."""
    core, extras = declared(pyproject)
    providers = md.packages_distributions()
    out = []
    for path in files:
        for module, line, guarded in third_party_imports(path):
            dists = {normalise(d) for d in providers.get(module, [NOT_INSTALLED_PROVIDERS.get(module, module)])}  # not installed: its own name
            where = f"{path.relative_to(root)}:{line}"
            if dists & core:
                continue
            in_extra = sorted(dists & set(extras))
            if not in_extra:
                out.append(f"{where}: imports {module!r} (distribution {', '.join(sorted(dists))}), declared neither "
                           "in pyproject.toml dependencies nor in an optional extra")
            elif not guarded:
                out.append(f"{where}: imports {module!r} at module level, but {in_extra[0]} is only in the extra "
                           f"[{extras[in_extra[0]]}]: import it inside the function that needs it")
    return out


def sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (REPO / folder).rglob("*.py"))


def test_every_imported_distribution_is_declared():
    bad = problems((REPO / "pyproject.toml").read_text(encoding="utf-8"), sources())
    assert bad == [], "undeclared imports:\n" + "\n".join(bad)


def test_removing_a_declaration_is_caught():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '  "huggingface_hub>=0.24",\n' in text
    bad = problems(text.replace('  "huggingface_hub>=0.24",\n', ""), sources())
    hub = [line for line in bad if "'huggingface_hub'" in line]
    assert "harness/planning/lock.py" in "\n".join(hub)
    assert all("declared neither in pyproject.toml dependencies nor in an optional extra" in line for line in hub)
    assert len(hub) == len(bad) and hub  # nothing else is affected
    bad = problems(text.replace('  "pyarrow>=14",\n', ""), sources())
    assert [line.split(":")[0] for line in bad] == ["harness/core/rows_parquet.py"] * len(bad) and bad


def test_an_extra_imported_at_module_level_is_caught(tmp_path):
    mod = tmp_path / "harness" / "m.py"
    mod.parent.mkdir()
    mod.write_text("import os\nimport ray\n\ndef f():\n    import submitit\n\ntry:\n    import playwright\n"
                   "except ImportError:\n    pass\nimport numpy\nfrom . import sibling\nimport harness.api\n")
    text = '[project]\ndependencies = ["numpy>=1"]\n[project.optional-dependencies]\nray = ["ray>=2"]\n' \
           'slurm = ["submitit"]\nbrowser = ["playwright"]\n'
    assert third_party_imports(mod) == [("ray", 2, False), ("submitit", 5, True), ("playwright", 8, True),
                                        ("numpy", 11, False)]
    assert problems(text, [mod], tmp_path) == [
        "harness/m.py:2: imports 'ray' at module level, but ray is only in the extra [ray]: import it inside the "
        "function that needs it"]
    assert problems(text.replace('"numpy>=1"', ""), [mod], tmp_path)[-1].startswith(
        "harness/m.py:11: imports 'numpy' (distribution numpy), declared neither")
