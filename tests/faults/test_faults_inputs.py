"""Bad input is refused, never reinterpreted. Old code: a TSV's byte-order mark became part of the first cell, an
unbalanced quote in an XTREME (csv.writer) file silently merged the following lines into one example, a short row
of a headed TSV surfaced later as a bare ``KeyError``; YAML's last duplicate key silently won, ``no`` (Norwegian)
became False, and an alias bomb took unbounded time and memory."""

from __future__ import annotations

import csv
import time

import pytest

from harness.planning.config import ConfigError, load_yaml
from harness.toolkit.formats import FormatError, read_tsv, read_tsv_dicts


def test_a_byte_order_mark_is_not_part_of_the_first_cell(tmp_path):
    f = tmp_path / "train.tsv"
    f.write_bytes("\ufeffsentence\tlabel\nhello\t1\n".encode())
    assert read_tsv_dicts(f, required=("sentence", "label")) == [{"sentence": "hello", "label": "1"}]


def test_an_unbalanced_quote_never_merges_lines(tmp_path):
    f = tmp_path / "test-de.tsv"
    f.write_text('"hallo, sagte er\tja\tentailment\nzwei\tdrei\tneutral\n"vier"\tfünf\tcontradiction\n')
    with pytest.raises(FormatError, match=r"test-de.tsv:1: a quoted field runs on to line 3"):
        read_tsv(f, quoting=csv.QUOTE_MINIMAL)
    assert len(read_tsv(f)) == 3  # GLUE's literal quotes: three rows, the quotes kept
    f.write_text('zwei\tdrei\tneutral\n"hallo, sagte er\tja\tentailment\n')  # never closed
    with pytest.raises(FormatError, match=r"test-de.tsv:2: a quoted field runs on"):
        read_tsv(f, quoting=csv.QUOTE_MINIMAL)
    ok = tmp_path / "ok.tsv"
    ok.write_text('"er sagte ""hallo"""\tja\tentailment\n')  # csv.writer's quoting of a field holding quotes
    assert read_tsv(ok, quoting=csv.QUOTE_MINIMAL) == [['er sagte "hallo"', "ja", "entailment"]]


def test_a_short_row_names_its_line_and_the_missing_column(tmp_path):
    f = tmp_path / "train.tsv"
    f.write_text("sentence\tlabel\nhello\t1\nno label here\n")
    with pytest.raises(FormatError, match=r"train.tsv:3: 1 cells, no label"):
        read_tsv_dicts(f, required=("sentence", "label"))


def test_a_duplicate_key_is_an_error_naming_both_lines():
    with pytest.raises(ConfigError, match=r"line 3: key 'seeds' repeats line 1"):
        load_yaml("seeds: [1]\nmodels: [tiny-xlmr]\nseeds: [1, 2, 3]\n")


def test_yes_no_on_off_stay_strings_true_false_are_booleans():
    assert load_yaml("languages: [no, de]\nflag: true\nother: off\n") == {
        "languages": ["no", "de"], "flag": True, "other": "off"}


def test_anchors_and_merges_still_work():
    data = load_yaml("base: &b {lr: 0.001, batch_size: 8}\ntrain:\n  <<: *b\n  lr: 0.01\n")
    assert data["train"] == {"lr": 0.01, "batch_size": 8}


def test_an_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    start = time.monotonic()
    with pytest.raises(ConfigError, match="aliases"):
        load_yaml("\n".join(lines) + "\n")
    assert time.monotonic() - start < 2


def test_a_few_aliases_deep_but_large_expansion_is_refused():
    lines = ["a0: &a0 [" + ", ".join(["x"] * 60) + "]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 8)]
    with pytest.raises(ConfigError, match="once its aliases are expanded"):
        load_yaml("\n".join(lines) + "\n")
