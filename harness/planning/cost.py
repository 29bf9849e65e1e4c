"""What a plan will cost before its first node runs: device-hours, disk with and without ``--prune``.

A model, not a measurement: each node's work is counted from the plan (parameters × tokens × steps) and turned
into seconds through a per-device throughput table. Every figure says where it comes from:

- **work** (FLOPs): training ``6·N·T`` (``8·N·T`` with gradient checkpointing), forward passes ``2·N·T`` (PaLM,
  Chowdhery et al. 2022, app. B; N the non-embedding parameters that run, T tokens; attention's ``12·L·h·s`` per
  token is left out, a few percent at these lengths). Examples per split are *measured* from the data where the
  plan's validation counted them (``<output_dir>/validated/``), else *declared* by the task (``TaskSpec.sizes``);
  tokens per example are the task's declared ``mean_tokens`` (capped at ``max_length`` for one-sequence kinds),
  else ``max_length`` (an upper bound). A split with neither count is **unknown**, never guessed.
- **throughput**: a GPU's rated dense bf16 peak (``docs/paper-recipe.md`` §4) × an *assumed* MFU (fp32 runs at
  the TF32 rate, *assumed* half the bf16 one), plus per-step optimizer traffic over memory bandwidth; for the CPU,
  constants *measured* on this project's 2-core machine (:data:`CPU_MEASURED`). Where the cache holds nodes that
  finished on the same device kind, each stage's estimate is scaled by measured/estimated over them (*calibrated*).
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
from harness.planning.cost_devices import CPU_MEASURED, DEVICES, Device, kind_of
from harness.planning.validate import _read_verdicts, _task_sources, _verdict_file
from harness.toolkit.data import SplitRef

__all__ = ["ASSUMED_MFU", "CPU_MEASURED", "DEVICES", "Counts", "NodeCost", "kind_of", "node_work", "plan_cost"]

ASSUMED_MFU = 0.30  # of the rated bf16 peak, for fine-tuning encoders with eager attention (assumed, not measured)
GPU_NODE_SECONDS = 30.0  # start-up of one training node on a GPU: process, imports, data (assumed)
GPU_EVAL_NODE_SECONDS = 5.0  # start-up of one evaluation node, in a worker already running (assumed)
GPU_LOAD_BYTES_PER_S = 2e9  # reading weights from local disk (assumed)
PREDICTION_BYTES = 200  # one predictions line (measured on the tiny configs: 150-250 bytes)
OPTIMIZER_BYTES = 48  # AdamW reads and writes ~48 bytes per parameter per step (fp32 weights, grads, 2 moments)
ONE_SEQUENCE = ("classification", "tagging", "mlm", "retrieval")  # kinds encoding one sequence per example


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
        """(examples, 'measured' | 'declared' | 'unknown') of one split slice in one language."""
        ref = SplitRef.parse(split)
        n = self.measured.get(task, {}).get(f"{ref.name}|{language}")
        basis = "measured"
        if n is None:
            n = registry().task(task).spec.sizes.get(ref.name)
            basis = "declared"
        if n is None:
            return None, "unknown"
        return len(ref.apply(range(n))), basis


def tokens(task: str, max_length: int) -> int:
    """Tokens the model encodes for one example: the declared mean (capped at ``max_length`` where an example is
    one sequence), else ``max_length``."""
    spec = registry().task(task).spec
    if not spec.mean_tokens:
        return int(max_length)
    return min(int(max_length), int(spec.mean_tokens)) if spec.kind in ONE_SEQUENCE else int(spec.mean_tokens)


def compute_params(meta: dict[str, Any], kind: str) -> int | None:
    """Parameters that do matmul work per token: the non-embedding ones (an encoder-decoder used as an encoder
    runs about half of them; generation adds the output projection)."""
    p = meta.get("params_nonembed")
    if not p:
        return None
    if kind == "generation":
        return int(p) + int(meta.get("vocab") or 0) * int(meta.get("hidden") or 0)
    if meta.get("decoder_layers"):
        return int(p) // 2
    return int(p)


def _worst(*bases: str) -> str:
    return "unknown" if "unknown" in bases else ("declared" if "declared" in bases else "measured")


def _train_factor(hp: dict[str, Any]) -> int:
    return 8 if hp.get("gradient_checkpointing") else 6


Work = tuple[float | None, int, str, str]  # FLOPs, optimizer steps, size basis, why unknown


def _intermediate_work(node, counts: Counts, meta: dict[str, Any]) -> Work:
    reg, p = registry(), node.params
    hps = p["hp"]
    hp0 = hps[p["tasks"][0]["name"]]
    batches, bases, why = 0.0, [], []
    for info in p["tasks"]:
        spec = reg.task(info["name"]).spec
        split = info.get("train_split") or spec.train_split
        n, b = counts.get(info["name"], split, spec.train_language)
        bases.append(b)
        if n is None:
            why.append(f"{info['name']} {split} size")
        else:
            batches += n / int(hps[info["name"]]["batch_size"])
    if why and not hp0["max_steps"]:
        return None, 0, "unknown", "unknown " + ", ".join(why)
    steps = int(hp0["max_steps"] or math.ceil(float(hp0["epochs"]) * math.ceil(batches)))
    flops = 0.0
    for info in p["tasks"]:  # the steps are shared evenly between the mixed tasks
        spec = reg.task(info["name"]).spec
        hp = hps[info["name"]]
        n_c = compute_params(meta, spec.kind)
        if n_c is None:
            return None, steps, "unknown", "unknown parameter count of " + p["model"]["name"]
        seq = tokens(info["name"], hp["max_length"])
        flops += _train_factor(hp) * n_c * steps / len(p["tasks"]) * int(hp["batch_size"]) * seq
        n_dev, _ = counts.get(info["name"], info.get("dev_split") or spec.select_split, spec.train_language)
        flops += 2 * n_c * (n_dev or 0) * seq  # the trained head's own English dev score, once
    return flops, steps, _worst(*bases), ", ".join(why)


def _target_work(node, counts: Counts, meta: dict[str, Any]) -> Work:
    p = node.params
    spec = registry().task(p["task"]["name"]).spec
    n_c = compute_params(meta, spec.kind)
    if n_c is None:
        return None, 0, "unknown", "unknown parameter count of " + p["model"]["name"]
    hp = p["hp"]
    n, basis = 0, "measured"
    for lang in p.get("languages") or [spec.train_language]:  # generation trains on every pair (bitext)
        m, b = counts.get(spec.name, p["train_split"], lang if spec.kind == "generation" else spec.train_language)
        if m is None and not hp["max_steps"]:
            return None, 0, "unknown", f"unknown {spec.name} {p['train_split']} size"
        n, basis = n + (m or 0), _worst(basis, b)
    per_epoch = max(1, math.ceil(n / int(hp["batch_size"])))
    steps = int(hp["max_steps"] or math.ceil(float(hp["epochs"]) * per_epoch))
    seq = tokens(spec.name, hp["max_length"])
    flops = _train_factor(hp) * n_c * steps * int(hp["batch_size"]) * seq
    n_sel, b2 = counts.get(spec.name, p["select_split"], spec.train_language)
    if n_sel:  # checkpoint selection: one English dev pass per evaluation
        flops += math.ceil(steps / int(hp.get("eval_every") or per_epoch)) * 2 * n_c * n_sel * seq
        basis = _worst(basis, b2)
    return flops, steps, basis, ""


def _eval_work(node, counts: Counts, meta: dict[str, Any]) -> Work:
    p = node.params
    spec = registry().task(p["task"]["name"]).spec
    n_c = compute_params(meta, spec.kind)
    if n_c is None:
        return None, 0, "unknown", "unknown parameter count of " + p["model"]["name"]
    seq = tokens(spec.name, p.get("max_length") or 256)
    sides = 2 if spec.kind == "retrieval" else (4 if spec.kind == "generation" else 1)  # queries+candidates; decode
    flops, bases = 0.0, []
    for split in p["splits"]:
        n, b = counts.get(spec.name, split, p["language"])
        bases.append(b)
        if n is None:
            return None, 0, "unknown", f"unknown {spec.name} {split} size ({p['language']})"
        flops += 2 * n_c * n * seq * sides
    return flops, 0, _worst(*bases), ""


def node_work(node, counts: Counts, meta: dict[str, Any]) -> Work:
    """(FLOPs, optimizer steps, size basis, why unknown) of one node."""
    fn = {"intermediate": _intermediate_work, "target": _target_work}.get(node.stage, _eval_work)
    return fn(node, counts, meta)


def _precision(node) -> str:
    if node.stage == "intermediate":
        return next(iter(node.params["hp"].values())).get("precision") or "fp32"
    if node.stage == "target":
        return node.params["hp"].get("precision") or "fp32"
    return node.params.get("eval_precision") or "fp32"


def node_seconds(node, flops: float, steps: int, params: int, device: Device, nproc: int) -> float:
    """Seconds of one node on ``device``: fixed start-up, per-step overhead and optimizer traffic, FLOPs / rate."""
    training = node.stage in ("intermediate", "target")
    if device.peak_tflops is None:
        m = device.measured
        fixed = m["train_node_s"] if training else m["eval_node_s"]
        optimizer = steps * OPTIMIZER_BYTES * params / (m["bandwidth_gbs"] * 1e9)
        return fixed + steps * m["step_s"] + optimizer + flops / m["flops_per_s"]
    tflops = device.peak_tflops if _precision(node) != "fp32" else device.fp32_tflops
    rate = tflops * 1e12 * ASSUMED_MFU * max(1, nproc if training else 1)
    optimizer = steps * OPTIMIZER_BYTES * params / max(1, nproc) / ((device.bandwidth_gbs or 1000.0) * 1e9)
    start = GPU_NODE_SECONDS if training else GPU_EVAL_NODE_SECONDS
    return start + 4 * params / GPU_LOAD_BYTES_PER_S + optimizer + flops / rate


@dataclass
class _Stage:
    nodes: int = 0
    seconds: float = 0.0
    unknown: int = 0
    why: list[str] = field(default_factory=list)
    sizes: set[str] = field(default_factory=set)
    disk_bytes: int = 0


def node_costs(plan, meta_of: Callable[[dict[str, Any]], dict[str, Any]], dev: Device,
               nproc: int) -> dict[str, NodeCost]:
    """Every node's :class:`NodeCost` on ``dev``."""
    counts = Counts(plan)
    metas: dict[str, dict[str, Any]] = {}
    costs: dict[str, NodeCost] = {}
    for key, node in plan.nodes.items():
        name = json.dumps(node.params["model"], sort_keys=True, default=str)
        meta = metas[name] if name in metas else metas.setdefault(name, meta_of(node.params["model"]))
        flops, steps, basis, why = node_work(node, counts, meta)
        params = int(meta.get("params") or 0)
        seconds = None if flops is None else node_seconds(node, flops, steps, params, dev, nproc)
        if node.stage == "eval":
            n = sum(counts.get(node.params["task"]["name"], s, node.params["language"])[0] or 0
                    for s in node.params["splits"])
            disk, ckpt = n * PREDICTION_BYTES, 0
        else:
            disk, ckpt = 4 * params, 16 * params
        costs[key] = NodeCost(key, node.stage, flops, steps, seconds, disk, ckpt, basis, why)
    return costs


