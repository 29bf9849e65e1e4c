"""Retrieval (kind ``retrieval``): embed with the encoder, search, score; optionally fine-tune first.

``retrieval_regime`` (a target option over the task's default) says what the encoder is: ``training-free`` (the
pretrained or intermediate-trained encoder as is; no target node) or ``xtreme-r`` (a target node first fine-tunes it
as a dual encoder on the task's English pairs, :mod:`harness.tasktypes.retrieval_train`). Every row records the
regime (``retrieval_regime``, and ``regime:`` in its signature) and, for ``xtreme-r``, the fine-tune recipe
(``retrieval_finetune``). A training-free row of a task whose default is ``xtreme-r`` has the variant
``training-free`` (a labelled probe, never the benchmark's protocol).

A retrieval task declares its protocol and knob defaults in ``spec.defaults["retrieval"]``; a matrix target's
``options`` (and the model's ``options["retrieval"]``, e.g. multilingual-E5's prefixes) override them, in the
order task < model < target. The knobs are :class:`harness.search.embed.EmbedOptions` fields (``layer``,
``pooling``, ``max_length``, ``normalize``, ``query_prefix``, ``doc_prefix``) plus the protocol's own
(``k``, ``margin``, ``top_k``, ``search``, ``symmetric``); every value used is written into each row's signature.
The pipeline's general ``max_length`` hyper-parameter does not apply here: use the ``max_length`` option.
``pooling`` resolves as in the other task kinds: a value set by the task, the model's options or the target wins,
else the encoder's declared pooling (mT5: the masked mean), else ``mean``.

Example layouts by protocol (what the task loaders return):

- ``bitext`` (Tatoeba, FLORES): ``{"id", "language", "source", "target"}``: line-aligned pairs; the gold of
  example i is example i itself. Prediction: ``{"fwd": id, "bwd": id, "fwd_margin": id, "bwd_margin": id}`` —
  the example whose target (fwd: source→target) or source (bwd) was retrieved, by cosine and by ratio margin.
- ``mining`` (BUCC): ``{"id", "side": "source"|"target", "text", "gold": paired target id | None}``.
  Prediction (sources only): ``{"target": id | None, "score": margin score, "dev_threshold": float | None}``.
- ``qa`` (LAReQA, Mewsli-X): ``{"id", "side": "query"|"candidate", "text", "gold": [candidate ids]}``.
  Prediction (queries only): the ``top_k`` candidate ids, best first.
- training pairs (the ``train``/selection splits of an ``xtreme-r`` task): ``{"id", "language", "query",
  "candidate"}``.

Symmetric protocols (bitext, mining) embed both sides as queries (the model's ``doc_prefix`` is replaced by
``query_prefix``) unless ``symmetric: false`` or the target (or ``harness retrieve --doc-prefix``) sets
``doc_prefix`` itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.core.tasktype import Problem, TaskType, is_text

PROTOCOLS = ("bitext", "mining", "qa")
REGIME_KEYS = ("retrieval_regime", "retrieval_finetune")  # target options read by the regime, not by embedding
PROTOCOL_KEYS = {
    "bitext": {"k", "margin", "search", "symmetric"},
    "mining": {"k", "margin", "retrieval", "search", "symmetric", "threshold_split"},
    "qa": {"top_k", "search", "symmetric", "approx_threshold"},
}
PROTOCOL_DEFAULTS = {
    "bitext": {"k": 4, "margin": "ratio", "search": "fused", "symmetric": True},
    "mining": {"k": 4, "margin": "ratio", "retrieval": "max", "search": "fused", "symmetric": True,
               "threshold_split": "dev"},
    "qa": {"top_k": 20, "search": "auto", "symmetric": False, "approx_threshold": 1_000_000},
}


def resolve_options(spec, params: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None,
                    encoder: Any = None):
    """(protocol, EmbedOptions, protocol options) from task defaults < model options < target options; an
    ``encoder`` (an :class:`~harness.modeling.encoder.Encoder`) supplies its declared pooling when none of them sets one."""
    from harness.modeling.encoder import resolve_pooling
    from harness.search.embed import EmbedOptions

    task_conf = dict(spec.defaults.get("retrieval", {}))
    protocol = task_conf.pop("protocol", None)
    if protocol not in PROTOCOLS:
        raise ValueError(f"task {spec.name!r}: defaults.retrieval.protocol {protocol!r} is not one of "
                         f"{', '.join(PROTOCOLS)}")
    params = params or {}
    model_conf = dict(((params.get("model") or {}).get("options") or {}).get("retrieval", {}))
    target_conf = {k: v for k, v in (params.get("options") or {}).items() if k not in REGIME_KEYS}
    merged = {**PROTOCOL_DEFAULTS[protocol], **task_conf, **model_conf, **target_conf, **(overrides or {})}
    if encoder is not None:
        merged["pooling"] = resolve_pooling(merged.get("pooling"), encoder.module, default="mean")
    embed_keys = set(EmbedOptions.__dataclass_fields__)
    allowed = embed_keys | PROTOCOL_KEYS[protocol]
    bad = sorted(set(merged) - allowed)
    if bad:
        raise ValueError(f"task {spec.name!r}: unknown retrieval option(s) {bad}; allowed: {', '.join(sorted(allowed))}")
    opts = EmbedOptions.from_dict({k: v for k, v in merged.items() if k in embed_keys})
    proto = {k: v for k, v in merged.items() if k not in embed_keys}
    explicit_doc = "doc_prefix" in target_conf or "doc_prefix" in (overrides or {})
    if proto.get("symmetric") and not explicit_doc:
        opts = replace(opts, doc_prefix=opts.query_prefix)
    return protocol, opts, proto


def signature_fields(opts, proto: dict[str, Any], n_layers: int | None) -> dict[str, Any]:
    """The retrieval fields of a row signature: embedding knobs, search and protocol options."""
    extra = {"knobs": opts.signature(n_layers), "search": proto.get("search")}
    if proto.get("search") == "fused":  # which exact kernel ran (same results; see retrieval.knn.choose_backend)
        from harness.search.knn import choose_backend, default_device

        extra["kernel"] = choose_backend(default_device())
    for key in ("k", "margin", "retrieval", "top_k"):
        if key in proto:
            extra[key] = proto[key]
    return extra


def _ids(examples: list[dict], side: str | None = None) -> list[dict]:
    return [e for e in examples if side is None or e.get("side") == side]


def _bitext(embs: dict[str, Any], examples: list[dict], proto: dict[str, Any]) -> list[dict]:
    from harness.search.index import search_both
    from harness.search.margin import score_neighbours

    fwd, bwd = search_both(embs["source"], embs["target"], proto["k"], proto["search"])
    f, b = score_neighbours(fwd, bwd, proto["margin"])
    ids = [e["id"] for e in examples]
    return [{"fwd": ids[fwd.indices[i, 0]], "bwd": ids[bwd.indices[i, 0]], "fwd_margin": ids[f.best[i]],
             "bwd_margin": ids[b.best[i]]} for i in range(len(examples))]


def _mining(embs: dict[str, Any], examples: list[dict], proto: dict[str, Any]) -> list[Any]:
    from harness.search.index import search_both
    from harness.search.margin import mine

    src = _ids(examples, "source")
    trg = _ids(examples, "target")
    fwd, bwd = search_both(embs["source"], embs["target"], proto["k"], proto["search"])
    pairs = mine(fwd, bwd, proto["margin"], proto["retrieval"])
    by_src = {src[s]["id"]: {"target": trg[t]["id"], "score": sc, "dev_threshold": None} for s, t, sc in pairs}
    return [by_src.get(e["id"], {"target": None, "score": None, "dev_threshold": None}) if e.get("side") == "source"
            else None for e in examples]


def _qa(embs: dict[str, Any], examples: list[dict], proto: dict[str, Any]) -> list[Any]:
    from harness.search.index import search

    cands = _ids(examples, "candidate")
    res = search(embs["query"], embs["candidate"], proto["top_k"], proto["search"],
                 approx_threshold=proto["approx_threshold"])
    out: list[Any] = []
    qi = 0
    for e in examples:
        if e.get("side") == "query":
            out.append([cands[j]["id"] for j in res.indices[qi] if j >= 0])
            qi += 1
        else:
            out.append(None)
    return out


SIDES = {"bitext": (("source", "source", "query"), ("target", "target", "doc")),
         "mining": (("source", "text", "query"), ("target", "text", "doc")),
         "qa": (("query", "text", "query"), ("candidate", "text", "doc"))}


def embed_sides(encoder, examples: list[dict], protocol: str, opts, device: Any = "cpu",
                layers: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Embeddings of both sides of the protocol, per layer: ``{layer: {side: array}}`` (one forward per side)."""
    from harness.search.embed import embed

    wanted = layers or [opts.layer]
    out: dict[int, dict[str, Any]] = {lay: {} for lay in wanted}
    for side, field, role in SIDES[protocol]:
        rows = examples if protocol == "bitext" else _ids(examples, side)
        if not rows:
            raise ValueError(f"no {side!r} examples to embed (protocol {protocol})")
        # candidates shared by every language (Mewsli-X, LAReQA) are embedded once per process
        arrs = embed(encoder, [r[field] for r in rows], opts, role=role, device=device, layers=wanted,
                     cache=protocol == "qa" and side == "candidate")
        for lay in wanted:
            out[lay][side] = arrs[lay]
    return out


