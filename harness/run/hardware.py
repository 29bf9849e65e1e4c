"""What a node ran on and what it cost, for the ``budget`` block of rows: the device kind and count, the torch and
CUDA versions, and the GPU energy NVML reports (``pynvml``, from the ``nvidia-ml-py`` package). Energy is null,
never an error, where the platform does not report it (CPU, no NVML, a GPU without an energy counter)."""

from __future__ import annotations

import os
from typing import Any


def device_info(device: Any, count: int = 1) -> dict[str, Any]:
    """``{"kind": "cpu" | the GPU's name (e.g. "NVIDIA H100 80GB HBM3"), "count": processes' devices}``."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return {"kind": device.type, "count": count}
    try:
        kind = torch.cuda.get_device_name(device.index if device.index is not None else torch.cuda.current_device())
    except (RuntimeError, AssertionError):  # no usable CUDA after all
        kind = "cuda"
    return {"kind": kind, "count": count}


def versions() -> dict[str, str | None]:
    """``{"torch_version": ..., "cuda_version": ...}`` (CUDA: the toolkit torch was built with; null on CPU builds)."""
    import torch

    return {"torch_version": torch.__version__, "cuda_version": torch.version.cuda}


def gpu_indices(device: Any, count: int = 1) -> list[int]:
    """The logical CUDA indices a node uses: ``count`` devices from its own (``cuda`` alone: from 0); [] off CUDA."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return []
    first = device.index or 0
    return list(range(first, first + count))


def _nvml_handles(indices: list[int]) -> list[Any]:
    """NVML handles of logical CUDA indices (``CUDA_VISIBLE_DEVICES`` maps them to physical indices or UUIDs)."""
    import pynvml

    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    handles = []
    for i in indices:
        ref = visible[i] if i < len(visible) else str(i)
        if ref.isdigit():
            handles.append(pynvml.nvmlDeviceGetHandleByIndex(int(ref)))
        else:
            handles.append(pynvml.nvmlDeviceGetHandleByUUID(ref))
    return handles


class Energy:
    """GPU energy over a stretch of work: create it at the start, :meth:`joules` at the end. Counts everything the
    GPUs did meanwhile (other processes on the same GPU included), as NVML's total-energy counter does."""

    def __init__(self, indices: list[int]) -> None:
        self.handles: list[Any] = []
        self.start: list[int] = []
        if not indices:
            return
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handles = _nvml_handles(indices)
            self.start = [pynvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self.handles]  # millijoules
        except Exception:  # noqa: BLE001 - no pynvml, no driver, no counter on this GPU: energy is unknown
            self.handles, self.start = [], []

    def joules(self) -> float | None:
        """Joules used by the GPUs since the start (rounded to 0.001); None where not reported."""
        if not self.handles:
            return None
        try:
            import pynvml

            now = [pynvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self.handles]
        except Exception:  # noqa: BLE001 - the counter went away (driver reset): unknown, not an error
            return None
        return round(sum(b - a for a, b in zip(self.start, now)) / 1000.0, 3)
