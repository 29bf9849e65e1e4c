"""harness.toolkit.formats: the public readers and writers for plugin authors, on small files written here."""

from __future__ import annotations

import json
import re

import pytest

from harness.toolkit import formats as F
from harness.toolkit.data import DataMissing


def test_text_is_utf8_with_universal_newlines(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"eins\r\nzwei\rdrei\n\n")
    assert F.read_text(p) == "eins\nzwei\ndrei\n\n"
    assert F.read_lines(p) == ["eins", "zwei", "drei", ""]


def test_non_utf8_names_file_and_line(tmp_path):
    p = tmp_path / "latin1.tsv"
    p.write_bytes("ok\tO\nStra\xdfe\tB-LOC\n".encode("latin-1"))
    with pytest.raises(F.FormatError, match=re.escape(f"{p}:2: not UTF-8 (byte 0xdf)")):
        F.read_conll(p, "de", "test")


def test_missing_file_names_path_task_and_help(tmp_path):
    with pytest.raises(DataMissing, match=re.escape(f"mytask: data file {tmp_path / 'x.jsonl'} not found. Get it.")):
        F.read_jsonl(tmp_path / "x.jsonl", "mytask", "Get it.")


def test_jsonl_round_trip_and_bad_line(tmp_path):
    p = tmp_path / "rows.jsonl"
    F.write_jsonl(p, [{"a": 1, "t": "Straße"}, {"a": 2}])
    assert p.read_text(encoding="utf-8") == '{"a": 1, "t": "Straße"}\n{"a": 2}\n'
    p.write_text('{"a": 1}\n\n{"a": 2,\n', encoding="utf-8")
    with pytest.raises(F.FormatError, match=re.escape(f"{p}:3: not a JSON value")):
        F.read_jsonl(p)
    p.write_text('{"a": 1}\n  \n[2]\n', encoding="utf-8")
    assert F.read_jsonl(p) == [{"a": 1}, [2]]


def test_tsv_xtreme_quoting_crlf_and_missing_column(tmp_path):
    p = tmp_path / "test-de.tsv"
    F.write_tsv(p, [['er sagt "ja"', "b", "entailment"], ["c", "d", "neutral"]])
    assert p.read_bytes() == b'"er sagt ""ja"""\tb\tentailment\r\nc\td\tneutral\r\n'
    import csv

    assert F.read_tsv(p, quoting=csv.QUOTE_MINIMAL) == [['er sagt "ja"', "b", "entailment"], ["c", "d", "neutral"]]
    assert F.read_tsv(p)[0][0] == '"er sagt ""ja"""'  # QUOTE_NONE (GLUE): quotes are literal
    p.write_text("a\tb\tc\n\nx\ty\n", encoding="utf-8")
    with pytest.raises(F.FormatError, match=re.escape(f"{p}:3: 2 tab-separated columns, expected 3")):
        F.read_tsv(p, columns=3)


def test_tsv_dicts_header_and_required_columns(tmp_path):
    p = tmp_path / "dev.tsv"
    p.write_text("sentence1\tsentence2\tgold_label\na\tb\tneutral\n", encoding="utf-8")
    assert F.read_tsv_dicts(p) == [{"sentence1": "a", "sentence2": "b", "gold_label": "neutral"}]
    with pytest.raises(F.FormatError, match=re.escape(f"{p}:1: header lacks column(s) label")):
        F.read_tsv_dicts(p, required=("sentence1", "label"))


def _squad(answers, qid="q1", **qa):
    return [{"title": "t", "paragraphs": [{"context": "Anna lives in Oslo.",
                                           "qas": [{"id": qid, "question": "Where?", "answers": answers, **qa}]}]}]


def test_squad_json_variants(tmp_path):
    p = tmp_path / "dev.json"
    F.write_squad(p, _squad([{"text": "Oslo", "answer_start": 14}]))
    assert json.loads(p.read_text(encoding="utf-8"))["version"] == "1.1"
    assert F.read_squad_json(p, "en") == [{"id": "q1", "language": "en", "context": "Anna lives in Oslo.",
                                           "question": "Where?", "answers": {"text": ["Oslo"], "answer_start": [14]}}]
    F.write_squad(p, _squad([{"text": "", "answer_start": 0}]))  # XTREME's blanked test answers
    assert F.read_squad_json(p, "de", blank_is_missing=True)[0]["answers"] is None
    F.write_squad(p, _squad([], is_impossible=True), version="v2.0")
    assert F.read_squad_json(p, "en")[0]["answers"] == {"text": [], "answer_start": []}
    F.write_squad(p, _squad([], qid="swahili-7") + _squad([], qid="english-1") + _squad([], qid="english-1"))
    assert [e["id"] for e in F.read_squad_json(p, "en", id_prefix="english-")] == ["english-1@0", "english-1@1"]


