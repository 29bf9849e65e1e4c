"""LAReQA on XQuAD-R (Roy et al. 2020; XTREME-R): language-agnostic answer-sentence retrieval, mAP@20.

Local layout: ``{lang}.json`` (or ``xquad-r/{lang}.json``) under ``data_dir`` — XQuAD JSON whose paragraphs add
``sentences`` and ``sentence_breaks`` ([start, end) character offsets). The only split is ``test``.

Protocol: the questions of one language are the queries; the candidate pool is every sentence of every paragraph
in *every* language file present (the official pool has 11 languages; with fewer files the pool is smaller and
the signature says which languages it held). A question's relevant candidates are, in each pool language, the
sentence containing that language's answer to the same question id. Score: mAP@20 (``lareqa_map_at_20``),
AP = Σ_{r≤20, relevant} P@r / min(|relevant|, 20). Queries use the query prefix, candidates the document prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.api import (
    LEXICON,
    SYNTHETIC_NOTE,
    BenchmarkEntry,
    DataMissing,
    ExportLayout,
    Task,
    TaskSpec,
    Value,
    hookimpl,
    map_at_k,
)

LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
HOW = "Get XQuAD-R from github.com/google-research-datasets/lareqa (xquad-r/{lang}.json)."

SPEC = TaskSpec(
    name="lareqa", kind="retrieval", roles=("target",), languages=LANGUAGES, train_language="en",
    sizes={"test": 1190}, mean_tokens=40,  # cost before download: XQuAD-R (Roy et al. 2020): 1,190 questions per language; the ~13K-sentence candidate pool is counted as one side of the same size
    metrics=("lareqa_map_at_20",), version="1", eval_splits=("test",), select_split="test", data_help=HOW,
    description="Answer-sentence retrieval from a pool in all languages (XQuAD-R); mAP@20",
    citation="Roy et al. 2020, LAReQA: Language-agnostic answer retrieval from a multilingual pool",
    license="CC BY-SA 4.0",
    defaults={"retrieval": {"protocol": "qa", "max_length": 256, "pooling": "mean", "search": "flat"}},
    benchmarks={"xtreme-r": BenchmarkEntry("retrieval", ("lareqa_map_at_20", "map_at_20", "map@20", "mAP@20"),
                                           position=10, export=ExportLayout("json", "test-{language}.json"))},
)


def _path(data_dir: Path, lang: str) -> Path | None:
    for p in (data_dir / f"{lang}.json", data_dir / "xquad-r" / f"{lang}.json"):
        if p.exists():
            return p
    return None


def _answer_sentence(breaks: list[list[int]], start: int) -> int:
    for i, (a, b) in enumerate(breaks):
        if a <= start < b or (i == len(breaks) - 1 and start >= a):
            return i
    # answer starts in the gap between two sentences: the next sentence holds it
    return next((i for i, (a, _) in enumerate(breaks) if a > start), len(breaks) - 1)


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if split != "test":
        raise DataMissing(f"lareqa: split {split!r} does not exist; XQuAD-R has only 'test'")
    if data_dir is None:
        raise DataMissing(f"lareqa: give a folder of XQuAD-R files. {HOW}")
    data_dir = Path(data_dir)
    if _path(data_dir, language) is None:
        raise DataMissing(f"lareqa: data file {data_dir / (language + '.json')} not found. {HOW}")
    pool = [lang for lang in LANGUAGES if _path(data_dir, lang) is not None]
    queries: list[dict] = []
    candidates: list[dict] = []
    answers: dict[str, list[str]] = {}  # question id -> relevant candidate ids over the pool
    for lang in pool:
        data = json.loads(_path(data_dir, lang).read_text(encoding="utf-8"))["data"]  # type: ignore[union-attr]
        for a, article in enumerate(data):
            for p, para in enumerate(article["paragraphs"]):
                ids = [f"{lang}|{a}|{p}|{s}" for s in range(len(para["sentences"]))]
                candidates += [{"id": cid, "language": lang, "side": "candidate", "text": text, "gold": None}
                               for cid, text in zip(ids, para["sentences"])]
                for qa in para["qas"]:
                    start = qa["answers"][0]["answer_start"]
                    answers.setdefault(qa["id"], []).append(ids[_answer_sentence(para["sentence_breaks"], start)])
                    if lang == language:
                        queries.append({"id": f"q|{lang}|{qa['id']}", "language": lang, "side": "query",
                                        "text": qa["question"], "qid": qa["id"]})
    for q in queries:
        q["gold"] = sorted(set(answers[q.pop("qid")]))
    return queries + candidates


def score(examples: list[dict], predictions: list, language: str = "", **_) -> dict[str, Value]:
    pairs = [(p, e["gold"]) for e, p in zip(examples, predictions) if e.get("side") == "query"]
    pool = sorted({e["language"] for e in examples if e.get("side") == "candidate"})
    value = map_at_k([p for p, _ in pairs], [g for _, g in pairs], 20)
    return {"lareqa_map_at_20": Value(value, n=len(pairs), extra={"pool": ",".join(pool)})}


def fixture(data_dir: Path) -> None:
    """SYNTHETIC XQuAD-R files (en, de, es): one paragraph per noun, one question per paragraph."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "de", "es"):
        lx = LEXICON[lang]
        paragraphs = []
        for ni, noun in enumerate(lx["nouns"]):
            sents = [lx["is"].format(n=noun, a=lx["adjs"][ni]), lx["not"].format(n=noun, a=lx["adjs"][(ni + 1) % 8])]
            context = " ".join(sents)
            breaks = [[0, len(sents[0])], [len(sents[0]) + 1, len(context)]]
            answer = lx["adjs"][ni]
            paragraphs.append({"context": context, "sentences": sents, "sentence_breaks": breaks, "qas": [{
                "id": f"q{ni}", "question": f"{noun}?", "answers": [{"text": answer, "answer_start": sents[0].index(answer)}]}]})
        payload = {"data": [{"title": "synthetic", "paragraphs": paragraphs}], "version": "1.1"}
        (data_dir / f"{lang}.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XQuAD-R JSON (sentences, sentence_breaks).\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, score=score, fixture=fixture))
