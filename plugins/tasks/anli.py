"""Adversarial NLI (Nie et al., 2020) rounds R1–R3, and ANLI+ (ANLI R1–R3 with MNLI and SNLI, Phang et al. 2020).

``anli`` reads either layout under ``data_dir``:

1. the official jsonl release ``anli_v1.0/R{1,2,3}/{train,dev,test}.jsonl`` (also ``R1/...`` directly under
   ``data_dir``): keys ``uid``, ``premise``, ``hypothesis``, ``label`` (``e``/``n``/``c``), ``reason``;
2. the annotated-analysis release ``anli_annot_v0.2/ANLI_analysis_r{1,2,3}_dev.csv`` (dev only; RFC-4180 CSV
   with ``context`` = premise, ``statement`` = hypothesis, ``gold_label`` e/n/c, ``uid``), used when no jsonl
   file of that round and split exists.

Split names: ``train``, ``dev``, ``test`` concatenate R1, R2, R3 in that order; ``train_r1`` … ``test_r3`` pick one
round. Hub: ``facebook/anli`` (splits ``train_r1`` …).

``anli_plus`` is the single task Phang et al. (2020) call ANLI+: its ``train`` split is the concatenation of ANLI
train R1–R3, MultiNLI train and SNLI train, with one three-way head; ``dev``/``test`` are ANLI's. Its
``data_dir`` holds one folder per part, each in that task's own layout: ``anli/``, ``mnli/``, ``snli/``. (A
multi-task mix of ``anli``, ``mnli`` and ``snli`` with one head each is the other way to combine them; see
docs/real-offline-mini.md.)
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from harness.api import (
    SYNTHETIC_NOTE,
    DataMissing,
    Task,
    TaskSpec,
    first_existing,
    hookimpl,
    load_hf,
    nli_rows,
    read_jsonl,
)

LABELS = ("entailment", "neutral", "contradiction")
SHORT = {"e": "entailment", "n": "neutral", "c": "contradiction"}
ROUNDS = ("r1", "r2", "r3")
ALIASES = {"validation": "dev"}
HOW = ("Get ANLI v1.0 (dl.fbaipublicfiles.com/anli/anli_v1.0.zip, facebookresearch/anli) or leave data_dir unset "
       "to use the hub dataset facebook/anli.")
HOW_PLUS = ("anli_plus reads DATA_DIR/anli, DATA_DIR/mnli and DATA_DIR/snli, each in that task's own layout "
            "(see the anli, mnli and snli tasks); or leave data_dir unset to use the hub copies.")

SPEC = TaskSpec(
    name="anli", kind="classification", roles=("intermediate",), languages=("en",), labels=LABELS,
    sizes={"train": 162865, "dev": 3200, "test": 3200}, mean_tokens=90,  # cost before download: Nie et al. 2020: R1-R3 train 16,946 + 45,460 + 100,459, dev/test 1,000 + 1,000 + 1,200
    metrics=("accuracy",), version="1", eval_splits=("dev",), select_split="dev", hf_dataset="facebook/anli",
    data_help=HOW, description="Adversarial NLI, rounds 1-3 (English)",
    citation="Nie et al. 2020, Adversarial NLI: A New Benchmark for Natural Language Understanding",
    license="CC BY-NC 4.0", defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)
SPEC_PLUS = TaskSpec(
    name="anli_plus", kind="classification", roles=("intermediate",), languages=("en",), labels=LABELS,
    sizes={"train": 1105719, "dev": 3200, "test": 3200}, mean_tokens=45,  # cost before download: ANLI R1-R3 162,865 + MNLI 392,702 + SNLI 550,152 train (Phang et al. 2020)
    metrics=("accuracy",), version="1", eval_splits=("dev",), select_split="dev", hf_dataset="facebook/anli",
    data_help=HOW_PLUS, description="ANLI+: ANLI R1-R3 + MNLI + SNLI training data, one NLI head (Phang et al. 2020)",
    citation="Phang et al. 2020, English Intermediate-Task Training Improves Zero-Shot Cross-Lingual Transfer Too",
    license="CC BY-NC 4.0 (ANLI); see MNLI, SNLI", defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def _parse_split(split: str) -> tuple[str, tuple[str, ...]]:
    split = ALIASES.get(split, split)
    base, _, rnd = split.partition("_")
    if base not in ("train", "dev", "test") or (rnd and rnd not in ROUNDS):
        raise ValueError(f"anli: split {split!r} is not one of train, dev, test, or SPLIT_r1/_r2/_r3")
    return base, (rnd,) if rnd else ROUNDS


def _label(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    return SHORT.get(raw, raw if raw in LABELS else None)


def _jsonl_path(data_dir: Path, base: str, rnd: str) -> Path | None:
    return first_existing(*(root / rnd.upper() / f"{base}.jsonl" for root in (data_dir / "anli_v1.0", data_dir)))


def _csv_path(data_dir: Path, base: str, rnd: str) -> Path | None:
    name = f"ANLI_analysis_{rnd}_{base}.csv"
    return first_existing(data_dir / "anli_annot_v0.2" / name, data_dir / name)


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    base, rounds = _parse_split(split)
    out: list[dict] = []
    for rnd in rounds:
        if data_dir is None:
            ds = load_hf(SPEC.hf_dataset, None, f"{base}_{rnd}", revision=SPEC.hf_revision)
            out += [{"id": r["uid"], "language": "en", "text_a": r["premise"], "text_b": r["hypothesis"],
                     "label": LABELS[r["label"]] if r["label"] >= 0 else None, "round": rnd} for r in ds]
            continue
        data_dir = Path(data_dir)
        path = _jsonl_path(data_dir, base, rnd)
        if path is not None:
            rows = read_jsonl(path, "anli", HOW)
            out += [{"id": r["uid"], "language": "en", "text_a": r["premise"], "text_b": r["hypothesis"],
                     "label": _label(r.get("label")), "round": rnd} for r in rows]
            continue
        path = _csv_path(data_dir, base, rnd)
        if path is not None:
            with open(path, encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
            out += [{"id": r["uid"], "language": "en", "text_a": r["context"], "text_b": r["statement"],
                     "label": _label(r["gold_label"]), "round": rnd} for r in rows]
            continue
        raise DataMissing(f"anli: no {base} file for round {rnd.upper()} under {data_dir} (looked for "
                          f"anli_v1.0/{rnd.upper()}/{base}.jsonl and anli_annot_v0.2/ANLI_analysis_{rnd}_{base}.csv). "
                          f"{HOW}")
    return out


def _part(name: str):
    """Another registered task (MNLI, SNLI), found through the plugin registry, never by importing its module."""
    from harness.api import registry

    return registry().task(name)


def load_plus(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    """ANLI+: ANLI (all rounds) for every split; for ``train``, the registered tasks mnli and snli follow."""
    sub = (lambda name: None) if data_dir is None else (lambda name: Path(data_dir) / name)
    if data_dir is not None and not (Path(data_dir) / "anli").is_dir():
        raise DataMissing(f"anli_plus: folder {Path(data_dir) / 'anli'} not found. {HOW_PLUS}")
    out = [{**e, "id": f"anli:{e['id']}"} for e in load(split, data_dir=sub("anli"))]
    if ALIASES.get(split, split) == "train":
        for name in ("mnli", "snli"):
            if data_dir is not None and not (Path(data_dir) / name).is_dir():
                raise DataMissing(f"anli_plus: folder {Path(data_dir) / name} not found. {HOW_PLUS}")
            out += [{**e, "id": f"{name}:{e['id']}"} for e in _part(name).load("train", "en", sub(name))]
    return out


def fixture(data_dir: Path, n_train: int = 60, n_dev: int = 20, seed: int = 500) -> None:
    """SYNTHETIC files in the official jsonl layout: anli_v1.0/R{1,2,3}/{train,dev,test}.jsonl."""
    data_dir = Path(data_dir)
    for k, rnd in enumerate(ROUNDS):
        folder = data_dir / "anli_v1.0" / rnd.upper()
        folder.mkdir(parents=True, exist_ok=True)
        for split, n, s in (("train", n_train, seed + 10 * k), ("dev", n_dev, seed + 10 * k + 1),
                            ("test", n_dev, seed + 10 * k + 2)):
            rows = [{"uid": f"{rnd}-{split}-{i}", "premise": p, "hypothesis": h, "label": y[0], "reason": ""}
                    for i, (p, h, y) in enumerate(nli_rows(n, s, ("en",))["en"])]
            (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: ANLI v1.0 jsonl.\n")


def fixture_plus(data_dir: Path) -> None:
    """SYNTHETIC ANLI+ folder: anli/, mnli/, snli/ each in its own official layout."""
    data_dir = Path(data_dir)
    fixture(data_dir / "anli")
    _part("mnli").fixture(data_dir / "mnli", n_train=60, n_dev=20)
    _part("snli").fixture(data_dir / "snli", n_train=60, n_dev=20)
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: anli/, mnli/, snli/ folders.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
    register(Task(spec=SPEC_PLUS, load=load_plus, fixture=fixture_plus))
