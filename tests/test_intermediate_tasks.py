"""English intermediate tasks: loaders read the official layouts (real samples in ../shared/data, project-written
fixtures in CI) with counts checked independently (awk/grep/csv on the raw files, or SOURCE.md)."""

from __future__ import annotations

import json

import pytest

from harness.toolkit.data import DataMissing

INTERMEDIATE = ("anli", "anli_plus", "snli", "mnli", "qqp", "sst2", "squad_v2", "hellaswag", "cosmosqa",
                "commonsenseqa", "ccg", "siqa")


def load(registry, name, split, data_dir):
    return registry.task(name).load(split=split, language="en", data_dir=data_dir)


def test_all_registered_as_intermediate(registry):
    for name in INTERMEDIATE:
        spec = registry.task(name).spec
        assert spec.roles == ("intermediate",) and spec.languages == ("en",), name
        assert registry.task_type(spec.kind) is not None
    assert registry.task("squad_v2").spec.defaults["batch_size"] == 16
    assert registry.task("squad_v2").spec.defaults["max_length"] == 384
    assert registry.task("squad_v2").spec.defaults["allow_no_answer"] is True


# --- real samples (../shared/data) -----------------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_glue_and_snli_files(registry, shared_data):
    # counts: `wc -l` minus header; SNLI drops gold_label "-" (grep -c: 7 in dev, 11 in test of the 500-line cuts)
    assert len(load(registry, "mnli", "train", shared_data / "mnli/lm-bff-k-shot/16-42")) == 48
    assert len(load(registry, "mnli", "dev", shared_data / "mnli/lm-bff-k-shot/16-42")) == 48
    qqp = load(registry, "qqp", "train", shared_data / "qqp/lm-bff-k-shot/16-42")
    assert len(qqp) == 32
    assert qqp[0]["text_a"] == "Why do some people think that having a baby is a blessing?"
    assert qqp[0]["label"] == "duplicate"
    assert sum(e["label"] == "duplicate" for e in qqp) == 16
    sst_train = load(registry, "sst2", "train", shared_data / "sst2")
    sst_dev = load(registry, "sst2", "dev", shared_data / "sst2")
    assert (len(sst_train), len(sst_dev)) == (2000, 872)
    assert sst_train[0] == {"id": "train-0", "language": "en", "text_a": "hide new secretions from the parental units",
                            "label": "negative"}
    assert sum(e["label"] == "positive" for e in sst_dev) == 444  # awk over column 2
    snli_dir = shared_data / "snli"
    assert len(load(registry, "snli", "dev", snli_dir / "snli_1.0")) == 500 - 7
    assert len(load(registry, "snli", "test", snli_dir)) == 500 - 11  # finds snli_1.0/ below data_dir
    dev = load(registry, "snli", "dev", snli_dir / "snli_1.0")
    assert dev[0]["id"] == "4705552913.jpg#2r1n" and dev[0]["label"] == "neutral"
    assert len(load(registry, "snli", "train", snli_dir / "lm-bff-k-shot/16-42")) == 48


@pytest.mark.shared_data
def test_real_anli_analysis_csv(registry, shared_data):
    exs = load(registry, "anli", "dev", shared_data / "anli")
    assert len(exs) == 900  # 300 records per round (csv.reader count)
    assert [e["round"] for e in exs[::300]] == ["r1", "r2", "r3"]
    assert exs[0]["id"] == "bf628cf5-6948-4595-a6d0-daf99beb47b9" and exs[0]["label"] == "contradiction"
    # the three rounds order their columns differently; DictReader keys by name
    assert exs[300]["id"] == "4145fcb6-de26-4910-a4f0-64275c50f2be" and exs[300]["label"] == "neutral"
    assert exs[600]["label"] == "entailment"
    assert len({e["id"] for e in exs}) == 900
    assert len(load(registry, "anli", "dev_r2", shared_data / "anli")) == 300
    with pytest.raises(DataMissing, match="R1"):
        load(registry, "anli", "train", shared_data / "anli")


@pytest.mark.shared_data
def test_real_anli_plus_from_linked_parts(registry, shared_data, tmp_path):
    (tmp_path / "anli").symlink_to(shared_data / "anli")
    (tmp_path / "mnli").symlink_to(shared_data / "mnli/lm-bff-k-shot/16-42")
    (tmp_path / "snli").symlink_to(shared_data / "snli/lm-bff-k-shot/16-42")
    dev = load(registry, "anli_plus", "dev", tmp_path)
    assert len(dev) == 900 and dev[0]["id"].startswith("anli:")


@pytest.mark.shared_data
def test_real_squad_v2_sample(registry, shared_data):
    exs = load(registry, "squad_v2", "dev", shared_data / "squad_v2")  # dev-v2.0.sample.json via the glob
    assert len(exs) == 626  # SOURCE.md; grep -c '"question":'
    assert sum(not e["answers"]["text"] for e in exs) == 333  # grep -c '"is_impossible": true'
    first = exs[0]
    assert first["question"] == "In what country is Normandy located?"
    start = first["answers"]["answer_start"][0]
    assert first["context"][start:start + len(first["answers"]["text"][0])] == first["answers"]["text"][0]


