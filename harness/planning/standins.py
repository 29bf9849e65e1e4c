"""``--models-as tiny``: the same matrix with every model replaced by a tiny stand-in of its family and every
task's data by the task's synthetic smoke data, so a study's pilot runs end to end on a CPU (CI) before any GPU
time is spent. Its results are never mistaken for real ones: each stand-in is named ``TINY-standin-for-MODEL``
in every row (TINY: the model's ``ModelSpec.stand_in``), every row is ``synthetic`` (the data is), and the matrix
writes into its own folder (``OUTPUT_DIR-tiny-standins``) under its own name (``NAME-tiny-standins``)."""

from __future__ import annotations

from typing import Any

from harness.core.registry import registry
from harness.planning.config import MatrixConfig, parse_config

MODES = ("tiny",)
SUFFIX = "-tiny-standins"
CPU_HP = {"precision": "fp32", "gradient_checkpointing": False, "grad_accum": 1}  # what a CPU runs
TINY_MAX_LENGTH = 128  # the tiny models' positions (130, two reserved)


def tiny_for(name: str, family: str | None) -> str:
    """The registered tiny model that stands in for model ``name`` (of ``family``): the model's own
    ``ModelSpec.stand_in``, else that of the first registered model of the same family that names one."""
    reg = registry()
    if name in reg.models and reg.models[name].stand_in:
        return str(reg.models[name].stand_in)
    for spec in reg.models.values():
        if spec.family == family and spec.stand_in:
            return str(spec.stand_in)
    raise ValueError(f"--models-as tiny: no tiny stand-in for model {name!r} (family {family!r}); a plugin names "
                     "one with ModelSpec.stand_in")


def _model(entry: dict[str, Any]) -> dict[str, Any]:
    reg = registry()
    name = entry["name"]
    family = entry.get("family") or (reg.models[name].family if name in reg.models else None)
    if name in reg.models and reg.models[name].source.startswith("local:"):
        return {"name": name}  # a locally built (tiny) model already
    tiny = reg.model(tiny_for(name, family))
    return {"name": f"{tiny.name}-standin-for-{name}", "family": tiny.family, "source": tiny.source,
            "options": dict(tiny.options), **({"depth": entry["depth"]} if entry.get("depth") else {})}


def _hp(hp: dict[str, Any] | None, top: bool = False) -> dict[str, Any]:
    out = {k: v for k, v in (hp or {}).items() if v is not None}
    out = {**out, **{k: v for k, v in CPU_HP.items() if k in out or k == "precision"}}
    if top or "max_length" in out:  # the top level caps every task default too (QA's 384)
        out["max_length"] = min(int(out.get("max_length") or TINY_MAX_LENGTH), TINY_MAX_LENGTH)
    return out


def synthetic_languages(task: str, languages: list[str], splits: list[str]) -> list[str]:
    """Those of ``languages`` for which the task's synthetic data holds every split in ``splits`` (a fixture
    writes a few languages, not all a benchmark has)."""
    import tempfile
    from pathlib import Path

    from harness.toolkit.data import DataMissing, SplitRef

    t = registry().task(task)
    with tempfile.TemporaryDirectory(prefix=f"xlt-standin-{task}-") as tmp:
        folder = Path(tmp) / task
        t.fixture(data_dir=folder)
        out = []
        for lang in languages:
            try:
                for split in splits:
                    t.load(split=SplitRef.parse(split).name, language=lang, data_dir=folder)
            except (DataMissing, FileNotFoundError, KeyError, ValueError):
                continue
            out.append(lang)
    return out


def with_models_as(cfg: MatrixConfig, mode: str) -> MatrixConfig:
    """``cfg`` with tiny stand-ins for its models and synthetic data for its tasks (``mode``: one of :data:`MODES`)."""
    if mode not in MODES:
        raise ValueError(f"--models-as {mode!r} is not one of {', '.join(MODES)}")
    raw = cfg.model_dump(exclude_none=True)
    tasks = {t["name"] for t in raw["targets"]}
    for entry in raw.get("intermediate") or []:
        tasks.update(entry.get("tasks") or ([] if entry["name"] == "none" else [entry["name"]]))
    raw.update(
        name=cfg.name + SUFFIX, output_dir=cfg.output_dir.rstrip("/") + SUFFIX, device="cpu", nproc=1,
        executor="local", executor_options={}, models=[_model(m) for m in raw["models"]],
        data={t: "synthetic" for t in sorted(tasks) if t in registry().tasks},
        train=_hp(raw.get("train"), top=True), intermediate_train=_hp(raw.get("intermediate_train")),
        target_train=_hp(raw.get("target_train")),
    )
    for key in ("cache_dir", "leaderboard", "gpu_memory_gb"):
        raw.pop(key, None)
    for t in raw["targets"]:
        if t.get("train"):
            t["train"] = _hp(t["train"])
        spec = registry().task(t["name"]).spec
        wanted = list(t.get("languages") or spec.languages)
        t["languages"] = synthetic_languages(t["name"], wanted, list(t.get("eval_splits") or spec.eval_splits)) or [
            spec.train_language]
    return parse_config(raw)
