"""Where a row's data and model came from: source kind, location, resolved revision and fingerprint.

Computed when the plan is built (hub revisions through the lock file, see ``harness.planning.lock``) and carried in each
evaluation node's ``params["provenance"]``, which is left out of the node key: everything in it is already part of
the key (data fingerprints, resolved revisions, the model folder's files) except locations and full hashes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.specs import ModelSpec
from harness.planning.lock import Lock, weights_revision

DATA_KINDS = ("synthetic", "local", "hub")
MODEL_KINDS = ("builtin", "local", "hub")


def model_kind(spec: ModelSpec) -> str:
    """``builtin`` (built in-process by its family, ``local:NAME``), ``local`` (a folder) or ``hub`` (an id)."""
    if spec.source.startswith("local:"):
        return "builtin"
    return "local" if Path(spec.source).expanduser().exists() else "hub"


def model_id(spec: ModelSpec) -> str:
    """A model's id in rows: its hub id or folder, or ``local:NAME`` for a model its family builds (two specs of
    one built-in family, e.g. two sizes, never share an id)."""
    return f"local:{spec.name}" if model_kind(spec) == "builtin" else spec.source


def resolve_model(spec: ModelSpec, lock: Lock) -> tuple[ModelSpec, dict[str, Any]]:
    """The spec pinned at its resolved hub revision (hub models), and its provenance for rows."""
    kind = model_kind(spec)
    weights = None
    revision = spec.revision
    if kind == "hub":
        revision = lock.hub_revision("model", spec.source, spec.revision,
                                     fix=f"set model {spec.name!r}'s source to a local folder of its files")
        spec = spec.with_overrides(revision=revision)
    elif kind == "local":
        weights = lock.model_weights(spec.name, Path(spec.source).expanduser().resolve())
        revision = weights_revision(weights)
    return spec, {"source": kind, "id": model_id(spec), "revision": revision, "weights_sha256": weights}


def data_provenance(task: str, source: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """One task's data provenance: source kind, path or hub id, resolved revision, content fingerprint."""
    out = {"task": task, "source": source["kind"], "location": source.get("dataset") or source.get("path"),
           "revision": source.get("revision"), "fingerprint": fingerprint}
    if source.get("helpers"):
        out["helpers"] = [{"id": h, "revision": r} for h, r in sorted(source["helpers"].items())]
    return out


def row_fields(provenance: dict[str, Any] | None) -> dict[str, Any]:
    """The row fields an evaluation node's provenance fills (empty for a node planned before provenance)."""
    if not provenance:
        return {}
    data, inter, model = provenance["data"], provenance.get("intermediate_data") or [], provenance["model"]
    return {
        "model_id": model["id"], "model_revision": model["revision"], "model_source": model["source"],
        "model_weights_sha256": model["weights_sha256"], "data_source": data["source"],
        "data_location": data["location"], "data_revision": data["revision"], "data_fingerprint": data["fingerprint"],
        "data_helpers": data.get("helpers"), "intermediate_data": inter,
        "synthetic": any(d["source"] == "synthetic" for d in [data, *inter]),
    }
