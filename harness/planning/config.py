"""Matrix configs: YAML (a ``SafeLoader`` without duplicate keys, alias bombs or YAML 1.1 booleans) validated by pydantic; every error names the field and what is allowed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.planning.overrides import OverrideError, apply_overrides
from harness.toolkit.data import SplitRef
from harness.toolkit.formats import FormatError, read_text
from harness.toolkit.suggest import did_you_mean  # noqa: F401 - used here and re-exported to the planner
from harness.toolkit.yamlload import MAX_CONFIG_BYTES, StrictYAMLError, load_strict, yaml_error


class ConfigError(ValueError):
    """An invalid matrix config; ``str(err)`` is one actionable line."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageHP(Strict):
    """Hyper-parameters of one training stage; unset values come from the task's defaults, then the paper's."""

    lr: float | None = Field(None, gt=0)
    batch_size: int | None = Field(None, ge=1, description="effective batch (per step, after accumulation)")
    grad_accum: int | None = Field(None, ge=1)
    epochs: float | None = Field(None, gt=0)
    max_steps: int | None = Field(None, ge=1)
    warmup_ratio: float | None = Field(None, ge=0, le=1)
    weight_decay: float | None = Field(None, ge=0)
    max_grad_norm: float | None = Field(None, gt=0)
    max_length: int | None = Field(None, ge=8)
    eval_every: int | None = Field(None, ge=1, description="steps between checkpoint-selection evaluations")
    eval_batch_size: int | None = Field(None, ge=1)
    precision: Literal["fp32", "bf16", "fp16"] | None = None
    gradient_checkpointing: bool | None = None
    checkpoint_every: int | str | None = Field(
        None, description="resume checkpoints of a training node: '500 steps', '30 min', 0 = off; default '30 min' "
                          "(a node shorter than that writes none); not part of the node key")
    eval_precision: Literal["fp32", "bf16", "fp16", "train"] | None = Field(
        None, description="precision of evaluation nodes ('train': the target training's precision); default fp32")

    @field_validator("checkpoint_every")
    @classmethod
    def _every(cls, v: int | str | None) -> int | str | None:
        from harness.toolkit.units import parse_every

        parse_every(v)
        return v


# Optional fields: in the resolved hyper-parameters only when some layer sets them (older node keys stay valid).
OPTIONAL_HP = ("checkpoint_every", "eval_precision")
# Fields that change how a node runs, never what it computes: left out of node keys.
NOT_IN_KEY = ("checkpoint_every",)

# The paper's recipe (Phang et al. 2020): AdamW, lr 1e-5, 10% warm-up, batch 32 (16 for QA), length 256/384.
PAPER_DEFAULTS: dict[str, Any] = {
    "lr": 1e-5, "batch_size": 32, "grad_accum": 1, "epochs": 3.0, "max_steps": None, "warmup_ratio": 0.1,
    "weight_decay": 0.01, "max_grad_norm": 1.0, "max_length": 256, "eval_every": None, "eval_batch_size": 64,
    "precision": "fp32", "gradient_checkpointing": False,
}


def resolve_hp(*layers: StageHP | dict | None) -> dict[str, Any]:
    """Merge hyper-parameter layers, later ones winning, over the paper's defaults."""
    out = dict(PAPER_DEFAULTS)
    for layer in layers:
        if layer is None:
            continue
        data = layer.model_dump() if isinstance(layer, BaseModel) else layer
        out.update({k: v for k, v in data.items() if v is not None and (k in out or k in OPTIONAL_HP)})
    return out


class ModelEntry(Strict):
    """A registered model by name, or a new one: ``{name, family, source, revision, trust_remote_code}``."""

    name: str
    family: str | None = None
    source: str | None = None
    revision: str | None = None
    trust_remote_code: bool | None = None
    allow_pickle_weights: bool | None = Field(
        None, description="load pickle weights (pytorch_model.bin) through torch.load(weights_only=True) when the "
                          "pinned revision has no safetensors; off by default, only the config can turn it on")
    options: dict[str, Any] = Field(default_factory=dict)
    depth: int | None = Field(
        None, ge=1, description="keep only the first k transformer layers: a depth ablation of this model, named "
                                "NAME@Lk in rows (never a separate pretrained size)")
    train: StageHP | None = Field(
        None, description="per-model hyper-parameters: over train/intermediate_train/target_train, under a "
                          "task entry's own train")


