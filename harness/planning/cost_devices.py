"""The throughput table of the cost estimate (``harness.planning.cost``): rated GPU peaks and measured CPU rates."""

from __future__ import annotations

from dataclasses import dataclass, field

RATED = "rated dense bf16, docs/paper-recipe.md §4"


@dataclass(frozen=True)
class Device:
    """Throughput of one device kind. ``peak_tflops``: rated dense bf16 (None: no rated peak, use ``measured``);
    ``fp32_tflops``: the rate of fp32 work (TF32 tensor cores, *assumed* half the bf16 rate where not stated)."""

    name: str
    label: str
    peak_tflops: float | None
    memory_gib: float | None
    bandwidth_gbs: float | None
    source: str
    measured: dict[str, float] = field(default_factory=dict)
    fp32_tflops: float | None = None

    def __post_init__(self) -> None:
        if self.fp32_tflops is None and self.peak_tflops is not None:
            object.__setattr__(self, "fp32_tflops", self.peak_tflops / 2)


# The CPU rates (2 shared cores, fp32, torch 2.13 CPU). `benchmarks/cost_calibrate.py` measures flops_per_s (the achieved
# 6·N·T rate of an me5-small-shaped encoder training), step_s (one tiny-xlmr training step, batch 16 x 64 tokens, in a loop of its own) and
# process_start_s (a fresh interpreter importing the stage modules and building the first model); it does not run
# any matrix. train_node_s and eval_node_s (a node's own start-up: data, tokenizer, saving) were FITTED to the event
# logs of `harness matrix run configs/{quickstart,intermediate-tiny,xtreme-tiny}.yaml` (2026-12-07), the runs
# tests/test_cost.py checks against, so that part of the check is not independent.
# Measured 2026-12-07 (benchmarks/cost_calibrate.py): 9.1e10 FLOP/s achieved in training (the raw matmul rate
# was 1.6e11), 15.1 ms per step, 6.7 s per process start (4.3 s in a quieter run: the 2 cores are shared).
# bandwidth_gbs (AdamW's memory traffic) is assumed.
CPU_MEASURED = {"flops_per_s": 9.1e10, "step_s": 0.0151, "train_node_s": 0.15, "eval_node_s": 0.035,
                "process_start_s": 6.7, "bandwidth_gbs": 10.0}

DEVICES: dict[str, Device] = {d.name: d for d in (
    Device("cpu", "CPU, 2 cores (this project's machine)", None, None, 10.0,
           "benchmarks/cost_calibrate.py on 2 cores, node start-up fitted (harness.planning.cost_devices)",
           CPU_MEASURED),
    Device("a100", "NVIDIA A100 SXM4", 312.0, 80.0, 2039.0, RATED),
    Device("h100-sxm", "NVIDIA H100 SXM5", 989.0, 80.0, 3350.0, RATED),
    Device("h100-pcie", "NVIDIA H100 PCIe", 756.0, 80.0, 2000.0, RATED),
    Device("h200", "NVIDIA H200 SXM", 989.0, 141.0, 4800.0, RATED),
    Device("l40s", "NVIDIA L40S", 362.0, 48.0, 864.0, RATED),
    Device("v100", "NVIDIA V100 SXM2 (fp16 tensor)", 125.0, 32.0, 900.0, "rated fp16 tensor, docs/paper-recipe.md §4",
           fp32_tflops=15.7),
)}


def kind_of(device_name: str | None) -> str | None:
    """The table's kind for a device name as torch reports it (``cpu``, ``NVIDIA H100 80GB HBM3`` …); None: not in
    the table."""
    name = (device_name or "").lower()
    if name == "cpu":
        return "cpu"
    for needle, kind in (("h200", "h200"), ("a100", "a100"), ("l40s", "l40s"), ("v100", "v100")):
        if needle in name:
            return kind
    if "h100" in name:
        return "h100-pcie" if "pcie" in name else "h100-sxm"
    return None
