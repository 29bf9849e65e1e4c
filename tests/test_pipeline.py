"""The three-stage pipeline end to end on tiny models: row schema, determinism, zero-shot guard, reuse, resume."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.rows import ROW_KEYS, read_jsonl, without_timings
from harness.core.specs import Task, TaskSpec
from harness.orchestration.scheduler import run_plan
from harness.planning.config import parse_config
from harness.planning.plan import build_plan
from harness.run.context import Context
from harness.toolkit.data import ZeroShotViolation, guard_zero_shot

TINY = {"lr": 0.001, "batch_size": 8, "max_steps": 4, "max_length": 48, "eval_batch_size": 32}


def _cfg(tmp_path: Path, **over) -> dict:
    cfg = {
        "name": "tiny", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"],
        "intermediate": ["none", "mnli"], "targets": [{"name": "xnli", "languages": ["en", "de"]}],
        "seeds": [3], "data": {"xnli": "synthetic", "mnli": "synthetic"}, "train": TINY, "device": "cpu",
    }
    cfg.update(over)
    return cfg


def _run(cfg: dict):
    plan = build_plan(parse_config(cfg))
    ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name=plan.config.name,
                  config_hash=plan.config_hash)
    return plan, run_plan(plan, ctx)


@pytest.mark.slow
def test_rows_schema_and_values(tmp_path):
    plan, outcome = _run(_cfg(tmp_path))
    assert outcome.ok and len(outcome.done) == 1 + 2 + 4  # 1 intermediate, 2 target trainings, 4 evals
    rows = read_jsonl(plan.leaderboard)
    assert len(rows) == 4  # 2 intermediate settings × 2 languages × 1 metric × 1 split × 1 seed
    for row in rows:
        assert list(row) == list(ROW_KEYS)
        assert row["schema_version"] == 2 and row["metric"] == "accuracy" and row["split"] == "test"
        assert row["task"] == "xnli" and row["task_version"] == "1" and row["seed"] == 3
        assert row["n"] == 60  # the synthetic XNLI test split has 60 rows per language
        # hand-computed: vocab 489 × 32 + positions 130 × 32 + type 32 + LN 64, plus 2 layers × 8,544
        assert row["model_params"] == 36_992 and row["model_params_nonembed"] == 17_152
        assert row["signature"] == "accuracy|task:xnli@1|impl:exact-match-x100|avg:unweighted|harness:0.1.0"
        assert row["config_name"] == "tiny" and row["config_hash"] == plan.config_hash
        assert row["libraries"]["torch"] and row["harness_version"] == "0.1.0"
        preds = [json.loads(x) for x in (plan.leaderboard.parent / row["predictions"]).read_text().splitlines()]
        assert len(preds) == 60 and {"id", "prediction", "gold"} <= set(preds[0])
        assert 100 * sum(p["prediction"] == p["gold"] for p in preds) / 60 == pytest.approx(row["value"], abs=1e-9)
    assert {(r["intermediate"], r["language"]) for r in rows} == {("none", "en"), ("none", "de"), ("mnli", "en"),
                                                                  ("mnli", "de")}
    inter = [r for r in rows if r["intermediate"] == "mnli"]
    assert all(r["intermediate_tasks"] == ["mnli"] for r in inter)
    # checkpoints are safetensors, never pickles
    files = [p.name for p in plan.cache_dir.rglob("*") if p.is_file()]
    assert "encoder.safetensors" in files and not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)


@pytest.mark.slow
def test_seeded_run_is_deterministic_and_rerun_is_cached(tmp_path):
    plan_a, _ = _run(_cfg(tmp_path / "a"))
    plan_b, _ = _run(_cfg(tmp_path / "b"))
    # where the files sit (each run has its own output folder) and when: everything else is identical
    strip = lambda r: {k: v for k, v in without_timings(r).items()  # noqa: E731
                       if k not in ("predictions", "created", "data_location", "intermediate_data")}
    rows_a = [strip(r) for r in read_jsonl(plan_a.leaderboard)]
    rows_b = [strip(r) for r in read_jsonl(plan_b.leaderboard)]
    assert rows_a == rows_b
    # a rerun finds everything in the cache and rewrites the same leaderboard
    before = plan_a.leaderboard.read_bytes()
    _, outcome = _run(_cfg(tmp_path / "a"))
    assert outcome.done == [] and len(outcome.cached) == 7
    assert plan_a.leaderboard.read_bytes() == before


def test_plan_reuses_intermediate_checkpoints(tmp_path):
    cfg = _cfg(tmp_path, targets=[{"name": "xnli", "languages": ["en", "de", "es"]}], seeds=[1, 2])
    plan = build_plan(parse_config(cfg))
    counts = {s: len(plan.by_stage(s)) for s in ("intermediate", "target", "eval")}
    assert counts == {"intermediate": 2, "target": 4, "eval": 12}
    for node in plan.by_stage("target"):
        inter = node.params["upstream"]
        assert (inter is None) == (node.params["intermediate"] == "none")
    # changing a target hyper-parameter changes target and eval keys but not the intermediate ones
    cfg2 = _cfg(tmp_path, targets=[{"name": "xnli", "languages": ["en", "de", "es"], "train": {"lr": 0.01}}],
                seeds=[1, 2])
    plan2 = build_plan(parse_config(cfg2))
    assert set(n.key for n in plan.by_stage("intermediate")) == set(n.key for n in plan2.by_stage("intermediate"))
    assert not set(n.key for n in plan.by_stage("target")) & set(n.key for n in plan2.by_stage("target"))


def test_guard_rejects_non_english():
    guard_zero_shot([{"id": 1, "language": "en"}], "en", "t")
    with pytest.raises(ZeroShotViolation, match="training data in language 'de'"):
        guard_zero_shot([{"id": 1, "language": "de"}], "de", "t")
    with pytest.raises(ZeroShotViolation, match="1 training examples are not 'en' \\(first id 7\\)"):
        guard_zero_shot([{"id": 6, "language": "en"}, {"id": 7, "language": "de"}], "en", "t")


def _spy_plugin(calls: list, leak: bool):
    """A task whose loader records every (split, language) it is asked for; ``leak`` mislabels training rows."""
    spec = TaskSpec(name="spy-nli", kind="classification", roles=("target",), languages=("en", "de"),
                    labels=("entailment", "neutral", "contradiction"), metrics=("accuracy",), eval_splits=("test",))

    def load(split, language, data_dir=None):
        calls.append((split, language))
        from harness.toolkit.synthetic import nli_rows

        rows = nli_rows(8, 0, (language,))[language]
        lang = "de" if leak and split == "train" else language
        return [{"id": i, "language": lang, "text_a": p, "text_b": h, "label": y} for i, (p, h, y) in enumerate(rows)]

    def fixture(data_dir):
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        (Path(data_dir) / "SYNTHETIC.md").write_text("spy")

    return types.SimpleNamespace(register_tasks=hookimpl(lambda register: register(Task(spec, load, fixture=fixture))))


@pytest.mark.slow
def test_only_english_reaches_training_and_selection(tmp_path):
    calls: list = []
    plugins.register_module(_spy_plugin(calls, leak=False), name="spy")
    try:
        cfg = _cfg(tmp_path, intermediate=["none"], targets=["spy-nli"], data={"spy-nli": "synthetic"})
        _, outcome = _run(cfg)
        assert outcome.ok
        assert sorted(set(calls)) == [("dev", "en"), ("test", "de"), ("test", "en"), ("train", "en")]
    finally:
        plugins.reset()


@pytest.mark.slow
def test_leaked_training_language_fails_the_node_only(tmp_path):
    plugins.register_module(_spy_plugin([], leak=True), name="spy")
    try:
        cfg = _cfg(tmp_path, intermediate=["none"], targets=["spy-nli", {"name": "xnli", "languages": ["en"]}],
                   data={"spy-nli": "synthetic", "xnli": "synthetic"})
        plan, outcome = _run(cfg)
        assert len(outcome.failed) == 1 and "ZeroShotViolation" in next(iter(outcome.failed.values()))
        assert len(outcome.skipped) == 2  # the two eval nodes downstream of the failed training
        rows = read_jsonl(plan.leaderboard)
        assert {r["task"] for r in rows} == {"xnli"}  # the healthy branch completed
        failed = list((plan.cache_dir / "failed").glob("*.json"))
        assert len(failed) == 1 and "zero-shot transfer allows only English" in failed[0].read_text()
    finally:
        plugins.reset()


@pytest.mark.slow
def test_cli_run_and_show(tmp_path):
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(_cfg(tmp_path, intermediate=["none"])))
    r = CliRunner().invoke(main, ["matrix", "run", str(cfg_path)])
    assert r.exit_code == 0, r.output
    assert "3 ran, 0 cached, 0 failed" in r.output  # 1 training, 2 evaluations
    lb = tmp_path / "out" / "leaderboard.jsonl"
    r = CliRunner().invoke(main, ["leaderboard", "show", str(lb), "--json"])
    assert r.exit_code == 0 and len(json.loads(r.output)) == 2


def test_target_options_override_task_defaults(tmp_path):
    from harness.stages.common import target_spec

    cfg = _cfg(tmp_path, targets=[{"name": "xnli", "languages": ["en"], "options": {"max_answer": 7}}])
    plan = build_plan(parse_config(cfg))
    node = plan.by_stage("target")[0]
    spec = target_spec(node.params)
    assert spec.defaults["max_answer"] == 7 and spec.defaults["lr"] == 1e-5  # merged over the task's defaults
    plain = build_plan(parse_config(_cfg(tmp_path, targets=[{"name": "xnli", "languages": ["en"]}])))
    assert plain.by_stage("target")[0].key != node.key  # options are part of the node key


def test_summary_table_main_protocol_and_means():
    from harness.results.leaderboard import summary_table

    def row(lang, metric, value, variant=None, seed=1):
        return {"model": "m", "model_params": 2_000_000, "intermediate": "none", "task": "udpos", "split": "test",
                "metric": metric, "variant": variant, "direction": None, "language": lang, "value": value,
                "seed": seed}

    rows = [row("en", "pos_seqeval_f1", 80.0, "xtreme"), row("en", "pos_accuracy", 90.0, "token-accuracy"),
            row("de", "pos_seqeval_f1", 60.0, "xtreme"), row("de", "pos_seqeval_f1", 70.0, "xtreme", seed=2),
            row("fr", "pos_seqeval_f1", 50.0, "xtreme")]
    header, body = summary_table(rows)
    assert header == ["model", "params", "intermediate", "task", "split", "metric", "en", "xx avg", "de", "fr"]
    # de is the mean over seeds (65), xx avg the unweighted mean of de and fr ((65 + 50) / 2)
    assert body == [["m", "2M", "none", "udpos", "test", "pos_seqeval_f1 (xtreme)", "80.00", "57.50", "65.00",
                     "50.00"]]


def test_xnli_xtreme_tsv_is_read_as_csv_writer_output(tmp_path):
    import csv

    from harness.core.registry import registry

    with open(tmp_path / "dev-de.tsv", "w", newline="") as fh:
        csv.writer(fh, delimiter="\t").writerow(['Er sagte "Hallo".', "Er grüßte.", "entailment"])
    (ex,) = registry().task("xnli").load(split="dev", language="de", data_dir=tmp_path)
    assert (tmp_path / "dev-de.tsv").read_bytes().endswith(b"\r\n")
    assert ex["text_a"] == 'Er sagte "Hallo".' and ex["text_b"] == "Er grüßte." and ex["label"] == "entailment"


@pytest.mark.slow
def test_evaluations_of_one_model_load_it_once(tmp_path, monkeypatch):
    import harness.modeling.encoder as models
    from harness.stages.evaluate import release_eval_model

    release_eval_model()
    calls = []
    real = models.load_encoder

    def counting(spec, seed=0, checkpoint=None):
        calls.append(checkpoint)
        return real(spec, seed=seed, checkpoint=checkpoint)

    monkeypatch.setattr(models, "load_encoder", counting)
    cfg = _cfg(tmp_path, intermediate=["none"], targets=[{"name": "xnli", "languages": ["en", "de", "es"]}])
    plan, outcome = _run(cfg)
    assert outcome.ok and len(outcome.done) == 4  # 1 training + 3 evaluations
    assert len(calls) == 2  # the training, then one load shared by the three evaluations
    rows = read_jsonl(plan.leaderboard)
    assert sorted(r["language"] for r in rows) == ["de", "en", "es"]
    release_eval_model()