def test_squad_json_errors_name_file_and_field(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"data": [\n  {"paragraphs": [{"qas": []}]}\n]}', encoding="utf-8")
    with pytest.raises(F.FormatError, match=re.escape(f"{p}: article 0, paragraph 0 has no field 'context'")):
        F.read_squad_json(p, "en")
    p.write_text('{"data": [\n  {"paragraphs": [}\n]}', encoding="utf-8")
    with pytest.raises(F.FormatError, match=re.escape(f"{p}:2: not JSON")):
        F.read_squad_json(p, "en")


def test_squad_from_hub_rows():
    rows = [{"id": 3, "context": "ab cd", "question": "?", "answers": {"text": ["cd"], "answer_start": ["3"]}}]
    assert F.squad_from_hub(rows, "sw") == [{"id": "3", "language": "sw", "context": "ab cd", "question": "?",
                                             "answers": {"text": ["cd"], "answer_start": [3]}}]


def test_conll_round_trip_prefix_and_unlabelled(tmp_path):
    p = tmp_path / "train-en.tsv"
    F.write_conll(p, [[("Anna", "B-PER"), ("ran", "O")], [("Oslo", "B-LOC")]])
    assert p.read_text(encoding="utf-8") == "Anna\tB-PER\nran\tO\n\nOslo\tB-LOC\n\n"
    assert F.read_conll(p, "en", "train") == [
        {"id": "train-en-0", "language": "en", "tokens": ["Anna", "ran"], "tags": ["B-PER", "O"]},
        {"id": "train-en-1", "language": "en", "tokens": ["Oslo"], "tags": ["B-LOC"]}]
    F.write_conll(p, [[("Anna", "B-PER")]], labelled=False)
    assert F.read_conll(p, "en", "test")[0]["tags"] is None
    p.write_text("de:Anna\tB-PER\r\nde:lief\tO\r\n", encoding="utf-8")
    assert F.read_conll(p, "de", "dev", strip_prefix="de:")[0]["tokens"] == ["Anna", "lief"]


def test_conllu_skips_ranges_and_names_bad_line(tmp_path):
    p = tmp_path / "de_x-ud-test.conllu"
    row = "{}\t{}\t_\t{}\t_\t_\t0\troot\t_\t_"
    p.write_text("\n".join(["# sent_id = 1", row.format("1-2", "zum", "_"), row.format(1, "zu", "ADP"),
                            row.format(2, "dem", "DET"), row.format("2.1", "x", "X"), row.format(3, "Haus", "NOUN"),
                            "", "1\tkaputt"]) + "\n", encoding="utf-8")
    with pytest.raises(F.FormatError, match=re.escape(f"{p}:8: line '1\\tkaputt' has 2 columns, CoNLL-U has 10")):
        F.read_conllu([p], "de", "test")
    p.write_text(p.read_text(encoding="utf-8").replace("1\tkaputt\n", ""), encoding="utf-8")
    assert F.read_conllu([p], "de", "test") == [{"id": "test-de-0", "language": "de", "tokens": ["zu", "dem", "Haus"],
                                                 "tags": ["ADP", "DET", "NOUN"]}]


def test_bitext_pairs_and_length_mismatch(tmp_path):
    src, tgt = tmp_path / "a.de", tmp_path / "a.en"
    src.write_text("Hallo\n\nWelt\n", encoding="utf-8")
    tgt.write_text("Hello\n\nWorld\n", encoding="utf-8")
    assert F.read_bitext(src, tgt) == [("Hallo", "Hello"), ("", ""), ("Welt", "World")]
    tgt.write_text("Hello\n", encoding="utf-8")
    with pytest.raises(F.FormatError, match=re.escape(f"{src} has 3 lines but {tgt} has 1; the files must be "
                                                      "line-parallel")):
        F.read_bitext(src, tgt)


def test_hub_or_folder(tmp_path):
    (tmp_path / "squad").mkdir()
    (tmp_path / "squad" / "dev.json").write_text("x", encoding="utf-8")
    layouts = [(("dev.jsonl",), lambda p: ("jsonl", p.name)), (("dev.json", "squad/dev.json"), lambda p: ("json", p))]
    assert F.load_hub_or_folder("t", None, layouts=layouts, how="", hub=lambda: "hub") == "hub"
    assert F.load_hub_or_folder("t", tmp_path, layouts=layouts, how="") == ("json", tmp_path / "squad" / "dev.json")
    with pytest.raises(DataMissing, match=re.escape(f"t: no dev file under {tmp_path / 'x'} (looked for dev.jsonl, "
                                                    "dev.json, squad/dev.json). Get it.")):
        F.load_hub_or_folder("t", tmp_path / "x", layouts=layouts, how="Get it.", what="dev file")
    with pytest.raises(DataMissing, match="t: no data folder given and no hub copy is pinned. Get it."):
        F.load_hub_or_folder("t", None, layouts=layouts, how="Get it.")
    assert F.first_existing(tmp_path / "nope", tmp_path / "squad", tmp_path / "squad" / "dev.json") == \
        tmp_path / "squad" / "dev.json"  # folders do not count
