"""What a plan will cost before its first node runs: device-hours, disk with and without ``--prune``.

A model, not a measurement: each node's work is counted from the plan (parameters × tokens × steps) and turned
into seconds through a per-device throughput table. Every figure says where it comes from:

- **work** (FLOPs): training ``6·N·T`` (``8·N·T`` with gradient checkpointing), forward passes ``2·N·T`` (PaLM,
  Chowdhery et al. 2022, app. B; N the non-embedding parameters that run, T tokens). Examples per split are
  *measured* from the data where the plan's validation counted them (``<output_dir>/validated/``), else *declared*
  by the task (``TaskSpec.sizes``); tokens per example are the task's declared ``mean_tokens`` capped at
  ``max_length``, else ``max_length`` (an upper bound). A split with neither count is **unknown**, never guessed.
- **throughput**: a device's rated dense peak (``docs/paper-recipe.md`` §4) × an *assumed* MFU, plus per-step
  optimizer traffic over memory bandwidth; or, for the CPU, constants *measured* on this project's 2-core machine
  (see :data:`CPU_MEASURED`). Where the cache already holds finished nodes, each stage's estimate is scaled by
  measured/estimated over them (*calibrated*).
- **disk**: the fp32 weights each training node keeps (``4·P`` bytes), predictions files, and resume checkpoints
  (weights + AdamW state, ``16·P``) while a training node runs.

This module imports neither torch nor the modeling floor: the caller hands in each model's description.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.core.registry import registry
from harness.planning.validate import _read_verdicts, _task_sources, _verdict_file
from harness.toolkit.data import SplitRef

ASSUMED_MFU = 0.30  # of the rated bf16 peak, for fine-tuning encoders with eager attention (assumed, not measured)
GPU_NODE_SECONDS = 30.0  # start-up of one node on a GPU: process, imports, data (assumed)
GPU_LOAD_BYTES_PER_S = 2e9  # reading weights from local disk (assumed)
PREDICTION_BYTES = 200  # one predictions line (measured on the tiny configs: 150-250 bytes)


@dataclass(frozen=True)
class Device:
    """Throughput of one device kind. ``peak_tflops``: rated dense bf16 (None: no rated peak, use ``measured``)."""

    name: str
    label: str
    peak_tflops: float | None
    memory_gib: float | None
    bandwidth_gbs: float | None
    source: str
    measured: dict[str, float] = field(default_factory=dict)


# Fitted to the event logs of `harness matrix run configs/{quickstart,intermediate-tiny,xtreme-tiny}.yaml` on this
# project's machine (2 shared CPU cores, fp32, torch 2.13 CPU), 2026-12-07: first node of a process 5-7 s (imports,
# tokenizer), a tiny-xlmr step 11 ms and a tiny-xlmr-large step 27 ms (the difference gives the FLOP rate at
# max_length tokens), an evaluation node 35 ms. `benchmarks/cost_check.py` reruns the check.
CPU_MEASURED = {"flops_per_s": 45e9, "step_s": 0.0087, "train_node_s": 0.15, "eval_node_s": 0.035,
                "process_start_s": 7.0, "bandwidth_gbs": 10.0}

DEVICES: dict[str, Device] = {d.name: d for d in (
    Device("cpu", "CPU, 2 cores (this project's machine)", None, None, 10.0,
           "measured: the tiny configs' event logs on 2 cores (harness.planning.cost.CPU_MEASURED)", CPU_MEASURED),
    Device("a100", "NVIDIA A100 SXM4", 312.0, 80.0, 2039.0, "rated dense bf16, docs/paper-recipe.md §4"),
    Device("h100-sxm", "NVIDIA H100 SXM5", 989.0, 80.0, 3350.0, "rated dense bf16, docs/paper-recipe.md §4"),
    Device("h100-pcie", "NVIDIA H100 PCIe", 756.0, 80.0, 2000.0, "rated dense bf16, docs/paper-recipe.md §4"),
    Device("h200", "NVIDIA H200 SXM", 989.0, 141.0, 4800.0, "rated dense bf16, docs/paper-recipe.md §4"),
    Device("l40s", "NVIDIA L40S", 362.0, 48.0, 864.0, "rated dense bf16, docs/paper-recipe.md §4"),
    Device("v100", "NVIDIA V100 SXM2 (fp16 tensor)", 125.0, 32.0, 900.0, "rated fp16 tensor, docs/paper-recipe.md §4"),
)}


@dataclass
class NodeCost:
    """One node's estimate: seconds on the device (None: unknown, ``why`` says which count is missing)."""

    key: str
    stage: str
    flops: float | None
    steps: int
    seconds: float | None
    disk_bytes: int
    checkpoint_bytes: int  # resume checkpoint while it runs (training nodes)
    sizes: str  # 'measured', 'declared', or 'unknown'
    why: str = ""


