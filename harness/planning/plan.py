"""From a validated config to a DAG of nodes, each keyed by a hash of everything upstream that affects it.

Stages: ``intermediate`` (model, intermediate setting, seed) → ``target`` (…, target task) → ``eval`` (…,
language). Training-free retrieval targets have no ``target`` node: their ``eval`` reads the intermediate checkpoint
(or the pretrained model); under ``retrieval_regime: xtreme-r`` a ``target`` node fine-tunes a dual encoder first.
Identical nodes, within one matrix or across matrices sharing a cache, get the same key. Node params
are plain JSON so that any executor (local, Ray, SLURM) can ship them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.core.languages import UnknownLanguage, resolve_language
from harness.core.registry import UnknownName, registry, unknown
from harness.core.specs import ModelSpec, SpecError, depth_ablation
from harness.planning.config import (
    ConfigError,
    MatrixConfig,
    _no_overlapping_targets,
    config_hash,
    did_you_mean,
    resolve_hp,
)
from harness.planning.keys import (  # noqa: F401 - re-exported: node keys live in planning/keys.py
    PIPELINE_VERSION,
    KeyCoder,
    _key,
    _location_free,
    local_model_fingerprint,
)
from harness.planning.lock import Lock
from harness.planning.provenance import data_provenance, resolve_model
from harness.planning.task_data import refuse_foreign, source_fingerprint
from harness.toolkit.data import SplitRef, fingerprint_paths

STAGES = ("intermediate", "target", "eval")


@dataclass
class Node:
    key: str
    stage: str
    label: str
    params: dict[str, Any]
    deps: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    config: MatrixConfig
    config_hash: str
    output_dir: Path
    cache_dir: Path
    leaderboard: Path
    nodes: dict[str, Node]  # in topological order
    cells: int  # (model, intermediate, target, language, seed) cells the matrix asks for

    def by_stage(self, stage: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.stage == stage]


def _model_spec(entry, reg) -> ModelSpec:
    spec = _named_spec(entry, reg)
    if entry.depth is None:
        return spec
    family = reg.family(spec.family)
    if not family.depth:
        raise UnknownName(f"model {entry.name!r}: its family {spec.family!r} cannot keep the first k layers "
                          "(depth); drop depth or use a family that declares depth=True (e.g. hf-encoder)")
    if spec.layers is None and family.describe is not None:  # a new model: its layer count from its config
        try:
            spec = spec.with_overrides(layers=family.describe(spec).get("layers"))
        except Exception:  # noqa: BLE001 - unknown offline: the family checks the depth when it loads
            pass
    return depth_ablation(spec, entry.depth)


def _named_spec(entry, reg) -> ModelSpec:
    overrides = {k: v for k, v in entry.model_dump().items()
                 if k not in ("name", "train", "depth", "allow_pickle_weights") and v not in (None, {})}
    if entry.name in reg.models:
        spec = reg.models[entry.name]
        if entry.allow_pickle_weights:  # the user's opt-in, per model (a plugin cannot set it: see the registry)
            overrides["options"] = {**(overrides.get("options") or spec.options), "allow_pickle_weights": True}
        return spec.with_overrides(**overrides) if overrides else spec
    if entry.allow_pickle_weights:
        overrides["options"] = {**(overrides.get("options") or {}), "allow_pickle_weights": True}
    family = reg.families.get(entry.family) if entry.family is not None else None
    needs_source = family is None or family.needs_source
    if entry.family is None or entry.source is None and needs_source:
        raise UnknownName(f"unknown model {entry.name!r}; give family and source for a new one, or use an installed "
                          f"model.{did_you_mean(entry.name, reg.models)} Installed: {', '.join(sorted(reg.models))}.")
    reg.family(entry.family)
    return ModelSpec(name=entry.name, family=entry.family, source=entry.source or f"local:{entry.family}",
                     revision=entry.revision, trust_remote_code=bool(entry.trust_remote_code),
                     options=overrides.get("options") or entry.options)


def _data_source(task: str, cfg: MatrixConfig, output_dir: Path, lock: Lock) -> dict[str, Any]:
    """Where a task's data comes from: a local folder, synthetic smoke data, or the hub (id + the commit sha its
    revision resolved to, through the lock file)."""
    reg = registry()
    spec = reg.task(task).spec
    where = cfg.data.get(task)
    if where == "synthetic":
        path = output_dir / "data" / task
        refuse_foreign(path, task)  # at plan time: a user's files there are never replaced by synthetic data
        return {"kind": "synthetic", "path": str(path)}
    if where in (None, "hub"):
        if spec.hf_dataset is None:
            raise ConfigError(f"data.{task}: task {task!r} has no hub dataset; give a folder of its files. {spec.data_help}")
        revision = lock.hub_revision("dataset", spec.hf_dataset, spec.hf_revision,
                                     fix=f"point data.{task} at a folder of its files")
        out = {"kind": "hub", "dataset": spec.hf_dataset, "revision": revision}
        if spec.hf_helpers:  # only when the task has some: other tasks' node keys stay as they were
            out["helpers"] = {h: lock.hub_revision("dataset", h, rev, fix=f"point data.{task} at a folder of its "
                                                   "files") for h, rev in sorted(spec.hf_helpers.items())}
        return out
    path = Path(where).expanduser().resolve()
    if not path.exists() and lock.provisional:  # matrix plan --before-download: costed from declared sizes
        lock.notes.append(f"data.{task}: folder {path} does not exist yet; costed from the task's declared sizes")
        return {"kind": "local", "path": str(path), "missing": True}
    if not path.exists():
        raise ConfigError(f"data.{task}: folder {path} does not exist. {spec.data_help}")
    return {"kind": "local", "path": str(path)}


SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+-]*")


def check_task_name(name: str, where: str) -> None:
    """A task name becomes a folder name (synthetic data, predictions): letters, digits, ``_``, ``+``, ``-`` only,
    so ``..``, ``/`` or ``.`` can never write outside ``output_dir``."""
    if not SAFE_NAME.fullmatch(name):
        raise ConfigError(f"{where}: task name {name!r} is not a safe folder name (use letters, digits, '_', '+', "
                          "'-'; no '/', '.' or '..'); rename the task in its plugin")


def check_task_kind(reg, name: str, where: str) -> None:
    """A task's kind is a task type some installed plugin registers (kinds are open: ``register_task_types``)."""
    kind = reg.tasks[name].spec.kind
    if kind not in reg.task_types:
        raise ConfigError(f"{where}: task {name!r} is of kind {kind!r}, which no installed plugin registers "
                          f"(register_task_types).{did_you_mean(kind, list(reg.task_types))} "
                          f"Installed kinds: {', '.join(sorted(reg.task_types))}.")