# Declared uses of non-English text in the intermediate stage (issue-notes: recorded in the config and every row).
EXEMPTIONS = {
    "multilingual-mlm": "continued masked-LM on user-supplied multilingual text (task kind mlm)",
    "translate-train": "intermediate-task data machine-translated out of English (IntermediateEntry.translated)",
}


class IntermediateEntry(Strict):
    """``none``, one English task, or a multi-task mix ``{name, tasks: [...], sampling, temperature}``.

    ``exemptions`` declares non-English text the stage uses on purpose (e.g. ``multilingual-mlm``); it is recorded
    in every row the setting produces.
    """

    name: str
    tasks: list[str] = Field(default_factory=list)
    sampling: Literal["proportional", "temperature", "uniform"] = "proportional"
    temperature: float = Field(1.0, gt=0)
    exemptions: list[str] = Field(default_factory=list)
    translated: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="translate-train: task -> {language: folder of translated files in the task's own layout}")
    train_split: str | None = Field(
        None, description="split the (single) task trains on instead of its default, e.g. 'test' or 'train[0:800]'")
    dev_split: str | None = Field(
        None, description="split the task's own English dev score is measured on after training (default: the "
                          "task's select split)")
    train: StageHP | None = None

    @field_validator("train_split", "dev_split")
    @classmethod
    def _split(cls, v: str | None) -> str | None:
        if v is not None:
            SplitRef.parse(v)
        return v

    @model_validator(mode="after")
    def _default_tasks(self) -> IntermediateEntry:
        if not self.tasks and self.name != "none":
            self.tasks = [self.name]
        if (self.train_split or self.dev_split) and len(self.tasks) != 1:
            raise ValueError("train_split/dev_split apply to a setting of exactly one task")
        for e in self.exemptions:
            if e not in EXEMPTIONS:
                raise ValueError(f"exemption {e!r} is not one of {', '.join(EXEMPTIONS)}.{did_you_mean(e, EXEMPTIONS)}")
        if self.translated and "translate-train" not in self.exemptions:
            raise ValueError("translated data is non-English intermediate data: declare exemptions: [translate-train]")
        for task, by_lang in self.translated.items():
            if task not in self.tasks:
                raise ValueError(f"translated.{task}: {task!r} is not one of this setting's tasks {self.tasks}")
            if "en" in by_lang:
                raise ValueError(f"translated.{task}: 'en' is the original data, not a translation")
        return self


class TargetEntry(Strict):
    """A target task with optional language subset and split overrides (``dev[0:300]`` slices rows)."""

    name: str
    languages: list[str] | None = None
    train_split: str | None = None
    select_split: str | None = None
    eval_splits: list[str] | None = None
    options: dict[str, Any] = Field(
        default_factory=dict, description="task-type knobs recorded in the node key (e.g. retrieval layer, pooling)"
    )
    train: StageHP | None = None

    @field_validator("train_split", "select_split")
    @classmethod
    def _split(cls, v: str | None) -> str | None:
        if v is not None:
            SplitRef.parse(v)
        return v

    @field_validator("eval_splits")
    @classmethod
    def _splits(cls, v: list[str] | None) -> list[str] | None:
        for s in v or []:
            SplitRef.parse(s)
        return v


def _entries(v: Any) -> Any:
    if isinstance(v, (str, dict)):
        v = [v]
    if isinstance(v, list):
        return [{"name": x} if isinstance(x, str) else x for x in v]
    return v


