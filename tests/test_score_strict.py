"""Strict scoring: ids must match (order only on request), XCOPA's two prediction layouts, unanswered QA questions
score like the official scripts, and offline hub access is one line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from harness.cli.main import main
from harness.metrics import METRICS

XNLI_DEV = b"p1\th1\tneutral\r\np2\th2\tentailment\r\np3\th3\tcontradiction\r\n"


def _score(*args: str):
    return CliRunner().invoke(main, ["score", *args])


def _write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_renamed_shuffled_ids_are_an_error_naming_counts_and_ids(tmp_path):
    (tmp_path / "dev-de.tsv").write_bytes(XNLI_DEV)
    # a perfect prediction file whose ids were renamed (and lines shuffled): nothing can be matched by id
    _write_jsonl(tmp_path / "p.jsonl", [{"id": "q2", "prediction": "entailment"}, {"id": "q3", "prediction": "contradiction"},
                                        {"id": "q1", "prediction": "neutral"}])
    run = _score("xnli", "--data", str(tmp_path / "dev-de.tsv"), "--predictions", str(tmp_path / "p.jsonl"))
    assert run.exit_code != 0
    out = " ".join(run.output.split())
    assert "3 gold examples, 3 predictions; 3 gold ids have no prediction (first 'dev-de-0', 'dev-de-1', 'dev-de-2')" in out
    assert "3 prediction ids are not gold ids (first 'q2', 'q3', 'q1')" in out and "--match-by-order" in out


def test_match_by_order_pairs_by_position(tmp_path):
    (tmp_path / "dev-de.tsv").write_bytes(XNLI_DEV)
    _write_jsonl(tmp_path / "p.jsonl", [{"id": "x1", "prediction": "neutral"}, {"id": "x2", "prediction": "entailment"},
                                        {"id": "x3", "prediction": "neutral"}])
    run = _score("xnli", "--data", str(tmp_path / "dev-de.tsv"), "--predictions", str(tmp_path / "p.jsonl"),
                 "--match-by-order")
    assert run.exit_code == 0, run.output
    assert "accuracy: 66.6667" in run.output  # 2 of 3 by position


def test_one_extra_id_is_an_error(tmp_path):
    (tmp_path / "dev-de.tsv").write_bytes(XNLI_DEV)
    _write_jsonl(tmp_path / "p.jsonl", [{"id": f"dev-de-{i}", "prediction": "neutral"} for i in range(3)]
                 + [{"id": "stray", "prediction": "neutral"}])
    run = _score("xnli", "--data", str(tmp_path / "dev-de.tsv"), "--predictions", str(tmp_path / "p.jsonl"))
    assert run.exit_code != 0 and "1 prediction ids are not gold ids (first 'stray')" in " ".join(run.output.split())


@pytest.mark.parametrize("layout", ["plain", "xtreme-r"])
def test_xcopa_reads_both_prediction_layouts(tmp_path, layout):
    golds = [0, 1, 1, 0, 1]
    _write_jsonl(tmp_path / "test.et.jsonl", [
        {"premise": f"p{i}", "choice1": "a", "choice2": "b", "question": "cause", "label": g, "idx": i}
        for i, g in enumerate(golds)])
    preds = [0, 1, 0, 0, 0]  # right on examples 0, 1 and 3: 3 of 5 = 60.0
    if layout == "plain":
        (tmp_path / "pred.txt").write_text("".join(f"{p}\n" for p in preds))
        path = tmp_path / "pred.txt"
    else:
        _write_jsonl(tmp_path / "pred.jsonl", [{"label": p} for p in preds])
        path = tmp_path / "pred.jsonl"
    run = _score("xcopa", "--data", str(tmp_path / "test.et.jsonl"), "--predictions", str(path))
    assert run.exit_code == 0, run.output
    assert "xcopa [et] n=5 accuracy: 60.0000" in run.output


def test_xcopa_bad_prediction_line_names_file_and_line(tmp_path):
    _write_jsonl(tmp_path / "test.et.jsonl", [
        {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 0, "idx": 0}])
    (tmp_path / "pred.jsonl").write_text('{"label": 3}\n')
    run = _score("xcopa", "--data", str(tmp_path / "test.et.jsonl"), "--predictions", str(tmp_path / "pred.jsonl"))
    assert run.exit_code == 2 and f"{tmp_path / 'pred.jsonl'}:1: label 3 is not 0 or 1" in " ".join(run.output.split())


def _squad(path, context: str, qas: list[dict]) -> None:
    path.write_text(json.dumps({"version": "1.0", "data": [{"title": "t", "paragraphs": [
        {"context": context, "qas": qas}]}]}), encoding="utf-8")


def test_mlqa_unanswered_question_with_empty_normalised_gold_scores_zero(tmp_path):
    # Every gold normalises to "" (punctuation, an article). Only q1 is answered. mlqa_evaluation_v1.py skips an
    # unanswered question before comparing (score 0, still counted): EM = 1/3 = 33.33; F1 is 0 (no shared token).
    _squad(tmp_path / "dev-context-en-question-en.json", "Yes. The end!", [
        {"id": "q1", "question": "?", "answers": [{"answer_start": 3, "text": "."}]},
        {"id": "q2", "question": "?", "answers": [{"answer_start": 12, "text": "!"}]},
        {"id": "q3", "question": "?", "answers": [{"answer_start": 5, "text": "The"}]}])
    (tmp_path / "pred.json").write_text(json.dumps({"q1": "."}))
    run = _score("mlqa", "--data", str(tmp_path / "dev-context-en-question-en.json"),
                 "--predictions", str(tmp_path / "pred.json"), "--json")
    assert run.exit_code == 0, run.output
    out = json.loads(run.output[run.output.index("{"):])
    assert out["scores"]["mlqa_exact_match"]["value"] == pytest.approx(100 / 3)
    assert out["scores"]["mlqa_f1"]["value"] == 0.0
    assert "2 questions unanswered" in run.output


def test_unanswered_questions_by_squad_version():
    golds, preds = [["a"], ["b"]], ["a", None]
    assert METRICS["squad_v1_exact_match"](golds, preds) == 50.0  # evaluate-v1.1.py: 0, counted
    assert METRICS["squad_v2_exact_match"](golds, preds) == 100.0  # evaluate-v2.0.py: left out of the average
    assert METRICS["squad_v1_exact_match"]([[""]], [""]) == 100.0  # an empty answer is an answer


def test_retrieve_offline_without_data_is_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    run = CliRunner().invoke(main, ["retrieve", "tatoeba", "--model", "tiny-xlmr", "--languages", "de"])
    assert run.exit_code == 2 and isinstance(run.exception, SystemExit), run.output
    lines = [line for line in run.output.splitlines() if line.strip() and "Loading weights" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.output  # one line, no traceback
    assert "hub dataset mteb/tatoeba-bitext-mining" in run.output and "cannot be loaded" in run.output
    assert "Give a local folder" in " ".join(run.output.split())
