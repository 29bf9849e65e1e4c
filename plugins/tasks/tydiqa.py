"""TyDiQA-GoldP (Clark et al., 2020): the gold-passage task of TyDi QA, 9 languages in XTREME.

Zero-shot recipe (XTREME): train on the English GoldP train split, evaluate on each language's GoldP dev
(XTREME's "test"); metric SQuAD-v1.1 F1/EM. Splits here: ``train`` (English GoldP train), ``dev`` (GoldP dev of
the language; also the English selection split) and ``test`` (= ``dev``, as XTREME uses it).

Local layouts under ``data_dir``, tried in this order:

1. official GoldP: ``tydiqa-goldp-v1.1-train.json`` (all languages, ids prefixed ``english-`` …) and
   ``tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{language name}.json`` (or the combined ``tydiqa-goldp-v1.1-dev.json``);
2. OpenCompass JSON lines ``{name}-dev.jsonl`` (or ``dev/{name}-dev.jsonl``): answers carry UTF-8 **byte**
   offsets ``start_byte``/``limit_byte`` into ``passage_text``; they are converted to character offsets here;
3. XTREME's processed files: ``tydiqa-goldp-v1.1-train/tydiqa.{goldp.}en.train.json`` and
   ``tydiqa-goldp-v1.1-dev/tydiqa.goldp.{l}.dev.json`` (or those names directly under ``data_dir``). XTREME
   blanks the dev answers to ``{"answer_start": 0, "text": ""}``: such questions get ``answers=None`` and scoring
   raises ``MissingGold`` (use layout 1 or 2 for scores);
Labelled layouts (1, 2) win over XTREME's blanked copies (3), in ``data_dir`` and then in its sub-folders
``opencompass-goldp-dev/`` and ``xtreme/``; then

4. the TyDi QA *primary task* jsonl(.gz) (``tydiqa-v1.0-{split}.jsonl.gz`` or ``tiny_dev.jsonl.gz``): each example
   with a minimal answer becomes a gold-passage question (context = the annotated passage candidate, answers =
   every annotator's minimal answer inside it; byte offsets converted). This approximates GoldP; it is not the
   official GoldP file.

Hub: ``google-research-datasets/tydiqa`` config ``secondary_task`` (splits ``train``/``validation``), filtered by
the language-name id prefix.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from harness.api import (
    XTREME_RECIPE,
    BenchmarkEntry,
    DataMissing,
    ExportLayout,
    Task,
    TaskSpec,
    check_split,
    first_existing,
    hookimpl,
    load_hf,
    read_squad_json,
    read_text,
    squad_from_hub,
    write_squad,
)

LANGUAGES = ("en", "ar", "bn", "fi", "id", "ko", "ru", "sw", "te")
NAMES = {"en": "english", "ar": "arabic", "bn": "bengali", "fi": "finnish", "id": "indonesian", "ko": "korean",
         "ru": "russian", "sw": "swahili", "te": "telugu", "ja": "japanese", "th": "thai"}
HOW = ("Get TyDiQA-GoldP v1.1 from storage.googleapis.com/tydiqa/v1.1/ (tydiqa-goldp-v1.1-train.json, "
       "tydiqa-goldp-v1.1-dev.tgz) or leave data_dir unset for the hub copy google-research-datasets/tydiqa "
       "(secondary_task).")

SUBFOLDERS = ("opencompass-goldp-dev", "xtreme")  # tried beside data_dir itself

SPEC = TaskSpec(
    name="tydiqa", kind="span_qa", roles=("target",), languages=LANGUAGES,
    sizes={"train": 3696, "dev": 1000, "test": 1000}, mean_tokens=250,  # cost before download: XTREME Table 1 (Hu et al. 2020): train 3,696, dev/test 323-2,719 per language, 1,000 typical
    metrics=("squad_v1_f1", "squad_v1_exact_match"), version="1", eval_splits=("test",), select_split="dev",
    hf_dataset="google-research-datasets/tydiqa", data_help=HOW,
    description="TyDiQA-GoldP: train on English GoldP train, test on GoldP dev in 9 languages",
    citation="Clark et al. 2020, TyDi QA: A Benchmark for Information-Seeking Question Answering in "
             "Typologically Diverse Languages",
    license="Apache-2.0", defaults=dict(XTREME_RECIPE),
    benchmarks={b: BenchmarkEntry("qa", ("squad_v1_f1", "f1"), ("squad_v1_exact_match", "exact_match"), position=7,
                                 export=ExportLayout("json", "test-{language}.json")) for b in ("xtreme", "xtreme-r")},
    aliases=("tydiqa_goldp", "tydiqa-goldp", "tydi_qa"),
)


def byte_to_char(text: str, byte_offset: int) -> int:
    """Character offset of a UTF-8 byte offset into ``text`` (must fall on a character boundary)."""
    raw = text.encode("utf-8")
    if not 0 <= byte_offset <= len(raw):
        raise ValueError(f"byte offset {byte_offset} outside a text of {len(raw)} bytes")
    return len(raw[:byte_offset].decode("utf-8"))


def read_opencompass(path: Path, language: str) -> list[dict]:
    out = []
    for i, line in enumerate(read_text(path, "tydiqa", HOW).split("\n")):
        if not line.strip():
            continue
        r = json.loads(line)
        passage = r["passage_text"]
        texts, starts = [], []
        for a in r.get("answers", []):
            start = byte_to_char(passage, int(a["start_byte"]))
            end = byte_to_char(passage, int(a["limit_byte"]))
            if passage[start:end] != a["text"]:
                raise ValueError(f"tydiqa: {path}:{i + 1}: bytes {a['start_byte']}:{a['limit_byte']} of passage_text "
                                 f"are {passage[start:end]!r}, not the answer text {a['text']!r}")
            texts.append(a["text"])
            starts.append(start)
        out.append({"id": str(r["id"]), "language": language, "context": passage, "question": r["question_text"],
                    "answers": {"text": texts, "answer_start": starts}})
    return out


def read_primary(path: Path, language: str | None) -> list[dict]:
    """GoldP-style questions from TyDi QA primary-task jsonl(.gz) (see the module docstring)."""
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            if language is not None and r["language"] != NAMES.get(language):
                continue
            minimal = [a for a in r["annotations"] if a["minimal_answer"]["plaintext_start_byte"] >= 0]
            if not minimal:
                continue
            doc = r["document_plaintext"].encode("utf-8")
            cand = r["passage_answer_candidates"][minimal[0]["passage_answer"]["candidate_index"]]
            p0, p1 = cand["plaintext_start_byte"], cand["plaintext_end_byte"]
            passage = doc[p0:p1].decode("utf-8")
            texts, starts = [], []
            for a in minimal:
                s, e = a["minimal_answer"]["plaintext_start_byte"], a["minimal_answer"]["plaintext_end_byte"]
                if s < p0 or e > p1:
                    continue
                text = doc[s:e].decode("utf-8")
                start = byte_to_char(passage, s - p0)
                if (text, start) not in zip(texts, starts):
                    texts.append(text)
                    starts.append(start)
            lang = language or next((k for k, v in NAMES.items() if v == r["language"]), r["language"])
            out.append({"id": str(r["example_id"]), "language": lang, "context": passage,
                        "question": r["question_text"], "answers": {"text": texts, "answer_start": starts}})
    return out


def _goldp(d: Path, split: str, language: str, labelled_only: bool) -> list[dict] | None:
    """GoldP questions from one folder in layouts 1-3, or None when it has none of them."""
    name = NAMES[language]
    if split == "train":
        official = first_existing(d / "tydiqa-goldp-v1.1-train.json")
        if official:
            return read_squad_json(official, language, "tydiqa", HOW, id_prefix=name + "-")
        xtreme = first_existing(*(base / f"tydiqa.{mid}{language}.train.json" for base in (d / "tydiqa-goldp-v1.1-train", d)
                          for mid in ("goldp.", "")))
        return read_squad_json(xtreme, language, "tydiqa", HOW) if xtreme else None
    official = first_existing(d / "tydiqa-goldp-v1.1-dev" / f"tydiqa-goldp-dev-{name}.json", d / f"tydiqa-goldp-dev-{name}.json")
    if official:
        return read_squad_json(official, language, "tydiqa", HOW)
    combined = first_existing(d / "tydiqa-goldp-v1.1-dev.json")
    if combined:
        return read_squad_json(combined, language, "tydiqa", HOW, id_prefix=name + "-")
    oc = first_existing(d / f"{name}-dev.jsonl", d / "dev" / f"{name}-dev.jsonl")
    if oc:
        return read_opencompass(oc, language)
    if labelled_only:
        return None
    xtreme = first_existing(d / "tydiqa-goldp-v1.1-dev" / f"tydiqa.goldp.{language}.dev.json", d / f"tydiqa.goldp.{language}.dev.json")
    return read_squad_json(xtreme, language, "tydiqa", HOW, blank_is_missing=True) if xtreme else None


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    check_split("tydiqa", split, ("train", "dev", "test"))
    split = "dev" if split == "test" else split
    name = NAMES[language]
    if data_dir is None:
        rows = load_hf(SPEC.hf_dataset, "secondary_task", "train" if split == "train" else "validation",
                       revision=SPEC.hf_revision)
        return squad_from_hub((r for r in rows if str(r["id"]).startswith(name + "-")), language)
    d = Path(data_dir)
    folders = [f for f in (d, *(d / sub for sub in SUBFOLDERS)) if f.is_dir()]
    for labelled_only in (True, False):  # answers first: XTREME's blanked dev copies only when nothing else exists
        for folder in folders:
            found = _goldp(folder, split, language, labelled_only)
            if found is not None:
                return found
    primary = first_existing(d / f"tydiqa-v1.0-{split}.jsonl.gz", d / f"tydiqa-v1.0-{split}.jsonl",
                     *((d / "tiny_dev.jsonl.gz",) if split == "dev" else ()))
    if primary:
        return read_primary(primary, language)
    raise DataMissing(f"tydiqa: no GoldP {split!r} file for {language!r} under {d} (looked for "
                      f"tydiqa-goldp-v1.1-{split}…, {name}-dev.jsonl, tydiqa.goldp.{language}.{split}.json). {HOW}")


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One file in any of the layouts above (``harness score``)."""
    path = Path(path)
    if path.name.endswith(".jsonl") and "-dev" in path.name:
        return read_opencompass(path, language)
    if path.name.endswith((".jsonl.gz", ".jsonl")):
        return read_primary(path, language)
    prefix = NAMES[language] + "-" if path.name.startswith("tydiqa-goldp-v1.1") else None
    return read_squad_json(path, language, "tydiqa", HOW, blank_is_missing=True, id_prefix=prefix)


