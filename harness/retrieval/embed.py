"""Sentence embeddings from an encoder, with every knob explicit and recorded.

Knobs (:class:`EmbedOptions`): ``layer`` (1-based transformer block; 0 = the embedding layer; -1 = last),
``pooling`` (``mean``: attention-masked mean, or ``cls``: first token), ``max_length`` (tokens, truncation),
``normalize`` (L2, so inner product = cosine), and the ``query_prefix`` / ``doc_prefix`` strings prepended to
queries and documents (multilingual-E5 expects ``"query: "`` / ``"passage: "``).

Batches are formed after sorting texts by token length, so padding is limited to within-batch differences, and
batches are capped by a token budget. :func:`embed_stream` embeds an iterable chunk by chunk (and
:func:`embed_to_file` writes a ``.npy`` memmap) for corpora that do not fit in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

POOLINGS = ("mean", "cls")


@dataclass(frozen=True)
class EmbedOptions:
    layer: int = -1
    pooling: str = "mean"
    max_length: int = 128
    normalize: bool = True
    query_prefix: str = ""
    doc_prefix: str = ""
    batch_tokens: int = 16384
    max_batch: int = 256

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling {self.pooling!r} is not one of {', '.join(POOLINGS)}")
        if not isinstance(self.layer, int) or self.layer < -1:
            raise ValueError(f"layer {self.layer!r} must be -1 (last), 0 (embeddings) or a 1-based block index")
        if self.max_length < 2:
            raise ValueError(f"max_length {self.max_length!r} must be >= 2")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmbedOptions:
        """Build from a dict (task defaults merged with a target's ``options``); unknown keys are an error."""
        known = set(cls.__dataclass_fields__)
        bad = sorted(set(data) - known)
        if bad:
            raise ValueError(f"unknown embedding option(s) {bad}; allowed: {', '.join(sorted(known))}")
        return cls(**data)

    def signature(self, n_layers: int | None = None) -> str:
        """``layer:12|pool:mean|maxlen:128|norm:l2|qprefix:'query: '|dprefix:'query: '`` (for row signatures)."""
        layer = self.layer if self.layer >= 0 or n_layers is None else n_layers
        return (f"layer:{layer}|pool:{self.pooling}|maxlen:{self.max_length}|norm:{'l2' if self.normalize else 'none'}"
                f"|qprefix:{self.query_prefix!r}|dprefix:{self.doc_prefix!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def n_layers_of(encoder: Any) -> int | None:
    config = getattr(encoder.module, "config", None)
    return getattr(config, "num_hidden_layers", None)


def _batches(lengths: Sequence[int], batch_tokens: int, max_batch: int) -> list[list[int]]:
    """Index batches over texts sorted by length (longest first), each within a padded-token budget."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    out: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        width = lengths[cur[0]] if cur else lengths[i]
        if cur and ((len(cur) + 1) * width > batch_tokens or len(cur) >= max_batch):
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def embed(encoder: Any, texts: Sequence[str], opts: EmbedOptions, *, role: str = "query", device: Any = "cpu",
          layers: Sequence[int] | None = None) -> np.ndarray | dict[int, np.ndarray]:
    """Embed ``texts`` (float32, shape (n, hidden)); ``role`` picks the query or document prefix.

    With ``layers`` given, one forward pass returns ``{layer: array}`` for each (the layer sweep).
    """
    import torch

    from ..models import pool

    if role not in ("query", "doc"):
        raise ValueError(f"role {role!r} must be 'query' or 'doc'")
    prefix = opts.query_prefix if role == "query" else opts.doc_prefix
    wanted = list(layers) if layers is not None else [opts.layer]
    total = n_layers_of(encoder)
    resolved = [total if (lay == -1 and total is not None) else lay for lay in wanted]
    if total is not None:
        bad = [lay for lay in resolved if lay > total or lay < 0]
        if bad:
            raise ValueError(f"layer(s) {bad} out of range: the encoder has {total} blocks (0 = embeddings)")
    need_hidden = any(lay != total for lay in resolved) or total is None
    hidden = encoder.hidden_size
    out = {lay: np.zeros((len(texts), hidden), dtype=np.float32) for lay in wanted}
    if not texts:
        return out if layers is not None else out[opts.layer]
    tok = encoder.tokenizer
    enc = tok([prefix + t for t in texts], truncation=True, max_length=opts.max_length)
    ids = enc["input_ids"]
    pad = encoder.pad_id
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    module = encoder.module.to(dev)
    was_training = module.training
    module.eval()
    with torch.inference_mode():
        for batch in _batches([len(x) for x in ids], opts.batch_tokens, opts.max_batch):
            width = max(len(ids[i]) for i in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
                mask[r, : len(ids[i])] = 1
            input_ids, mask = input_ids.to(dev), mask.to(dev)
            result = module(input_ids=input_ids, attention_mask=mask, output_hidden_states=need_hidden)
            for lay, res in zip(wanted, resolved):
                states = result.hidden_states[res] if need_hidden else result.last_hidden_state
                pooled = pool(states.float(), mask, opts.pooling)
                if opts.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[lay][batch] = pooled.cpu().numpy()
    module.train(was_training)
    return out if layers is not None else out[opts.layer]


def embed_stream(encoder: Any, texts: Iterable[str], opts: EmbedOptions, *, role: str = "query",
                 device: Any = "cpu", chunk: int = 50_000) -> Iterator[np.ndarray]:
    """Embed an iterable of texts ``chunk`` at a time (length-sorted within each chunk), yielding arrays."""
    buf: list[str] = []
    for t in texts:
        buf.append(t)
        if len(buf) >= chunk:
            yield embed(encoder, buf, opts, role=role, device=device)  # type: ignore[misc]
            buf = []
    if buf:
        yield embed(encoder, buf, opts, role=role, device=device)  # type: ignore[misc]


def embed_to_file(encoder: Any, texts: Iterable[str], n: int, path: Path, opts: EmbedOptions, *,
                  role: str = "query", device: Any = "cpu", chunk: int = 50_000) -> np.ndarray:
    """Stream ``n`` texts into a float32 ``.npy`` memmap at ``path`` and return it (opened read-only)."""
    arr = np.lib.format.open_memmap(str(path), mode="w+", dtype=np.float32, shape=(n, encoder.hidden_size))
    pos = 0
    for block in embed_stream(encoder, texts, opts, role=role, device=device, chunk=chunk):
        arr[pos : pos + len(block)] = block
        pos += len(block)
    if pos != n:
        raise ValueError(f"embed_to_file: expected {n} texts, got {pos}")
    arr.flush()
    del arr
    return np.load(str(path), mmap_mode="r")
