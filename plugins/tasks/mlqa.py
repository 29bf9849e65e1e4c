"""MLQA (Lewis et al., 2020): extractive QA in 7 languages; XTREME uses the same-language pairs.

Zero-shot recipe (XTREME): train on English SQuAD v1.1, evaluate on ``test-context-{l}-question-{l}.json``;
metric F1/EM with MLQA's language-aware normalisation (``harness.metrics.mlqa``: per-language articles, all
Unicode punctuation, zh mixed segmentation).

Local layout under ``data_dir`` (the official ``MLQA_V1.zip``): ``MLQA_V1/{dev,test}/{split}-context-{l}-question-{l}.json``
(``MLQA_V1/`` optional); English SQuAD v1.1 ``train-v1.1.json`` (or ``squad/``) for ``train``. Splits: ``train``
(English SQuAD), ``dev`` and ``test`` (MLQA). XTREME's processed test copies have blanked answers
(``{"answer_start": 0, "text": ""}``): those questions load with ``answers=None`` and scoring raises
``MissingGold``. Hub: ``facebook/mlqa`` holds only a loading script (``mlqa.py``), which ``datasets`` >= 4 refuses;
the same data is read from the Parquet conversion in ``google/xtreme`` (``MLQA.{l}.{l}/{validation,test}-*.parquet``,
SQuAD columns) at the pinned commit ``XTREME_SHA`` — as Parquet files, not through that repo's own script, which
that commit still holds (docs/hub-sources.md). English training: ``rajpurkar/squad`` (a helper dataset, locked).
"""

from __future__ import annotations

from pathlib import Path

from harness.api import (
    XTREME_RECIPE,
    BenchmarkEntry,
    DataMissing,
    ExportLayout,
    Task,
    TaskSpec,
    hookimpl,
    load_hf,
    load_hub_or_folder,
    read_squad_json,
    squad_from_hub,
    write_squad,
)

LANGUAGES = ("en", "es", "de", "ar", "hi", "vi", "zh")
HOW = ("Get MLQA_V1.zip from github.com/facebookresearch/MLQA (dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip) and "
       "SQuAD v1.1 train for training, or leave data_dir unset for the hub copies (google/xtreme's MLQA.{l}.{l} "
       "Parquet files, rajpurkar/squad).")
SQUAD_HF = "rajpurkar/squad"
# google/xtreme "Add udpos.Yoruba data files": the last of the Parquet conversion commits, all MLQA.*.* configs in
# place (https://huggingface.co/datasets/google/xtreme/commit/68bd9e06bf4bbe671073c975ccd61d754e1bd3d6)
XTREME_SHA = "68bd9e06bf4bbe671073c975ccd61d754e1bd3d6"

SPEC = TaskSpec(
    name="mlqa", kind="span_qa", roles=("target",), languages=LANGUAGES,
    sizes={"train": 87599, "dev": 1000, "test": 5500}, mean_tokens=200,  # cost before download: XTREME Table 1 (Hu et al. 2020): test 4,517-11,590 per language; dev 500-1,148 (Lewis et al. 2020)
    parallel="items",  # MLQA: n-way parallel; a question keeps its id in every language it appears in (Lewis et al. 2020)
    metrics=("mlqa_f1", "mlqa_exact_match"), version="1", eval_splits=("test",), select_split="dev",
    hf_dataset="google/xtreme", hf_revision=XTREME_SHA, hf_helpers={SQUAD_HF: None}, data_help=HOW,
    description="Cross-lingual extractive QA; train on English SQuAD v1.1, test on MLQA (same-language pairs)",
    citation="Lewis et al. 2020, MLQA: Evaluating Cross-lingual Extractive Question Answering",
    license="CC BY-SA 3.0", defaults=dict(XTREME_RECIPE),
    benchmarks={b: BenchmarkEntry("qa", ("mlqa_f1", "f1"), ("mlqa_exact_match", "exact_match"), position=6,
                                 export=ExportLayout("json", "test-{language}.json")) for b in ("xtreme", "xtreme-r")},
)
HF_SPLITS = {"dev": "validation", "test": "test"}


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if split == "train":
        if language != "en":
            raise DataMissing(f"mlqa: train exists only in English (SQuAD v1.1), not {language!r}")
        return load_hub_or_folder(
            "mlqa", data_dir, how=HOW, what="English SQuAD v1.1 train file",
            hub=lambda: squad_from_hub(load_hf(SQUAD_HF, None, "train"), "en"),
            layouts=[(("train-v1.1.json", "squad/train-v1.1.json"), lambda p: read_squad_json(p, "en", "mlqa", HOW))])
    if split not in HF_SPLITS:
        raise DataMissing(f"mlqa: unknown split {split!r}; allowed: train, dev, test")
    name = f"{split}-context-{language}-question-{language}.json"
    return load_hub_or_folder(
        "mlqa", data_dir, how=HOW, what=f"{split!r} file for {language!r}",
        hub=lambda: squad_from_hub(load_hf(SPEC.hf_dataset, f"MLQA.{language}.{language}", HF_SPLITS[split],
                                           revision=SPEC.hf_revision,
                                           data_files=f"MLQA.{language}.{language}/{HF_SPLITS[split]}-*.parquet"),
                                   language),
        layouts=[((f"MLQA_V1/{split}/{name}", f"{split}/{name}", name),
                  lambda p: read_squad_json(p, language, "mlqa", HOW, blank_is_missing=True))])


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    return read_squad_json(Path(path), language, "mlqa", HOW, blank_is_missing=True)


def fixture(data_dir: Path, n_train: int = 160, n_eval: int = 24, seed: int = 10,
            languages: tuple[str, ...] = ("en", "de", "es", "ar", "zh")) -> None:
    """SYNTHETIC MLQA_V1 layout (+ SQuAD train); zh contexts have no spaces."""
    from harness.api import SYNTHETIC_NOTE, qa_articles

    data_dir = Path(data_dir)
    write_squad(data_dir / "train-v1.1.json", qa_articles("en", n_train, seed))
    for i, split in enumerate(("dev", "test")):
        for lang in languages:
            write_squad(data_dir / "MLQA_V1" / split / f"{split}-context-{lang}-question-{lang}.json",
                        qa_articles(lang, n_eval, seed + 1 + i), version="1.0")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: MLQA_V1 SQuAD JSON.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file))