def fixture(data_dir: Path, n_train: int = 160, n_eval: int = 24, seed: int = 20,
            languages: tuple[str, ...] = ("en", "ar", "sw")) -> None:
    """SYNTHETIC files: XTREME-layout English train, OpenCompass-layout dev (byte offsets) per language."""
    from harness.api import SYNTHETIC_NOTE, qa_articles

    d = Path(data_dir)
    write_squad(d / "tydiqa-goldp-v1.1-train" / "tydiqa.goldp.en.train.json", qa_articles("en", n_train, seed),
                version="TyDiQA-GoldP-1.1-for-SQuAD-1.1")
    for lang in languages:
        lines = []
        for art in qa_articles(lang, n_eval, seed + 1):
            for para in art["paragraphs"]:
                ctx = para["context"]
                for qa in para["qas"]:
                    a = qa["answers"][0]
                    sb = len(ctx[: a["answer_start"]].encode("utf-8"))
                    lines.append(json.dumps({
                        "id": qa["id"], "language": NAMES[lang], "document_title": art["title"], "passage_text": ctx,
                        "question_text": qa["question"],
                        "answers": [{"text": a["text"], "start_byte": sb, "limit_byte": sb + len(a["text"].encode())}],
                    }, ensure_ascii=False))
        (d / f"{NAMES[lang]}-dev.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XTREME GoldP train JSON + OpenCompass dev jsonl.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file))
