"""Any Hugging Face encoder through transformers' Auto classes (XLM-R, mBERT, multilingual-E5, ...).

A local folder or a hub id (pinned with ``revision``) both work: ``{name: mine, family: hf-encoder,
source: /path/or/org/model}`` in a matrix config. Weights load as safetensors only and
``trust_remote_code`` stays off unless the model entry sets it. A config's ``depth: k`` keeps the first k
transformer layers (``num_hidden_layers``; the later layers' weights are not loaded): a depth ablation.
"""

from __future__ import annotations

from harness.hookspecs import hookimpl
from harness.specs import ModelFamily, ModelSpec


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

    from harness.models import Encoder

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(_source(spec), **_kwargs(spec))
    extra = {}
    if spec.options.get("depth"):
        extra["config"] = _truncate(AutoConfig.from_pretrained(_source(spec), **_kwargs(spec)), spec)
    module = AutoModel.from_pretrained(
        _source(spec), use_safetensors=spec.options.get("use_safetensors", True), **_kwargs(spec), **extra
    )
    return Encoder(module=module, tokenizer=tokenizer, hidden_size=int(module.config.hidden_size))


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
    register(ModelSpec("xlm-roberta-base", family="hf-encoder", source="FacebookAI/xlm-roberta-base",
                       revision="e73636d4f797dec63c3081bb6ed5c7b0bb3f2089",
                       params=278_043_648, layers=12, hidden=768, vocab=250_002,
                       description="XLM-R base (Conneau et al., 2020)"))
    register(ModelSpec("xlm-roberta-large", family="hf-encoder", source="FacebookAI/xlm-roberta-large",
                       revision="c23d21b0620b635a76227c604d44e43a9f0ee389",
                       params=559_890_432, layers=24, hidden=1024, vocab=250_002,
                       description="XLM-R large (Conneau et al., 2020)"))