def _check_unknown_fields(cfg: MatrixConfig) -> None:
    reg = registry()
    known_tasks = list(reg.tasks)
    for i, entry in enumerate(cfg.intermediate):
        for t in entry.tasks:
            if t not in reg.tasks:
                raise ConfigError(f"intermediate[{i}].tasks: {_unknown('task', t, known_tasks)}")
            check_task_name(t, f"intermediate[{i}].tasks")
            check_task_kind(reg, t, f"intermediate[{i}].tasks")
            if "intermediate" not in reg.tasks[t].spec.roles:
                raise ConfigError(f"intermediate[{i}]: task {t!r} is not an intermediate task (roles: "
                                  f"{', '.join(reg.tasks[t].spec.roles)})")
            if reg.tasks[t].spec.kind == "mlm" and "multilingual-mlm" not in entry.exemptions:
                raise ConfigError(f"intermediate[{i}]: task {t!r} trains on multilingual text; declare "
                                  "exemptions: [multilingual-mlm] (recorded in every row)")
        for t, by_lang in entry.translated.items():
            for lang, folder in by_lang.items():
                if not Path(folder).expanduser().exists():
                    raise ConfigError(f"intermediate[{i}].translated.{t}.{lang}: folder {folder} does not exist")
    for i, entry in enumerate(cfg.targets):
        if entry.name not in reg.tasks:
            raise ConfigError(f"targets[{i}].name: {_unknown('task', entry.name, known_tasks)}")
        check_task_name(entry.name, f"targets[{i}].name")
        check_task_kind(reg, entry.name, f"targets[{i}].name")
        spec = reg.tasks[entry.name].spec
        if "target" not in spec.roles:
            raise ConfigError(f"targets[{i}]: task {entry.name!r} is not a target task (roles: {', '.join(spec.roles)})")
        if entry.languages:  # ISO 639-3 / FLORES-200 forms (jpn, jpn_Jpan) become the task's own codes (ja)
            entry.languages = _task_languages(entry.languages, spec.languages, entry.name, f"targets[{i}].languages")
    try:  # again in the task's codes: [ja] and [jpn] in two entries of one task are the same evaluations
        _no_overlapping_targets(cfg.targets)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    for t in cfg.data:
        if t not in reg.tasks:
            raise ConfigError(f"data.{t}: {_unknown('task', t, known_tasks)}")
    if cfg.executor not in reg.executors:
        raise ConfigError(f"executor: {_unknown('executor', cfg.executor, list(reg.executors))}")


