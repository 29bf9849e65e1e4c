"""LAReQA on XQuAD-R (Roy et al. 2020; XTREME-R): language-agnostic answer-sentence retrieval, mAP@20.

Local layout: ``{lang}.json`` (or ``xquad-r/{lang}.json``) under ``data_dir`` — XQuAD JSON whose paragraphs add
``sentences`` and ``sentence_breaks`` ([start, end) character offsets). The only split is ``test``.

English training pairs (``retrieval_regime: xtreme-r``, the default): split ``train`` reads SQuAD v1.1
``train-v1.1.json``, split ``dev`` (checkpoint selection) ``dev-v1.1.json``, from ``data_dir`` or ``data_dir/squad/``
(XTREME-R's ``train_lareqa.sh``). Each answered question gives one pair: the question → the sentence of its
paragraph holding the first answer's start (sentences split at ``.!?`` + space + capital; XTREME-R infers breaks
with its own splitter and, like here, skips questions whose answer start lies in no sentence). The defaults are
XTREME-R's recipe: lr 2e-5, 3 epochs, batch 16 of which 4 per forward (grad-acc 4), no warm-up, no weight decay,
candidate 256 / query 96 tokens, logit scale initialised to 100. ``retrieval_regime: training-free`` embeds with
the encoder as is (a labelled probe).

Protocol: the questions of one language are the queries; the candidate pool is every sentence of every paragraph
in *every* language file present (the official pool has 11 languages; with fewer files the pool is smaller and
the signature says which languages it held). A question's relevant candidates are, in each pool language, the
sentence containing that language's answer to the same question id. Score: mAP@20 (``lareqa_map_at_20``),
AP = Σ_{r≤20, relevant} P@r / min(|relevant|, 20). Queries use the query prefix, candidates the document prefix.
"""

from __future__ import annotations

import json
import re
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
HOW = ("Get XQuAD-R from github.com/google-research-datasets/lareqa (xquad-r/{lang}.json) and, for the xtreme-r "
       "fine-tune, SQuAD v1.1 train-v1.1.json / dev-v1.1.json (rajpurkar.github.io/SQuAD-explorer) beside it or in "
       "squad/.")
SQUAD_FILES = {"train": "train-v1.1.json", "dev": "dev-v1.1.json"}
_SPACE = re.compile(r"\s*")
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]?[A-Z0-9])")

SPEC = TaskSpec(
    name="lareqa", kind="retrieval", roles=("target",), languages=LANGUAGES, train_language="en",
    sizes={"train": 87599, "dev": 10570, "test": 1190}, mean_tokens=40,  # cost before download: SQuAD v1.1 train/dev (Rajpurkar et al. 2016: 87,599 / 10,570 questions), the xtreme-r fine-tune; XQuAD-R (Roy et al. 2020): 1,190 questions per language
    metrics=("lareqa_map_at_20",), version="1", eval_splits=("test",), select_split="dev", data_help=HOW,
    description="Answer-sentence retrieval from a pool in all languages (XQuAD-R); mAP@20",
    citation="Roy et al. 2020, LAReQA: Language-agnostic answer retrieval from a multilingual pool",
    license="CC BY-SA 4.0",
    defaults={"retrieval": {"protocol": "qa", "max_length": 256, "pooling": "mean", "search": "flat"},
              "retrieval_regime": "xtreme-r",
              "retrieval_finetune": {"data": "SQuAD v1.1 en (train-v1.1.json; dev-v1.1.json selects)",
                                     "max_query_length": 96, "logit_scale": 100.0},
              "lr": 2e-5, "epochs": 3.0, "batch_size": 16, "grad_accum": 4, "warmup_ratio": 0.0,
              "weight_decay": 0.0, "max_length": 256},
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


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of the sentences of ``text``: a break after ``.!?`` (and closing quotes or brackets)
    followed by white space and a capital, a digit or an opening quote."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = _SPACE.match(text, m.end()).end()
    end = len(text.rstrip())
    return spans + [(start, end)] if start < end else spans


def squad_pairs(path: Path) -> list[dict]:
    """English (question, answer sentence) training pairs from a SQuAD v1.1 JSON file (unanswered SQuAD 2.0
    questions and questions whose answer start lies in no sentence are skipped)."""
    pairs = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            context = para["context"]
            spans = sentence_spans(context)
            for qa in para["qas"]:
                if not qa.get("answers"):
                    continue
                start = qa["answers"][0]["answer_start"]
                sent = next((context[a:b] for a, b in spans if a <= start < b), None)
                if sent and qa["question"].strip():
                    pairs.append({"id": qa["id"], "language": "en", "query": qa["question"], "candidate": sent})
    return pairs


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if split in SQUAD_FILES:
        if data_dir is None:
            raise DataMissing(f"lareqa: give a folder with SQuAD v1.1 {SQUAD_FILES[split]}. {HOW}")
        if language != "en":
            raise DataMissing(f"lareqa: split {split!r} (SQuAD v1.1) is English only, not {language!r}")
        found = [p for p in (Path(data_dir) / SQUAD_FILES[split], Path(data_dir) / "squad" / SQUAD_FILES[split])
                 if p.exists()]
        if not found:
            raise DataMissing(f"lareqa: {Path(data_dir) / SQUAD_FILES[split]} not found (the xtreme-r fine-tune "
                              f"reads it; retrieval_regime: training-free needs only XQuAD-R). {HOW}")
        return squad_pairs(found[0])
    if split != "test":
        raise DataMissing(f"lareqa: split {split!r} does not exist; XQuAD-R has only 'test' (SQuAD v1.1: "
                          "'train', 'dev')")
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
    en = LEXICON["en"]
    for split, shift in (("train", 0), ("dev", 3)):  # English SQuAD v1.1 layout: "noun?" -> "The noun is adj."
        paragraphs = []
        for ni, noun in enumerate(en["nouns"]):
            adj = en["adjs"][(ni + shift) % 8]
            sents = [en["is"].format(n=noun, a=adj).capitalize() + ".",
                     en["not"].format(n=noun, a=en["adjs"][(ni + shift + 1) % 8]).capitalize() + "."]
            context = " ".join(sents)
            paragraphs.append({"context": context, "qas": [{"id": f"{split}{ni}", "question": f"{noun}?", "answers": [
                {"text": adj, "answer_start": context.index(adj)}]}]})
        (data_dir / SQUAD_FILES[split]).write_text(json.dumps({"data": [{"title": "synthetic", "paragraphs": paragraphs}],
                                                               "version": "1.1"}), encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XQuAD-R JSON (sentences, sentence_breaks); "
                                           "SQuAD v1.1 train/dev (English pairs for the xtreme-r fine-tune).\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, score=score, fixture=fixture))
