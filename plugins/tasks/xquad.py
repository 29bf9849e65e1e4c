"""XQuAD (Artetxe et al., 2020): SQuAD v1.1 dev paragraphs professionally translated into 10 languages.

Zero-shot recipe (XTREME): train on English SQuAD v1.1, evaluate on ``xquad.{lang}.json``; metric SQuAD-v1.1
F1/EM (XTREME applies the v1.1 normalisation to every language).

Local layout under ``data_dir``: ``xquad.{lang}.json`` (test, SQuAD v1.1 JSON as released in deepmind/xquad);
English training/selection data ``train-v1.1.json`` / ``dev-v1.1.json`` (also under ``squad/``). Splits: ``train``
and ``dev`` are English SQuAD, ``test`` is XQuAD. Hub: ``google/xquad`` (config ``xquad.{lang}``, split
``validation``) and ``rajpurkar/squad`` for English train/dev.

This module also holds the SQuAD-JSON reader the other QA tasks use.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.data import DataMissing, load_hf
from harness.hookspecs import hookimpl
from harness.specs import BenchmarkEntry, ExportLayout, Task, TaskSpec

LANGUAGES = ("en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi")
HOW = ("Get XQuAD from github.com/deepmind/xquad (xquad.{lang}.json) and SQuAD v1.1 train/dev "
       "(rajpurkar.github.io/SQuAD-explorer) or leave data_dir unset for the hub copies google/xquad, rajpurkar/squad.")
SQUAD_HF = "rajpurkar/squad"
QA_DEFAULTS = {"lr": 3e-5, "batch_size": 32, "max_length": 384, "epochs": 2, "doc_stride": 128,
               "max_query_length": 64, "max_answer_length": 30, "n_best_size": 20}

SPEC = TaskSpec(
    name="xquad", kind="span_qa", roles=("target",), languages=LANGUAGES,
    metrics=("squad_v1_f1", "squad_v1_exact_match"), version="1", eval_splits=("test",), select_split="dev",
    hf_dataset="google/xquad", data_help=HOW,
    description="Cross-lingual extractive QA; train on English SQuAD v1.1, test on XQuAD in 11 languages",
    citation="Artetxe et al. 2020, On the Cross-lingual Transferability of Monolingual Representations",
    license="CC BY-SA 4.0", defaults=dict(QA_DEFAULTS),
    benchmarks={b: BenchmarkEntry("qa", ("squad_v1_f1", "f1"), ("squad_v1_exact_match", "exact_match"), position=5,
                                 export=ExportLayout("json", "test-{language}.json")) for b in ("xtreme", "xtreme-r")},
)


def read_squad_json(path: Path, language: str, task: str, how: str, blank_is_missing: bool = False,
                    id_prefix: str | None = None) -> list[dict]:
    """Questions of a SQuAD-layout JSON file (``{"data": [{"paragraphs": [{"context", "qas"}]}]}``).

    ``blank_is_missing``: XTREME replaces the answers of files it treats as test by a single
    ``{"answer_start": 0, "text": ""}``; such questions get ``answers=None`` (gold missing).
    ``id_prefix``: keep only questions whose id starts with it (TyDiQA's combined files). When a file repeats
    ids (XTREME's TyDiQA-GoldP train does), every id gets its question index appended (``id@index``).
    """
    path = Path(path)
    if not path.exists():
        raise DataMissing(f"{task}: data file {path} not found. {how}")
    data = json.loads(path.read_text(encoding="utf-8"))
    articles = data["data"] if isinstance(data, dict) else data
    out = []
    for article in articles:
        for para in article["paragraphs"]:
            context = para["context"]
            for qa in para["qas"]:
                if id_prefix is not None and not str(qa["id"]).startswith(id_prefix):
                    continue
                answers = qa.get("answers", [])
                if qa.get("is_impossible"):
                    answers = []
                gold: dict | None = {"text": [a["text"] for a in answers],
                                     "answer_start": [int(a["answer_start"]) for a in answers]}
                if blank_is_missing and answers and all(a["text"] == "" for a in answers):
                    gold = None
                out.append({"id": str(qa["id"]), "language": language, "context": context,
                            "question": qa["question"], "answers": gold})
    if len({e["id"] for e in out}) != len(out):  # XTREME's TyDiQA train file repeats ids: make them unique
        for i, e in enumerate(out):
            e["id"] = f"{e['id']}@{i}"
    return out


def from_hf_rows(rows, language: str) -> list[dict]:
    """Hub rows with ``id, context, question, answers{text, answer_start}`` in the span_qa layout."""
    return [{"id": str(r["id"]), "language": language, "context": r["context"], "question": r["question"],
             "answers": {"text": list(r["answers"]["text"]),
                         "answer_start": [int(s) for s in r["answers"]["answer_start"]]}} for r in rows]


def load_squad_v11(split: str, data_dir: Path | None, task: str, how: str) -> list[dict]:
    """English SQuAD v1.1 train/dev (the training and selection data of XQuAD and MLQA)."""
    if split not in ("train", "dev"):
        raise DataMissing(f"{task}: English SQuAD has splits train and dev, not {split!r}. {how}")
    if data_dir is None:
        return from_hf_rows(load_hf(SQUAD_HF, None, "train" if split == "train" else "validation"), "en")
    name = "train-v1.1.json" if split == "train" else "dev-v1.1.json"
    for cand in (Path(data_dir) / name, Path(data_dir) / "squad" / name):
        if cand.exists():
            return read_squad_json(cand, "en", task, how)
    raise DataMissing(f"{task}: data file {Path(data_dir) / name} not found (English SQuAD v1.1 {split}). {how}")


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if split in ("train", "dev"):
        if language != "en":
            raise DataMissing(f"xquad: {split} exists only in English (SQuAD v1.1), not {language!r}")
        return load_squad_v11(split, data_dir, "xquad", HOW)
    if split != "test":
        raise DataMissing(f"xquad: unknown split {split!r}; allowed: train, dev, test")
    if data_dir is None:
        return from_hf_rows(load_hf(SPEC.hf_dataset, f"xquad.{language}", "validation", revision=SPEC.hf_revision),
                            language)
    return read_squad_json(Path(data_dir) / f"xquad.{language}.json", language, "xquad", HOW)


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One SQuAD-layout file (``harness score``)."""
    return read_squad_json(Path(path), language, "xquad", HOW)


# ---- SYNTHETIC fixtures -------------------------------------------------------------------------------
QA_LEXICON = {
    "en": ("The {n} lives in {c}.", "Where does the {n} live?", ["cat", "dog", "bird", "fish"],
           ["Paris", "Berlin", "Madrid", "Rome", "Oslo"]),
    "de": ("Die {n} wohnt in {c}.", "Wo wohnt die {n}?", ["Katze", "Hund", "Vogel", "Fisch"],
           ["Paris", "Berlin", "Madrid", "Rom", "Oslo"]),
    "es": ("El {n} vive en {c}.", "¿Dónde vive el {n}?", ["gato", "perro", "pájaro", "pez"],
           ["París", "Berlín", "Madrid", "Roma", "Oslo"]),
    "ar": ("يعيش {n} في {c}.", "أين يعيش {n}؟", ["القط", "الكلب", "الطائر", "السمك"],
           ["باريس", "برلين", "مدريد", "روما", "أوسلو"]),
    "zh": ("{n}住在{c}。", "{n}住在哪里？", ["猫", "狗", "鸟", "鱼"], ["巴黎", "柏林", "马德里", "罗马", "奥斯陆"]),
}


def synthetic_articles(language: str, n: int, seed: int) -> list[dict]:
    """SQuAD-layout articles: a paragraph of 'X lives in Y.' sentences, one question per sentence."""
    import random

    rng = random.Random(seed)
    lex = QA_LEXICON.get(language, QA_LEXICON["en"])
    fact, question, nouns, cities = lex
    sep = "" if language == "zh" else " "
    paragraphs, qid = [], 0
    for _ in range(max(1, n // len(nouns))):
        order = rng.sample(nouns, len(nouns))
        sentences, qas = [], []
        pos = 0
        for noun in order:
            city = rng.choice(cities)
            sent = fact.format(n=noun, c=city)
            start = pos + sent.index(city)
            sentences.append(sent)
            pos += len(sent) + len(sep)
            qas.append({"id": f"syn-{seed}-{qid}", "question": question.format(n=noun),
                        "answers": [{"answer_start": start, "text": city}]})
            qid += 1
        paragraphs.append({"context": sep.join(sentences), "qas": qas})
    return [{"title": f"synthetic-{p}", "paragraphs": [para]} for p, para in enumerate(paragraphs)]


def write_squad(path: Path, articles: list[dict], version: str = "1.1") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data": articles, "version": version}, ensure_ascii=False) + "\n", encoding="utf-8")


def fixture(data_dir: Path, n_train: int = 160, n_eval: int = 24, seed: int = 0,
            languages: tuple[str, ...] = ("en", "de", "es", "ar", "zh")) -> None:
    """SYNTHETIC SQuAD-layout files: train-v1.1.json, dev-v1.1.json and xquad.{lang}.json."""
    from harness.synthetic import SYNTHETIC_NOTE

    data_dir = Path(data_dir)
    write_squad(data_dir / "train-v1.1.json", synthetic_articles("en", n_train, seed))
    write_squad(data_dir / "dev-v1.1.json", synthetic_articles("en", n_eval, seed + 1))
    for lang in languages:
        write_squad(data_dir / f"xquad.{lang}.json", synthetic_articles(lang, n_eval, seed + 2))
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: SQuAD v1.1 JSON (XQuAD).\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