def calibration(costs: dict[str, NodeCost], history: list[dict[str, Any]] | None, device: str) -> dict[str, float]:
    """Per stage: mean measured/estimated seconds over nodes that finished on ``device`` (events' ``device_kind``)."""
    ratios: dict[str, list[float]] = {}
    for e in history or []:
        c = costs.get(e.get("node"))
        if e.get("event") != "finish" or c is None or not c.seconds or e.get("seconds") is None:
            continue
        if e.get("device_kind") != device:
            continue
        ratios.setdefault(c.stage, []).append(float(e["seconds"]) / c.seconds)
    return {s: sum(v) / len(v) for s, v in ratios.items()}


def prune_peak_bytes(plan, costs: dict[str, NodeCost]) -> int:
    """With ``--prune`` a training's weights go once its readers finish: at most one intermediate checkpoint's
    subtree (itself and its target trainings) per worker at a time."""
    subtree = max((costs[n.key].disk_bytes for n in plan.by_stage("target")), default=0)
    for node in plan.by_stage("intermediate"):
        readers = [n for n in plan.by_stage("target") if n.params.get("upstream") == node.key]
        subtree = max(subtree, costs[node.key].disk_bytes + sum(costs[n.key].disk_bytes for n in readers))
    return subtree


def _stage_json(s: _Stage, name: str, per: int, scale: dict[str, float], dev: Device) -> dict[str, Any]:
    hours = round(s.seconds * per / 3600, 6)
    if name in scale:
        throughput, basis = "calibrated", (f"measured on {dev.name}: finished nodes in this cache "
                                           f"(measured/estimated {scale[name]:.2f})")
    elif dev.peak_tflops is None:
        throughput, basis = "measured", f"measured on {dev.name} (benchmarks/cost_calibrate.py)"
    else:
        throughput, basis = "assumed", f"assumed MFU {ASSUMED_MFU:.0%} of the rated {dev.name} peak"
    return {"nodes": s.nodes, "unknown_nodes": s.unknown, "why_unknown": s.why[:3],
            "device_hours": hours if s.unknown == 0 else None, "device_hours_known_part": hours,
            "sizes": _worst(*s.sizes) if s.sizes else "measured", "disk_gb": round(s.disk_bytes / 1e9, 3),
            "throughput": throughput, "device": dev.name, "basis": basis}