@pytest.mark.shared_data
def test_real_multiple_choice_files(registry, shared_data):
    hs = load(registry, "hellaswag", "train", shared_data / "hellaswag")
    assert len(hs) == 1000
    assert hs[0]["id"] == "train-4" and hs[0]["question"] == "then" and hs[0]["label"] == 3
    assert hs[0]["choices"][3] == ", the man continues removing the snow on his car."
    assert all(len(e["choices"]) == 4 for e in hs)
    csqa_dev = load(registry, "commonsenseqa", "dev", shared_data / "commonsenseqa")
    assert len(csqa_dev) == 1221 and len(load(registry, "commonsenseqa", "train", shared_data / "commonsenseqa")) == 1000
    assert csqa_dev[0]["choices"] == ["bank", "library", "department store", "mall", "new york"]
    assert csqa_dev[0]["label"] == 0 and csqa_dev[0]["context"] == ""
    cosmos = load(registry, "cosmosqa", "dev", shared_data / "cosmosqa")
    assert len(cosmos) == 500
    assert cosmos[0]["question"] == "Why is this person asking about divorce ?"
    assert all(e["label"] in (0, 1, 2, 3) for e in cosmos)


# --- project-written fixtures (CI) -----------------------------------------------------------------------------


@pytest.mark.parametrize("name,split,n", [
    ("anli", "train", 180), ("anli", "dev_r3", 20), ("anli_plus", "train", 180 + 60 + 60), ("anli_plus", "dev", 60),
    ("snli", "train", 120), ("mnli", "train", 320), ("qqp", "dev", 40), ("sst2", "train", 120),
    ("squad_v2", "train", 40), ("hellaswag", "dev", 24), ("cosmosqa", "dev", 24), ("commonsenseqa", "train", 80),
    ("ccg", "train", 60), ("siqa", "dev", 21),
])
def test_fixture_round_trip(registry, tmp_path, name, split, n):
    task = registry.task(name)
    task.fixture(data_dir=tmp_path)
    assert (tmp_path / "SYNTHETIC.md").exists()
    exs = task.load(split=split, language="en", data_dir=tmp_path)
    assert len(exs) == n
    assert len({e["id"] for e in exs}) == n
    assert all(e["language"] == "en" for e in exs)