PREDICT = {"bitext": _bitext, "mining": _mining, "qa": _qa}


class RetrievalType(TaskType):
    kind = "retrieval"
    trainable = True  # only under retrieval_regime xtreme-r (``trains``)

    def trains(self, family, options: dict[str, Any] | None = None) -> bool:
        """Whether a target node fine-tunes first: ``options`` (the task's defaults with the target's options over
        them) select the ``xtreme-r`` regime, which needs the task's fine-tune recipe."""
        from harness.planning.config import ConfigError
        from harness.tasktypes.retrieval_train import finetune_options, regime_of

        options = options or {}
        protocol = (options.get("retrieval") or {}).get("protocol")
        try:
            if regime_of(options) != "xtreme-r":
                return False
            finetune_options(options, f"a {protocol} retrieval target")  # no English training pairs: refused here
        except ValueError as err:
            raise ConfigError(f"targets: {err}") from None
        return True

    def fit(self, params, work, spec, encoder, device, progress=None, resume=None) -> dict[str, Any]:
        """The xtreme-r target stage: dual-encoder fine-tuning through the shared training loop."""
        from harness.tasktypes.retrieval_train import fit_dual_encoder

        _, opts, _ = resolve_options(spec, params, encoder=encoder)
        return fit_dual_encoder(params, work, spec, encoder, device, opts, progress=progress, resume=resume)

    def build_head(self, spec, hidden_size: int):
        """The dual encoder's learned logit scale (the eval stage loads the trained one)."""
        from harness.tasktypes.retrieval_train import LogitScale, finetune_options

        return LogitScale(finetune_options(spec.defaults, spec.name)["logit_scale"])

    def gold(self, example: dict) -> Any:
        return example["id"] if "source" in example and "target" in example else example.get("gold")

    def predict(self, encoder, examples: list[dict], spec, language: str, device: Any = "cpu",
                params: dict[str, Any] | None = None, layers: list[int] | None = None,
                overrides: dict[str, Any] | None = None) -> dict[int, list[Any]]:
        """Per-example predictions for each requested layer (default: the configured one)."""
        protocol, opts, proto = resolve_options(spec, params, overrides, encoder=encoder)
        embs = embed_sides(encoder, examples, protocol, opts, device=device, layers=layers)
        preds = {lay: PREDICT[protocol](e, examples, proto) for lay, e in embs.items()}
        if protocol == "mining":
            for lay in preds:
                self._dev_threshold(encoder, preds, lay, examples, spec, language, device, params, proto, opts)
        return preds

    def _dev_threshold(self, encoder, preds, lay, examples, spec, language, device, params, proto, opts) -> None:
        """Mine the threshold split (dev) too, unless it is the split at hand, and record its best threshold."""
        from harness.metrics.ranking import best_threshold
        from harness.toolkit.data import DataMissing

        if not (params or {}).get("task"):
            return
        from harness.planning.task_data import load_split

        try:
            dev = load_split(params["task"], proto["threshold_split"], language)
        except DataMissing:
            return
        key = lambda rows: [(e["id"], e.get("text")) for e in rows]  # noqa: E731
        if key(dev) == key(examples):
            return
        dev_embs = embed_sides(encoder, dev, "mining", replace(opts, layer=lay), device=device)
        dev_preds = _mining(dev_embs[lay], dev, proto)
        cands = [(e["id"], p["target"], p["score"]) for e, p in zip(dev, dev_preds) if p and p["target"] is not None]
        gold = [(e["id"], t) for e in dev if e.get("side") == "source" for t in (e.get("gold") or [])]
        thr, _ = best_threshold(cands, gold)
        for p in preds[lay]:
            if p is not None:
                p["dev_threshold"] = thr

    def evaluate(self, encoder, examples: list[dict], spec, language: str, device: Any = "cpu",
                 params: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
        """Embed, search and score one split of one language (the pipeline's eval node)."""
        from harness.core.registry import registry

        protocol, opts, proto = resolve_options(spec, params, encoder=encoder)
        preds = self.predict(encoder, examples, spec, language, device=device, params=params)[opts.layer]
        task = registry().task(spec.name)
        if task.score is None:
            raise ValueError(f"retrieval task {spec.name!r} must provide a score function")
        scores = task.score(examples=examples, predictions=preds, language=language)
        from harness.core.rows import signature
        from harness.metrics import IMPLEMENTATION, Value
        from harness.search.embed import n_layers_of
        from harness.tasktypes.retrieval_train import finetune_record, finetune_signature, regime_of

        n_layers = n_layers_of(encoder)
        regime = regime_of(spec.defaults)
        recipe = finetune_record((params or {}).get("trained_dir"), spec.defaults) if regime == "xtreme-r" else None
        probe = regime == "training-free" and regime_of(task.spec.defaults) == "xtreme-r"
        out = {}
        for name, v in scores.items():
            v = v if isinstance(v, Value) else Value(float(v))
            sig = signature(name, spec.name, spec.version, IMPLEMENTATION.get(name),
                            **signature_fields(opts, proto, n_layers), regime=regime,
                            finetune=finetune_signature(recipe))
            extra = {**(v.extra or {}), "retrieval_regime": regime, "retrieval_finetune": recipe}
            out[name] = replace(v, signature=sig, extra=extra, variant="training-free" if probe else v.variant)
        return preds, out

    def check_example(self, example: dict, spec) -> str | None:
        protocol = (spec.defaults.get("retrieval") or {}).get("protocol")
        if "side" not in example and ("query" in example or "candidate" in example):  # an English training pair
            bad = [k for k in ("query", "candidate") if not is_text(example.get(k)) or not example[k].strip()]
            return f"training pair without a {bad[0]!r} string" if bad else None
        if protocol == "bitext":
            bad = [k for k in ("source", "target") if not is_text(example.get(k))]
            return f"no {bad[0]!r} string" if bad else None
        sides = VALID_SIDES.get(protocol, ())
        if example.get("side") not in sides:
            return f"side {example.get('side')!r} is not one of {', '.join(sides)}"
        if not is_text(example.get("text")):
            return "no 'text' string"
        if example["side"] == sides[0]:
            gold = example.get("gold")
            if gold is None:
                return "no gold (the split carries no gold, which training and scoring need)"
            if not isinstance(gold, list) or (protocol == "qa" and not gold):
                return f"gold {gold!r} is not a {'non-empty ' if protocol == 'qa' else ''}list of ids"
        return None

    def check_split(self, examples: list[dict], spec) -> list[Problem]:
        protocol = (spec.defaults.get("retrieval") or {}).get("protocol")
        if protocol not in VALID_SIDES:
            return []
        asking, answering = VALID_SIDES[protocol]
        known = {str(e["id"]) for e in examples if e.get("side") == answering}
        for i, e in enumerate(examples):
            if e.get("side") == asking:
                missing = [g for g in e.get("gold") or () if str(g) not in known]
                if missing:
                    return [Problem(f"example {e['id']!r}: gold id {missing[0]!r} is not a {answering} of this "
                                    "split", i)]
        return []


# Per protocol: the side whose examples carry gold, then the side the gold ids name.
VALID_SIDES = {"mining": ("source", "target"), "qa": ("query", "candidate")}