class Counts:
    """Examples per (task, split name, language): measured by the plan's validation, else declared by the task."""

    def __init__(self, plan) -> None:
        self.measured: dict[str, dict[str, int]] = {}
        for name, info in _task_sources(plan).items():
            self.measured[name] = _read_verdicts(_verdict_file(plan.output_dir, info))

    def get(self, task: str, split: str, language: str) -> tuple[int | None, str]:
        ref = SplitRef.parse(split)
        n = self.measured.get(task, {}).get(f"{ref.name}|{language}")
        basis = "measured"
        if n is None:
            n = registry().task(task).spec.sizes.get(ref.name)
            basis = "declared"
        if n is None:
            return None, "unknown"
        return len(ref.apply(range(n))), basis


def _tokens(task: str, max_length: int) -> int:
    mean = registry().task(task).spec.mean_tokens
    return min(int(max_length), int(mean)) if mean else int(max_length)


def compute_params(meta: dict[str, Any], family: str, kind: str) -> int | None:
    """Parameters that do matmul work per token: the non-embedding ones (an mT5 used as an encoder runs half of
    them; generation adds the output projection)."""
    p = meta.get("params_nonembed")
    if not p:
        return None
    if family == "mt5" and kind != "generation":
        return int(p) // 2
    if kind == "generation":
        return int(p) + int(meta.get("vocab") or 0) * int(meta.get("hidden") or 0)
    return int(p)


def _worst(*bases: str) -> str:
    return "unknown" if "unknown" in bases else ("declared" if "declared" in bases else "measured")


def node_work(node, counts: Counts, meta: dict[str, Any]) -> tuple[float | None, int, str, str]:
    """(FLOPs, optimizer steps, size basis, why unknown) of one node."""
    reg = registry()
    p = node.params
    family = p["model"]["family"]
    if node.stage == "intermediate":
        flops, steps, bases, why = 0.0, 0, [], []
        total_batches = 0.0
        hps = p["hp"]
        hp0 = hps[p["tasks"][0]["name"]]
        for info in p["tasks"]:
            spec = reg.task(info["name"]).spec
            hp = hps[info["name"]]
            n, b = counts.get(info["name"], info.get("train_split") or spec.train_split, spec.train_language)
            bases.append(b)
            if n is None:
                why.append(f"{info['name']} {info.get('train_split') or spec.train_split} size")
                continue
            total_batches += n / int(hp["batch_size"])
        steps = int(hp0["max_steps"] or math.ceil(float(hp0["epochs"]) * math.ceil(total_batches)))
        if why and not hp0["max_steps"]:
            return None, 0, "unknown", "unknown " + ", ".join(why)
        for info in p["tasks"]:
            spec = reg.task(info["name"]).spec
            hp = hps[info["name"]]
            n_c = compute_params(meta, family, spec.kind)
            if n_c is None:
                return None, steps, "unknown", "unknown parameter count of " + p["model"]["name"]
            share = steps / max(1, len(p["tasks"]))
            seq = _tokens(info["name"], hp["max_length"])
            flops += (8 if hp.get("gradient_checkpointing") else 6) * n_c * share * int(hp["batch_size"]) * seq
            n_dev, b = counts.get(info["name"], info.get("dev_split") or spec.select_split, spec.train_language)
            if n_dev:  # the trained head's own English dev score, once
                flops += 2 * n_c * n_dev * seq
        return flops, steps, _worst(*bases), ", ".join(why)
    spec = reg.task(p["task"]["name"]).spec
    n_c = compute_params(meta, family, spec.kind)
    if n_c is None:
        return None, 0, "unknown", "unknown parameter count of " + p["model"]["name"]
    if node.stage == "target":
        hp = p["hp"]
        languages = p.get("languages") or [spec.train_language]
        n, b1 = 0, "measured"
        for lang in languages:
            m, b = counts.get(spec.name, p["train_split"], lang if spec.kind == "generation" else spec.train_language)
            if m is None and not hp["max_steps"]:
                return None, 0, "unknown", f"unknown {spec.name} {p['train_split']} size"
            n, b1 = n + (m or 0), _worst(b1, b)
        per_epoch = max(1, math.ceil(n / int(hp["batch_size"])))
        steps = int(hp["max_steps"] or math.ceil(float(hp["epochs"]) * per_epoch))
        seq = _tokens(spec.name, hp["max_length"])
        flops = (8 if hp.get("gradient_checkpointing") else 6) * n_c * steps * int(hp["batch_size"]) * seq
        n_sel, b2 = counts.get(spec.name, p["select_split"], spec.train_language)
        if n_sel:
            evals = math.ceil(steps / int(hp.get("eval_every") or per_epoch))
            flops += evals * 2 * n_c * n_sel * seq
        return flops, steps, _worst(b1, b2 if n_sel else b1), ""
    flops, bases = 0.0, []
    seq = _tokens(spec.name, p.get("max_length") or 256)
    for split in p["splits"]:
        n, b = counts.get(spec.name, split, p["language"])
        bases.append(b)
        if n is None:
            return None, 0, "unknown", f"unknown {spec.name} {split} size ({p['language']})"
        sides = 2 if spec.kind == "retrieval" else (4 if spec.kind == "generation" else 1)  # queries + candidates; decode
        flops += 2 * n_c * n * seq * sides
    return flops, 0, _worst(*bases), ""


