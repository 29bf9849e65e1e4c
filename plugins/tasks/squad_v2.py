"""SQuAD 2.0 (Rajpurkar et al., 2018) as an English intermediate task: extractive QA with unanswerable questions.

Local files under ``data_dir`` (official layout): ``train-v2.0.json`` and ``dev-v2.0.json``
(``{"version": "v2.0", "data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers":
[{"text", "answer_start"}], "is_impossible", "plausible_answers"?}]}]}]}``; compact or pretty-printed). A single
file matching ``{split}-v2.0*.json`` (e.g. a ``dev-v2.0.sample.json`` cut) is read when the exact name is absent.
Unanswerable questions get empty answer lists (``plausible_answers`` are never used as gold). The span_qa kind's
no-answer switch is on (``allow_no_answer``), and the paper's QA recipe applies: batch 16, max length 384.
Hub: ``rajpurkar/squad_v2``.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.api import SYNTHETIC_NOTE, DataMissing, Task, TaskSpec, hookimpl, load_hf

ALIASES = {"validation": "dev"}
HF_SPLITS = {"train": "train", "dev": "validation"}
HOW = ("Get train-v2.0.json / dev-v2.0.json from rajpurkar.github.io/SQuAD-explorer or leave data_dir unset to use "
       "the hub dataset rajpurkar/squad_v2.")

SPEC = TaskSpec(
    name="squad_v2", kind="span_qa", roles=("intermediate",), languages=("en",),
    sizes={"train": 130319, "dev": 11873}, mean_tokens=180,  # cost before download: rajpurkar/squad_v2 card (Rajpurkar et al. 2018)
    metrics=("squad_v2_f1", "squad_v2_exact_match"), version="1", eval_splits=("dev",), select_split="dev",
    hf_dataset="rajpurkar/squad_v2", data_help=HOW, description="Extractive QA over Wikipedia with unanswerable questions",
    citation="Rajpurkar et al. 2018, Know What You Don't Know: Unanswerable Questions for SQuAD",
    license="CC BY-SA 4.0",
    defaults={"lr": 1e-5, "batch_size": 16, "max_length": 384, "allow_no_answer": True},
)


def parse(data: dict) -> list[dict]:
    """Examples of a SQuAD v2.0 JSON object, in file order."""
    out = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible", False))
                answers = [] if impossible else qa.get("answers", [])
                out.append({"id": qa["id"], "language": "en", "title": article.get("title", ""),
                            "context": para["context"], "question": qa["question"],
                            "answers": {"text": [a["text"] for a in answers],
                                        "answer_start": [int(a["answer_start"]) for a in answers]}})
    return out


def _path(data_dir: Path, split: str) -> Path:
    exact = data_dir / f"{split}-v2.0.json"
    if exact.exists():
        return exact
    found = sorted(data_dir.glob(f"{split}-v2.0*.json"))
    if len(found) == 1:
        return found[0]
    raise DataMissing(f"squad_v2: data file {exact} not found" + (f" ({len(found)} candidates match "
                      f"{split}-v2.0*.json)" if found else "") + f". {HOW}")


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    if data_dir is None:
        ds = load_hf(SPEC.hf_dataset, None, HF_SPLITS.get(split, split), revision=SPEC.hf_revision)
        return [{"id": r["id"], "language": "en", "title": r["title"], "context": r["context"],
                 "question": r["question"], "answers": {"text": list(r["answers"]["text"]),
                                                        "answer_start": list(r["answers"]["answer_start"])}}
                for r in ds]
    path = _path(Path(data_dir), split)
    return parse(json.loads(path.read_text(encoding="utf-8")))


def fixture(data_dir: Path, n_train: int = 40, n_dev: int = 16, seed: int = 1000) -> None:
    """SYNTHETIC official-layout JSON: a third of the questions ask about a colour the paragraph never names."""
    import random

    rng = random.Random(seed)
    things, colours = ["car", "door", "hat", "boat", "kite"], ["red", "blue", "green", "black", "white"]
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_dev)):
        paragraphs = []
        for i in range(n):
            thing, other = rng.sample(things, 2)
            colour = rng.choice(colours)
            context = f"Yesterday the {thing} was painted {colour} by a neighbour."
            if i % 3 == 2:
                qa = {"question": f"What colour was the {other}?", "id": f"{split}{i}", "answers": [],
                      "is_impossible": True, "plausible_answers": [{"text": colour,
                                                                    "answer_start": context.index(colour)}]}
            else:
                qa = {"question": f"What colour was the {thing}?", "id": f"{split}{i}",
                      "answers": [{"text": colour, "answer_start": context.index(colour)}], "is_impossible": False}
            paragraphs.append({"qas": [qa], "context": context})
        doc = {"version": "v2.0", "data": [{"title": "Synthetic", "paragraphs": paragraphs}]}
        (data_dir / f"{split}-v2.0.json").write_text(json.dumps(doc), encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: SQuAD v2.0 JSON.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
