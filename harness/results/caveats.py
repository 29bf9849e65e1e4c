"""Caveats of a study, for the top of its page: the config's ``notes:`` and protocol facts read from the rows.

Rows carry the config's name and hash, never its notes; the notes are read from the config file given to
``harness leaderboard html --config-file`` (a file whose hash differs from the rows' is named as such). Facts
from the rows, each said only when it holds:

- a depth ablation (rows with ``depth``): the model axis is depth (layers of MODEL), not model size;
- a metric whose threshold is tuned on the scored split (``oracle`` in its name or signature, BUCC's
  ``bucc_f1_margin_oracle``): optimistic, not comparable with published numbers;
- synthetic data: how many rows (or that none is);
- how many target trainings selected their last step (``budget.best_step == budget.target_steps``);
- the learning rate per model: recorded in the rows' ``budget`` (``target_lr``, ``intermediate_lr``), else read
  from the config file, else said to be unrecorded.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any


def _models(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({str(r["model"]) for r in rows if not r.get("source")})


def _depth(rows: list[dict[str, Any]]) -> str | None:
    cuts: dict[str, set] = defaultdict(set)
    for r in rows:
        d = r.get("depth")
        if isinstance(d, dict) and d.get("layers"):
            cuts[(str(d.get("of")), d.get("of_layers"), d.get("axis") or f"depth (layers of {d.get('of')})")].add(
                int(d["layers"]))
    if not cuts:
        return None
    parts = [f"{of} cut to its first {' and '.join(map(str, sorted(ks)))} of {total or '?'} layers (axis: {axis})"
             for (of, total, axis), ks in sorted(cuts.items(), key=str)]
    return ("Depth ablation, not model size: " + "; ".join(parts) + ". The cut models are one pretrained model "
            "with layers removed, not separately pretrained sizes: the trend is along depth and says nothing "
            "about model size.")


def _oracle(rows: list[dict[str, Any]]) -> str | None:
    hits = sorted({(str(r["task"]), str(r["metric"])) for r in rows
                   if "oracle" in str(r.get("metric")) or "(oracle)" in str(r.get("signature") or "")})
    if not hits:
        return None
    what = ", ".join(f"{task} {metric}" for task, metric in hits)
    return (f"Oracle threshold: {what}: the decision threshold is tuned on the scored split itself, so the score "
            "is optimistic and not comparable with published numbers (comparable only within this study).")


def _synthetic(rows: list[dict[str, Any]]) -> str:
    own = [r for r in rows if not r.get("source")]
    synth = [r for r in own if r.get("synthetic")]
    if not synth:
        return f"Data: no row is computed on synthetic data ({len(own)} rows say synthetic: false or unset)."
    tasks = ", ".join(sorted({str(r["task"]) for r in synth}))
    return f"Synthetic data: {len(synth)} of {len(own)} rows ({tasks}) measure the pipeline, not languages."


def _last_step(rows: list[dict[str, Any]]) -> str | None:
    trainings: dict[tuple, tuple] = {}
    for r in rows:
        b = r.get("budget") or {}
        if b.get("target_steps") is not None and b.get("best_step") is not None:
            key = (r["model"], r.get("intermediate") or "none", r["task"], r.get("seed"))
            trainings[key] = (b["best_step"], b["target_steps"])
    if not trainings:
        return None
    last = sum(best == steps for best, steps in trainings.values())
    text = (f"Checkpoint selection: {last} of {len(trainings)} target trainings selected their last step "
            "(best_step = target_steps)")
    return text + (": the dev score was still rising or flat at the end, so longer training may change the "
                   "results." if last else ".")


def fmt_lr(value: float) -> str:
    """A learning rate as ``2e-4``."""
    mantissa, exponent = f"{float(value):e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def _config_lr(cfg: Any) -> dict[str, str]:
    out = {}
    for entry in cfg.models:
        name = f"{entry.name}@L{entry.depth}" if entry.depth else entry.name
        lrs = {stage: (getattr(entry.train, "lr", None) if entry.train else None) or getattr(cfg, stage).lr
               or cfg.train.lr for stage in ("intermediate_train", "target_train")}
        values = sorted({fmt_lr(v) for v in lrs.values() if v})
        out[name] = " / ".join(values) if values else "the paper's default 1e-5"
    return out


def _lr(rows: list[dict[str, Any]], cfg: Any) -> str:
    recorded: dict[str, set] = defaultdict(set)
    for r in rows:
        b = r.get("budget") or {}
        for key in ("intermediate_lr", "target_lr"):
            if b.get(key) is not None:
                recorded[str(r["model"])].add(fmt_lr(b[key]))
    from_config = _config_lr(cfg) if cfg is not None else {}
    parts = []
    for model in _models(rows):
        if recorded.get(model):
            parts.append(f"{model} {' / '.join(sorted(recorded[model]))}")
        elif model in from_config:
            parts.append(f"{model} {from_config[model]} (from the config file)")
        else:
            parts.append(f"{model} not recorded")
    text = "Learning rate per model: " + "; ".join(parts) + "."
    if not cfg and not recorded:
        text += " (The rows do not record it: pass --config-file CONFIG to read it from the study's config.)"
    return text


def _notes(rows: list[dict[str, Any]], config_file: str | Path | None) -> tuple[list[str], Any]:
    if config_file is None:
        return [], None
    from harness.planning.config import config_hash, load_config

    cfg, _ = load_config(config_file)
    out = [f"Note from {Path(config_file).name}: {n}" for n in cfg.notes]
    hashes = {str(r.get("config_hash")) for r in rows if not r.get("source") and r.get("config_hash")}
    mine = config_hash(cfg)
    if hashes and mine not in hashes:
        out.append(f"The config file {Path(config_file).name} has hash {mine}; the rows were made by "
                   f"{', '.join(sorted(hashes))}: its notes and learning rates may not describe these rows.")
    return out, cfg


def caveats(rows: list[dict[str, Any]], config_file: str | Path | None = None) -> list[str]:
    """Every caveat of the rows (and the config's notes), each a plain sentence, notes first."""
    notes, cfg = _notes(rows, config_file)
    facts = [_depth(rows), _oracle(rows), _synthetic(rows), _last_step(rows), _lr(rows, cfg)]
    return notes + [f for f in facts if f]
