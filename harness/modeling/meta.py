"""What a model looks like without its weights (parameter counts, layers, hidden size, …), cached on disk.

A family's ``describe`` builds the architecture on the meta device, and for the tiny models first trains a
tokenizer: seconds per model, and it imports torch. Its answer depends only on the spec (family, source,
revision, options) and on the code that computes it, so it is cached in one small JSON file,
``$XDG_CACHE_HOME/xlt-harness/model-meta.json`` (``XLT_HARNESS_META_CACHE`` overrides the path). The key holds
the spec, the harness and transformers versions and the sha256 of the describing plugin's source file and of
``harness/synthetic.py`` (the tiny tokenizers' corpus), so an edit to either recomputes. Errors (a hub id
unreachable offline) are never cached. This module does not import torch.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import inspect
import json
import os
from pathlib import Path
from typing import Any

from harness import __version__
from harness.core.registry import registry
from harness.core.specs import ModelSpec

META_KEYS = ("params", "params_nonembed", "layers", "hidden", "vocab")


def cache_path() -> Path:
    override = os.environ.get("XLT_HARNESS_META_CACHE")
    if override:
        return Path(override)
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "xlt-harness" / "model-meta.json"


def _file_sha(path: str | Path | None) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else None
    except OSError:
        return None


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def cache_key(spec: ModelSpec, describe_fn: Any) -> str:
    """Everything the description depends on: the spec's identity and options, versions, the code's content."""
    try:
        source = inspect.getsourcefile(describe_fn)
    except TypeError:
        source = None
    parts = {"fn": f"{getattr(describe_fn, '__module__', '')}.{getattr(describe_fn, '__qualname__', '')}",
             "family": spec.family, "source": spec.source, "revision": spec.revision, "options": spec.options,
             "harness": __version__, "transformers": _version("transformers"), "code": _file_sha(source),
             "corpus": _file_sha(Path(__file__).parents[1] / "toolkit" / "synthetic.py")}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, key: str, value: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read(path)
        data[key] = value
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: describe again next time


def describe(spec: ModelSpec) -> dict[str, Any]:
    """Metadata (params, layers, …) from the spec, completed by the family's config-only description (cached)."""
    meta = {k: getattr(spec, k) for k in META_KEYS}
    family = registry().family(spec.family)
    if family.describe is None or all(v is not None for v in meta.values()):
        return meta
    path = cache_path()
    key = cache_key(spec, family.describe)
    found = _read(path).get(key)
    if not isinstance(found, dict):
        try:
            found = family.describe(spec)
            _write(path, key, found)
        except Exception as err:  # a hub id we cannot reach offline: leave the counts unknown
            found = {"describe_error": f"{type(err).__name__}: {err}"}
    for k, v in found.items():
        if meta.get(k) is None:
            meta[k] = v
    return meta
