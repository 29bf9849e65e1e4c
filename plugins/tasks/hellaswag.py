"""HellaSwag (Zellers et al., 2019) as an English intermediate task: pick the plausible continuation (4 endings).

Local files under ``data_dir`` (official rowanz/hellaswag layout): ``hellaswag_{train,val,test}.jsonl`` with keys
``ind``, ``activity_label``, ``ctx_a``, ``ctx_b``, ``ctx``, ``endings`` (4), ``label`` (absent in test),
``split_type``. Layout for the multiple-choice kind: ``context`` = ``ctx_a``, ``question`` = ``ctx_b`` (the
start of the sentence the ending completes), ``choices`` = ``endings``. ``dev`` means ``val``.
Hub: ``Rowan/hellaswag`` (label is a string there).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.api import SYNTHETIC_NOTE, Task, TaskSpec, hookimpl, load_hf, load_hub_or_folder, read_jsonl

ALIASES = {"dev": "val", "validation": "val"}
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
HOW = ("Get hellaswag_{train,val,test}.jsonl from github.com/rowanz/hellaswag (data/) or leave data_dir unset to "
       "use the hub dataset Rowan/hellaswag.")

SPEC = TaskSpec(
    name="hellaswag", kind="multiple_choice", roles=("intermediate",), languages=("en",), metrics=("accuracy",),
    sizes={"train": 39905, "val": 10042, "test": 10003}, mean_tokens=240,  # cost before download: Rowan/hellaswag card (Zellers et al. 2019); mean tokens: all 4 endings
    version="1", eval_splits=("val",), select_split="val", hf_dataset="Rowan/hellaswag", data_help=HOW,
    description="Commonsense sentence completion over ActivityNet/WikiHow (English, 4 choices)",
    citation="Zellers et al. 2019, HellaSwag: Can a Machine Really Finish Your Sentence?", license="MIT",
    defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def _label(raw) -> int | None:
    return None if raw is None or raw == "" else int(raw)


def _example(r: dict, split: str) -> dict:
    return {"id": f"{split}-{r['ind']}", "language": "en", "context": r["ctx_a"], "question": r.get("ctx_b", ""),
            "choices": list(r["endings"]), "label": _label(r.get("label"))}


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    return load_hub_or_folder(
        "hellaswag", data_dir, how=HOW,
        hub=lambda: [_example(r, split) for r in load_hf(SPEC.hf_dataset, None, HF_SPLITS.get(split, split),
                                                         revision=SPEC.hf_revision)],
        layouts=[((f"hellaswag_{split}.jsonl",), lambda p: [_example(r, split) for r in read_jsonl(p, "hellaswag", HOW)])])


def fixture(data_dir: Path, n_train: int = 80, n_dev: int = 24, seed: int = 600) -> None:
    """SYNTHETIC official-layout jsonl: the right ending repeats the subject of the context."""
    import random

    rng = random.Random(seed)
    nouns = ["man", "woman", "dog", "child", "cook", "player"]
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_dev)):
        lines = []
        for i in range(n):
            subj, *others = rng.sample(nouns, 4)
            label = rng.randrange(4)
            endings = [f"the {o} sleeps." for o in others]
            endings.insert(label, f"the {subj} keeps going.")
            ctx_a, ctx_b = f"A {subj} walks outside.", "then"
            lines.append(json.dumps({"ind": i, "activity_label": "walking", "ctx_a": ctx_a, "ctx_b": ctx_b,
                                     "ctx": f"{ctx_a} {ctx_b}", "split": split, "split_type": "indomain",
                                     "label": label, "endings": endings, "source_id": f"synthetic~{i}"}))
        (data_dir / f"hellaswag_{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: HellaSwag jsonl.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