class MatrixConfig(Strict):
    """models × intermediate settings × target tasks × languages × seeds, with per-stage hyper-parameters."""

    name: str = "matrix"
    output_dir: str = "runs/matrix"
    cache_dir: str | None = Field(None, description="content-addressed node cache; default OUTPUT_DIR/cache")
    leaderboard: str | None = Field(None, description="JSONL written at the end; default OUTPUT_DIR/leaderboard.jsonl")
    models: list[ModelEntry]
    intermediate: list[IntermediateEntry] = Field(default_factory=lambda: [IntermediateEntry(name="none")])
    targets: list[TargetEntry]
    seeds: list[int] = Field(default_factory=lambda: [0])
    data: dict[str, str] = Field(
        default_factory=dict,
        description="task -> folder of official-format files, 'synthetic' (smoke data written on first use) or 'hub'",
    )
    train: StageHP = Field(default_factory=StageHP)
    intermediate_train: StageHP = Field(default_factory=StageHP)
    target_train: StageHP = Field(default_factory=StageHP)
    executor: str = "local"
    executor_options: dict[str, Any] = Field(
        default_factory=dict, description="options of the executor (ray: address, …; slurm: partition, mode, …)"
    )
    workers: int = Field(1, ge=1)
    threads: int | None = Field(
        None, ge=1, description="CPU threads per node; default: usable cores // workers, 1 for tiny models"
    )
    device: str = "auto"
    nproc: int = Field(1, ge=1, description="processes (GPUs) per training node; see harness.training.distributed")
    strategy: Literal["ddp", "fsdp"] = Field("ddp", description="multi-process training: data parallel or FSDP")
    loggers: list[str] = Field(default_factory=list, description="experiment trackers training nodes report to "
                               "(`harness plugins`: tensorboard, wandb, mlflow); not part of the config hash")
    gpu_memory_gb: float | None = Field(
        None, gt=0, description="memory of one GPU; `harness matrix plan` warns when a training node will not fit"
    )
    notes: list[str] = Field(default_factory=list, description="caveats the study's page shows (not hashed)")

    @field_validator("models", "intermediate", "targets", mode="before")
    @classmethod
    def _named(cls, v: Any) -> Any:
        return _entries(v)

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, v: Any) -> Any:
        return [v] if isinstance(v, int) else v

    @model_validator(mode="after")
    def _no_empty_or_duplicate(self) -> MatrixConfig:
        for field in ("models", "intermediate", "targets", "seeds"):
            if not getattr(self, field):
                raise ValueError(f"{field}: the list is empty; list at least one (an empty matrix computes nothing)")
        lists: dict[str, list[Any]] = {"intermediate": [e.name for e in self.intermediate],
                                       # a depth ablation lists one model at several depths: name@Lk each
                                       "models": [f"{e.name}@L{e.depth}" if e.depth else e.name for e in self.models]}
        lists["seeds"] = self.seeds
        _no_overlapping_targets(self.targets)
        for i, entry in enumerate(self.intermediate):
            lists[f"intermediate[{i}].tasks"] = entry.tasks
        for i, entry in enumerate(self.targets):
            lists[f"targets[{i}].languages"] = entry.languages or []
            lists[f"targets[{i}].eval_splits"] = entry.eval_splits or []
        for field, values in lists.items():
            first: dict[Any, int] = {}
            for i, v in enumerate(values):
                if v in first:
                    raise ValueError(f"{field}: {v!r} is listed twice ({field}[{first[v]}] and {field}[{i}]); "
                                     "remove one (each cell would be counted and run twice)")
                first[v] = i
        return self


