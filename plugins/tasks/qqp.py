"""QQP (Quora Question Pairs, GLUE version) as an English intermediate task: paraphrase of question pairs.

Local files under ``data_dir`` (GLUE layout, header line): ``train.tsv``/``dev.tsv`` with columns
``id qid1 qid2 question1 question2 is_duplicate``; ``test.tsv`` with ``id question1 question2`` (no labels).
GLUE's train/dev contain a handful of malformed rows (missing fields); they are skipped. Hub: ``nyu-mll/glue``
config ``qqp``.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import SYNTHETIC_NOTE, Task, TaskSpec, hookimpl, load_hf, load_hub_or_folder, read_tsv_dicts

LABELS = ("not_duplicate", "duplicate")
ALIASES = {"validation": "dev"}
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
HOW = "Get GLUE's QQP (gluebenchmark.com, QQP-clean.zip) or leave data_dir unset to use the hub dataset nyu-mll/glue (qqp)."

SPEC = TaskSpec(
    name="qqp", kind="classification", roles=("intermediate",), languages=("en",), labels=LABELS,
    sizes={"train": 363846, "dev": 40430}, mean_tokens=30,  # cost before download: GLUE card (Wang et al. 2019)
    metrics=("accuracy",), version="1", eval_splits=("dev",), select_split="dev", hf_dataset="nyu-mll/glue",
    data_help=HOW, description="Are two Quora questions paraphrases? (English)",
    citation="Iyer et al. 2017, First Quora Dataset Release: Question Pairs", license="Quora Terms of Service",
    defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def _label(raw: str | int | None) -> str | None:
    if raw is None or raw == "" or raw == -1:
        return None
    return LABELS[int(raw)]


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    return load_hub_or_folder(
        "qqp", data_dir, how=HOW,
        hub=lambda: [{"id": f"{split}-{r.get('idx', i)}", "language": "en", "text_a": r["question1"],
                      "text_b": r["question2"], "label": _label(r["label"])} for i, r in enumerate(
            load_hf(SPEC.hf_dataset, "qqp", HF_SPLITS.get(split, split), revision=SPEC.hf_revision))],
        layouts=[((f"{split}.tsv",), lambda p: _read_tsv(p, split))])


def _read_tsv(path: Path, split: str) -> list[dict]:
    """GLUE's ``{split}.tsv``, skipping its known malformed rows."""
    out = []
    for i, r in enumerate(read_tsv_dicts(path, "qqp", HOW)):
        if r.get("question1") is None or r.get("question2") is None:
            continue  # GLUE's known malformed rows
        label = r.get("is_duplicate")
        if label not in (None, "", "0", "1"):
            continue
        out.append({"id": f"{split}-{r.get('id', i)}", "language": "en", "text_a": r["question1"],
                    "text_b": r["question2"], "label": _label(label)})
    return out


def fixture(data_dir: Path, n_train: int = 120, n_dev: int = 40, seed: int = 300) -> None:
    """SYNTHETIC GLUE-layout QQP files."""
    import random

    rng = random.Random(seed)
    topics = ["cats", "rivers", "books", "cars", "trees", "birds"]
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_dev)):
        lines = ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate"]
        for i in range(n):
            a, b = rng.sample(topics, 2)
            y = rng.randrange(2)
            q2 = f"What is known about {a}?" if y else f"What is known about {b}?"
            lines.append(f"{i}\t{2 * i}\t{2 * i + 1}\tWhat do we know about {a}?\t{q2}\t{y}")
        (data_dir / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: GLUE QQP TSV.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