def _seconds(node, flops: float, steps: int, meta: dict[str, Any], device: Device, nproc: int) -> tuple[float | None, str]:
    """Seconds of one node on ``device`` (None: unknown, with the reason)."""
    params = int(meta.get("params") or 0)
    precision = (node.params.get("hp") or {}).get("precision") if node.stage == "target" else None
    if node.stage == "intermediate":
        precision = next(iter(node.params["hp"].values())).get("precision")
    if node.stage == "eval":
        precision = node.params.get("eval_precision") or "fp32"
    training = node.stage in ("intermediate", "target")
    if device.peak_tflops is None:
        m = device.measured
        fixed = m["train_node_s"] if training else m["eval_node_s"]
        optimizer = steps * 48 * params / (m["bandwidth_gbs"] * 1e9)  # AdamW reads/writes ~48 bytes per parameter
        return fixed + steps * m["step_s"] + optimizer + flops / m["flops_per_s"], ""
    if precision == "fp32":
        return None, f"{node.stage} in fp32: no rated fp32 rate in the table (set precision bf16)"
    rate = device.peak_tflops * 1e12 * ASSUMED_MFU * max(1, nproc if training else 1)
    optimizer = steps * 48 * params / max(1, nproc) / ((device.bandwidth_gbs or 1000.0) * 1e9)
    load = 4 * params / GPU_LOAD_BYTES_PER_S
    return GPU_NODE_SECONDS + load + optimizer + flops / rate, ""


