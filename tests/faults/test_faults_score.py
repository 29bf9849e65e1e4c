"""``harness score`` gives a number only for files that are what they claim. Old code, each of these gave a
score and exit 0: a gold file of another task, a duplicated id whose last copy won, prediction values that are
not labels, a text file shifted by a blank line, a language the file name contradicts, and ``--match-by-order``
pairing ids that disagree with their positions."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from harness.cli.main import main

XNLI_DEV = b"p1\th1\tneutral\np2\th2\tentailment\np3\th3\tcontradiction\n"
PAWSX_DEV = b"id\tsentence1\tsentence2\tlabel\n1\ta\tb\t1\n2\tc\td\t0\n3\te\tf\t1\n"


def _score(*args: str):
    r = CliRunner().invoke(main, ["score", *args])
    return r.exit_code, " ".join(r.output.split())


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def gold(tmp_path):
    (tmp_path / "dev-de.tsv").write_bytes(XNLI_DEV)
    return str(tmp_path / "dev-de.tsv")


def test_good_files_still_score(tmp_path, gold):
    (tmp_path / "p.txt").write_text("neutral\nentailment\nneutral\n")
    code, out = _score("xnli", "--data", gold, "--predictions", str(tmp_path / "p.txt"))
    assert code == 0 and "accuracy: 66.6667" in out, out


def test_a_gold_file_of_another_task_is_refused(tmp_path):
    (tmp_path / "dev-de.tsv").write_bytes(PAWSX_DEV)  # PAWS-X's layout under XNLI's file name
    (tmp_path / "p.txt").write_text("neutral\nneutral\nneutral\n")
    code, out = _score("xnli", "--data", str(tmp_path / "dev-de.tsv"), "--predictions", str(tmp_path / "p.txt"))
    assert code != 0 and "is not a valid xnli gold file" in out and "is not one of" in out, out


def test_a_duplicated_id_is_an_error_naming_both_lines(tmp_path, gold):
    rows = [{"id": f"dev-de-{i}", "prediction": "neutral"} for i in range(3)] + [
        {"id": "dev-de-1", "prediction": "entailment"}]
    code, out = _score("xnli", "--data", gold, "--predictions", _jsonl(tmp_path / "p.jsonl", rows))
    assert code != 0 and "p.jsonl:4: id 'dev-de-1' repeats line 2" in out, out
    (tmp_path / "p.json").write_text('{"dev-de-0": "neutral", "dev-de-1": "neutral", "dev-de-2": "x", "dev-de-2": "neutral"}')
    code, out = _score("xnli", "--data", gold, "--predictions", str(tmp_path / "p.json"))
    assert code != 0 and "id 'dev-de-2' appears twice" in out, out


def test_a_prediction_that_is_not_a_label_is_an_error_naming_the_line(tmp_path, gold):
    (tmp_path / "p.txt").write_text("neutral\n1\nneutral\n")
    code, out = _score("xnli", "--data", gold, "--predictions", str(tmp_path / "p.txt"))
    assert code != 0 and "p.txt:2: prediction '1' is not one of" in out, out


def test_a_blank_line_that_shifts_the_file_is_an_error(tmp_path, gold):
    (tmp_path / "p.txt").write_text("neutral\n\nentailment\ncontradiction\n")  # 3 labels, one line too low
    code, out = _score("xnli", "--data", gold, "--predictions", str(tmp_path / "p.txt"))
    assert code != 0 and "p.txt:2: a blank line between predictions" in out, out


def test_a_language_the_file_contradicts_is_an_error(tmp_path, gold):
    (tmp_path / "p.txt").write_text("neutral\nentailment\ncontradiction\n")
    code, out = _score("xnli", "--data", gold, "--predictions", str(tmp_path / "p.txt"), "--language", "fr")
    assert code != 0 and "names 'de'" in out, out


def test_match_by_order_is_refused_where_ids_disagree_with_positions(tmp_path, gold):
    rows = [{"id": "dev-de-1", "prediction": "entailment"}, {"id": "dev-de-0", "prediction": "neutral"},
            {"id": "dev-de-2", "prediction": "contradiction"}]
    path = _jsonl(tmp_path / "p.jsonl", rows)
    code, out = _score("xnli", "--data", gold, "--predictions", path)  # by id: right, 100
    assert code == 0 and "accuracy: 100.0000" in out, out
    code, out = _score("xnli", "--data", gold, "--predictions", path, "--match-by-order")
    assert code != 0 and "position 1 holds id 'dev-de-1', gold has 'dev-de-0'" in out, out


def test_multiple_choice_and_tagging_predictions_are_checked_against_their_example():
    from harness.core.registry import registry

    reg = registry()
    mc, tag = reg.task_type("multiple_choice"), reg.task_type("tagging")
    spec = reg.task("udpos").spec
    assert mc.check_prediction({"choices": ["a", "b"]}, 2, None) == "prediction 2 is not a choice index in 0..1"
    assert mc.check_prediction({"choices": ["a", "b"]}, 1, None) is None
    assert tag.check_prediction({"tokens": ["a", "b"]}, ["NOUN"], spec) == "1 predicted tags for a sentence of 2 tokens"
    assert "is not one of" in tag.check_prediction({"tokens": ["a"]}, ["XYZ"], spec)
