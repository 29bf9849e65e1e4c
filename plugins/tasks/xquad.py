"""XQuAD (Artetxe et al., 2020): SQuAD v1.1 dev paragraphs professionally translated into 10 languages.

Zero-shot recipe (XTREME): train on English SQuAD v1.1, evaluate on ``xquad.{lang}.json``; metric SQuAD-v1.1
F1/EM (XTREME applies the v1.1 normalisation to every language).

Local layout under ``data_dir``: ``xquad.{lang}.json`` (test, SQuAD v1.1 JSON as released in deepmind/xquad);
English training/selection data ``train-v1.1.json`` / ``dev-v1.1.json`` (also under ``squad/``). Splits: ``train``
and ``dev`` are English SQuAD, ``test`` is XQuAD. Hub: ``google/xquad`` (config ``xquad.{lang}``, split
``validation``) and ``rajpurkar/squad`` for English train/dev.
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

LANGUAGES = ("en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi")
HOW = ("Get XQuAD from github.com/deepmind/xquad (xquad.{lang}.json) and SQuAD v1.1 train/dev "
       "(rajpurkar.github.io/SQuAD-explorer) or leave data_dir unset for the hub copies google/xquad, rajpurkar/squad.")
SQUAD_HF = "rajpurkar/squad"

SPEC = TaskSpec(
    name="xquad", kind="span_qa", roles=("target",), languages=LANGUAGES,
    sizes={"train": 87599, "dev": 10570, "test": 1190}, mean_tokens=200,  # cost before download: XTREME Table 1 (Hu et al. 2020); dev = SQuAD v1.1 dev (Rajpurkar et al. 2016)
    parallel="items",  # XQuAD: the same 1,190 SQuAD v1.1 questions translated into 10 languages (Artetxe et al. 2020)
    metrics=("squad_v1_f1", "squad_v1_exact_match"), version="1", eval_splits=("test",), select_split="dev",
    hf_dataset="google/xquad", hf_helpers={SQUAD_HF: None}, data_help=HOW,
    description="Cross-lingual extractive QA; train on English SQuAD v1.1, test on XQuAD in 11 languages",
    citation="Artetxe et al. 2020, On the Cross-lingual Transferability of Monolingual Representations",
    license="CC BY-SA 4.0", defaults=dict(XTREME_RECIPE),
    # XTREME-R's evaluate.py also reads a Romanian file (XQuAD-ro), which this task does not provide.
    benchmarks={b: BenchmarkEntry("qa", ("squad_v1_f1", "f1"), ("squad_v1_exact_match", "exact_match"), position=5,
                                 export=ExportLayout("json", "test-{language}.json", languages=langs))
                for b, langs in (("xtreme", LANGUAGES), ("xtreme-r", (*LANGUAGES, "ro")))},
)


def load_squad_v11(split: str, data_dir: Path | None) -> list[dict]:
    """English SQuAD v1.1 train/dev (the training and selection data)."""
    name = f"{split}-v1.1.json"
    return load_hub_or_folder(
        "xquad", data_dir, how=HOW, what=f"English SQuAD v1.1 {split} file",
        hub=lambda: squad_from_hub(load_hf(SQUAD_HF, None, "train" if split == "train" else "validation"), "en"),
        layouts=[((name, f"squad/{name}"), lambda p: read_squad_json(p, "en", "xquad", HOW))])


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if split in ("train", "dev"):
        if language != "en":
            raise DataMissing(f"xquad: {split} exists only in English (SQuAD v1.1), not {language!r}")
        return load_squad_v11(split, data_dir)
    if split != "test":
        raise DataMissing(f"xquad: unknown split {split!r}; allowed: train, dev, test")
    return load_hub_or_folder(
        "xquad", data_dir, how=HOW, what=f"test file for {language!r}",
        hub=lambda: squad_from_hub(load_hf(SPEC.hf_dataset, f"xquad.{language}", "validation",
                                           revision=SPEC.hf_revision), language),
        layouts=[((f"xquad.{language}.json",), lambda p: read_squad_json(p, language, "xquad", HOW))])


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One SQuAD-layout file (``harness score``)."""
    return read_squad_json(Path(path), language, "xquad", HOW)


# ---- SYNTHETIC fixtures -------------------------------------------------------------------------------
def fixture(data_dir: Path, n_train: int = 160, n_eval: int = 24, seed: int = 0,
            languages: tuple[str, ...] = ("en", "de", "es", "ar", "zh")) -> None:
    """SYNTHETIC SQuAD-layout files: train-v1.1.json, dev-v1.1.json and xquad.{lang}.json."""
    from harness.api import SYNTHETIC_NOTE, qa_articles

    data_dir = Path(data_dir)
    write_squad(data_dir / "train-v1.1.json", qa_articles("en", n_train, seed))
    write_squad(data_dir / "dev-v1.1.json", qa_articles("en", n_eval, seed + 1))
    for lang in languages:
        write_squad(data_dir / f"xquad.{lang}.json", qa_articles(lang, n_eval, seed + 2))
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: SQuAD v1.1 JSON (XQuAD).\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file))
