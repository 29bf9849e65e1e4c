"""How much GPU memory training a model needs: a first-order estimate from the model's shape alone.

Per GPU, in bytes (P parameters, micro-batch b per GPU, sequence length s, hidden h, heads a, FFN width f, L layers):

- **model state**: fp32 master weights 4P, fp32 gradients 4P, AdamW moments 8P; mixed precision (``bf16``/``fp16``
  autocast, as ``harness.training.loop`` runs it) adds the 16-bit weight copies autocast caches, 2P. Data parallel
  (``ddp``) adds a flat gradient buffer for the all-reduce, 4P; ``fsdp`` over N GPUs divides the state by N.
- **activations** per layer (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
  Models", eq. 1, 16-bit activations, generalised to any FFN width): ``s·b·(11h + 5·a·s) + s·b·(3h + 4f)``
  bytes (``+2·s·b·f`` for a gated FFN); fp32 doubles it. The ``5·a·s²·b`` attention-score term is kept
  (eager attention; an upper bound when a fused attention kernel runs). Decoder layers (seq2seq training only) count a second
  attention block for cross-attention. With gradient checkpointing only each layer's input is kept
  (``2·s·b·h`` bytes) plus one layer's activations while it is recomputed.
- **embeddings/logits**: the embedding output ``2·s·b·h``; a language-model head keeps fp32 logits and their
  gradient, ``8·s·b·V``.
- **runtime**: 1 GiB for the CUDA context and allocator fragmentation.

It ignores framework temporaries, so treat it as a planning figure (the usual error is ±20%), not a guarantee.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

GIB = 1024**3
PRECISIONS = ("fp32", "bf16", "fp16")
STRATEGIES = ("single", "ddp", "fsdp")


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per GPU, by component, and the settings they were computed for."""

    weights: int
    gradients: int
    optimizer: int
    comm_buffer: int
    activations: int
    logits: int
    runtime: int
    micro_batch: int
    length: int
    precision: str
    gradient_checkpointing: bool
    strategy: str
    nproc: int

    @property
    def total(self) -> int:
        return (self.weights + self.gradients + self.optimizer + self.comm_buffer + self.activations + self.logits
                + self.runtime)

    @property
    def total_gb(self) -> float:
        return self.total / GIB

    def breakdown(self) -> str:
        parts = [("weights", self.weights), ("grads", self.gradients), ("adam", self.optimizer),
                 ("comm", self.comm_buffer), ("activations", self.activations), ("logits", self.logits),
                 ("runtime", self.runtime)]
        return ", ".join(f"{k} {v / GIB:.1f}" for k, v in parts if v) + " GiB"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "total_gb": round(self.total_gb, 3)}


def layer_activation_bytes(micro_batch: int, length: int, hidden: int, heads: int, ffn: int,
                           gated: bool = False, cross_attention: bool = False) -> int:
    """Activation bytes one transformer layer keeps for backward, with 16-bit activations (see module doc)."""
    s, b, h, a, f = length, micro_batch, hidden, heads, ffn
    attention = s * b * (11 * h + 5 * a * s)
    mlp = s * b * (3 * h + 4 * f + (2 * f if gated else 0))
    layernorm = 4 * s * b * h
    return attention * (2 if cross_attention else 1) + mlp + layernorm


