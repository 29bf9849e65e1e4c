"""CommonsenseQA (Talmor et al., 2019) as an English intermediate task: 5-way question answering, no passage.

Local files under ``data_dir`` (official release, random split v1.11): ``train_rand_split.jsonl``,
``dev_rand_split.jsonl``, ``test_rand_split_no_answers.jsonl``; each line
``{"answerKey": "A".."E", "id", "question": {"question_concept", "choices": [{"label", "text"} x5], "stem"}}``.
Layout for the multiple-choice kind: ``context`` empty, ``question`` = ``stem``, ``choices`` in label order,
``label`` = index of ``answerKey``. Split names ``train``, ``dev``, ``test``. Hub: ``tau/commonsense_qa``.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.api import SYNTHETIC_NOTE, Task, TaskSpec, hookimpl, load_hf, load_hub_or_folder, read_jsonl

FILES = {"train": "train_rand_split.jsonl", "dev": "dev_rand_split.jsonl", "test": "test_rand_split_no_answers.jsonl"}
ALIASES = {"validation": "dev"}
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
HOW = ("Get the CommonsenseQA v1.11 random split (tau-nlp.org/commonsenseqa: train_rand_split.jsonl, "
       "dev_rand_split.jsonl) or leave data_dir unset to use the hub dataset tau/commonsense_qa.")

SPEC = TaskSpec(
    name="commonsenseqa", kind="multiple_choice", roles=("intermediate",), languages=("en",), metrics=("accuracy",),
    sizes={"train": 9741, "dev": 1221, "test": 1140}, mean_tokens=100,  # cost before download: tau/commonsense_qa card (Talmor et al. 2019); mean tokens: all 5 choices
    version="1", eval_splits=("dev",), select_split="dev", hf_dataset="tau/commonsense_qa", data_help=HOW,
    description="Commonsense question answering over ConceptNet concepts (English, 5 choices)",
    citation="Talmor et al. 2019, CommonsenseQA: A Question Answering Challenge Targeting Commonsense Knowledge",
    license="MIT", defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def _example(r: dict) -> dict:
    choices = sorted(r["question"]["choices"], key=lambda c: c["label"])
    labels = [c["label"] for c in choices]
    key = r.get("answerKey") or None
    if key is not None and key not in labels:
        raise ValueError(f"commonsenseqa: example {r['id']!r} has answerKey {key!r}; allowed: {labels}")
    return {"id": r["id"], "language": "en", "context": "", "question": r["question"]["stem"],
            "choices": [c["text"] for c in choices], "label": labels.index(key) if key else None}


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    if data_dir is not None and split not in FILES:
        raise ValueError(f"commonsenseqa: split {split!r} is not one of {', '.join(FILES)}")
    return load_hub_or_folder(
        "commonsenseqa", data_dir, how=HOW,
        hub=lambda: [_hub_example(r) for r in load_hf(SPEC.hf_dataset, None, HF_SPLITS.get(split, split),
                                                      revision=SPEC.hf_revision)],
        layouts=[((FILES.get(split, ""),), lambda p: [_example(r) for r in read_jsonl(p, "commonsenseqa", HOW)])])


def _hub_example(r: dict) -> dict:
    """A hub row (flat ``question``, ``choices`` as two lists) in the official jsonl's nesting, then parsed."""
    return _example({"id": r["id"], "answerKey": r["answerKey"], "question": {
        "stem": r["question"], "choices": [{"label": lab, "text": t}
                                           for lab, t in zip(r["choices"]["label"], r["choices"]["text"])]}})


def fixture(data_dir: Path, n_train: int = 80, n_dev: int = 25, seed: int = 800) -> None:
    """SYNTHETIC official-layout jsonl: the right choice is the animal the stem describes."""
    import random

    rng = random.Random(seed)
    facts = {"cat": "meows", "dog": "barks", "cow": "moos", "duck": "quacks", "bee": "buzzes", "owl": "hoots"}
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_dev)):
        lines = []
        for i in range(n):
            animals = rng.sample(list(facts), 5)
            key = rng.randrange(5)
            lines.append(json.dumps({"answerKey": "ABCDE"[key], "id": f"{split}{i:04d}", "question": {
                "question_concept": "animal", "stem": f"Which animal {facts[animals[key]]}?",
                "choices": [{"label": "ABCDE"[k], "text": a} for k, a in enumerate(animals)]}}))
        (data_dir / FILES[split]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: CommonsenseQA jsonl.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