def _task_languages(given: list[str], languages: Sequence[str], task: str, where: str) -> list[str]:
    """``given`` in the task's own codes; an unknown code names the task's languages, a language given twice (``ja``
    and ``jpn``) both entries."""
    out: list[str] = []
    for j, lang in enumerate(given):
        try:
            code = resolve_language(lang, languages, task, where)
        except UnknownLanguage as err:
            raise ConfigError(str(err)) from None
        if code in out:
            raise ConfigError(f"{where}: {given[out.index(code)]!r} and {lang!r} ({where}[{out.index(code)}] and "
                              f"{where}[{j}]) are the same language {code!r} of {task!r}; remove one")
        out.append(code)
    return out


def _unknown(kind: str, name: str, known: list[str]) -> str:
    return str(unknown(kind, name, known))


# why: the matrix loops (model × seed × intermediate × target × language) read best as one nest.
def build_plan(cfg: MatrixConfig, lock: Lock | None = None) -> Plan:
    """Resolve names, hyper-parameters, data sources and hub revisions (through ``lock``: the config's lock file,
    or an in-memory one); return the DAG in topological order."""
    reg = registry()
    lock = lock if lock is not None else Lock()
    _check_unknown_fields(cfg)
    output_dir = Path(cfg.output_dir).expanduser().resolve()
    cache_dir = Path(cfg.cache_dir).expanduser().resolve() if cfg.cache_dir else output_dir / "cache"
    leaderboard = Path(cfg.leaderboard).expanduser().resolve() if cfg.leaderboard else output_dir / "leaderboard.jsonl"
    chash = config_hash(cfg)

    models, model_prov = [], []
    for i, entry in enumerate(cfg.models):
        try:
            model, prov = resolve_model(_model_spec(entry, reg), lock)
        except (UnknownName, SpecError) as err:
            raise ConfigError(f"models[{i}]: {err}") from None
        models.append(model)
        model_prov.append(prov)

    tasks_used = {t for e in cfg.intermediate for t in e.tasks} | {t.name for t in cfg.targets}
    sources = {t: _data_source(t, cfg, output_dir, lock) for t in sorted(tasks_used)}
    fingerprints = {t: source_fingerprint(src, t) for t, src in sources.items()}
    for t, src in sources.items():
        if src["kind"] == "local":
            lock.record_data(t, src["path"], fingerprints[t])

    def task_info(name: str) -> dict[str, Any]:
        spec = reg.task(name).spec
        return {"name": name, "version": spec.version, "kind": spec.kind, "data": sources[name],
                "fingerprint": fingerprints[name]}

    nodes: dict[str, Node] = {}
    cells = 0
    coder = KeyCoder()
    eval_batch_size = resolve_hp(cfg.train).get("eval_batch_size")

    def add(node: Node) -> str:
        nodes.setdefault(node.key, node)
        return node.key

    for model, model_entry, mprov in zip(models, cfg.models, model_prov):
        model_data = {k: v for k, v in asdict(model).items() if k != "stand_in"}  # not part of any node key
        model_hp = model_entry.train
        for seed in cfg.seeds:
            for inter in cfg.intermediate:
                inter_key = None
                if inter.name != "none":
                    hp = {t: resolve_hp(reg.task(t).spec.defaults, cfg.train, cfg.intermediate_train, model_hp,
                                        inter.train) for t in inter.tasks}
                    splits = {k: v for k, v in (("train_split", inter.train_split),
                                                ("dev_split", inter.dev_split)) if v}  # only when set: old keys hold
                    params = {
                        "model": model_data, "seed": seed, "setting": inter.name,
                        "tasks": [{**task_info(t), **splits} for t in inter.tasks], "hp": hp,
                        "sampling": inter.sampling,
                        "temperature": inter.temperature, "exemptions": inter.exemptions,
                    }
                    if inter.translated:  # translate-train: the translated folders are part of the key
                        params["translated"] = {
                            t: {lang: {"path": str(Path(d).expanduser().resolve()),
                                       "fingerprint": "sha256:" + fingerprint_paths([Path(d).expanduser()])}
                                for lang, d in sorted(by_lang.items())}
                            for t, by_lang in sorted(inter.translated.items())}
                    inter_key = add(Node(coder.key("intermediate", params), "intermediate",
                                         f"{model.name} · {inter.name} · seed {seed}", params))
                for target in cfg.targets:
                    spec = reg.task(target.name).spec
                    ttype = reg.task_type(spec.kind)
                    languages = target.languages or list(spec.languages)
                    eval_splits = target.eval_splits or list(spec.eval_splits)
                    common = {
                        "model": model_data, "seed": seed, "intermediate": inter.name,
                        "intermediate_tasks": inter.tasks, "exemptions": inter.exemptions,
                        "upstream": inter_key, "task": task_info(target.name), "options": target.options,
                    }
                    train_key = None
                    trains = getattr(ttype, "trains", None)  # generation: not for prompted families; retrieval:
                    # only under retrieval_regime xtreme-r (the options as the stages see them: over the task's defaults)
                    if getattr(ttype, "trainable", True) and (
                            trains is None or trains(reg.family(model.family), {**spec.defaults, **target.options})):
                        hp = resolve_hp(spec.defaults, cfg.train, cfg.target_train, model_hp, target.train)
                        params = {
                            **common, "hp": hp, "train_split": target.train_split or spec.train_split,
                            "select_split": target.select_split or spec.select_split,
                        }
                        if spec.kind == "generation":  # one seq2seq model learns every pair of the entry
                            params["languages"] = languages
                        train_key = add(Node(coder.key("target", params), "target",
                                             f"{model.name} · {inter.name} → {target.name} · seed {seed}", params,
                                             [k for k in (inter_key,) if k]))
                    # the same for every language of this target: computed once, shared by its eval nodes
                    ehp = resolve_hp(spec.defaults, cfg.train, cfg.target_train, model_hp, target.train)
                    precision = ehp["precision"] if ehp.get("eval_precision") == "train" else ehp.get("eval_precision")
                    deps = [k for k in (train_key or inter_key,) if k]
                    prov = {"model": mprov, "data": data_provenance(target.name, sources[target.name],
                                                                    fingerprints[target.name]),
                            "intermediate_data": [data_provenance(t, sources[t], fingerprints[t])
                                                  for t in inter.tasks]}
                    base = {**common, "trained": train_key, "language": None, "splits": eval_splits,
                            "eval_batch_size": eval_batch_size, "max_length": ehp["max_length"]}
                    if precision not in (None, "fp32"):  # set only when not the default: older keys stay valid
                        base["eval_precision"] = precision
                    eval_key = coder.template("eval", base, "language")
                    for lang in languages:
                        cells += 1
                        params = {**base, "language": lang}
                        add(Node(eval_key(lang), "eval",
                                 f"{model.name} · {inter.name} → {target.name} [{lang}] · seed {seed}",
                                 {**params, "provenance": prov}, list(deps)))
    return Plan(cfg, chash, output_dir, cache_dir, leaderboard, nodes, cells)


def describe_splits(splits: list[str]) -> list[str]:
    return [str(SplitRef.parse(s)) for s in splits]
