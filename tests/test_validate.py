"""Validation before training: bad data fails at plan time with the task, split, language, file and line named."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.toolkit.data import ZeroShotViolation, guard_zero_shot

GOOD_TRAIN = b"p1\th1\tentailment\r\np2\th2\tneutral\r\np3\th3\tcontradiction\r\n"


def _xnli_folder(tmp_path, **files: bytes):
    """An XTREME-layout XNLI folder (train-en, dev-en, test-de) with ``files`` replacing the good ones."""
    folder = tmp_path / "xnli"
    folder.mkdir()
    for name in ("train-en.tsv", "dev-en.tsv", "test-de.tsv"):
        (folder / name).write_bytes(files.get(name.replace("-", "_").replace(".tsv", ""), GOOD_TRAIN))
    return folder


def _plan(tmp_path, folder, command: str = "plan", **target):
    cfg = {"name": "v", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"], "intermediate": ["none"],
           "targets": [{"name": "xnli", "languages": ["de"], **target}], "seeds": [1],
           "data": {"xnli": str(folder)}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return CliRunner().invoke(main, ["matrix", command, str(path)])


def _error(result) -> str:
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


def test_label_less_rows_fail_at_plan_time_naming_file_and_line(tmp_path):
    folder = _xnli_folder(tmp_path, train_en=b"p1\th1\tentailment\r\np2\th2\r\np3\th3\r\n")
    out = _error(_plan(tmp_path, folder))
    assert (f"xnli · split train · language en (target training) · {folder / 'train-en.tsv'}:2: "
            "example 'train-en-1': no label") in out
    assert "(and 1 more like it)" in out


def test_run_refuses_label_less_rows_before_training(tmp_path):
    folder = _xnli_folder(tmp_path, dev_en=b"p1\th1\r\n")
    out = _error(_plan(tmp_path, folder, command="run"))
    assert f"{folder / 'dev-en.tsv'}:1" in out and "(checkpoint selection)" in out and "no label" in out
    assert not (tmp_path / "out" / "cache" / "nodes").exists()  # nothing ran


@pytest.mark.parametrize("content, expected", [
    (b"", "no examples"),                                              # empty
    (b"p1\th1\tentailment\r\np2", "IndexError"),                       # truncated mid-row
    (b"p1\th1\tentailment\r\np2\th\xff\tneutral\r\n", ":2: not UTF-8"),  # not UTF-8, line 2
])
def test_broken_files_are_named(tmp_path, content, expected):
    folder = _xnli_folder(tmp_path, test_de=content)
    out = _error(_plan(tmp_path, folder))
    assert "xnli · split test · language de (evaluation)" in out
    assert str(folder / "test-de.tsv") in out and expected in out


def test_half_written_jsonl_names_the_file(tmp_path):
    folder = tmp_path / "xcopa"
    from harness.core.registry import registry

    registry().task("xcopa").fixture(data_dir=folder)
    text = (folder / "test.et.jsonl").read_text(encoding="utf-8")
    (folder / "test.et.jsonl").write_text(text[: len(text) // 2], encoding="utf-8")  # cut inside a line
    cfg = {"name": "v", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"], "intermediate": ["none"],
           "targets": [{"name": "xcopa", "languages": ["et"]}], "data": {"xcopa": str(folder)}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = _error(CliRunner().invoke(main, ["matrix", "plan", str(tmp_path / "c.yaml")]))
    assert "xcopa · split test · language et (evaluation)" in out and str(folder / "test.et.jsonl") in out
    assert "JSONDecodeError" in out


def test_unknown_split_fails_at_plan_time(tmp_path):
    out = _error(_plan(tmp_path, _xnli_folder(tmp_path), eval_splits=["tset"]))
    assert "xnli · split tset · language de (evaluation)" in out and "no 'tset' file" in out


def test_empty_slice_fails_at_plan_time(tmp_path):
    out = _error(_plan(tmp_path, _xnli_folder(tmp_path), eval_splits=["test[5:9]"]))
    assert "split test[5:9] · language de (evaluation): the slice is empty (test has 3 examples)" in out


def test_unknown_metric_fails_at_plan_time(tmp_path, monkeypatch):
    from harness.core.registry import registry

    reg = registry()
    task = reg.tasks["xnli"]
    spec = dataclasses.replace(task.spec, metrics=("acuracy",), benchmarks={})
    monkeypatch.setitem(reg.tasks, "xnli", dataclasses.replace(task, spec=spec))
    out = _error(_plan(tmp_path, _xnli_folder(tmp_path)))
    assert "xnli: metric 'acuracy': unknown metric 'acuracy'" in out and "accuracy" in out


def test_verdicts_are_cached_by_fingerprint(tmp_path, monkeypatch):
    folder = _xnli_folder(tmp_path)
    assert _plan(tmp_path, folder).exit_code == 0
    verdicts = list((tmp_path / "out" / "validated").glob("xnli-*.json"))
    assert len(verdicts) == 1
    assert json.loads(verdicts[0].read_text())["passed"] == {"dev|en": 3, "test|de": 3, "train|en": 3}

    from harness.core.registry import registry

    reg = registry()
    task = reg.tasks["xnli"]
    calls = []

    def counting_load(**kw):
        calls.append(kw["split"])
        return task.load(**kw)

    monkeypatch.setitem(reg.tasks, "xnli", dataclasses.replace(task, load=counting_load))
    assert _plan(tmp_path, folder).exit_code == 0
    assert calls == []  # same data: the verdict is reused
    (folder / "test-de.tsv").write_bytes(b"p1\th1\r\n")  # new content: checked again
    out = _error(_plan(tmp_path, folder))
    assert sorted(calls) == ["dev", "test", "train"] and "no label" in out  # the fingerprint covers the folder


def test_zero_shot_guard_fails_closed_without_language():
    guard_zero_shot([{"id": 1, "language": "en"}], "en", "t")
    with pytest.raises(ZeroShotViolation, match=r"1 training examples are not 'en' \(first id 2\)"):
        guard_zero_shot([{"id": 1, "language": "en"}, {"id": 2}], "en", "t")


@pytest.mark.parametrize("kind, example, spec_changes, expected", [
    ("span_qa", {"context": "Berlin is big.", "question": "?", "answers": {"text": ["big"], "answer_start": [3]}},
     {}, "answer 'big' does not match the context at 3 ('lin')"),
    ("span_qa", {"context": "abc", "question": "?", "answers": {"text": ["c"], "answer_start": [7]}},
     {}, "answer 'c' starts at 7, outside the context (3 characters)"),
    ("span_qa", {"context": "abc", "question": "?", "answers": None}, {}, "no answers"),
    ("tagging", {"tokens": ["a", "b"], "tags": ["O"]}, {"labels": ("O",)}, "2 tokens but 1 tags"),
    ("tagging", {"tokens": ["a"], "tags": ["B-XYZ"]}, {"labels": ("O", "B-PER")}, "tag 'B-XYZ' is not one of O, B-PER"),
    ("multiple_choice", {"context": "c", "question": "q", "choices": ["x", "y"], "label": 2}, {},
     "label 2 is not a choice index in 0..1"),
    ("classification", {"text_a": "a", "text_b": "b", "label": "maybe"},
     {"labels": ("yes", "no")}, "label 'maybe' is not one of yes, no"),
])
def test_kind_checks(registry, kind, example, spec_changes, expected):
    spec = dataclasses.replace(registry.task("xnli").spec, kind=kind, benchmarks={}, **spec_changes)
    problems = registry.task_type(kind).validate([{"id": "e1", **example}], spec)
    assert len(problems) == 1 and problems[0].index == 0
    assert problems[0].message.startswith(f"example 'e1': {expected}"), problems[0].message


def test_retrieval_gold_ids_must_exist(registry):
    spec = registry.task("lareqa").spec
    examples = [{"id": "q1", "side": "query", "text": "?", "gold": ["c1"]},
                {"id": "q2", "side": "query", "text": "?", "gold": ["c9"]},
                {"id": "c1", "side": "candidate", "text": "a", "gold": None}]
    problems = registry.task_type("retrieval").validate(examples, spec)
    assert [(p.message, p.index) for p in problems] == [("example 'q2': gold id 'c9' is not a candidate of this split", 1)]


def test_duplicate_ids_are_refused(registry):
    spec = registry.task("xnli").spec
    ex = [{"id": "a", "text_a": "x", "label": "neutral"}, {"id": "a", "text_a": "y", "label": "neutral"}]
    problems = registry.task_type("classification").validate(ex, spec)
    assert [(p.message, p.index) for p in problems] == [("example 'a': repeats the id of example 0", 1)]


def test_real_offline_data_passes(shared_data, tmp_path):
    """The shared real samples the real-offline-mini example reads pass every check (no false alarm)."""
    from harness.planning.config import load_config
    from harness.planning.plan import build_plan
    from harness.planning.validate import planned_splits, validate_plan

    raw = yaml.safe_load(open("examples/real-offline-mini.yaml"))
    raw.update(output_dir=str(tmp_path / "out"), models=["tiny-xlmr"],
               data={t: str(shared_data / t) for t in raw["data"]})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    cfg, _ = load_config(str(tmp_path / "c.yaml"))
    plan = build_plan(cfg)
    validate_plan(plan)
    uses = planned_splits(plan)
    assert {u.split for u in uses["xnli"]} == {"dev[0:300]", "dev[300:400]", "dev[400:600]", "test"}
    assert len(list((tmp_path / "out" / "validated").glob("*.json"))) == 2  # xnli and sst2
