"""Retrieval tasks: loaders on project-written fixtures and on the real samples in ../shared/data, scoring of
fixed predictions (hand-checked), option precedence, the `harness retrieve` command and a retrieval matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.core.registry import registry
from harness.metrics import MissingGold

TASKS = ("tatoeba", "bucc2018", "lareqa", "mewslix", "flores-retrieval")


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("retrieval-fixtures")
    for name in TASKS:
        registry().task(name).fixture(data_dir=root / name)
    return root


def test_tasks_registered_as_retrieval():
    reg = registry()
    for name in TASKS:
        spec = reg.task(name).spec
        assert spec.kind == "retrieval" and reg.task(name).score is not None
    ttype = reg.task_type("retrieval")  # trains (a target node) only under retrieval_regime xtreme-r
    assert [ttype.trains(None, reg.task(name).spec.defaults) for name in TASKS] == [False, False, True, True, False]
    assert reg.model("multilingual-e5-small").family == "hf-encoder"


def test_fixture_loaders(fixtures):
    reg = registry()
    tat = reg.task("tatoeba").load(split="test", language="de", data_dir=fixtures / "tatoeba")
    assert len(tat) == 64 and tat[0] == {"id": "tatoeba-de-0", "language": "de", "source": "das Katze ist rot",
                                         "target": "the cat is red"}
    assert reg.task("tatoeba").load(split="test", language="deu", data_dir=fixtures / "tatoeba")[5] == tat[5]
    bucc = reg.task("bucc2018").load(split="dev", language="de", data_dir=fixtures / "bucc2018")
    src = [e for e in bucc if e["side"] == "source"]
    assert len([e for e in bucc if e["side"] == "target"]) == 64
    assert sum(len(e["gold"]) for e in src) == 22 and len(src) == 28
    assert src[0] == {"id": "de-000000001", "language": "de", "side": "source", "text": "das Katze ist rot",
                      "gold": ["en-000000001"]}
    lq = reg.task("lareqa").load(split="test", language="de", data_dir=fixtures / "lareqa")
    queries = [e for e in lq if e["side"] == "query"]
    assert len(queries) == 8 and len(lq) - 8 == 3 * 8 * 2  # 3 languages × 8 paragraphs × 2 sentences
    assert queries[0]["gold"] == ["de|0|0|0", "en|0|0|0", "es|0|0|0"]
    mx = reg.task("mewslix").load(split="test", language="es", data_dir=fixtures / "mewslix")
    q = [e for e in mx if e["side"] == "query"]
    assert len(q) == 8 and q[1] == {"id": "test-es-1", "language": "es", "side": "query",
                                    "text": "perro: el perro es grande", "gold": ["Q101"]}
    assert len(mx) - len(q) == 8
    fl = reg.task("flores-retrieval").load(split="dev", language="deu_Latn-fra_Latn",
                                           data_dir=fixtures / "flores-retrieval")
    assert len(fl) == 64 and fl[0]["source"] == "das Katze ist rot" and fl[0]["target"] == "le chat est rouge"


def test_missing_data_messages(tmp_path):
    from harness.toolkit.data import DataMissing

    reg = registry()
    with pytest.raises(DataMissing, match="tatoeba.deu-eng.deu"):
        reg.task("tatoeba").load(split="test", language="de", data_dir=tmp_path)
    with pytest.raises(DataMissing, match="only 'test'"):
        reg.task("tatoeba").load(split="dev", language="de", data_dir=tmp_path)
    with pytest.raises(DataMissing, match="de-en.test.de"):
        reg.task("bucc2018").load(split="test", language="de", data_dir=tmp_path)
    with pytest.raises(DataMissing, match="wikinews_mentions-dev.jsonl"):
        reg.task("mewslix").load(split="dev", language="de", data_dir=tmp_path)


def test_scores_of_fixed_predictions():
    reg = registry()
    ex = [{"id": f"t{i}", "source": "s", "target": "t"} for i in range(4)]
    preds = [{"fwd": "t0", "bwd": "t0", "fwd_margin": "t0", "bwd_margin": "t0"},
             {"fwd": "t1", "bwd": "t0", "fwd_margin": "t1", "bwd_margin": "t1"},
             {"fwd": "t3", "bwd": "t2", "fwd_margin": "t2", "bwd_margin": "t2"},
             {"fwd": "t3", "bwd": "t0", "fwd_margin": "t3", "bwd_margin": "t0"}]
    s = reg.task("tatoeba").score(examples=ex, predictions=preds, language="de")
    assert s["tatoeba_accuracy_xx2en"].value == 75.0 and s["tatoeba_accuracy_xx2en"].direction == "xx->en"
    assert s["tatoeba_accuracy_en2xx"].value == 50.0 and s["tatoeba_accuracy_en2xx"].direction == "en->xx"
    assert s["tatoeba_accuracy_avg_both_directions"].value == 62.5
    f = reg.task("flores-retrieval").score(examples=ex, predictions=preds, language="deu_Latn")
    assert f["flores_xsim_error_margin_ratio_src2tgt"].value == 0.0
    assert f["flores_xsim_error_cosine_src2tgt"].value == 25.0
    assert f["flores_xsim_error_margin_ratio_tgt2src"].value == 25.0
    assert f["flores_xsim_error_cosine_src2tgt"].extra == {"lang_pair": "deu_Latn-eng_Latn"}
    assert f["flores_xsim_error_cosine_tgt2src"].direction == "eng_Latn->deu_Latn"
    # BUCC: 3 gold pairs, 4 mined candidates (hand example of test_retrieval_core), dev threshold .85
    src = [{"id": i, "side": "source", "gold": g} for i, g in (("a", ["A"]), ("b", []), ("c", ["C"]), ("d", []),
                                                                ("e", ["E"]))]
    trg = [{"id": t, "side": "target", "gold": None} for t in "ABCDE"]
    pb = [{"target": t, "score": sc, "dev_threshold": 0.85} for t, sc in (("A", .9), ("B", .8), ("C", .7), ("D", .6))]
    pb.append({"target": None, "score": None, "dev_threshold": 0.85})
    b = reg.task("bucc2018").score(examples=src + trg, predictions=pb + [None] * 5, language="de")
    assert b["bucc_f1_margin_oracle"].value == pytest.approx(200 / 3)
    assert b["bucc_f1_margin_oracle"].variant == "oracle_threshold"
    assert b["bucc_f1_margin_oracle"].extra["threshold"] == pytest.approx(0.65)
    assert b["bucc_f1_margin_dev_threshold"].value == pytest.approx(50.0)
    assert b["bucc_f1_margin_dev_threshold"].variant == "dev_threshold"
    with pytest.raises(MissingGold, match="no gold"):
        reg.task("bucc2018").score(examples=[{**src[0], "gold": None}], predictions=[pb[0]], language="de")
    qa = [{"id": "q1", "side": "query", "gold": ["A", "B"]}, {"id": "q2", "side": "query", "gold": ["C"]},
          {"id": "A", "side": "candidate", "language": "en"}]
    m = reg.task("lareqa").score(examples=qa, predictions=[["x", "A", "y", "B"], ["C"], None], language="de")
    assert m["lareqa_map_at_20"].value == pytest.approx(75.0) and m["lareqa_map_at_20"].n == 2


def test_option_precedence_and_errors():
    from harness.tasktypes.retrieval import resolve_options

    spec = registry().task("tatoeba").spec
    params = {"model": {"options": {"retrieval": {"query_prefix": "query: ", "doc_prefix": "passage: "}}},
              "options": {"layer": 8}}
    protocol, opts, proto = resolve_options(spec, params)
    assert protocol == "bitext" and opts.layer == 8 and opts.max_length == 128
    assert opts.query_prefix == opts.doc_prefix == "query: "  # symmetric task: both sides are queries
    assert proto == {"k": 4, "margin": "ratio", "search": "fused", "symmetric": True}
    _, opts2, _ = resolve_options(registry().task("lareqa").spec, params)
    assert (opts2.query_prefix, opts2.doc_prefix) == ("query: ", "passage: ")
    with pytest.raises(ValueError, match="unknown retrieval option"):
        resolve_options(spec, {"options": {"laeyr": 3}})
    assert "layer:8|pool:mean|maxlen:128|norm:l2|qprefix:'query: '|dprefix:'query: '" == opts.signature(12)


@pytest.mark.slow
def test_retrieve_command_on_fixtures(fixtures):
    from harness.cli.main import main

    runner = CliRunner()
    res = runner.invoke(main, ["retrieve", "tatoeba", "--model", "tiny-xlmr", "--data", str(fixtures / "tatoeba"),
                               "--languages", "de,fr", "--layers", "1,2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    rows = out["results"]
    assert len(rows) == 2 * 2 * 3 and {r["layer"] for r in rows} == {1, 2}
    assert {r["direction"] for r in rows} == {"xx->en", "en->xx", "avg(xx->en,en->xx)"}
    assert out["best_layer"]["metric"] == "tatoeba_accuracy_xx2en" and out["best_layer"]["layer"] in (1, 2)
    assert rows[0]["knobs"].startswith("layer:1|pool:mean|maxlen:128")
    res = runner.invoke(main, ["retrieve", "bucc2018", "--model", "tiny-xlmr", "--data", str(fixtures / "bucc2018"),
                               "--languages", "de", "--split", "test", "--json"])
    assert res.exit_code == 0, res.output
    metrics = {r["metric"]: r for r in json.loads(res.output)["results"]}
    assert set(metrics) == {"bucc_f1_margin_dev_threshold", "bucc_f1_margin_oracle"}
    bad = runner.invoke(main, ["retrieve", "xnli", "--model", "tiny-xlmr"])
    assert bad.exit_code == 2 and "retrieval tasks only" in bad.output
    bad = runner.invoke(main, ["retrieve", "tatoeba", "--model", "tiny-xlmr", "--layers", "a,b"])
    assert bad.exit_code == 2 and "comma-separated integers" in bad.output


@pytest.mark.slow
def test_retrieval_targets_in_a_matrix(tmp_path):
    """Retrieval eval nodes read the intermediate checkpoint (or the pretrained model); rows carry knobs."""
    from harness.orchestration.scheduler import run_plan
    from harness.planning.config import load_config
    from harness.planning.plan import build_plan
    from harness.run.context import Context

    cfg_path = tmp_path / "m.yaml"
    cfg_path.write_text(f"""
