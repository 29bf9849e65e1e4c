"""An example third-party task for xlt-harness: ``example-nli``, NLI read from JSON Lines.

Copy this package to add your own task. The layout of the data files (one file per split and language):

    {data_dir}/{split}.{lang}.jsonl   with lines {"premise": ..., "hypothesis": ..., "label": ...}

Register it with one entry point in pyproject.toml (``[project.entry-points.xlt_harness]``); then
``harness tasks`` lists it and a matrix config can name it under ``targets``.

The same plugin also adds a task *kind* and a *metric* the core does not have (:mod:`xlt_example_task.ordinal`):
``example-nli-ordinal`` reads the same files, is of kind ``ordinal`` and is scored by ``ordinal_error``.
Everything comes from ``harness.api``, the one module a plugin imports.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.api import Task, TaskSpec, hookimpl, load_hub_or_folder, read_jsonl, write_jsonl
from xlt_example_task.ordinal import KIND, OrdinalType, ordinal_metric

LABELS = ("entailment", "neutral", "contradiction")
HOW = "Write {split}.{lang}.jsonl files (premise, hypothesis, label) or use `data: {example-nli: synthetic}`."

SPEC = TaskSpec(
    name="example-nli",
    kind="classification",  # the core supplies encoding, head, loss and decoding for this kind
    roles=("target",),
    languages=("en", "de", "es", "fr"),
    labels=LABELS,
    metrics=("accuracy",),
    version="1",  # bump when loading or scoring changes: cached results are then recomputed
    eval_splits=("test",),
    data_help=HOW,
    description="Example third-party NLI task (JSON Lines)",
    defaults={"max_length": 64},
)


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    """Examples of one split and language, in the classification layout the core expects."""

    def read(path: Path) -> list[dict]:  # harness.toolkit.formats names the file and line of a malformed row
        return [{"id": f"{split}-{language}-{i}", "language": language, "text_a": r["premise"],
                 "text_b": r["hypothesis"], "label": r.get("label")}
                for i, r in enumerate(read_jsonl(path, "example-nli", HOW))]

    # no hub copy (hub=None): without a data folder, or without the file, the error says what to do
    return load_hub_or_folder("example-nli", data_dir, how=HOW, layouts=[((f"{split}.{language}.jsonl",), read)])


def fixture(data_dir: Path) -> None:
    """SYNTHETIC smoke data in this task's layout, from the core's templated sentence generator."""
    from harness.api import SYNTHETIC_NOTE, nli_rows

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", 120, 7), ("dev", 40, 8), ("test", 40, 9)):
        langs = ("en",) if split == "train" else SPEC.languages
        for lang, rows in nli_rows(n, seed, langs).items():
            write_jsonl(data_dir / f"{split}.{lang}.jsonl",
                        ({"premise": p, "hypothesis": h, "label": label} for p, h, label in rows))
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\n")


ORDINAL_SPEC = replace(SPEC, name="example-nli-ordinal", kind=KIND, metrics=("ordinal_error", "accuracy"),
                       description="Example NLI on an ordered scale (a plugin's own task kind and metric)")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
    register(Task(spec=ORDINAL_SPEC, load=load, fixture=fixture))


@hookimpl
def register_task_types(register) -> None:
    register(OrdinalType())


@hookimpl
def register_metrics(register) -> None:
    register(ordinal_metric(LABELS))
