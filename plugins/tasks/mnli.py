"""MultiNLI (Williams et al., 2018) as an English intermediate task, from GLUE's TSV layout.

Local files under ``data_dir``: ``train.tsv``, ``dev_matched.tsv``, ``dev_mismatched.tsv`` (header line; columns
``sentence1``, ``sentence2``, ``gold_label``). ``dev`` means ``dev_matched``. Hub: ``nyu-mll/glue`` config ``mnli``.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import (
    SYNTHETIC_NOTE,
    DataMissing,
    Task,
    TaskSpec,
    hookimpl,
    load_hf,
    planted_nli_rows,
    read_tsv_dicts,
)

LABELS = ("entailment", "neutral", "contradiction")
ALIASES = {"dev": "dev_matched", "validation": "dev_matched"}
HF_SPLITS = {"train": "train", "dev_matched": "validation_matched", "dev_mismatched": "validation_mismatched"}
HOW = "Get GLUE's MNLI (gluebenchmark.com, MNLI.zip) or leave data_dir unset to use the hub dataset nyu-mll/glue (mnli)."

SPEC = TaskSpec(
    name="mnli", kind="classification", roles=("intermediate",), languages=("en",), labels=LABELS,
    sizes={"train": 392702, "dev_matched": 9815, "dev_mismatched": 9832}, mean_tokens=40,  # cost before download: GLUE / MultiNLI card (Williams et al. 2018)
    metrics=("accuracy",), version="1", eval_splits=("dev_matched",), select_split="dev_matched",
    hf_dataset="nyu-mll/glue", data_help=HOW, description="Multi-genre NLI (English)",
    citation="Williams et al. 2018, A Broad-Coverage Challenge Corpus for Sentence Understanding through Inference",
    license="OANC / CC BY-SA 3.0 (see MultiNLI)",
    defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    if data_dir is None:
        ds = load_hf(SPEC.hf_dataset, "mnli", HF_SPLITS.get(split, split), revision=SPEC.hf_revision)
        return [{"id": f"{split}-{i}", "language": "en", "text_a": r["premise"], "text_b": r["hypothesis"],
                 "label": LABELS[r["label"]] if r["label"] >= 0 else None} for i, r in enumerate(ds)]
    path = Path(data_dir) / f"{split}.tsv"
    if not path.exists():
        raise DataMissing(f"mnli: data file {path} not found. {HOW}")
    rows = read_tsv_dicts(path, "mnli", HOW)
    out = []
    for i, r in enumerate(rows):
        label = r.get("gold_label") or None
        if label is not None and label not in LABELS:
            continue  # GLUE keeps a few '-' (no consensus) rows; they are not scored
        out.append({"id": r.get("pairID") or f"{split}-{i}", "language": "en", "text_a": r["sentence1"],
                    "text_b": r["sentence2"], "label": label})
    return out


def fixture(data_dir: Path, n_train: int = 320, n_dev: int = 60, seed: int = 100) -> None:
    """SYNTHETIC GLUE-layout MNLI files carrying the planted skill: labels follow the shared cue symbols of
    ``harness.toolkit.synthetic.planted_nli_rows`` (clean and plentiful, unlike the synthetic XNLI training split)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    header = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
              "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "gold_label"]
    for split, n, s in (("train", n_train, seed), ("dev_matched", n_dev, seed + 1)):
        lines = ["\t".join(header)]
        for i, (p, h, label) in enumerate(planted_nli_rows(n, s, ("en",))["en"]):
            lines.append("\t".join([str(i), str(i), f"{i}x", "synthetic", "", "", "", "", p, h, label, label]))
        (data_dir / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: GLUE MNLI TSV.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
