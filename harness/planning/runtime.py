"""Checks of what would otherwise fail only when a node runs: model options a family cannot build, and the
machine a local run starts on (a CUDA device torch cannot see, more processes than devices or cores).

Model options are checked at plan time with the rest (:func:`harness.planning.validate.validate_plan`), by
building the model's configuration without weights (the family's ``describe``) for every family that builds its
models locally (``needs_source=False``); a hub model's configuration is the Hub's. The machine is checked at the
start of ``matrix run`` with the local executor (a SLURM or Ray job checks on its own nodes: a login node has no GPU).
"""

from __future__ import annotations

import os
from typing import Any

from harness.core.registry import registry
from harness.core.specs import ModelSpec


def _specs(plan) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for node in plan.nodes.values():
        model = node.params.get("model")
        if isinstance(model, dict) and model.get("name") not in out:
            out[model["name"]] = model
    return out


def check_models(plan) -> list[str]:
    """One problem per model whose options its family cannot build (e.g. a hidden size that is not a multiple
    of the heads, a negative size), found before anything runs."""
    reg = registry()
    problems = []
    for name, data in _specs(plan).items():
        family = reg.families.get(data.get("family"))
        if family is None or family.describe is None or family.needs_source:
            continue
        fields = {k: v for k, v in data.items() if k in ModelSpec.__dataclass_fields__}
        try:
            family.describe(ModelSpec(**fields))
        except Exception as err:  # noqa: BLE001 - any failure to build the configuration is the user's to see
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            problems.append(f"model {name} (family {family.name}): options {data.get('options') or {}} cannot be "
                            f"built: {type(err).__name__}: {first}")
    return problems


def _cores() -> int:
    """CPU cores this process may use (its affinity mask, which containers and SLURM set; not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _micro_batches(plan) -> dict[str, int]:
    """Per training node label, its smallest micro-batch (batch_size / grad_accum) over its tasks."""
    out = {}
    for node in plan.nodes.values():
        hp = node.params.get("hp")
        hps = list(hp.values()) if node.stage == "intermediate" and isinstance(hp, dict) else [hp]
        sizes = [h["batch_size"] // max(1, h.get("grad_accum") or 1) for h in hps
                 if isinstance(h, dict) and h.get("batch_size")]
        if sizes:
            out[node.label] = min(sizes)
    return out


def check_machine(plan, device: str, nproc: int | None) -> list[str]:
    """Problems of running ``plan`` locally on ``device`` with ``nproc`` processes per training node."""
    problems = []
    n = nproc or 1
    if device == "auto":  # as harness.modeling.encoder.pick_device resolves it
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no GPU or driver is visible"
            problems.append(f"device: {device!r}, but torch {torch.__version__} sees no CUDA GPU ({why}); use "
                            "device: cpu here, or run where a GPU is (--executor slurm|ray)")
        elif n > torch.cuda.device_count():
            problems.append(f"nproc: {n} processes per training node, but {torch.cuda.device_count()} GPU(s) are "
                            "visible; set nproc at most that (or CUDA_VISIBLE_DEVICES)")
    elif device == "cpu" and n > _cores():
        problems.append(f"nproc: {n} processes per training node on {_cores()} CPU core(s); set nproc at most "
                        f"{_cores()}")
    if n > 1:
        small = {label: m for label, m in _micro_batches(plan).items() if m < n}
        if small:
            label, m = next(iter(small.items()))
            problems.append(f"nproc: {n} processes, but {len(small)} training node(s) have micro-batches of fewer "
                            f"examples (e.g. {label}: batch_size / grad_accum = {m}); raise batch_size, lower "
                            "grad_accum or nproc")
    return problems