def plan_cost(plan, meta_of: Callable[[dict[str, Any]], dict[str, Any]], device: str = "cpu",
              history: list[dict[str, Any]] | None = None, done: Callable[[str], bool] | None = None,
              nproc: int | None = None, workers: int | None = None) -> dict[str, Any]:
    """Per stage and in total: nodes to run, device-hours, disk kept with and without ``--prune``.

    ``meta_of(model params)``: the model's description (params, params_nonembed, hidden, vocab); ``history``: the
    cache's events (nodes finished on ``device`` calibrate the estimate); ``done(key)``: whether a node is cached."""
    dev = DEVICES[device]
    nproc = nproc or getattr(plan.config, "nproc", 1) or 1
    workers = workers or plan.config.workers
    costs = node_costs(plan, meta_of, dev, nproc)
    scale = calibration(costs, history, device)
    stages: dict[str, _Stage] = {}
    todo = [k for k in plan.nodes if not (done and done(k))]
    for k in todo:
        c = costs[k]
        s = stages.setdefault(c.stage, _Stage())
        s.nodes += 1
        s.sizes.add(c.sizes)
        s.disk_bytes += c.disk_bytes
        if c.seconds is None:
            s.unknown += 1
            if c.why and c.why not in s.why:
                s.why.append(c.why)
        else:
            s.seconds += c.seconds * scale.get(c.stage, 1.0)
    gpu = dev.peak_tflops is not None
    out = {name: _stage_json(s, name, nproc if gpu and name != "eval" else 1, scale, dev)
           for name, s in stages.items()}
    known_all = all(v["device_hours"] is not None for v in out.values())
    total_s = sum(v["device_hours_known_part"] for v in out.values()) * 3600
    if not gpu and todo:  # each worker process: imports, first model and tokenizer
        total_s += dev.measured["process_start_s"] * max(1, workers)
    disk_weights = sum(c.disk_bytes for c in costs.values() if c.stage != "eval")
    disk_preds = sum(c.disk_bytes for c in costs.values() if c.stage == "eval")
    ckpt_peak = max((c.checkpoint_bytes for c in costs.values()), default=0) * max(1, workers)
    return {
        "device": dev.name, "device_label": dev.label, "device_source": dev.source, "gpu": gpu,
        "throughput": "assumed" if gpu else "measured", "nproc": nproc, "workers": workers,
        "assumed_mfu": ASSUMED_MFU if gpu else None, "stages": out,
        "device_hours": round(total_s / 3600, 6) if known_all else None,
        "device_hours_known_part": round(total_s / 3600, 6),
        "wall_hours": round(total_s / 3600 / max(1, workers), 6) if known_all else None,
        "disk_gb_no_prune": round((disk_weights + disk_preds) / 1e9, 3),
        "disk_gb_prune_final": round(disk_preds / 1e9, 3),
        "disk_gb_prune_peak": round((prune_peak_bytes(plan, costs) * max(1, workers) + disk_preds + ckpt_peak)
                                    / 1e9, 3),
        "resume_checkpoint_gb_peak": round(ckpt_peak / 1e9, 3),
        "process_start_s": dev.measured.get("process_start_s") if not gpu else None,
    }