def _no_overlapping_targets(targets: list[TargetEntry]) -> None:
    """One task may be listed again for other languages or eval splits (same training, more rows), never for a
    (language, split) an earlier entry with the same training already evaluates (its rows would be duplicated)."""
    seen: dict[str, list[tuple[int, TargetEntry]]] = {}
    for i, entry in enumerate(targets):
        training = json.dumps(entry.model_dump(exclude={"languages", "eval_splits"}), sort_keys=True, default=str)
        for j, other in seen.get(training, []):
            a, b = entry.languages, other.languages  # None: every language of the task
            langs = set(a) & set(b) if a and b else set(a or b or ["(all languages)"])
            splits = set(entry.eval_splits or ["(default)"]) & set(other.eval_splits or ["(default)"])
            if langs and splits:
                raise ValueError(f"targets: {entry.name!r} is listed twice (targets[{j}] and targets[{i}] both "
                                 f"evaluate {sorted(langs)[0]} {sorted(splits)[0]}); remove one or give them "
                                 "different languages or eval_splits")
        seen.setdefault(training, []).append((i, entry))


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_of(model: type[BaseModel], loc: tuple) -> list[str]:
    """Allowed field names at ``loc`` (for 'unknown field' errors)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        current = None
        for cand in getattr(ann, "__args__", ()) + (ann,):
            inner = getattr(cand, "__args__", None)
            for c in (inner or ()) + (cand,):
                if isinstance(c, type) and issubclass(c, BaseModel):
                    current = c
                    break
            if current is not None:
                break
    return list(current.model_fields) if current is not None else []


def format_validation_error(err: ValidationError, source: str) -> str:
    """One line per problem: ``FILE: FIELD: what is wrong (allowed: ...)``; the first problem leads."""
    lines = []
    for e in err.errors():
        loc = _loc(e["loc"])
        if e["type"] == "extra_forbidden":
            allowed = ", ".join(_fields_of(MatrixConfig, e["loc"]))
            lines.append(f"{source}: {loc}: unknown field (allowed: {allowed})")
        elif e["type"] == "missing":
            lines.append(f"{source}: {loc}: required field is missing")
        elif e["type"] == "value_error" and not loc:  # a whole-config check: its message names the field
            lines.append(f"{source}: {e['msg'].removeprefix('Value error, ')}")
        else:
            got = e.get("input")
            lines.append(f"{source}: {loc}: {e['msg'].removeprefix('Value error, ')} (got {got!r})")
    return lines[0] + (f" [+{len(lines) - 1} more: " + "; ".join(lines[1:]) + "]" if len(lines) > 1 else "")


def load_yaml(text: str, source: str = "<config>") -> Any:
    """Parse config text with :func:`~harness.toolkit.yamlload.load_strict` (safe: no Python objects, no code;
    no duplicate keys, alias bombs or YAML 1.1 booleans); a problem is a ``ConfigError`` naming source and line."""
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: {len(text.encode('utf-8'))} bytes; a config is at most {MAX_CONFIG_BYTES}")
    try:
        return load_strict(text)
    except yaml.YAMLError as err:
        if isinstance(err, StrictYAMLError):  # ours: the message carries the line
            raise ConfigError(f"{source}: not a valid config: {err}") from None
        raise ConfigError(yaml_error(Path(source), err)) from None


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> tuple[MatrixConfig, Path]:
    """Read and validate a YAML matrix config (``--set`` ``overrides`` applied first); returns it and its folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} not found")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give the YAML file of a matrix config (e.g. configs/quickstart.yaml)")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {path.stat().st_size} bytes; a config is at most {MAX_CONFIG_BYTES}")
    try:
        text = read_text(path)  # UTF-8 (a bad byte is named with its line), byte-order mark dropped
    except FormatError as err:
        raise ConfigError(str(err)) from None
    try:
        raw = apply_overrides(load_yaml(text, str(path)), overrides, MatrixConfig)
    except OverrideError as err:
        raise ConfigError(f"{path}: {err}") from None
    return parse_config(raw, f"{path} (with --set {' '.join(overrides)})" if overrides else str(path)), path.resolve().parent


def parse_config(raw: Any, source: str = "<config>") -> MatrixConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of fields, got {type(raw).__name__}")
    try:
        return MatrixConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


# Where and how a matrix runs, and its notes, do not change what it computes: left out of the config hash.
EXECUTION_FIELDS = {"output_dir", "cache_dir", "leaderboard", "executor", "executor_options", "workers", "device",
                    "nproc", "strategy", "gpu_memory_gb", "threads", "notes",
                    "loggers"}

# Entry fields added later: hashed only when set, so configs that do not use them keep their hash.
NEW_ENTRY_FIELDS = {"models": ("depth", "allow_pickle_weights"), "intermediate": ("train_split", "dev_split")}


def config_hash(cfg: MatrixConfig) -> str:
    """A short stable hash of the validated experiment definition (recorded in every row)."""
    data = cfg.model_dump(mode="json", exclude=EXECUTION_FIELDS)
    for section, fields in NEW_ENTRY_FIELDS.items():
        data[section] = [{k: v for k, v in e.items() if not (k in fields and v is None)} for e in data[section]]
    blob = json.dumps(_hashed(data), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _hashed(obj: Any) -> Any:
    """The config minus run-only fields (``checkpoint_every``) and unset optional ones (hashes stay as before)."""
    if isinstance(obj, dict):
        return {k: _hashed(v) for k, v in obj.items()
                if k not in NOT_IN_KEY and not (k in OPTIONAL_HP and v is None)}
    if isinstance(obj, list):
        return [_hashed(v) for v in obj]
    return obj