name: retr
output_dir: {tmp_path / 'out'}
models: [tiny-xlmr]
intermediate: [none, mnli]
targets:
  - {{name: tatoeba, languages: [de], options: {{layer: 1, pooling: cls}}}}
  - {{name: bucc2018, languages: [de], eval_splits: [dev, test]}}
seeds: [1]
data: {{tatoeba: synthetic, bucc2018: synthetic, mnli: synthetic}}
train: {{lr: 0.001, batch_size: 16, max_steps: 2, max_length: 32}}
""")
    cfg, _ = load_config(str(cfg_path))
    plan = build_plan(cfg)
    assert len(plan.by_stage("target")) == 0 and len(plan.by_stage("eval")) == 4
    inter = plan.by_stage("intermediate")[0].key
    assert sorted(n.deps for n in plan.by_stage("eval")) == [[], [], [inter], [inter]]
    outcome = run_plan(plan, Context(cache_dir=plan.cache_dir))
    assert outcome.ok
    rows = [json.loads(line) for line in plan.leaderboard.read_text().splitlines()]
    tat = [r for r in rows if r["task"] == "tatoeba"]
    assert len(tat) == 2 * 3 and {r["direction"] for r in tat} == {"xx->en", "en->xx", "avg(xx->en,en->xx)"}
    assert all("knobs:layer:1|pool:cls|maxlen:128" in r["signature"] for r in tat)
    bucc = {(r["intermediate"], r["split"], r["metric"]): r for r in rows if r["task"] == "bucc2018"}
    assert set(bucc) == {(i, s, m) for i in ("none", "mnli") for s, m in
                         (("dev", "bucc_f1_margin_oracle"), ("test", "bucc_f1_margin_oracle"),
                          ("test", "bucc_f1_margin_dev_threshold"))}
    assert bucc[("none", "test", "bucc_f1_margin_dev_threshold")]["variant"] == "dev_threshold"
    assert all(r["predictions_sha256"] for r in rows)
    # stored predictions re-score to the same numbers without the model (`harness score`)
    from harness.cli.main import main

    row = next(r for r in tat if r["metric"] == "tatoeba_accuracy_xx2en")
    pred = (plan.leaderboard.parent / row["predictions"]).resolve()
    res = CliRunner().invoke(main, ["score", "tatoeba", "--data", str(tmp_path / "out" / "data" / "tatoeba"),
                                    "--predictions", str(pred), "--language", "de", "--json"])
    assert res.exit_code == 0, res.output
    rescored = json.loads(res.output)["scores"]
    assert {m: rescored[m]["value"] for m in rescored} == {r["metric"]: r["value"] for r in tat
                                                           if r["intermediate"] == row["intermediate"]}


# ---- real samples (../shared/data): the loaders read the official formats ----

def test_real_tatoeba_files(shared_data):
    load = registry().task("tatoeba").load
    for lang, n in (("sw", 390), ("de", 1000), ("zh", 1000)):
        ex = load(split="test", language=lang, data_dir=shared_data / "tatoeba")
        assert len(ex) == n and all(e["source"] and e["target"] for e in ex)


def test_real_bucc_files(shared_data):
    ex = registry().task("bucc2018").load(split="dev", language="zh", data_dir=shared_data / "bucc2018")
    src = [e for e in ex if e["side"] == "source"]
    assert len(src) == 8624 and len(ex) - len(src) == 13589
    assert sum(len(e["gold"]) for e in src) == 257
    assert src[0]["id"] == "zh-000000001" and src[0]["text"].startswith("辽宁省")


def test_real_lareqa_and_flores_files(shared_data):
    ex = registry().task("lareqa").load(split="test", language="ar", data_dir=shared_data / "lareqa")
    q = [e for e in ex if e["side"] == "query"]
    assert len(q) == 177 and all(len(e["gold"]) == 4 for e in q)  # one answer sentence per pool language
    assert {e["language"] for e in ex if e["side"] == "candidate"} == {"ar", "de", "en", "zh"}
    fl = registry().task("flores-retrieval").load(split="dev", language="zho_Hans-deu_Latn",
                                                  data_dir=shared_data / "flores200")
    assert len(fl) == 997
    with pytest.raises(ValueError, match="swh_Latn.devtest has 100 lines but eng_Latn.devtest has 1012"):
        registry().task("flores-retrieval").load(split="devtest", language="swh_Latn",
                                                 data_dir=shared_data / "flores200")
