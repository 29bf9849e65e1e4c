"""Node keys: a sha256 of everything upstream that affects a node, location-free (see :mod:`harness.planning.plan`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.planning.config import NOT_IN_KEY
from harness.toolkit.filehash import file_sha256

_encode_str = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str (ensure_ascii)

# Bump when the pipeline changes what a node computes (invalidates every cached node).
PIPELINE_VERSION = "1"


def _location_free(obj: Any) -> Any:
    """Drop data folder locations (a node's identity is its data's fingerprint, not where the files sit) and
    run-only settings such as ``checkpoint_every``."""
    if isinstance(obj, dict):
        return {k: _location_free(v) for k, v in obj.items() if k != "path" and k not in NOT_IN_KEY}
    if isinstance(obj, list):
        return [_location_free(v) for v in obj]
    return obj


def _key(stage: str, payload: dict[str, Any]) -> str:
    return KeyCoder().key(stage, payload)


class KeyCoder:
    """Node keys for one plan: ``sha256`` of ``json.dumps({"stage", "pipeline", **payload}, sort_keys=True,
    default=str)`` without locations, run-only settings and ``provenance``, byte for byte, but each payload value
    that many nodes share (the model, a task, hyper-parameters: the same object) is serialised once, and each local
    model folder is fingerprinted once. The objects must not change while the coder lives (one ``build_plan``)."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}  # id -> (the object, kept alive; its JSON)
        self._models: dict[int, tuple[Any, str | None]] = {}

    def _text(self, value: Any) -> str:
        if isinstance(value, str):
            return _encode_str(value)
        if value is None or isinstance(value, bool):
            return "null" if value is None else "true" if value else "false"
        if type(value) is int:
            return int.__repr__(value)
        if not isinstance(value, (dict, list)):
            return json.dumps(_location_free(value), sort_keys=True, default=str)
        hit = self._texts.get(id(value))
        if hit is None or hit[0] is not value:
            hit = (value, json.dumps(_location_free(value), sort_keys=True, default=str))
            self._texts[id(value)] = hit
        return hit[1]

    def _model_files(self, model: Any) -> str | None:
        hit = self._models.get(id(model))
        if hit is None or hit[0] is not model:
            hit = (model, local_model_fingerprint(model))
            self._models[id(model)] = hit
        return hit[1]

    def _parts(self, stage: str, payload: dict[str, Any]) -> list[str]:
        items: dict[str, Any] = {"stage": stage, "pipeline": PIPELINE_VERSION}
        items.update((k, v) for k, v in payload.items() if k != "provenance" and k != "path" and k not in NOT_IN_KEY)
        model_files = self._model_files(payload.get("model"))
        if model_files is not None:  # a model loaded from a local folder: its files are part of its identity
            items["model_files"] = model_files
        return [f"{_encode_str(k)}: {self._text(items[k])}" for k in sorted(items)]

    def key(self, stage: str, payload: dict[str, Any]) -> str:
        return _digest("{" + ", ".join(self._parts(stage, payload)) + "}")

    def template(self, stage: str, payload: dict[str, Any], field: str) -> Callable[[Any], str]:
        """``key(stage, {**payload, field: value})`` as a function of ``value`` (``field`` already in
        ``payload``, in its place): the rest is serialised once for all the values."""
        parts = self._parts(stage, payload)
        name = f"{_encode_str(field)}: "
        (i,) = [j for j, part in enumerate(parts) if part.startswith(name)]
        head = "{" + "".join(p + ", " for p in parts[:i]) + name
        tail = "".join(", " + p for p in parts[i + 1:]) + "}"
        return lambda value: _digest(head + self._text(value) + tail)


def _digest(blob: str) -> str:
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def local_model_fingerprint(model: Any) -> str | None:
    """Fingerprint of a model whose ``source`` is a local folder (None otherwise), so a folder rebuilt with other
    weights (or fp16 instead of fp32) under the same path never reuses cached nodes: every byte of every file is
    hashed (:func:`~harness.toolkit.filehash.file_sha256`, remembered while a file is untouched)."""
    source = model.get("source") if isinstance(model, dict) else None
    if not isinstance(source, str) or not source:
        return None
    path = Path(source).expanduser()
    if not path.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path)}\0{f.stat().st_size}\0{file_sha256(f)}\n".encode())
    return "sha256:" + h.hexdigest()
