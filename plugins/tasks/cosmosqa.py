"""Cosmos QA (Huang et al., 2019) as an English intermediate task: reading comprehension with commonsense, 4 answers.

Local files under ``data_dir`` (official wilburOne/cosmosqa layout): ``train.csv`` and ``valid.csv`` (RFC-4180 CSV,
header ``id,context,question,answer0,answer1,answer2,answer3,label``) and ``test.jsonl`` (same keys, no label).
``dev`` means ``valid``. Hub: ``allenai/cosmos_qa``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from harness.api import SYNTHETIC_NOTE, Task, TaskSpec, hookimpl, load_hf, load_hub_or_folder, read_jsonl

ALIASES = {"dev": "valid", "validation": "valid"}
HF_SPLITS = {"train": "train", "valid": "validation", "test": "test"}
HOW = ("Get train.csv/valid.csv/test.jsonl from github.com/wilburOne/cosmosqa (data/) or leave data_dir unset to "
       "use the hub dataset allenai/cosmos_qa.")

SPEC = TaskSpec(
    name="cosmosqa", kind="multiple_choice", roles=("intermediate",), languages=("en",), metrics=("accuracy",),
    sizes={"train": 25262, "valid": 2985, "test": 6963}, mean_tokens=440,  # cost before download: allenai/cosmos_qa card (Huang et al. 2019); mean tokens: all 4 answers
    version="1", eval_splits=("valid",), select_split="valid", hf_dataset="allenai/cosmos_qa", data_help=HOW,
    description="Commonsense reading comprehension over personal narratives (English, 4 choices)",
    citation="Huang et al. 2019, Cosmos QA: Machine Reading Comprehension with Contextual Commonsense Reasoning",
    license="CC BY 4.0", defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def _example(r: dict) -> dict:
    label = r.get("label")
    return {"id": r["id"], "language": "en", "context": r["context"], "question": r["question"],
            "choices": [r[f"answer{k}"] for k in range(4)],
            "label": None if label is None or label == "" or int(label) < 0 else int(label)}


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    return load_hub_or_folder(
        "cosmosqa", data_dir, how=HOW,
        hub=lambda: [_example(r) for r in load_hf(SPEC.hf_dataset, None, HF_SPLITS.get(split, split),
                                                  revision=SPEC.hf_revision)],
        layouts=[((f"{split}.csv",), _read_csv),
                 ((f"{split}.jsonl",), lambda p: [_example(r) for r in read_jsonl(p, "cosmosqa", HOW)])])


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [_example(r) for r in csv.DictReader(fh)]


def fixture(data_dir: Path, n_train: int = 80, n_dev: int = 24, seed: int = 700) -> None:
    """SYNTHETIC official-layout CSV: the right answer names the place the context mentions."""
    import random

    rng = random.Random(seed)
    places = ["park", "school", "beach", "office", "market", "library"]
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("valid", n_dev)):
        with open(data_dir / f"{split}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"])
            for i in range(n):
                place, *others = rng.sample(places, 4)
                label = rng.randrange(4)
                answers = [f"They were at the {o}." for o in others]
                answers.insert(label, f"They were at the {place}.")
                w.writerow([f"{split}{i}", f"We spent the day at the {place}, and it was fun, really.",
                            "Where were they ?", *answers, label])
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: Cosmos QA CSV.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