def test_anli_jsonl_layout_hand_written(registry, tmp_path):
    r1 = tmp_path / "anli_v1.0" / "R1"
    r1.mkdir(parents=True)
    lines = [{"uid": "u1", "premise": "P one.", "hypothesis": "H one.", "label": "n", "reason": "r"},
             {"uid": "u2", "premise": "P two.", "hypothesis": "H two.", "label": "c", "reason": ""}]
    (r1 / "test.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    exs = load(registry, "anli", "test_r1", tmp_path)
    assert exs == [
        {"id": "u1", "language": "en", "text_a": "P one.", "text_b": "H one.", "label": "neutral", "round": "r1"},
        {"id": "u2", "language": "en", "text_a": "P two.", "text_b": "H two.", "label": "contradiction", "round": "r1"},
    ]
    with pytest.raises(ValueError, match="r1/_r2/_r3"):
        load(registry, "anli", "dev_r4", tmp_path)


def test_siqa_labels_and_ccg_layouts(registry, tmp_path):
    (tmp_path / "dev.jsonl").write_text(json.dumps(
        {"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "x"}) + "\n")
    (tmp_path / "dev-labels.lst").write_text("3\n")
    assert load(registry, "siqa", "dev", tmp_path)[0]["label"] == 2
    ccg = tmp_path / "ccg"
    ccg.mkdir()
    (ccg / "dev.tsv").write_text("The\tDT\tNP[nb]/N\ncat\tNN\tN\n\nIt\tPRP\tNP\n")
    assert load(registry, "ccg", "dev", ccg) == [
        {"id": "dev-0", "language": "en", "tokens": ["The", "cat"], "tags": ["NP[nb]/N", "N"]},
        {"id": "dev-1", "language": "en", "tokens": ["It"], "tags": ["NP"]},
    ]
    (ccg / "train.stagged").write_text("a|DT|NP[nb]/N b|NN|N\n")
    assert load(registry, "ccg", "train", ccg)[0]["tags"] == ["NP[nb]/N", "N"]
    golds = load(registry, "ccg", "dev", ccg)
    assert registry.task("ccg").score(examples=golds, predictions=[["NP[nb]/N", "NP"], ["NP"]]) == {
        "ccg_token_accuracy": pytest.approx(200 / 3)}
    with pytest.raises(DataMissing, match="CCGbank is licensed"):
        load(registry, "ccg", "test", ccg)


def test_missing_files_name_the_path(registry, tmp_path):
    for name in ("sst2", "qqp", "hellaswag", "cosmosqa", "commonsenseqa", "siqa", "squad_v2", "snli"):
        with pytest.raises(DataMissing, match=str(tmp_path)):
            load(registry, name, "train", tmp_path)


# --- hub loaders, on local parquet files with the hub's real features (tests/hub_schemas.py) ----------------------
@pytest.mark.slow
def test_intermediate_hub_loaders_on_local_parquet(tmp_path, monkeypatch, registry):
    import importlib

    import hub_schemas as H

    import harness.toolkit.data

    files: dict[tuple, object] = {}

    def fake_load_hf(dataset, name, split, revision=None, **kw):
        return harness.toolkit.data.load_hf("parquet", None, "train", data_files={"train": str(files[(dataset, name, split)])},
                                    cache_dir=str(tmp_path / "cache"))

    def hub(key: tuple, features, rows: list[dict]) -> None:
        files[key] = H.hub_parquet(tmp_path / f"{len(files)}.parquet", features, rows)

    for t in ("sst2", "snli", "anli", "hellaswag", "commonsenseqa", "cosmosqa", "squad_v2", "siqa"):
        monkeypatch.setattr(importlib.import_module(f"xlt_harness_plugins.tasks.{t}"), "load_hf", fake_load_hf)
    hub(("nyu-mll/glue", "sst2", "validation"), H.SST2,
        [{"sentence": " good ", "label": 1, "idx": 4}, {"sentence": "bad", "label": -1, "idx": 5}])
    hub(("stanfordnlp/snli", None, "validation"), H.SNLI,
        [{"premise": "p", "hypothesis": "h", "label": y} for y in (2, -1, 0)])
    hub(("facebook/anli", None, "dev_r2"), H.ANLI,
        [{"uid": "u1", "premise": "p", "hypothesis": "h", "label": 1, "reason": ""}])
    endings = ["a", "b", "c", "d"]
    hub(("Rowan/hellaswag", None, "validation"), H.HELLASWAG,
        [{"ind": 9, "activity_label": "x", "ctx_a": "A", "ctx_b": "b", "ctx": "A b", "endings": endings,
          "source_id": "s", "split": "val", "split_type": "indomain", "label": "3"}])
    hub(("tau/commonsense_qa", None, "validation"), H.COMMONSENSE_QA,
        [{"id": "q1", "question": "Q?", "question_concept": "c", "answerKey": "B",
          "choices": {"label": ["A", "B", "C", "D", "E"], "text": ["a", "b", "c", "d", "e"]}}])
    hub(("allenai/cosmos_qa", None, "validation"), H.COSMOS_QA,
        [{"id": "c1", "context": "C", "question": "Q", "answer0": "0", "answer1": "1", "answer2": "2", "answer3": "3",
          "label": 2}])
    hub(("rajpurkar/squad_v2", None, "validation"), H.SQUAD_V2,
        [{"id": "s1", "title": "t", "context": "ab cd", "question": "?", "answers": {"text": [], "answer_start": []}},
         {"id": "s2", "title": "t", "context": "ab cd", "question": "?",
          "answers": {"text": ["cd", "cd"], "answer_start": [3, 3]}}])
    # the loading script read labels with their line ends ("3\n"); the loader must not depend on it either way
    hub(("allenai/social_i_qa", None, "validation"), H.SOCIAL_I_QA,
        [{"context": "C", "question": "Q", "answerA": "a", "answerB": "b", "answerC": "c", "label": y}
         for y in ("3\n", "1")])

    assert [(e["text_a"], e["label"]) for e in load(registry, "sst2", "dev", None)] == [("good", "positive"),
                                                                                      ("bad", None)]
    assert [e["label"] for e in load(registry, "snli", "dev", None)] == ["contradiction", "entailment"]
    (a,) = load(registry, "anli", "dev_r2", None)
    assert (a["id"], a["label"], a["round"]) == ("u1", "neutral", "r2")
    (hs,) = load(registry, "hellaswag", "val", None)
    assert (hs["id"], hs["choices"], hs["label"]) == ("val-9", endings, 3)
    (cq,) = load(registry, "commonsenseqa", "dev", None)
    assert (cq["question"], cq["choices"], cq["label"]) == ("Q?", ["a", "b", "c", "d", "e"], 1)
    assert load(registry, "cosmosqa", "valid", None)[0]["label"] == 2
    unanswerable, answered = load(registry, "squad_v2", "dev", None)
    assert unanswerable["answers"] == {"text": [], "answer_start": []}
    assert answered["answers"] == {"text": ["cd", "cd"], "answer_start": [3, 3]}
    assert [e["label"] for e in load(registry, "siqa", "dev", None)] == [2, 0]
