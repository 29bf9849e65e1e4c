"""Which weights file of a hub id or model folder the harness may read (no torch: the preflight uses it too).

Safetensors first; pickle (``pytorch_model.bin``) only through transformers' own loader with
``torch.load(weights_only=True)`` and only where the user's config entry for the model sets
``allow_pickle_weights: true`` (a plugin cannot: the registry refuses a plugin model that turns it on).
"""

from __future__ import annotations

from typing import Any

from harness.core.specs import ModelSpec

SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


class WeightsRefused(OSError):
    """A model has no weights the harness may load (pickle only, without the config's opt-in); one line."""


def pickle_allowed(spec: ModelSpec) -> bool:
    """Whether the user's config entry for this model set ``allow_pickle_weights: true`` (plugins cannot)."""
    return bool(spec.options.get("allow_pickle_weights"))


def choose_weights(spec: ModelSpec, files: list[str] | None) -> tuple[str, dict[str, Any]]:
    """``(weights_format, from_pretrained kwargs)`` for a model whose repo (or folder) holds ``files`` at the pinned
    revision: safetensors first; pickle (``pytorch_model.bin``) only through ``torch.load(weights_only=True)`` and
    only with the model entry's ``allow_pickle_weights: true``. ``files`` None (not listable): safetensors."""
    names = {f.rsplit("/", 1)[-1] for f in files or []}
    if files is None or names & set(SAFE_WEIGHTS):
        return "safetensors", {"use_safetensors": True}
    if names & set(PICKLE_WEIGHTS):
        if pickle_allowed(spec):
            return "pickle", {"use_safetensors": False, "weights_only": True}
        where = f"{spec.source}@{spec.revision}" if spec.revision else spec.source
        raise WeightsRefused(
            f"model {spec.name!r}: {where} holds only pickle weights (pytorch_model.bin), no model.safetensors; set "
            "allow_pickle_weights: true on this model's entry in the config to load them with "
            "torch.load(weights_only=True), or pin a revision that has safetensors (a converted refs/pr/N branch)")
    raise WeightsRefused(f"model {spec.name!r}: {spec.source}@{spec.revision or 'main'} holds no weights file "
                         f"({', '.join(SAFE_WEIGHTS + PICKLE_WEIGHTS)}); check the id and revision")


def model_files(source: str, revision: str | None) -> list[str] | None:
    """The files of a local model folder, or of hub ``source`` at ``revision`` (the hub when reachable, else the
    local cache's snapshot); None when neither can tell."""
    import os
    from pathlib import Path as _P

    folder = _P(os.path.expanduser(source))
    if folder.is_dir():
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    try:
        from huggingface_hub import HfApi, constants

        if not constants.is_offline_mode():
            return [s.rfilename for s in HfApi().model_info(source, revision=revision).siblings or []]
        from huggingface_hub import try_to_load_from_cache

        found = [n for n in SAFE_WEIGHTS + PICKLE_WEIGHTS
                 if isinstance(try_to_load_from_cache(source, n, revision=revision), str)]
        return found or None
    except Exception:  # noqa: BLE001 - unknown: from_pretrained then says why in its own words
        return None


