"""Any Hugging Face encoder through transformers' Auto classes (XLM-R, mBERT, multilingual-E5, ...).

A local folder or a hub id (pinned with ``revision``) both work: ``{name: mine, family: hf-encoder,
source: /path/or/org/model}`` in a matrix config. Weights load as safetensors; pickle weights
(``pytorch_model.bin``) only through ``torch.load(weights_only=True)`` when the config's model entry sets
``allow_pickle_weights: true``, and ``trust_remote_code`` stays off unless the model entry sets it. A config's ``depth: k`` keeps the first k
transformer layers (``num_hidden_layers``; the later layers' weights are not loaded): a depth ablation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from harness.api import ModelFamily, ModelSpec, hookimpl


def _kwargs(spec: ModelSpec) -> dict:
    kw = {"revision": spec.revision, "trust_remote_code": spec.trust_remote_code}
    return {k: v for k, v in kw.items() if v is not None}


def _source(spec: ModelSpec) -> str:
    """The hub id, or the local folder with ``~`` expanded (the spec keeps the portable ``~`` form)."""
    import os

    return os.path.expanduser(spec.source) if spec.source.startswith("~") else spec.source


def _truncate(config, spec: ModelSpec):
    """The config cut to the spec's depth ablation (``options["depth"]["layers"]``), if any."""
    depth = (spec.options.get("depth") or {}).get("layers")
    if depth is None:
        return config
    full = getattr(config, "num_hidden_layers", None)
    if full is None:
        raise ValueError(f"model {spec.name!r}: its config has no num_hidden_layers, so depth cannot apply")
    if depth > full:
        raise ValueError(f"model {spec.name!r}: depth {depth} exceeds the model's {full} layers")
    config.num_hidden_layers = depth
    return config


def load(spec: ModelSpec, seed: int = 0):
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from harness.api import choose_weights, model_files

    fmt, wkw = choose_weights(spec, model_files(_source(spec), spec.revision))
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(_source(spec), **_kwargs(spec))
    if not spec.options.get("depth"):
        module = AutoModel.from_pretrained(_source(spec), **wkw, **_kwargs(spec))
        return _encoder(spec, module, tokenizer, fmt)
    config = AutoConfig.from_pretrained(_source(spec), **_kwargs(spec))
    full = getattr(config, "num_hidden_layers", None)
    config = _truncate(config, spec)
    with _quiet_transformers():  # the dropped layers are expected to be left out: checked below, not printed
        module, info = AutoModel.from_pretrained(
            _source(spec), config=config, output_loading_info=True, **wkw, **_kwargs(spec))
    _check_depth_load(spec, info, config.num_hidden_layers, full)
    return _encoder(spec, module, tokenizer, fmt)


def _encoder(spec: ModelSpec, module, tokenizer, weights_format: str | None = None):
    """The loaded model as an Encoder; ``options.pooling`` (``cls`` | ``mean``) is the pooling its sentence-level
    heads use unless a task or target sets one (multilingual-E5 declares ``mean``, the pooling it was trained with:
    its first position carries no sentence information below the last layers, see docs/real-offline.md)."""
    from harness.api import POOLINGS, Encoder

    pooling = spec.options.get("pooling")
    if pooling is not None:
        if pooling not in POOLINGS:
            raise ValueError(f"model {spec.name!r}: options.pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
        module.harness_pooling = pooling
    return Encoder(module=module, tokenizer=tokenizer, hidden_size=int(module.config.hidden_size),
                   weights_format=weights_format)


def _check_depth_load(spec: ModelSpec, info: dict, depth: int, full: int | None) -> None:
    """A depth-k load may leave out exactly the weights of layers k..full-1; anything else is an error."""
    import re

    layer = re.compile(r"(?:^|\.)(?:layer|layers|block)\.(\d+)\.")
    odd = [k for k in info.get("unexpected_keys", ()) if not ((m := layer.search(k)) and int(m.group(1)) >= depth)]
    missing = [k for k in info.get("missing_keys", ()) if "pooler" not in k]
    if odd or missing or info.get("mismatched_keys"):
        raise ValueError(f"model {spec.name!r} at depth {depth} of {full}: weights did not load as a depth cut "
                         f"(unexpected beyond the dropped layers: {odd[:5]}, missing: {missing[:5]}, "
                         f"mismatched: {list(info.get('mismatched_keys') or [])[:5]})")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hold transformers' load report and progress bars while a depth-cut model loads."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def describe(spec: ModelSpec) -> dict:
    """Parameter counts from the config alone: the model is built on the meta device, no weights read.

    Known hub ids use their published config (``published.py``), so this works offline; other sources read
    their ``config.json``.
    """
    from transformers import AutoModel

    from .published import describe_on_meta, make_config

    config = _truncate(make_config(_source(spec), **_kwargs(spec)), spec)
    return describe_on_meta(config, lambda: AutoModel.from_config(config, trust_remote_code=spec.trust_remote_code))


@hookimpl
def register_model_families(register) -> None:
    register(ModelFamily("hf-encoder", load=load, describe=describe, any_folder=True, depth=True,
                         description="any Hugging Face encoder via AutoModel/AutoTokenizer (local path or hub id)"))


@hookimpl
def register_models(register) -> None:
    register(ModelSpec("xlm-roberta-base", family="hf-encoder", stand_in="tiny-xlmr", source="FacebookAI/xlm-roberta-base",
                       revision="e73636d4f797dec63c3081bb6ed5c7b0bb3f2089",
                       params=278_043_648, layers=12, hidden=768, vocab=250_002,
                       description="XLM-R base (Conneau et al., 2020)"))
    register(ModelSpec("xlm-roberta-large", family="hf-encoder", stand_in="tiny-xlmr-large", source="FacebookAI/xlm-roberta-large",
                       revision="c23d21b0620b635a76227c604d44e43a9f0ee389",
                       params=559_890_432, layers=24, hidden=1024, vocab=250_002,
                       description="XLM-R large (Conneau et al., 2020)"))
