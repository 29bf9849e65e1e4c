"""XTREME / XTREME-R target tasks: loaders (official, XTREME-processed, hub layouts), task types, ``harness score``.

Real-data counts were verified independently of the loaders (``wc -l`` for TSV/jsonl, blank-line counts for
CoNLL files, a JSON walk over ``data/*/paragraphs/*/qas`` for SQuAD files, word lines with an integer ID for
CoNLL-U) and are skipped when ../shared/data is absent. Every format is also covered by small files the tests
write themselves.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from harness.metrics import MissingGold
from harness.toolkit.data import DataMissing

TASKS = ("xnli", "pawsx", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa")


def load(registry, task: str, split: str, language: str, data_dir: Path | None) -> list[dict]:
    return registry.task(task).load(split=split, language=language, data_dir=data_dir)


def labelled(examples: list[dict]) -> int:
    keys = ("label", "tags", "answers")
    return sum(1 for e in examples if next(e[k] for k in keys if k in e) is not None)


# ---- specs ------------------------------------------------------------------------------------------------
def test_language_lists_are_xtreme_and_xtreme_r(registry):
    langs = {t: set(registry.task(t).spec.languages) for t in TASKS}
    assert langs["xnli"] == set("ar bg de el en es fr hi ru sw th tr ur vi zh".split())
    assert langs["pawsx"] == set("de en es fr ja ko zh".split())
    assert langs["xcopa"] == set("en et ht id it qu sw ta th tr vi zh".split())
    assert langs["xquad"] == set("en es de el ru tr ar vi th zh hi".split())
    assert langs["mlqa"] == set("en es de ar hi vi zh".split())
    assert langs["tydiqa"] == set("en ar bn fi id ko ru sw te".split())
    xtreme_pos = set("af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo "
                     "zh".split())
    assert len(xtreme_pos) == 33 and langs["udpos"] == xtreme_pos | {"lt", "pl", "uk", "wo", "ro"}
    xtreme_ner = set("ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw "
                     "yo my zh kk tr et fi hu".split())
    assert len(xtreme_ner) == 40 and langs["panx"] == xtreme_ner | set("qu pl uk az lt pa gu ro".split())
    assert registry.task("udpos").spec.metrics == ("pos_seqeval_f1", "pos_accuracy")
    assert registry.task("panx").spec.metrics == ("ner_seqeval_f1",)
    assert registry.task("mlqa").spec.metrics[0] == "mlqa_f1"
    for t in TASKS:
        assert registry.task(t).spec.average == "unweighted"
        assert registry.task(t).spec.train_language == "en"


# ---- real data (../shared/data) -----------------------------------------------------------------------------
SHARED_CASES = [
    *[("xnli", "dev", lang, "xnli/xtreme", 600, 600) for lang in "en de es ar hi sw zh".split()],
    ("xnli", "test", "en", "xnli/xtreme", 200, 0), ("xnli", "test", "de", "xnli/xtreme", 200, 0),
    ("xnli", "test", "de", "xnli/xglue-de", 1000, 1000),
    *[("pawsx", "dev", lang, "pawsx/xtreme", 500, 500) for lang in "en de es fr ja ko zh".split()],
    ("pawsx", "test", "en", "pawsx/xtreme", 200, 0),
    ("pawsx", "dev", "de", "pawsx", 2000, 2000), ("pawsx", "test", "de", "pawsx", 2000, 2000),
    *[("xcopa", split, lang, "xcopa", n, n) for lang in "et ht id it qu sw ta th tr vi zh".split()
      for split, n in (("dev", 100), ("test", 500))],
    ("xcopa", "train", "en", "xcopa/xtreme-r", 400, 400), ("xcopa", "dev", "en", "xcopa/xtreme-r", 100, 100),
    ("xcopa", "test", "en", "xcopa/xtreme-r", 500, 0),
    ("udpos", "dev", "en", "udpos", 300, 300),
    *[("udpos", "test", lang, "udpos", 300, 300) for lang in "en de es zh hi ar".split()],
    ("udpos", "train", "en", "udpos/xtreme", 1000, 1000),
    *[("panx", "dev", lang, "panx/xtreme", 500, 500) for lang in "en de es fr ru zh ar hi sw".split()],
    ("panx", "train", "en", "panx/xtreme", 1000, 1000), ("panx", "test", "en", "panx/xtreme", 200, 0),
    *[("xquad", "test", lang, "xquad", 177, 177) for lang in "en de ar".split()],
    *[("mlqa", "dev", lang, "mlqa", n, n) for lang, n in
      (("en", 182), ("de", 105), ("es", 125), ("ar", 157), ("hi", 121), ("vi", 160), ("zh", 113))],
    ("tydiqa", "train", "en", "tydiqa/xtreme", 300, 300),
    ("tydiqa", "dev", "en", "tydiqa/xtreme", 100, 0), ("tydiqa", "dev", "sw", "tydiqa/xtreme", 100, 0),
    ("tydiqa", "dev", "en", "tydiqa/opencompass-goldp-dev", 100, 100),
    ("tydiqa", "test", "sw", "tydiqa/opencompass-goldp-dev", 100, 100),
    *[("tydiqa", "dev", lang, "tydiqa", 1, 1) for lang in "te fi ar id".split()],  # primary-task tiny_dev
    # a task's whole folder: layouts in sub-folders are found (labelled ones first)
    ("tydiqa", "dev", "en", "tydiqa", 100, 100), ("tydiqa", "train", "en", "tydiqa", 300, 300),
    ("udpos", "train", "en", "udpos", 1000, 1000), ("panx", "dev", "ar", "panx", 500, 500),
    ("pawsx", "dev", "ja", "pawsx", 500, 500), ("xcopa", "train", "en", "xcopa", 400, 400),
]


@pytest.mark.shared_data
@pytest.mark.parametrize(("task", "split", "lang", "folder", "n", "n_gold"), SHARED_CASES)
def test_shared_data_counts(shared_data, registry, task, split, lang, folder, n, n_gold):
    examples = load(registry, task, split, lang, shared_data / folder)
    assert len(examples) == n
    assert labelled(examples) == n_gold
    assert len({e["id"] for e in examples}) == n
    assert all(e["language"] == lang for e in examples)


@pytest.mark.shared_data
def test_shared_word_counts_and_offsets(shared_data, registry):
    # word lines with an integer ID (awk '$1 ~ /^[0-9]+$/'); multiword ranges and empty nodes are skipped
    words = {"en": 5224, "de": 4218, "es": 8818, "zh": 7119, "hi": 7224, "ar": 6256}
    for lang, n in words.items():
        assert sum(len(e["tokens"]) for e in load(registry, "udpos", "test", lang, shared_data / "udpos")) == n
    train = load(registry, "udpos", "train", "en", shared_data / "udpos" / "xtreme")
    assert sum(len(e["tokens"]) for e in train) == 21856
    assert sum(len(e["tokens"]) for e in load(registry, "panx", "test", "en", shared_data / "panx/xtreme")) == 1895
    # every answer slices out of its context at the character offset (TyDiQA byte offsets converted)
    for task, folder, split, langs in (("xquad", "xquad", "test", "en de ar"), ("mlqa", "mlqa", "dev", "zh ar hi"),
                                       ("tydiqa", "tydiqa/opencompass-goldp-dev", "dev", "en sw"),
                                       ("tydiqa", "tydiqa", "dev", "te fi ar id")):
        for lang in langs.split():
            for e in load(registry, task, split, lang, shared_data / folder):
                for text, start in zip(e["answers"]["text"], e["answers"]["answer_start"]):
                    assert e["context"][start : start + len(text)] == text


@pytest.mark.shared_data
def test_shared_quoting_and_crlf(shared_data, registry):
    # XTREME's PAWS-X files are csv.writer output: a quoted field with doubled quotes reads back as the text
    fr = load(registry, "pawsx", "dev", "fr", shared_data / "pawsx/xtreme")
    quoted = [e for e in fr if '"cimetière Macpelah"' in e["text_a"]]
    assert len(quoted) == 1 and not quoted[0]["text_a"].startswith('"') and quoted[0]["label"] == "0"
    # CRLF never leaks into the last column
    assert {e["label"] for e in load(registry, "xnli", "dev", "de", shared_data / "xnli/xtreme")} == {
        "entailment", "neutral", "contradiction"}
    # the original x-final file keeps quotes literal (one row has an unbalanced quote)
    de = load(registry, "pawsx", "dev", "de", shared_data / "pawsx")
    assert any(e["text_a"].startswith('Siebenberg bezeichnete ihn als seinen Lieblingssong auf dem Album ", weil')
               for e in de)


# ---- project-written fixtures in every layout -----------------------------------------------------------------
def test_pawsx_layouts(tmp_path, registry):
    x = tmp_path / "xtreme"
    x.mkdir()
    (x / "dev-de.tsv").write_bytes(b'"Er sagte ""ja"" ."\tEr sagte ja .\t1\r\nA\tB\t0\r\n')
    (x / "test-de.tsv").write_bytes(b"A\tB\r\nC\tD\r\n")
    dev = load(registry, "pawsx", "dev", "de", x)
    assert [(e["text_a"], e["label"]) for e in dev] == [('Er sagte "ja" .', "1"), ("A", "0")]
    assert [e["label"] for e in load(registry, "pawsx", "test", "de", x)] == [None, None]
    off = tmp_path / "x-final" / "fr"
    off.mkdir(parents=True)
    (off / "test_2k.tsv").write_text('id\tsentence1\tsentence2\tlabel\n7\t"a b\tc\t1\n8\td\te\t0\n', encoding="utf-8")
    rows = load(registry, "pawsx", "test", "fr", tmp_path)
    assert [(e["id"], e["text_a"], e["label"]) for e in rows] == [("test-fr-7", '"a b', "1"), ("test-fr-8", "d", "0")]
    with pytest.raises(DataMissing, match="test-ja.tsv"):
        load(registry, "pawsx", "test", "ja", tmp_path)


def test_xnli_single_language_folder(tmp_path, registry):
    (tmp_path / "test.tsv").write_text("p1\th1\tneutral\np2\th2\tcontradictory\n", encoding="utf-8")
    rows = load(registry, "xnli", "test", "de", tmp_path)
    assert [e["label"] for e in rows] == ["neutral", "contradiction"]


def test_xcopa_layouts(tmp_path, registry):
    row = {"premise": "P", "choice1": "a", "choice2": "b", "question": "effect", "label": 1, "idx": 3}
    nested = tmp_path / "data" / "qu"
    nested.mkdir(parents=True)
    (nested / "val.qu.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "train-en.jsonl").write_text(json.dumps({**row, "question": "cause"}) + "\n")
    (tmp_path / "test-en.jsonl").write_text("".join(json.dumps({**row, "label": 0, "idx": i}) + "\n" for i in range(100)))
    (ex,) = load(registry, "xcopa", "dev", "qu", tmp_path)
    assert ex == {"id": "val-qu-3", "language": "qu", "context": "P", "question": "What happened as a result?",
                  "choices": ["a", "b"], "label": 1}
    assert load(registry, "xcopa", "train", "en", tmp_path)[0]["question"] == "What was the cause?"
    assert {e["label"] for e in load(registry, "xcopa", "test", "en", tmp_path)} == {None}  # hidden COPA test labels
    with pytest.raises(DataMissing, match="only in English"):
        load(registry, "xcopa", "train", "qu", tmp_path)


CONLLU = """# sent_id = 1
# text = Don't stop.
1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tDo\tdo\tAUX\t_\t_\t3\taux\t_\t_
2\tn't\tnot\tPART\t_\t_\t3\tadvmod\t_\t_
3\tstop\tstop\tVERB\t_\t_\t0\troot\t_\t_
3.1\tgo\tgo\tVERB\t_\t_\t_\t_\t0:root\t_
4\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\t_

