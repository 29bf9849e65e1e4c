"""Encoders, task models and safetensors checkpoints.

A model family's ``load`` returns an :class:`Encoder`: a torch module whose forward takes ``input_ids`` and
``attention_mask`` and returns an object with ``last_hidden_state`` (and ``hidden_states`` when asked), its
tokenizer and its hidden size. A :class:`TaskModel` is that encoder plus one head per task. Between stages only
the encoder travels: the intermediate heads are dropped and the target head starts fresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness.core import files
from harness.core.registry import registry
from harness.core.specs import ModelSpec
from harness.modeling.meta import describe  # noqa: F401  (re-exported: the meta-device description, cached)
from harness.toolkit.weights import WeightsRefused, choose_weights, model_files, pickle_allowed  # noqa: F401

ENCODER_FILE = files.ENCODER
HEADS_FILE = files.HEADS


@dataclass
class Encoder:
    module: nn.Module
    tokenizer: Any
    hidden_size: int
    weights_format: str | None = None  # "safetensors" | "pickle" | "random-init" (built from a config); rows record it

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return 0 if pad is None else int(pad)


class TaskModel(nn.Module):
    """An encoder with one head per task (one task for target training, several for multi-task)."""

    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Module]) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)


def load_encoder(spec: ModelSpec, seed: int = 0, checkpoint: Path | None = None) -> Encoder:
    """Build the encoder of ``spec`` through its family; then load encoder weights from ``checkpoint``."""
    family = registry().family(spec.family)
    enc = family.load(spec, seed=seed)
    if enc.weights_format is None:
        enc.weights_format = getattr(enc.module, "harness_weights_format", None) or (
            "random-init" if spec.source.startswith("local:") else None)
    if checkpoint is not None:
        load_weights(enc.module, Path(checkpoint) / ENCODER_FILE)
    return enc


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(total, non-embedding) parameter counts; embeddings are every ``nn.Embedding`` weight."""
    total = sum(p.numel() for p in module.parameters())
    embed = sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Embedding))
    return total, total - embed


def save_weights(module: nn.Module, path: Path, metadata: dict[str, str] | None = None) -> None:
    """Save a module's weights as safetensors (shared tensors handled), atomically."""
    from safetensors.torch import save_model

    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_model(module, str(tmp), metadata=metadata)
    tmp.replace(path)


def load_weights(module: nn.Module, path: Path) -> None:
    """Load safetensors weights into ``module``; every key must match."""
    from safetensors.torch import load_model

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} is missing; rerun the stage that writes it")
    load_model(module, str(path), strict=True, device="cpu")


def save_checkpoint(model: TaskModel, tokenizer, out_dir: Path, config: dict[str, Any]) -> None:
    """Encoder and heads as safetensors, the tokenizer, and the resolved config beside them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_weights(model.encoder, out_dir / ENCODER_FILE)
    save_weights(model.heads, out_dir / HEADS_FILE)
    tokenizer.save_pretrained(str(out_dir / "tokenizer"))
    (out_dir / files.CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True, default=str))


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# --- what every task kind shares when it runs an encoder ----------------------------------------------------------

POOLINGS = ("cls", "mean")


def resolve_pooling(requested: str | None, module: Any, default: str = "cls") -> str:
    """The pooling to use: an explicit choice (task, model or target option) wins, then the encoder's declared
    ``harness_pooling`` (mT5 declares ``"mean"``: it has no CLS token), then ``default``."""
    pooling = requested or getattr(module, "harness_pooling", None) or default
    if pooling not in POOLINGS:
        raise ValueError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
    return pooling


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """``(batch, hidden)`` sentence vectors: the first position (``cls``) or the attention-masked mean (``mean``)."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling != "mean":
        raise ValueError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def run_encoder(module: nn.Module, batch: dict[str, Any], **kwargs: Any):
    """The encoder's output on ``batch``: ``input_ids``, ``attention_mask`` and, when the batch carries them
    (tokenizers with segments, like mBERT's), ``token_type_ids``."""
    if "token_type_ids" in batch:
        kwargs["token_type_ids"] = batch["token_type_ids"]
    return module(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **kwargs)
