"""Social IQa (Sap et al., 2019): 3-way commonsense QA about social situations (English intermediate task).

Not one of the nine tasks of Phang et al. (2020), but the English companion XCOPA's authors train on before COPA.
Local files under ``data_dir`` (official socialiqa-train-dev release): ``{train,dev}.jsonl`` with keys
``context``, ``question``, ``answerA``, ``answerB``, ``answerC``, and ``{train,dev}-labels.lst`` with one gold
answer (1, 2 or 3) per line, aligned with the jsonl lines. Hub: ``allenai/social_i_qa`` read from its parquet
conversion (branch ``refs/convert/parquet``; the repo's loading script is refused by ``datasets>=4``).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.api import SYNTHETIC_NOTE, Task, TaskSpec, hookimpl, load_hf, load_hub_or_folder, read_jsonl

ALIASES = {"validation": "dev"}
HF_SPLITS = {"train": "train", "dev": "validation"}
# The hub's parquet conversion of the dataset: one folder per config and split.
PARQUET_FILES = {"train": "default/train/*.parquet", "validation": "default/validation/*.parquet"}
HOW = ("Get socialiqa-train-dev.zip (leaderboard.allenai.org/socialiqa; {train,dev}.jsonl + -labels.lst) or "
       "leave data_dir unset to use the hub dataset allenai/social_i_qa.")

SPEC = TaskSpec(
    name="siqa", kind="multiple_choice", roles=("intermediate",), languages=("en",), metrics=("accuracy",),
    sizes={"train": 33410, "dev": 1954}, mean_tokens=90,  # cost before download: allenai/social_i_qa card (Sap et al. 2019); mean tokens: all 3 answers
    version="1", eval_splits=("dev",), select_split="dev", hf_dataset="allenai/social_i_qa",
    hf_revision="refs/convert/parquet", data_help=HOW,
    description="Social commonsense QA (English, 3 choices)",
    citation="Sap et al. 2019, Social IQa: Commonsense Reasoning about Social Interactions", license="CC BY 4.0",
    defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def _example(r: dict, i: int, split: str, label: str | None) -> dict:
    return {"id": f"{split}-{i}", "language": "en", "context": r["context"], "question": r["question"],
            "choices": [r["answerA"], r["answerB"], r["answerC"]],
            "label": int(label) - 1 if label not in (None, "") else None}


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    return load_hub_or_folder(
        "siqa", data_dir, how=HOW,
        hub=lambda: [_example(r, i, split, r.get("label")) for i, r in enumerate(
            load_hf(SPEC.hf_dataset, None, HF_SPLITS.get(split, split), revision=SPEC.hf_revision,
                    data_files=PARQUET_FILES))],
        layouts=[((f"{split}.jsonl",), lambda p: _read_jsonl(p, split))])


def _read_jsonl(path: Path, split: str) -> list[dict]:
    """The official ``{split}.jsonl`` with its labels from ``{split}-labels.lst`` beside it, when present."""
    rows = read_jsonl(path, "siqa", HOW)
    labels_path = path.with_name(f"{split}-labels.lst")
    labels: list[str | None] = [None] * len(rows)
    if labels_path.exists():
        labels = [x.strip() for x in labels_path.read_text(encoding="utf-8").splitlines() if x.strip()]
        if len(labels) != len(rows):
            raise ValueError(f"siqa: {labels_path} has {len(labels)} labels for {len(rows)} examples in {path}")
    return [_example(r, i, split, y) for i, (r, y) in enumerate(zip(rows, labels))]


def fixture(data_dir: Path, n_train: int = 60, n_dev: int = 21, seed: int = 900) -> None:
    """SYNTHETIC official-layout files: the right answer matches the feeling named in the context."""
    import random

    rng = random.Random(seed)
    feelings = ["happy", "sad", "angry", "tired", "proud"]
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_dev)):
        lines, labels = [], []
        for _ in range(n):
            f, *others = rng.sample(feelings, 3)
            k = rng.randrange(3)
            answers = [f"they feel {o}" for o in others]
            answers.insert(k, f"they feel {f}")
            lines.append(json.dumps({"context": f"Alex was {f} all day.", "question": "How does Alex feel?",
                                     "answerA": answers[0], "answerB": answers[1], "answerC": answers[2]}))
            labels.append(str(k + 1))
        (data_dir / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (data_dir / f"{split}-labels.lst").write_text("\n".join(labels) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: Social IQa jsonl + labels.lst.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
