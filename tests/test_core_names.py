"""The core names no task and no model: every built-in task, model and model-family name (read from the
registry) is absent from the code under ``harness/``, outside docstrings and comments.

Checked with ``ast``: a string constant that is not a docstring must not *be* such a name (``task ==
"tatoeba"``, ``family="tiny-xlmr"``; prose in a message may mention one), and an identifier (name, attribute,
function, class, argument, import alias) must not contain one as an ``_``-separated word (``_tatoeba_line``,
``XNLI_LABELS``). Metric names are a namespace of their own: a registered metric (``mlqa_f1``, computing what
MLQA's official script computes) and the ``harness.metrics`` module that implements it are not task references.
Names that are also a task kind (a core concept, e.g. ``mlm``) are exempt. Modules another engineer is rewriting
are listed in ``PENDING`` until they land.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "harness"
PENDING: set[str] = set()  # modules exempted while a branch rewrites them (none now)


def _metric_words() -> set[str]:
    import pkgutil

    import harness.metrics
    from harness.metrics import METRICS

    return set(METRICS) | {m.name for m in pkgutil.iter_modules(harness.metrics.__path__)}


def _builtin_names() -> set[str]:
    from harness.core.registry import registry
    reg = registry()
    names = set(reg.tasks) | set(reg.models) | set(reg.families)
    names |= {m.family for m in reg.models.values()}
    return {n.lower() for n in names} - set(reg.task_types)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def _words(tree: ast.AST):
    """(line, text, is_identifier) of every non-docstring string constant and every identifier."""
    docs = _docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value, False
        else:
            for line, text in _identifiers(node):
                yield line, text, True


def _identifiers(node: ast.AST):
    if isinstance(node, ast.Name):
        yield node.lineno, node.id
    elif isinstance(node, ast.Attribute):
        yield node.lineno, node.attr
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.lineno, node.name
    elif isinstance(node, ast.arg):
        yield node.lineno, node.arg
    elif isinstance(node, ast.alias):
        yield getattr(node, "lineno", 0), node.asname or node.name
    elif isinstance(node, ast.keyword) and node.arg:
        yield node.lineno, node.arg


def offenders(root: Path, names: set[str], skip: set[str] = frozenset(),
              exempt: set[str] = frozenset()) -> list[str]:
    """``path:line: 'name' in 'text'`` for every string equal to a name and every identifier containing one."""
    word = re.compile(r"(?<![a-z0-9])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True))
                      + r")(?![a-z0-9])")
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if rel in skip:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, text, is_identifier in _words(tree):
            low = text.strip().lower()
            if low in exempt:
                continue
            hits = [m.group(1) for m in word.finditer(low)] if is_identifier else [low] if low in names else []
            found += [f"{rel}:{line}: {hit!r} in {text[:60]!r}" for hit in hits]
    return found


def test_names_come_from_the_registry():
    names = _builtin_names()
    assert {"xnli", "tatoeba", "mewslix", "lareqa", "tiny-xlmr"} <= names


def test_the_check_finds_a_planted_name(tmp_path):
    pkg = tmp_path / "harness"
    pkg.mkdir()
    (pkg / "m.py").write_text('"""Docstrings may say xnli."""\n# comments too: xnli\n'
                              'TABLE = {"tatoeba": 1, "squad_v1_f1": 2}\nNOTE = "e.g. --metric xnli=accuracy"\n'
                              'def _xnli_rows(mlqa_f1):\n    return "ok"\n')
    got = offenders(pkg, {"xnli", "tatoeba", "squad_v2", "mlqa"}, exempt={"mlqa_f1"})
    assert sorted(got) == ["harness/m.py:3: 'tatoeba' in 'tatoeba'", "harness/m.py:5: 'xnli' in '_xnli_rows'"]


def test_core_names_no_task_or_model():
    found = offenders(CORE, _builtin_names(), skip=PENDING, exempt=_metric_words())
    if found:
        pytest.fail("the core names built-in tasks/models (declare it on the plugin's TaskSpec instead):\n"
                    + "\n".join(found))
