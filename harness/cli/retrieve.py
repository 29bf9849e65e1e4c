"""``harness retrieve TASK --model M --data PATH``: one-off retrieval evaluation, and the layer sweep.

    harness retrieve tatoeba --model multilingual-e5-small --data ../shared/data/tatoeba --languages de,fr
    harness retrieve bucc2018 --model multilingual-e5-small --data DIR --split dev --layers 4,8,12

``--layer L`` picks one block (1-based; 0 = embeddings; -1 = last); ``--layers 4,8,12`` runs one forward pass
per side and scores every listed layer, then names the best layer on the split given (run it on dev to choose
the layer, then evaluate test with ``--layer``). ``--pooling``, ``--max-length``, ``--query-prefix``,
``--doc-prefix`` and ``--option key=value`` (any retrieval option of the task, e.g. ``search=flat``) override
the task and model defaults; everything used is printed (and in ``--json``) with each score.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from harness.cli.console import console, emit_json, fail


def _parse_value(text: str) -> Any:
    from harness.planning.config import ConfigError, load_yaml

    try:
        return load_yaml(text, "option value")
    except ConfigError as err:
        fail(str(err))


def _layers(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        out = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        fail(f"--layers {text!r}: give comma-separated integers, e.g. 4,8,12")
    if not out:
        fail("--layers: give at least one layer")
    return out


def _model_spec(name: str):
    from harness.core.registry import UnknownName, registry
    from harness.core.specs import ModelSpec

    reg = registry()
    if name in reg.models:
        return reg.models[name]
    if Path(name).expanduser().is_dir():
        family = next((f.name for f in reg.families.values() if f.any_folder), None)
        if family is None:
            fail(f"--model {name}: no installed model family loads a plain model folder; install one or name a model")
        return ModelSpec(name=Path(name).name, family=family, source=str(Path(name).expanduser()))
    try:
        reg.model(name)
    except UnknownName as err:
        fail(f"--model: {err} (or give a local Hugging Face model folder)")


def _load_model(mspec, checkpoint: Path | None):
    """The encoder, or one line saying why it cannot be loaded (offline without a cached copy, …)."""
    import os

    from harness.modeling.encoder import load_encoder

    try:
        return load_encoder(mspec, checkpoint=checkpoint)
    except OSError as err:
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") else ""
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        fail(f"--model {mspec.name}: cannot load {mspec.source}{offline}: {first} Give a local model folder, or "
             "load the model once online so it is cached")


def _better(metric: str, a: float, b: float) -> bool:
    return a < b if "error" in metric else a > b


# why: a click command with many options; its body is one linear recipe (resolve, embed, score, print).
@click.command()
@click.argument("task_name", metavar="TASK")
@click.option("--model", "model_name", required=True, help="registered model name or a local HF model folder")
@click.option("--data", "data", type=click.Path(path_type=Path), default=None,
              help="folder of the task's official files (default: the task's hub copy, if it has one)")
@click.option("--languages", default=None, help="comma-separated languages (default: all the task declares)")
@click.option("--split", default=None, help="split to evaluate (default: the task's first evaluation split)")
@click.option("--layer", type=int, default=None, help="1-based block; 0 = embeddings; -1 = last")
@click.option("--layers", "layers_text", default=None, help="layer sweep, e.g. 4,8,12 (one forward pass)")
@click.option("--pooling", type=click.Choice(["mean", "cls"]), default=None)
@click.option("--max-length", type=int, default=None)
@click.option("--query-prefix", default=None)
@click.option("--doc-prefix", default=None)
@click.option("--option", "options", multiple=True, help="retrieval option KEY=VALUE (repeatable)")
@click.option("--checkpoint", type=click.Path(exists=True, path_type=Path), default=None,
              help="a node folder holding encoder.safetensors (e.g. an intermediate checkpoint)")
@click.option("--device", default="auto", help="cpu, cuda, cuda:1 … (default: auto)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def retrieve(task_name: str, model_name: str, data: Path | None, languages: str | None, split: str | None,
             layer: int | None, layers_text: str | None, pooling: str | None, max_length: int | None,
             query_prefix: str | None, doc_prefix: str | None, options: tuple[str, ...], checkpoint: Path | None,
             device: str, as_json: bool) -> None:
    """Embed, search and score a retrieval task with one model (and optionally sweep layers)."""
    from harness.core.registry import UnknownName, registry
    from harness.metrics import MissingGold, Value
    from harness.modeling.encoder import pick_device
    from harness.tasktypes.retrieval import resolve_options
    from harness.toolkit.data import DataMissing, SplitRef

    reg = registry()
    try:
        task = reg.task(task_name)
    except UnknownName as err:
        fail(str(err))
    spec = task.spec
    if spec.kind != "retrieval":
        fail(f"task {task_name!r} is a {spec.kind} task; harness retrieve runs retrieval tasks only")
    mspec = _model_spec(model_name)
    overrides: dict[str, Any] = {}
    for key, val in (("layer", layer), ("pooling", pooling), ("max_length", max_length),
                     ("query_prefix", query_prefix), ("doc_prefix", doc_prefix)):
        if val is not None:
            overrides[key] = val
    for item in options:
        key, sep, val = item.partition("=")
        if not sep:
            fail(f"--option {item!r}: write KEY=VALUE")
        overrides[key.strip()] = _parse_value(val)
    sweep = _layers(layers_text)
    if sweep is not None and layer is not None:
        fail("give --layer or --layers, not both")
    params = {"model": {"options": mspec.options}, "options": overrides}
    try:
        protocol, opts, proto = resolve_options(spec, params)
    except ValueError as err:
        fail(str(err))
    from harness.core.languages import UnknownLanguage, resolve_language

    try:  # the task's own codes, or their ISO 639-3 / FLORES-200 forms (deu, deu_Latn for de)
        langs = ([resolve_language(s.strip(), spec.languages, spec.name, "--languages") for s in languages.split(",")]
                 if languages else list(spec.languages))
    except UnknownLanguage as err:
        fail(str(err))
    split = split or spec.eval_splits[0]
    ref = SplitRef.parse(split)
    enc = _load_model(mspec, checkpoint)
    dev = pick_device(device)
    ttype = reg.task_type("retrieval")
    from harness.search.embed import n_layers_of

    n_layers = n_layers_of(enc)
    wanted = sweep or [opts.layer]
    results = []
    for lang in langs:
        try:
            examples = ref.apply(task.load(split=ref.name, language=lang, data_dir=data))
        except DataMissing as err:
            fail(str(err))
        started = time.time()
        task_info = ({"name": spec.name, "data": {"kind": "local", "path": str(data)}} if data is not None else
                     {"name": spec.name, "data": {"kind": "hub"}})
        preds = ttype.predict(enc, examples, spec, lang, device=dev, params={**params, "task": task_info},
                              layers=wanted)
        seconds = time.time() - started
        for lay in wanted:
            try:
                scores = task.score(examples=examples, predictions=preds[lay], language=lang)
            except MissingGold as err:
                fail(str(err))
            knobs = opts.__class__(**{**opts.to_dict(), "layer": lay}).signature(n_layers)
            for metric, v in scores.items():
                v = v if isinstance(v, Value) else Value(float(v))
                results.append({"task": spec.name, "language": lang, "split": split,
                                "layer": n_layers if (lay == -1 and n_layers is not None) else lay,
                                "metric": metric, "value": round(v.value, 4), "direction": v.direction,
                                "variant": v.variant, "n": v.n if v.n is not None else len(examples),
                                "knobs": knobs, "protocol": protocol, "search": proto.get("search"),
                                "seconds": round(seconds, 2)})
    best = None
    if sweep:
        main = spec.main_metric
        per_layer: dict[int, list[float]] = {}
        for r in results:
            if r["metric"] == main:
                per_layer.setdefault(r["layer"], []).append(r["value"])
        if per_layer:
            means = {lay: sum(v) / len(v) for lay, v in per_layer.items()}
            best_layer = None
            for lay, m in means.items():
                if best_layer is None or _better(main, m, means[best_layer]):
                    best_layer = lay
            best = {"metric": main, "split": split, "layer": best_layer, "mean": round(means[best_layer], 4),
                    "per_layer_mean": {str(k): round(v, 4) for k, v in means.items()}}
    if as_json:
        emit_json({"model": mspec.name, "model_source": mspec.source, "results": results, "best_layer": best})
        return
    from rich.table import Table

    from harness.cli.console import esc

    table = Table("language", "layer", "metric", "direction / variant", "value", "n",
                  title=esc(f"{spec.name} · {mspec.name} · {split}")[0])
    for r in results:
        table.add_row(*esc(r["language"], r["layer"], r["metric"], r["direction"] or r["variant"] or "-",
                           f"{r['value']:.2f}", r["n"]))
    console.print(table)
    if results:
        console.print(f"knobs: {results[0]['knobs']} · search: {results[0]['search']}", highlight=False,
                      markup=False)
    if best:
        console.print(f"best layer on {split} by mean {best['metric']}: {best['layer']} "
                      f"({best['mean']:.2f}; per layer {best['per_layer_mean']})", highlight=False, markup=False)