1\tcông ty\tcông ty\tNOUN\t_\t_\t0\troot\t_\t_
2\tx\u200cy\txy\tX\t_\t_\t1\tdep\t_\t_
"""


def test_udpos_conllu_and_xtreme_tsv(tmp_path, registry):
    (tmp_path / "ud" / "a").mkdir(parents=True)
    (tmp_path / "ud" / "a" / "vi_vtb-ud-test.conllu").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "ud" / "vi_other-ud-test.conllu").write_text("1\tz\tz\tNUM\t_\t_\t0\troot\t_\t_\n", encoding="utf-8")
    rows = load(registry, "udpos", "test", "vi", tmp_path / "ud")
    # treebanks in sorted path order; syntactic words only; spaces and ZWNJ removed inside forms
    assert [(e["tokens"], e["tags"]) for e in rows] == [
        (["Do", "n't", "stop", "."], ["AUX", "PART", "VERB", "PUNCT"]), (["côngty", "xy"], ["NOUN", "X"]),
        (["z"], ["NUM"])]
    (tmp_path / "test-vi.tsv").write_bytes(b"a\r\nb\r\n\r\nc\r\n")
    (tmp_path / "dev-vi.tsv").write_text("a\tNOUN\nb\tVERB\n\nc\tX\n")
    assert [(e["tokens"], e["tags"]) for e in load(registry, "udpos", "test", "vi", tmp_path)] == [
        (["a", "b"], None), (["c"], None)]
    assert [e["tags"] for e in load(registry, "udpos", "dev", "vi", tmp_path)] == [["NOUN", "VERB"], ["X"]]


def test_panx_raw_and_stripped(tmp_path, registry):
    (tmp_path / "de-dev").write_text("de:Angela\tB-PER\nde:Merkel\tI-PER\nde:de:x\tO\n\n", encoding="utf-8")
    (tmp_path / "test-de.tsv").write_text("Angela\nMerkel\n", encoding="utf-8")
    (row,) = load(registry, "panx", "dev", "de", tmp_path)
    assert row["tokens"] == ["Angela", "Merkel", "de:x"] and row["tags"] == ["B-PER", "I-PER", "O"]
    (test,) = load(registry, "panx", "test", "de", tmp_path)
    assert test["tags"] is None
    scorer = registry.task_type("tagging")
    with pytest.raises(MissingGold):
        scorer.score([test], [["O", "O"]], registry.task("panx").spec, "de")


def _squad(path: Path, context: str, qas: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": qas}]}]}), encoding="utf-8")


def test_qa_layouts_and_blanked_answers(tmp_path, registry):
    _squad(tmp_path / "xquad.zh.json", "猫住在巴黎。", [{"id": "q1", "question": "?", "answers": [
        {"answer_start": 3, "text": "巴黎"}]}])
    (ex,) = load(registry, "xquad", "test", "zh", tmp_path)
    assert ex["answers"] == {"text": ["巴黎"], "answer_start": [3]}
    blank = [{"id": "q2", "question": "?", "answers": [{"answer_start": 0, "text": ""}]}]
    _squad(tmp_path / "MLQA_V1" / "test" / "test-context-de-question-de.json", "Kontext", blank)
    (ml,) = load(registry, "mlqa", "test", "de", tmp_path)
    assert ml["answers"] is None
    with pytest.raises(MissingGold):
        registry.task_type("span_qa").score([ml], ["x"], registry.task("mlqa").spec, "de")
    _squad(tmp_path / "tydiqa-goldp-v1.1-dev" / "tydiqa.goldp.sw.dev.json", "c", blank)
    assert load(registry, "tydiqa", "dev", "sw", tmp_path)[0]["answers"] is None
    with pytest.raises(DataMissing, match="train-v1.1.json"):
        load(registry, "xquad", "train", "en", tmp_path)


def test_tydiqa_byte_offsets(tmp_path, registry):
    passage = "Mji wa Dar es Salaam — “bandari” ni mkubwa. দারুস সালাম"
    answer = "দারুস"
    start_byte = len(passage[: passage.index(answer)].encode("utf-8"))
    assert start_byte != passage.index(answer)  # multi-byte characters before the answer
    line = {"id": "1", "language": "swahili", "document_title": "t", "passage_text": passage, "question_text": "?",
            "answers": [{"text": answer, "start_byte": start_byte, "limit_byte": start_byte + len(answer.encode())}]}
    (tmp_path / "swahili-dev.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    (ex,) = load(registry, "tydiqa", "test", "sw", tmp_path)
    start = ex["answers"]["answer_start"][0]
    assert start == passage.index(answer) and ex["context"][start : start + len(answer)] == answer
    bad = {**line, "answers": [{"text": answer, "start_byte": start_byte + 1, "limit_byte": start_byte + 4}]}
    (tmp_path / "swahili-dev.jsonl").write_text(json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load(registry, "tydiqa", "dev", "sw", tmp_path)


def test_tydiqa_primary_task_derivation(tmp_path, registry):
    doc = "Intro ‖ text. Helsinki on Suomen pääkaupunki."
    p0 = len(doc[: doc.index("Helsinki")].encode())
    a0 = p0 + len(b"Helsinki on ")
    a1 = a0 + len(b"Suomen")
    ann = {"annotation_id": 1, "yes_no_answer": "NONE", "passage_answer": {"candidate_index": 1},
           "minimal_answer": {"plaintext_start_byte": a0, "plaintext_end_byte": a1}}
    none = {"annotation_id": 2, "yes_no_answer": "NONE", "passage_answer": {"candidate_index": -1},
            "minimal_answer": {"plaintext_start_byte": -1, "plaintext_end_byte": -1}}
    rows = [{"example_id": 5, "language": "finnish", "question_text": "?", "document_plaintext": doc,
             "document_title": "t", "document_url": "u", "annotations": [ann, none],
             "passage_answer_candidates": [{"plaintext_start_byte": 0, "plaintext_end_byte": p0},
                                           {"plaintext_start_byte": p0, "plaintext_end_byte": len(doc.encode())}]},
            {"example_id": 6, "language": "finnish", "question_text": "?", "document_plaintext": doc,
             "document_title": "t", "document_url": "u", "annotations": [none], "passage_answer_candidates": []}]
    with gzip.open(tmp_path / "tydiqa-v1.0-dev.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (ex,) = load(registry, "tydiqa", "dev", "fi", tmp_path)
    assert ex["context"] == "Helsinki on Suomen pääkaupunki."
    assert ex["answers"] == {"text": ["Suomen"], "answer_start": [12]}


# ---- hub loading, on local parquet files with the hub's real features (tests/hub_schemas.py) -------------------
@pytest.mark.slow
def test_hub_loaders_on_local_parquet(tmp_path, monkeypatch, registry):
    import importlib

    import hub_schemas as H

    import harness.toolkit.data

    calls = []
    files: dict[tuple, Path] = {}

    def fake_load_hf(dataset, name, split, revision=None, **kw):
        calls.append((dataset, name, split))
        return harness.toolkit.data.load_hf("parquet", None, "train", data_files={"train": str(files[(dataset, name, split)])},
                                    cache_dir=str(tmp_path / "cache"))

    def hub(key: tuple, features, rows: list[dict]) -> None:
        files[key] = H.hub_parquet(tmp_path / f"{len(files)}.parquet", features, rows)

    for t in TASKS:
        monkeypatch.setattr(importlib.import_module(f"xlt_harness_plugins.tasks.{t}"), "load_hf", fake_load_hf)
    ner = H.PANX_TAGS.index  # the hub stores ClassLabel ints
    hub(("google/xtreme", "PAN-X.de", "validation"), H.PANX,
        [{"tokens": ["Anna", "Li", "in", "Paris", "bei", "Acme", "Corp"], "langs": ["de"] * 7,
          "ner_tags": [ner(t) for t in ("B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG")]}])
    pos = ("ADJ", "NOUN", "VERB", "X", "SYM", "PUNCT")  # X and SYM are the last ClassLabel ids (16, 14)
    hub(("google/xtreme", "udpos.German", "test"), H.UDPOS,
        [{"tokens": ["rot", "Haus", "ist", "xyz", "%", "."], "pos_tags": [H.UPOS_TAGS.index(t) for t in pos]}])
    qa = [{"id": "english-1", "title": "t", "context": "ab cd", "question": "?",
           "answers": {"text": ["cd"], "answer_start": [3]}},
          {"id": "swahili-2", "title": "t", "context": "ef gh", "question": "?",
           "answers": {"text": ["gh"], "answer_start": [3]}}]
    hub(("google-research-datasets/tydiqa", "secondary_task", "validation"), H.TYDIQA_GOLDP, qa)
    untitled = [{k: v for k, v in r.items() if k != "title"} for r in qa]  # XQuAD and MLQA have no title column
    hub(("google/xquad", "xquad.de", "validation"), H.XQUAD, untitled)
    hub(("google/xtreme", "MLQA.zh.zh", "test"), H.MLQA, untitled)
    hub(("google-research-datasets/paws-x", "ko", "test"), H.PAWSX,
        [{"id": 1, "sentence1": "a", "sentence2": "c", "label": 1}, {"id": 2, "sentence1": "b", "sentence2": "d",
                                                                     "label": 0},
         {"id": 3, "sentence1": "e", "sentence2": "f", "label": -1}])  # the card: missing labels are -1
    hub(("cambridgeltl/xcopa", "th", "test"), H.XCOPA,
        [{"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 1, "idx": 7,
          "changed": False}])
    hub(("facebook/xnli", "ur", "test"), H.XNLI,
        [{"premise": "p", "hypothesis": "h", "label": i} for i in range(3)])

    assert load(registry, "panx", "dev", "de", None)[0]["tags"] == ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG",
                                                                    "I-ORG"]
    assert load(registry, "udpos", "test", "de", None)[0]["tags"] == list(pos)
    (sw,) = load(registry, "tydiqa", "test", "sw", None)
    assert sw["id"] == "swahili-2" and sw["answers"] == {"text": ["gh"], "answer_start": [3]}
    assert len(load(registry, "xquad", "test", "de", None)) == 2
    (_, zh) = load(registry, "mlqa", "test", "zh", None)
    assert zh["id"] == "swahili-2" and zh["answers"] == {"text": ["gh"], "answer_start": [3]}
    assert [e["label"] for e in load(registry, "pawsx", "test", "ko", None)] == ["1", "0", None]
    (th,) = load(registry, "xcopa", "test", "th", None)
    assert th["label"] == 1 and th["id"] == "test-th-7" and th["question"] == "What was the cause?"
    assert [e["label"] for e in load(registry, "xnli", "test", "ur", None)] == ["entailment", "neutral",
                                                                               "contradiction"]
    assert calls == list(files)
    with pytest.raises(DataMissing, match="XTREME-R"):
        load(registry, "udpos", "test", "wo", None)


# ---- task types ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer():
    from xlt_harness_plugins.models.tiny_xlmr import train_tokenizer

    return train_tokenizer(600)


def test_tagging_splits_long_sentences_never_truncates(tokenizer, registry):
    import torch

    spec = registry.task("udpos").spec
    ttype = registry.task_type("tagging")
    words = [f"w{i}ord{i % 7}" for i in range(60)] + ["\u200b"]  # the last word has no pieces → <unk>
    tags = [spec.labels[i % len(spec.labels)] for i in range(len(words))]
    ex = [{"id": "a", "tokens": words, "tags": tags}, {"id": "b", "tokens": ["the", "cat"], "tags": ["DET", "NOUN"]}]
    feats = ttype.featurize(ex, tokenizer, spec, max_length=24)
    assert all(len(f["input_ids"]) <= 24 for f in feats)
    first = [f for f in feats if f["example_index"] == 0]
    assert len(first) > 3  # split into segments
    covered = [f["word_start"] + k for f in first for k in range(len(f["first_positions"]))]
    assert covered == list(range(len(words)))
    # gold labels sit on first pieces only; decoding logits that put mass on the gold label returns the gold tags
    outputs = []
    for f in feats:
        logits = torch.zeros(len(f["input_ids"]), len(spec.labels))
        for pos, lab in enumerate(f["labels"]):
            if lab != -100:
                logits[pos, lab] = 1.0
        outputs.append(logits)
    assert sum(lab != -100 for f in feats for lab in f["labels"]) == len(words) + 2
    assert ttype.decode(outputs, feats, ex, spec) == [tags, ["DET", "NOUN"]]
    batch = ttype.collate(feats[:2], pad_id=1)
    assert batch["labels"].shape == batch["input_ids"].shape


def _round_trip(ttype, spec, examples, tokenizer, max_length):
    """Put all logit mass on the training labels of every window and decode."""
    import torch

    feats = ttype.featurize(examples, tokenizer, spec, max_length)
    outputs = []
    for f in feats:
        n = len(f["input_ids"]) + 3  # padded rows are longer than the feature
        s, e = torch.zeros(n), torch.zeros(n)
        s[f["start_positions"]] = 10.0 if f["start_positions"] else 0.0
        e[f["end_positions"]] = 10.0 if f["end_positions"] else 0.0
        outputs.append((s, e))
    return feats, ttype.decode(outputs, feats, examples, spec)


def test_span_qa_windows_and_char_offsets(tokenizer, registry, tmp_path):
    from harness.tasktypes.span_qa import windows

    assert windows(10, 4, 2) == [(0, 4), (2, 4), (4, 4), (6, 4)]
    assert windows(3, 4, 2) == [(0, 3)]
    spec = registry.task("mlqa").spec
    ttype = registry.task_type("span_qa")
    registry.task("mlqa").fixture(data_dir=tmp_path)
    for lang, max_length in (("en", 40), ("zh", 40), ("ar", 96)):  # byte-level pieces: Arabic needs more room
        examples = load(registry, "mlqa", "test", lang, tmp_path)
        feats, preds = _round_trip(ttype, spec, examples, tokenizer, max_length=max_length)
        assert len(feats) > len(examples)  # long paragraphs → several windows per question
        assert preds == [e["answers"]["text"][0] for e in examples]  # exact text via character offsets (zh too)
        for i in range(len(examples)):  # every context piece is in some window
            own = [f for f in feats if f["example_index"] == i]
            n_pieces = len(tokenizer(examples[i]["context"], add_special_tokens=False)["input_ids"])
            seen = sum(1 for f in own for c in f["token_to_char"] if c is not None)
            assert seen >= n_pieces and len(own) > 1


def test_span_qa_no_answer_switch(tokenizer, registry):
    import dataclasses

    import torch

    base = registry.task("xquad").spec
    ttype = registry.task_type("span_qa")
    ex = [{"id": "q", "context": "The cat lives in Paris.", "question": "Where?", "answers": {"text": [], "answer_start": []}}]
    feats = ttype.featurize(ex, tokenizer, base, 64)
    assert (feats[0]["start_positions"], feats[0]["end_positions"]) == (0, 0)  # unanswerable → <cls>
    n = len(feats[0]["input_ids"])
    ctx = [i for i, c in enumerate(feats[0]["token_to_char"]) if c is not None]
    s, e = torch.zeros(n), torch.zeros(n)
    s[0], e[0] = 3.0, 3.0           # null score 6
    s[ctx[-2]], e[ctx[-2]] = 2.0, 2.5  # best span 4.5
    v1 = ttype.decode([(s, e)], feats, ex, base)
    assert v1 != [""]  # without the switch the best span is always returned
    v2 = dataclasses.replace(base, defaults={**base.defaults, "allow_no_answer": True})
    assert ttype.decode([(s, e)], feats, ex, v2) == [""]  # 6 - 4.5 > 0
    v2t = dataclasses.replace(base, defaults={**base.defaults, "allow_no_answer": True, "null_score_diff_threshold": 2.0})
    assert ttype.decode([(s, e)], feats, ex, v2t) == v1  # 1.5 <= 2.0: answer
    # max_answer_length: a span longer than allowed is never chosen
    s2, e2 = torch.zeros(n), torch.zeros(n)
    s2[ctx[0]], e2[ctx[-1]] = 5.0, 5.0
    short = dataclasses.replace(base, defaults={**base.defaults, "max_answer_length": 2})
    pred = ttype.decode([(s2, e2)], feats, ex, short)[0]
    assert pred != "The cat lives in Paris."


# ---- harness score ---------------------------------------------------------------------------------------------
def test_score_command(tmp_path):
    from click.testing import CliRunner

    from harness.cli.main import main

    _squad(tmp_path / "dev-context-zh-question-zh.json", "北京大学在北京。", [
        {"id": "a", "question": "?", "answers": [{"answer_start": 0, "text": "北京"}]},
        {"id": "b", "question": "?", "answers": [{"answer_start": 5, "text": "北京"}]}])
    (tmp_path / "pred.json").write_text(json.dumps({"a": "北京大学"}), encoding="utf-8")
    run = CliRunner().invoke(main, ["score", "mlqa", "--data", str(tmp_path / "dev-context-zh-question-zh.json"),
                                    "--predictions", str(tmp_path / "pred.json"), "--json"])
    assert run.exit_code == 0, run.output
    out = json.loads(run.output[run.output.index("{"):])
    # a: F1 2/3 (P=2/4, R=1), EM 0; b: unanswered → 0
    assert out["language"] == "zh" and out["n"] == 2
    assert out["scores"]["mlqa_f1"]["value"] == pytest.approx(100 / 3)
    assert out["scores"]["mlqa_exact_match"]["value"] == 0.0

    (tmp_path / "dev-de.tsv").write_text("Angela\tB-PER\nMerkel\tI-PER\n\nBerlin\tB-LOC\n", encoding="utf-8")
    (tmp_path / "tags.txt").write_text("B-PER\nI-PER\n\nB-ORG\n", encoding="utf-8")  # XTREME submission layout
    run = CliRunner().invoke(main, ["score", "panx", "--data", str(tmp_path / "dev-de.tsv"),
                                    "--predictions", str(tmp_path / "tags.txt")])
    assert run.exit_code == 0, run.output
    assert "ner_seqeval_f1: 50.0000" in run.output  # P=1/2, R=1/2

    (tmp_path / "test-de.tsv").write_text("Angela\nMerkel\n", encoding="utf-8")
    (tmp_path / "t2.txt").write_text("O\nO\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["score", "panx", "--data", str(tmp_path / "test-de.tsv"),
                                    "--predictions", str(tmp_path / "t2.txt")])
    assert run.exit_code == 2 and "missing" in run.output
    run = CliRunner().invoke(main, ["score", "panx", "--data", str(tmp_path), "--predictions", str(tmp_path / "t2.txt")])
    assert run.exit_code == 2 and "--language" in run.output


def test_score_classification_crlf_and_stripped_test(tmp_path):
    from click.testing import CliRunner

    from harness.cli.main import main

    (tmp_path / "dev-de.tsv").write_bytes(b"p1\th1\tneutral\r\np2\th2\tentailment\r\np3\th3\tcontradiction\r\n")
    (tmp_path / "test-de.tsv").write_bytes(b"p1\th1\r\np2\th2\r\n")
    (tmp_path / "labels.txt").write_bytes(b"neutral\r\ncontradiction\r\ncontradiction\r\n")  # one label per line
    run = CliRunner().invoke(main, ["score", "xnli", "--data", str(tmp_path / "dev-de.tsv"),
                                    "--predictions", str(tmp_path / "labels.txt")])
    assert run.exit_code == 0, run.output
    assert "accuracy: 66.6667" in run.output  # 2 of 3; no "\r" left on labels
    (tmp_path / "two.txt").write_text("neutral\nneutral\n")
    run = CliRunner().invoke(main, ["score", "xnli", "--data", str(tmp_path / "test-de.tsv"),
                                    "--predictions", str(tmp_path / "two.txt")])
    assert run.exit_code == 2 and "gold labels are missing" in run.output


def test_segment_words_budget():
    from harness.tasktypes.tagging import segment_words

    assert segment_words([[1, 2], [3], [4, 5, 6]], budget=3) == [(0, 2), (2, 3)]
    assert segment_words([[1] * 30, [2]], budget=22) == [(0, 1), (1, 2)]  # an over-long word sits alone
    assert segment_words([], budget=5) == [(0, 0)]
