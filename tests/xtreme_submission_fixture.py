"""Small XTREME / XTREME-R submission folders (predictions + labels) written from a seeded generator.

Recreated in the layout of google-research/xtreme's ``mock_test_data`` (never copied from it): one folder per
task, one file per language of the official script's lists. ``write(root, version)`` writes
``root/predictions`` and ``root/labels``; the same files scored by the official ``evaluate.py`` gave the reference
values recorded in ``test_score_benchmark.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from xlt_harness_plugins.tasks import panx, tatoeba, udpos, xcopa, xquad

XNLI = "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh".split(",")
PAWSX = "de,en,es,fr,ja,ko,zh".split(",")
BUCC = "de,fr,ru,zh".split(",")
MLQA = "en,es,de,ar,hi,vi,zh".split(",")
TYDIQA = "en,ar,bn,fi,id,ko,ru,sw,te".split(",")
MEWSLIX = "ar,de,en,es,fa,ja,pl,ro,ta,tr,uk".split(",")
NER = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG"]
POS = ["NOUN", "VERB", "DET", "ADJ", "PUNCT"]
WORDS = ["alpha", "beta", "gamma", "delta", "the cat", "a dog", "red house", "old tree"]


def _tsv(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")


def _tags(rng: random.Random, tags: list[str], flip: float) -> tuple[list[str], list[str]]:
    gold, pred = [], []
    for _ in range(6):
        n = rng.randint(2, 6)
        g = [rng.choice(tags) for _ in range(n)]
        p = [rng.choice(tags) if rng.random() < flip else t for t in g]
        gold += g + [""]
        pred += p + [""]
    return gold[:-1], pred[:-1]


def _qa(rng: random.Random, lang: str, task: str) -> tuple[dict, dict]:
    qas, preds = [], {}
    for i in range(8):
        answers = [{"text": rng.choice(WORDS), "answer_start": 0} for _ in range(rng.randint(1, 2))]
        qid = f"{task}-{lang}-{i}"
        qas.append({"id": qid, "question": "?", "answers": answers})
        r = rng.random()
        if r < 0.4:
            preds[qid] = answers[0]["text"]
        elif r < 0.8:
            preds[qid] = rng.choice(WORDS) + " " + rng.choice(WORDS)
        elif r < 0.9:
            preds[qid] = rng.choice(WORDS)
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]}, preds


def write(root: Path, version: str, seed: int = 16) -> None:
    """Write ``predictions/`` and ``labels/`` for ``version`` (``xtreme`` or ``xtreme-r``) under ``root``."""
    rng = random.Random(f"{seed}-{version}")
    P, L = root / "predictions", root / "labels"
    xr = version == "xtreme-r"
    labelled = [("xnli", XNLI, ["entailment", "neutral", "contradiction"])]
    if not xr:
        labelled.append(("pawsx", PAWSX, ["0", "1"]))
    for task, langs, labels in labelled:
        for lang in langs:
            gold = [rng.choice(labels) for _ in range(rng.randint(5, 12))]
            _tsv(L / task / f"test-{lang}.tsv", gold)
            _tsv(P / task / f"test-{lang}.tsv", [g if rng.random() < 0.6 else rng.choice(labels) for g in gold])
    for task, mod, tags in (("udpos", udpos, POS), ("panx", panx, NER)):
        for lang in (mod.OFFICIAL_XTREME_R if xr else mod.OFFICIAL_XTREME):
            gold, pred = _tags(rng, tags, 0.3)
            _tsv(L / task / f"test-{lang}.tsv", gold)
            _tsv(P / task / f"test-{lang}.tsv", pred)
    for lang in (tatoeba.OFFICIAL_XTREME_R if xr else tatoeba.OFFICIAL_XTREME):
        n = rng.randint(4, 9)
        _tsv(L / "tatoeba" / f"test-{lang}.tsv", [str(i) for i in range(n)])
        _tsv(P / "tatoeba" / f"test-{lang}.tsv", [str(i if rng.random() < 0.7 else rng.randrange(n)) for i in range(n)])
    if not xr:
        for lang in BUCC:
            gold = [f"{lang}-{i:06d}\ten-{i:06d}" for i in range(rng.randint(4, 9))]
            pred = [g for g in gold if rng.random() < 0.7] + [f"{lang}-{i:06d}\ten-{i + 1:06d}" for i in range(2)]
            _tsv(L / "bucc2018" / f"test-{lang}.tsv", gold)
            _tsv(P / "bucc2018" / f"test-{lang}.tsv", pred)
    for task, langs in (("xquad", list(xquad.LANGUAGES) + (["ro"] if xr else [])), ("mlqa", MLQA),
                        ("tydiqa", TYDIQA)):
        for lang in langs:
            gold, pred = _qa(rng, lang, task)
            (L / task).mkdir(parents=True, exist_ok=True)
            (P / task).mkdir(parents=True, exist_ok=True)
            (L / task / f"test-{lang}.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
            (P / task / f"test-{lang}.json").write_text(json.dumps(pred, ensure_ascii=False), encoding="utf-8")
    if xr:
        for lang in xcopa.TARGET_LANGUAGES:
            gold = [rng.randint(0, 1) for _ in range(rng.randint(5, 10))]
            _tsv(L / "xcopa" / f"test-{lang}.jsonl", [json.dumps({"label": g}) for g in gold])
            _tsv(P / "xcopa" / f"test-{lang}.jsonl",
                 [json.dumps({"label": g if rng.random() < 0.6 else 1 - g}) for g in gold])
        for lang in MEWSLIX:
            gold = {f"m-{lang}-{i}": [f"Q{rng.randrange(30)}"] for i in range(6)}
            pred = {}
            for qid, (g,) in gold.items():
                ranked = [f"Q{rng.randrange(30)}" for _ in range(25)]
                if rng.random() < 0.7:
                    ranked.insert(rng.randrange(24), g)
                if rng.random() < 0.9:
                    pred[qid] = ranked
            (L / "mewslix").mkdir(parents=True, exist_ok=True)
            (P / "mewslix").mkdir(parents=True, exist_ok=True)
            (L / "mewslix" / f"test-{lang}.json").write_text(json.dumps(gold), encoding="utf-8")
            (P / "mewslix" / f"test-{lang}.json").write_text(json.dumps(pred), encoding="utf-8")