def plan_cost(plan, meta_of: Callable[[dict[str, Any]], dict[str, Any]], device: str = "cpu",
              history: list[dict[str, Any]] | None = None, done: Callable[[str], bool] | None = None,
              nproc: int | None = None, workers: int | None = None) -> dict[str, Any]:
    """Per stage and in total: nodes to run, device-hours, disk kept with and without ``--prune``.

    ``meta_of(model params)``: the model's description (params, params_nonembed, hidden, vocab); ``history``: the
    cache's events (finished nodes calibrate the estimate); ``done(key)``: whether a node is cached already."""
    dev = DEVICES[device]
    nproc = nproc or getattr(plan.config, "nproc", 1) or 1
    workers = workers or plan.config.workers
    counts = Counts(plan)
    metas: dict[str, dict[str, Any]] = {}
    costs: dict[str, NodeCost] = {}
    for key, node in plan.nodes.items():
        name = json.dumps(node.params["model"], sort_keys=True, default=str)
        if name not in metas:
            metas[name] = meta_of(node.params["model"])
        meta = metas[name]
        flops, steps, basis, why = node_work(node, counts, meta)
        params = int(meta.get("params") or 0)
        seconds = None
        if flops is not None:
            seconds, why2 = _seconds(node, flops, steps, meta, dev, nproc)
            why = why or why2
        if node.stage == "eval":
            n = sum(counts.get(node.params["task"]["name"], s, node.params["language"])[0] or 0
                    for s in node.params["splits"])
            disk, ckpt = n * PREDICTION_BYTES, 0
        else:
            disk, ckpt = 4 * params, 16 * params
        costs[key] = NodeCost(key, node.stage, flops, steps, seconds, disk, ckpt, basis, why)

    # calibration: measured / estimated seconds over this cache's finished nodes, per stage
    measured: dict[str, list[float]] = {}
    for e in history or []:
        if e.get("event") == "finish" and e.get("node") in costs and e.get("seconds") is not None:
            measured.setdefault(costs[e["node"]].stage, []).append(0.0)
            est = costs[e["node"]].seconds
            if est:
                measured[costs[e["node"]].stage][-1] = float(e["seconds"]) / est
    scale = {s: sum(v) / len(v) for s, v in measured.items() if v and all(v)}

    stages: dict[str, dict[str, Any]] = {}
    todo = [k for k in plan.nodes if not (done and done(k))]
    for k in todo:
        c = costs[k]
        s = stages.setdefault(c.stage, {"nodes": 0, "seconds": 0.0, "unknown": 0, "why": [], "sizes": set(),
                                        "disk_bytes": 0, "checkpoint_bytes": 0})
        s["nodes"] += 1
        s["sizes"].add(c.sizes)
        s["disk_bytes"] += c.disk_bytes
        s["checkpoint_bytes"] = max(s["checkpoint_bytes"], c.checkpoint_bytes)
        if c.seconds is None:
            s["unknown"] += 1
            if c.why and c.why not in s["why"]:
                s["why"].append(c.why)
        else:
            s["seconds"] += c.seconds * scale.get(c.stage, 1.0)
    gpu = dev.peak_tflops is not None
    out_stages = {}
    for name, s in stages.items():
        per = nproc if gpu and name != "eval" else 1
        known = s["unknown"] == 0
        out_stages[name] = {
            "nodes": s["nodes"], "unknown_nodes": s["unknown"], "why_unknown": s["why"][:3],
            "device_hours": round(s["seconds"] * per / 3600, 6) if known else None,
            "device_hours_known_part": round(s["seconds"] * per / 3600, 6),
            "sizes": _worst(*s["sizes"]) if s["sizes"] else "measured",
            "disk_gb": round(s["disk_bytes"] / 1e9, 3),
            "basis": ("calibrated on finished nodes in this cache (measured/estimated "
                      f"{scale[name]:.2f})" if name in scale else
                      ("measured throughput" if not gpu else f"assumed MFU {ASSUMED_MFU:.0%} of the rated peak")),
        }
    known_all = all(v["device_hours"] is not None for v in out_stages.values())
    total_s = sum(v["device_hours_known_part"] for v in out_stages.values()) * 3600
    if not gpu and todo:  # each worker process: imports, first model and tokenizer
        total_s += dev.measured["process_start_s"] * max(1, workers)
    disk_weights = sum(c.disk_bytes for c in costs.values() if c.stage != "eval")
    disk_preds = sum(c.disk_bytes for c in costs.values() if c.stage == "eval")
    ckpt_peak = max((c.checkpoint_bytes for c in costs.values()), default=0) * max(1, workers)
    # with --prune a training's weights go once its readers finish: at most one intermediate checkpoint's subtree
    # (itself and its target trainings) per worker at a time
    subtree = 0
    for node in plan.by_stage("intermediate"):
        readers = [n for n in plan.by_stage("target") if n.params.get("upstream") == node.key]
        subtree = max(subtree, costs[node.key].disk_bytes + sum(costs[n.key].disk_bytes for n in readers))
    for n in plan.by_stage("target"):
        subtree = max(subtree, costs[n.key].disk_bytes)
    return {
        "device": dev.name, "device_label": dev.label, "device_source": dev.source,
        "gpu": gpu, "nproc": nproc, "workers": workers,
        "assumed_mfu": ASSUMED_MFU if gpu else None,
        "stages": out_stages,
        "device_hours": round(total_s / 3600, 6) if known_all else None,
        "device_hours_known_part": round(total_s / 3600, 6),
        "wall_hours": round(total_s / 3600 / max(1, workers), 6) if known_all else None,
        "disk_gb_no_prune": round((disk_weights + disk_preds) / 1e9, 3),
        "disk_gb_prune_final": round(disk_preds / 1e9, 3),
        "disk_gb_prune_peak": round((subtree * max(1, workers) + disk_preds + ckpt_peak) / 1e9, 3),
        "resume_checkpoint_gb_peak": round(ckpt_peak / 1e9, 3),
        "process_start_s": dev.measured.get("process_start_s") if not gpu else None,
    }
