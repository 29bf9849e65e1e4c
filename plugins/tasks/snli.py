"""SNLI 1.0 (Bowman et al., 2015) as an English intermediate task (also a part of ANLI+).

Local layouts under ``data_dir``, checked in this order:

1. the official release: ``snli_1.0_{train,dev,test}.jsonl`` (or inside ``snli_1.0/``), keys ``pairID``,
   ``sentence1``, ``sentence2``, ``gold_label``;
2. a GLUE-style TSV ``{train,dev,test}.tsv`` with a header naming ``sentence1``, ``sentence2``, ``gold_label``.

Rows whose ``gold_label`` is ``-`` (no annotator consensus) are dropped, as is standard. Hub: ``stanfordnlp/snli``
(label -1 marks those rows there).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.api import (
    SYNTHETIC_NOTE,
    Task,
    TaskSpec,
    hookimpl,
    load_hf,
    load_hub_or_folder,
    nli_rows,
    read_jsonl,
    read_tsv_dicts,
)

LABELS = ("entailment", "neutral", "contradiction")
ALIASES = {"validation": "dev"}
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
HOW = ("Get SNLI 1.0 (nlp.stanford.edu/projects/snli/snli_1.0.zip) or leave data_dir unset to use the hub "
       "dataset stanfordnlp/snli.")

SPEC = TaskSpec(
    name="snli", kind="classification", roles=("intermediate",), languages=("en",), labels=LABELS,
    sizes={"train": 550152, "dev": 10000, "test": 10000}, mean_tokens=25,  # cost before download: stanfordnlp/snli card (Bowman et al. 2015)
    metrics=("accuracy",), version="1", eval_splits=("dev",), select_split="dev", hf_dataset="stanfordnlp/snli",
    data_help=HOW, description="Stanford NLI over image captions (English)",
    citation="Bowman et al. 2015, A large annotated corpus for learning natural language inference",
    license="CC BY-SA 4.0", defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    return load_hub_or_folder(
        "snli", data_dir, how=HOW, what=f"{split!r} file",
        hub=lambda: [{"id": f"{split}-{i}", "language": "en", "text_a": r["premise"], "text_b": r["hypothesis"],
                      "label": LABELS[r["label"]]} for i, r in enumerate(
            load_hf(SPEC.hf_dataset, None, HF_SPLITS.get(split, split), revision=SPEC.hf_revision))
            if r["label"] >= 0],
        layouts=[((f"snli_1.0_{split}.jsonl", f"snli_1.0/snli_1.0_{split}.jsonl"),
                  lambda p: _labelled(read_jsonl(p, "snli", HOW), split)),
                 ((f"{split}.tsv",), lambda p: _labelled(read_tsv_dicts(p, "snli", HOW), split))])


def _labelled(records: list[dict], split: str) -> list[dict]:
    """Examples of the official records (jsonl or its tsv twin) that carry a gold label."""
    return [{"id": r.get("pairID") or f"{split}-{i}", "language": "en", "text_a": r["sentence1"],
             "text_b": r["sentence2"], "label": r["gold_label"]}
            for i, r in enumerate(records) if r.get("gold_label") in LABELS]


def fixture(data_dir: Path, n_train: int = 120, n_dev: int = 40, seed: int = 400) -> None:
    """SYNTHETIC files in the official jsonl layout (with one '-' row per split, which the loader drops)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n, s in (("train", n_train, seed), ("dev", n_dev, seed + 1)):
        rows = [{"annotator_labels": [y], "captionID": f"{i}.jpg#0", "gold_label": y, "pairID": f"{i}.jpg#0r1",
                 "sentence1": p, "sentence2": h} for i, (p, h, y) in enumerate(nli_rows(n, s, ("en",))["en"])]
        rows.append({"annotator_labels": ["neutral", "entailment"], "captionID": "x", "gold_label": "-",
                     "pairID": "x-r1", "sentence1": "a b", "sentence2": "c d"})
        text = "".join(json.dumps(r) + "\n" for r in rows)
        (data_dir / f"snli_1.0_{split}.jsonl").write_text(text, encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: SNLI 1.0 jsonl.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
