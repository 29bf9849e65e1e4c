"""``harness score TASK`` on XTREME's own files: the label and prediction files of google-research/xtreme's
``evaluate.py`` layout (``{task}/test-{language}.{tsv,json,jsonl}``), one small hand-checkable fixture per task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli.main import main


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _score(task: str, gold: Path, pred: Path, *extra: str) -> dict[str, float]:
    run = CliRunner().invoke(main, ["score", task, "--data", str(gold), "--predictions", str(pred), "--json", *extra])
    assert run.exit_code == 0, run.output
    return {m: v["value"] for m, v in json.loads(run.output)["scores"].items()}


def _pair(tmp_path: Path, task: str, gold: str, pred: str, suffix: str = "tsv", lang: str = "de") -> tuple[Path, Path]:
    name = f"test-{lang}.{suffix}"
    return (_write(tmp_path / "labels" / task / name, gold), _write(tmp_path / "predictions" / task / name, pred))


def test_xnli_and_pawsx_label_files(tmp_path: Path) -> None:
    # one gold label per line (was: IndexError); 3 of 4 and 3 of 5 right
    gold, pred = _pair(tmp_path, "xnli", "entailment\nneutral\ncontradiction\nneutral\n",
                       "entailment\nneutral\nneutral\nneutral\n")
    assert _score("xnli", gold, pred) == {"accuracy": 75.0}
    gold, pred = _pair(tmp_path, "pawsx", "1\n0\n1\n1\n0\n", "1\n1\n1\n0\n0\n")
    assert _score("pawsx", gold, pred) == {"accuracy": 60.0}


def test_one_column_xnli_file_that_is_not_labels_is_refused(tmp_path: Path) -> None:
    gold, pred = _pair(tmp_path, "xnli", "a premise\nanother\n", "neutral\nneutral\n")
    run = CliRunner().invoke(main, ["score", "xnli", "--data", str(gold), "--predictions", str(pred)])
    assert run.exit_code != 0 and "not a label" in run.output and str(gold) in run.output


def test_udpos_and_panx_tag_only_label_files(tmp_path: Path) -> None:
    # UD-POS gold chunks (seqeval 0.0.12 on raw tags): NOUN VERB | DET NOUN; predicted NOUN NOUN | DET NOUN is one
    # NOUN chunk then DET, NOUN: 2 of 3 predicted chunks right, 2 of 4 gold found -> F1 = 4/7; 3 of 4 tokens right.
    gold, pred = _pair(tmp_path, "udpos", "NOUN\nVERB\n\nDET\nNOUN\n", "NOUN\nNOUN\n\nDET\nNOUN\n")
    got = _score("udpos", gold, pred)
    assert got["pos_seqeval_f1"] == pytest.approx(400 / 7)
    assert got["pos_accuracy"] == 75.0
    # PAN-X: gold PER, LOC; predicted PER, ORG -> P = R = 1/2
    gold, pred = _pair(tmp_path, "panx", "B-PER\nI-PER\nO\n\nB-LOC\n", "B-PER\nI-PER\nO\n\nB-ORG\n")
    assert _score("panx", gold, pred) == {"ner_seqeval_f1": 50.0}


def test_bucc_gold_pair_list_and_mined_pairs(tmp_path: Path) -> None:
    # 3 gold pairs, 4 submitted, 2 right: P = 1/2, R = 2/3, F1 = 4/7
    pairs = "de-000000001\ten-000000003\nde-000000002\ten-000000001\nde-000000004\ten-000000002\n"
    mined = "de-000000001\ten-000000003\nde-000000002\ten-000000005\nde-000000009\ten-000000002\n" \
            "de-000000004\ten-000000002\n"
    gold, pred = _pair(tmp_path, "bucc2018", pairs, mined)
    assert _score("bucc2018", gold, pred) == {"bucc_f1_submitted_pairs": pytest.approx(400 / 7)}
    # the same pairs against the sentence files + gold (XTREME's download layout)
    data = tmp_path / "sentences"
    _write(data / "de-en.test.de", "".join(f"de-{i:09d}\tSatz {i}\n" for i in range(1, 10)))
    _write(data / "de-en.test.en", "".join(f"en-{i:09d}\tsentence {i}\n" for i in range(1, 6)))
    _write(data / "de-en.test.gold", pairs)
    assert _score("bucc2018", data, pred, "--language", "de") == {"bucc_f1_submitted_pairs": pytest.approx(400 / 7)}


def test_tatoeba_line_index_predictions(tmp_path: Path) -> None:
    # per query line the index of the retrieved English line (was: TypeError); 3 of 4 right, xx->en only
    gold, pred = _pair(tmp_path, "tatoeba", "0\n1\n2\n3\n", "0\n2\n2\n3\n")
    assert _score("tatoeba", gold, pred) == {"tatoeba_accuracy_xx2en": 75.0}
    data = tmp_path / "laser"  # the same predictions against LASER's sentence files
    _write(data / "tatoeba.deu-eng.deu", "eins\nzwei\ndrei\nvier\n")
    _write(data / "tatoeba.deu-eng.eng", "one\ntwo\nthree\nfour\n")
    assert _score("tatoeba", data, pred, "--language", "de") == {"tatoeba_accuracy_xx2en": 75.0}


def test_mewslix_rankings_without_candidate_entries(tmp_path: Path) -> None:
    # gold Q1, Q2, Q3; ranks 1, 3 and none -> mean reciprocal rank (1 + 1/3 + 0) / 3 = 4/9
    gold, pred = _pair(tmp_path, "mewslix", json.dumps({"m1": ["Q1"], "m2": ["Q2"], "m3": ["Q3"]}),
                       json.dumps({"m1": ["Q1", "Q9"], "m2": ["Q9", "Q8", "Q2"]}), suffix="json")
    assert _score("mewslix", gold, pred) == {"mewslix_map_at_20": pytest.approx(400 / 9)}
    # against the dataset folder: the candidate entities need no entry in the predictions
    from xlt_harness_plugins.tasks import mewslix

    data = tmp_path / "dataset"
    mewslix.fixture(data)
    n = len(mewslix.load("test", "de", data_dir=data)) - len(mewslix._jsonl(data / "candidate_set_entities.jsonl"))
    ranked = _write(tmp_path / "ranked.json", json.dumps({"test-de-0": ["Q100"], "test-de-1": ["Q100", "Q101"]}))
    got = _score("mewslix", data, ranked, "--language", "de")
    assert got == {"mewslix_map_at_20": pytest.approx(150 / n)}  # ranks 1 and 2, the other queries unanswered


def test_xcopa_label_lines(tmp_path: Path) -> None:
    # {"label": x} lines (was: 0.0 silently); 3 of 5 right
    lines = lambda xs: "".join(json.dumps({"label": x}) + "\n" for x in xs)  # noqa: E731
    gold, pred = _pair(tmp_path, "xcopa", lines([0, 1, 1, 0, 1]), lines([0, 1, 0, 0, 0]), suffix="jsonl", lang="et")
    assert _score("xcopa", gold, pred) == {"accuracy": 60.0}
