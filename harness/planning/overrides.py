"""``--set key.path=value`` on ``harness matrix plan|run|check``: change one config value without editing the YAML.

Each override is ``KEY.PATH=VALUE``: the path names mapping keys and list indices (``train.lr``,
``models.0.train.lr``, ``targets.1.languages``), the value is parsed as a YAML scalar or flow value by the config's
own safe loader (``2e-5``, ``true``, ``null``, ``[en, de]``, ``{lr: 1e-3}``). Overrides apply in order to the config
mapping *before* validation, so a wrong value gets the very error the same value in the YAML file would; a key the
config does not have at that level is an error naming the keys it allows there. The shorthands the config accepts
(``models: tiny-xlmr``, a list entry given by name only) are expanded when a path goes through them. The overridden
config is what is hashed (``config_hash`` in every row), recorded in the lock file and copied beside the run's
outputs (:func:`write_config_copy`).
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from harness.toolkit.yamlload import load_strict

CONFIG_COPY = "config.yaml"  # in OUTPUT_DIR: the config a run ran, its overrides applied


class OverrideError(ValueError):
    """A ``--set`` that cannot apply; the message names the override, the path and what is allowed."""


@dataclass(frozen=True)
class Override:
    """One ``--set``: the path into the config, the parsed value, and the text as given."""

    path: tuple[str, ...]
    value: Any
    text: str


def parse_override(text: str) -> Override:
    """``"train.lr=2e-5"`` → ``Override(("train", "lr"), "2e-5", ...)`` (the value as the YAML loader reads it)."""
    if "=" not in text:
        raise OverrideError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. --set train.lr=2e-5")
    key, raw = text.split("=", 1)
    path = tuple(part.strip() for part in key.strip().split("."))
    if not all(path):
        raise OverrideError(f"--set {text!r}: {key.strip()!r} is not a key path; write keys and list indices "
                            "joined by dots, e.g. models.0.train.lr")
    try:
        value = load_strict(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        reason = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise OverrideError(f"--set {text!r}: {raw!r} is not a YAML value ({reason}); quote a string, write a list "
                            "as [a, b]") from None
    return Override(path, value, text)


def _unwrap(annotation: Any) -> tuple[str, Any]:
    """What a field holds: ``("model", cls)``, ``("list", element annotation)``, ``("dict", None)`` or
    ``("value", None)`` (Optional and unions are looked through)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds = [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
        return next((k for k in kinds if k[0] != "value"), ("value", None))
    if origin is list:
        return "list", (typing.get_args(annotation) or (Any,))[0]
    if origin is dict:
        return "dict", None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    return "value", None


def _where(path: Sequence[str]) -> str:
    return ".".join(path) or "the top level"


# why: one walk down the path, mapping and list steps side by side with their own errors, reads best whole.
def _apply(data: dict[str, Any], ov: Override, schema: type[BaseModel]) -> None:
    node: Any = data
    shape: tuple[str, Any] = ("model", schema)
    for i, seg in enumerate(ov.path):
        here, last = ov.path[:i], i == len(ov.path) - 1
        if isinstance(node, list):
            if not seg.isdigit():
                raise OverrideError(f"--set {ov.text}: {_where(here)} is a list; give an index 0..{len(node) - 1}, "
                                    f"e.g. {_where((*here, '0'))}")
            index = int(seg)
            if index >= len(node):
                raise OverrideError(f"--set {ov.text}: {_where(here)} has {len(node)} entries; give an index "
                                    f"0..{len(node) - 1}")
            shape = _unwrap(shape[1])
            if last:
                node[index] = ov.value
                return
            if isinstance(node[index], str) and shape[0] == "model" and "name" in shape[1].model_fields:
                node[index] = {"name": node[index]}  # the config's shorthand: an entry given by its name
            node = node[index]
            continue
        if not isinstance(node, dict):
            raise OverrideError(f"--set {ov.text}: {_where(here)} is the value {node!r}, not a mapping or a list")
        if shape[0] == "model":
            fields = shape[1].model_fields
            if seg not in fields:
                raise OverrideError(f"--set {ov.text}: {_where((*here, seg))}: unknown field (allowed at "
                                    f"{_where(here)}: {', '.join(fields)})")
            shape = _unwrap(fields[seg].annotation)
        else:  # a free mapping (data, options, executor_options): any key
            shape = ("value", None)
        if last:
            node[seg] = ov.value
            return
        child = node.get(seg)
        if shape[0] == "list":
            if child is None:
                raise OverrideError(f"--set {ov.text}: {_where((*here, seg))} is not set in the config; set the "
                                    f"whole list, e.g. --set {_where((*here, seg))}=[a, b]")
            if not isinstance(child, list):  # the config's shorthand: one entry instead of a list
                child = node[seg] = [child]
        elif child is None and shape[0] in ("model", "dict"):
            child = node[seg] = {}
        node = child


def apply_overrides(raw: Any, overrides: Sequence[str], schema: type[BaseModel]) -> Any:
    """A copy of the config mapping ``raw`` with every ``KEY.PATH=VALUE`` of ``overrides`` applied, in order;
    ``schema`` (the config's pydantic model) says which keys each level allows."""
    if not overrides:
        return raw
    if not isinstance(raw, dict):
        raise OverrideError("--set: the config's top level is not a mapping of fields")
    data = copy.deepcopy(raw)
    for text in overrides:
        _apply(data, parse_override(text), schema)
    return data


def write_config_copy(cfg: BaseModel, config_hash: str, source: str | Path, overrides: Sequence[str],
                      out_dir: Path) -> Path:
    """Write ``OUTPUT_DIR/config.yaml``: the validated config the run ran (overrides applied), with its source file,
    the overrides and the config hash in the header. Loading it gives the same config hash."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / CONFIG_COPY
    if path.resolve() == Path(source).resolve():
        return path  # the config itself lives there: never overwrite what the user wrote
    header = [f"# written by harness matrix run: the config it ran (source: {source})",
              f"# overrides: {' '.join('--set ' + o for o in overrides) if overrides else 'none'}",
              f"# config_hash: {config_hash}"]
    body = yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(header) + "\n" + body, encoding="utf-8")
    tmp.replace(path)
    return path