def estimate(shape: dict[str, Any], params: int, micro_batch: int, length: int, precision: str = "fp32",
             gradient_checkpointing: bool = False, strategy: str = "single", nproc: int = 1,
             lm_head: bool = False, target_length: int | None = None, decoder: bool = False) -> MemoryEstimate:
    """Per-GPU training memory of a model of ``shape`` (layers, hidden, heads, intermediate, vocab, decoder_layers,
    gated_ffn; as ``describe`` returns them) with ``params`` parameters.

    ``decoder``: a seq2seq model's decoder runs (sequence-to-sequence training); task heads on the encoder of a
    seq2seq model (mT5 for classification) leave it idle, so only its weights and optimizer state count."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    missing = [k for k in ("layers", "hidden") if not shape.get(k)]
    if missing or not params:
        raise ValueError(f"cannot estimate memory: unknown {', '.join(missing or ['params'])}")
    L, h = int(shape["layers"]), int(shape["hidden"])
    a = int(shape.get("heads") or max(1, h // 64))
    f = int(shape.get("intermediate") or 4 * h)
    dec = int(shape.get("decoder_layers") or 0) if decoder else 0
    vocab = int(shape.get("vocab") or 0)
    gated = bool(shape.get("gated_ffn"))
    shard = nproc if strategy == "fsdp" else 1
    P = int(params)

    weights = 4 * P // shard + (2 * P // shard if precision != "fp32" else 0)
    gradients = 4 * P // shard
    optimizer = 8 * P // shard
    comm = 4 * P if strategy == "ddp" and nproc > 1 else 0
    if strategy == "fsdp" and nproc > 1:  # one layer's weights and gradients are gathered in full for compute
        layer_params = 4 * h * h + (3 if gated else 2) * h * f
        comm = 2 * layer_params * (2 if precision != "fp32" else 4)

    act_scale = 1 if precision != "fp32" else 2
    t = target_length or length
    enc_layer = layer_activation_bytes(micro_batch, length, h, a, f, gated)
    dec_layer = layer_activation_bytes(micro_batch, t, h, a, f, gated, cross_attention=True) if dec else 0
    if gradient_checkpointing:
        kept = L * 2 * length * micro_batch * h + dec * 2 * t * micro_batch * h
        activations = kept + max(enc_layer, dec_layer)
    else:
        activations = L * enc_layer + dec * dec_layer
    activations = activations * act_scale + 2 * length * micro_batch * h * act_scale
    logits = 8 * t * micro_batch * vocab if lm_head else 0
    return MemoryEstimate(weights=weights, gradients=gradients, optimizer=optimizer, comm_buffer=comm,
                          activations=int(activations), logits=logits, runtime=GIB, micro_batch=micro_batch,
                          length=length, precision=precision, gradient_checkpointing=gradient_checkpointing,
                          strategy=strategy, nproc=nproc)


def micro_batch_size(batch_size: int, grad_accum: int, nproc: int = 1) -> int:
    """Examples each GPU processes per forward: the effective batch split over accumulation steps and GPUs."""
    return max(1, math.ceil(batch_size / max(1, grad_accum) / max(1, nproc)))


def estimate_for_hp(meta: dict[str, Any], hp: dict[str, Any], strategy: str = "single", nproc: int = 1,
                    lm_head: bool = False) -> MemoryEstimate:
    """The estimate for a model description (``harness.modeling.encoder.describe``) under resolved hyper-parameters."""
    return estimate(meta, meta.get("params") or 0,
                    micro_batch=micro_batch_size(int(hp["batch_size"]), int(hp["grad_accum"]), nproc),
                    length=int(hp["max_length"]), precision=hp.get("precision") or "fp32",
                    gradient_checkpointing=bool(hp.get("gradient_checkpointing")), strategy=strategy, nproc=nproc,
                    lm_head=lm_head)


def node_estimates(plan, nproc: int | None = None, strategy: str | None = None) -> list[tuple[Any, Any]]:
    """(training node, :class:`MemoryEstimate` or the error text) for every training node of a plan."""
    from harness.core.specs import ModelSpec
    from harness.modeling.encoder import describe

    cfg = plan.config
    nproc = nproc or getattr(cfg, "nproc", 1) or 1
    strat = (strategy or getattr(cfg, "strategy", "ddp")) if nproc > 1 else "single"
    cache: dict[str, Any] = {}
    out = []
    for node in plan.nodes.values():
        if node.stage not in ("intermediate", "target"):
            continue
        model = node.params["model"]
        if model["name"] not in cache:
            try:
                cache[model["name"]] = describe(ModelSpec(**model))
            except Exception as err:  # an unknown architecture offline: say so, do not guess
                cache[model["name"]] = {"describe_error": f"{type(err).__name__}: {err}"}
        meta = cache[model["name"]]
        hps = list(node.params["hp"].values()) if node.stage == "intermediate" else [node.params["hp"]]
        try:
            ests = [estimate_for_hp(meta, hp, strategy=strat, nproc=nproc) for hp in hps]
            out.append((node, max(ests, key=lambda e: e.total)))
        except ValueError as err:
            out.append((node, meta.get("describe_error") or str(err)))
    return out


def plan_warnings(plan, gpu_memory_gb: float | None = None, nproc: int | None = None,
                  strategy: str | None = None) -> list[str]:
    """One line per training node whose estimate exceeds ``gpu_memory_gb`` (default: the config's field)."""
    limit = gpu_memory_gb or getattr(plan.config, "gpu_memory_gb", None)
    if not limit:
        return []
    lines = []
    for node, est in node_estimates(plan, nproc, strategy):
        if isinstance(est, str):
            lines.append(f"{node.label}: memory unknown ({est})")
        elif est.total_gb > limit:
            lines.append(
                f"{node.label}: needs about {est.total_gb:.1f} GiB per GPU > gpu_memory_gb {limit:g} "
                f"({est.breakdown()}; micro-batch {est.micro_batch} x {est.length} tokens, {est.precision}, "
                f"{est.strategy} x{est.nproc}); try precision bf16, gradient_checkpointing, a larger grad_accum, "
                "or strategy fsdp with more processes"
            )
    return lines


def parse_setting(text: str) -> dict[str, Any]:
    """``BATCHxLENGTH[:PRECISION][:ckpt]`` (e.g. ``32x256:bf16:ckpt``) as hyper-parameters for the estimate."""
    parts = text.strip().split(":")
    try:
        batch, length = (int(x) for x in parts[0].lower().split("x"))
    except ValueError:
        raise ValueError(f"memory setting {text!r}: expected BATCHxLENGTH[:fp32|bf16|fp16][:ckpt], "
                         "e.g. 32x256:bf16") from None
    hp: dict[str, Any] = {"batch_size": batch, "grad_accum": 1, "max_length": length, "precision": "fp32",
                          "gradient_checkpointing": False}
    for extra in parts[1:]:
        if extra in PRECISIONS:
            hp["precision"] = extra
        elif extra == "ckpt":
            hp["gradient_checkpointing"] = True
        else:
            raise ValueError(f"memory setting {text!r}: {extra!r} is not one of {', '.join(PRECISIONS)}, ckpt")
    return hp
