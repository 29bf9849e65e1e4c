"""SST-2 (Socher et al., 2013; GLUE version) as an English intermediate task: single-sentence sentiment.

Local files under ``data_dir`` (GLUE layout, header line): ``train.tsv`` and ``dev.tsv`` with columns
``sentence<TAB>label`` (0 negative, 1 positive), ``test.tsv`` with ``index<TAB>sentence`` (no labels).
Hub: ``nyu-mll/glue`` config ``sst2``.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import SYNTHETIC_NOTE, DataMissing, Task, TaskSpec, hookimpl, load_hf, read_tsv_dicts

LABELS = ("negative", "positive")
ALIASES = {"validation": "dev"}
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
HOW = "Get GLUE's SST-2 (gluebenchmark.com, SST-2.zip) or leave data_dir unset to use the hub dataset nyu-mll/glue (sst2)."

SPEC = TaskSpec(
    name="sst2", kind="classification", roles=("intermediate",), languages=("en",), labels=LABELS,
    sizes={"train": 67349, "dev": 872}, mean_tokens=15,  # cost before download: GLUE card (Wang et al. 2019); train holds phrases, mean ~10 words
    metrics=("accuracy",), version="1", eval_splits=("dev",), select_split="dev", hf_dataset="nyu-mll/glue",
    data_help=HOW, description="Binary sentiment of movie-review sentences (English)",
    citation="Socher et al. 2013, Recursive Deep Models for Semantic Compositionality Over a Sentiment Treebank",
    license="see GLUE / SST", defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def _label(raw: str | int | None) -> str | None:
    if raw is None or raw == "" or raw == -1:
        return None
    return LABELS[int(raw)]


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    if data_dir is None:
        ds = load_hf(SPEC.hf_dataset, "sst2", HF_SPLITS.get(split, split), revision=SPEC.hf_revision)
        return [{"id": f"{split}-{r.get('idx', i)}", "language": "en", "text_a": r["sentence"].strip(),
                 "label": _label(r["label"])} for i, r in enumerate(ds)]
    path = Path(data_dir) / f"{split}.tsv"
    if not path.exists():
        raise DataMissing(f"sst2: data file {path} not found. {HOW}")
    return [{"id": f"{split}-{r.get('index', i)}", "language": "en", "text_a": r["sentence"].strip(),
             "label": _label(r.get("label"))} for i, r in enumerate(read_tsv_dicts(path, "sst2", HOW))]


def fixture(data_dir: Path, n_train: int = 120, n_dev: int = 40, seed: int = 200) -> None:
    """SYNTHETIC GLUE-layout SST-2 files (lower-cased sentences, trailing space before the tab, LF)."""
    import random

    rng = random.Random(seed)
    good, bad = ["great", "fine", "lovely", "warm"], ["dull", "awful", "boring", "cold"]
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_dev)):
        lines = ["sentence\tlabel"]
        for _ in range(n):
            y = rng.randrange(2)
            lines.append(f"the film is {rng.choice(good if y else bad)} and {rng.choice(['long', 'short'])} \t{y}")
        (data_dir / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: GLUE SST-2 TSV.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
