"""YAML for configs: ``yaml.SafeLoader`` minus what a config should not mean (see :class:`StrictLoader`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class StrictYAMLError(yaml.YAMLError):
    """A document ``SafeLoader`` accepts but a config must not be; the message names the line."""


MAX_CONFIG_BYTES = 1 << 20  # a matrix config is a page of text; more is a mistake (or an attack)
MAX_ALIASES = 100  # anchors/aliases for shared blocks are fine; exponential alias trees ("billion laughs") are not
MAX_NODES = 100_000  # values in the config once every alias is expanded


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` minus what a config should not mean: a repeated key (the last copy would silently win)
    is an error naming both lines; more than :data:`MAX_ALIASES` aliases is an error (an alias bomb loads in no time
    and then costs unbounded time and memory to walk); ``yes``/``no``/``on``/``off`` stay strings (YAML 1.2's core
    schema: ``languages: [no]`` is Norwegian, not False) while ``true``/``false`` are booleans."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise StrictYAMLError(f"line {mark.line + 1}: more than {MAX_ALIASES} aliases (*name); write the "
                                     "blocks out, or use fewer anchors")
        return super().compose_node(parent, index)

    def compose_document(self) -> Any:
        node = super().compose_document()
        sizes: dict[int, int] = {}

        def size(n: Any) -> int:  # expanded size, each shared node counted once per use (memoised: linear time)
            if id(n) not in sizes:
                sizes[id(n)] = 0  # a recursive alias counts as a leaf here (the constructor rejects it)
                kids = [c for kv in n.value for c in kv] if isinstance(n, yaml.MappingNode) else (
                    n.value if isinstance(n, yaml.SequenceNode) else [])
                sizes[id(n)] = min(1 + sum(size(c) for c in kids), MAX_NODES + 1)
            return sizes[id(n)]

        if node is not None and size(node) > MAX_NODES:
            raise StrictYAMLError(f"more than {MAX_NODES} values once its aliases are expanded (an alias bomb?); "
                                 "write the blocks out")
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise StrictYAMLError(f"line {line}: key {key!r} repeats line {seen[key]} (the last copy would "
                                     "silently win); keep one")
            if isinstance(key, (str, int, float, bool)):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                    list("tTfF"))




def load_strict(text: str) -> Any:
    """The one YAML document in ``text``, loaded by :class:`StrictLoader` (a ``SafeLoader``: no Python objects)."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass


def yaml_error(path: Path, err: yaml.YAMLError) -> str:
    """``FILE:LINE:COLUMN: not valid YAML: problem (context)``, with 1-based line and column where YAML marks one."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    return f"{where}: not valid YAML: {problem}" + (f" ({context})" if context else "")
