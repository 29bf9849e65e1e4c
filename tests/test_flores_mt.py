"""FLORES translation: the loader (fixture and real files), MT metrics with hand-checkable values, spBLEU with a
SentencePiece model trained on the fly (labelled custom, equal to sacrebleu's own flores200 code path on the same
file), and mT5 translating FLORES lines end to end through the matrix."""

from __future__ import annotations

import json
import math

import pytest
from xlt_harness_plugins.tasks import flores

from harness.metrics.mt import (
    ENV_SPM,
    SACREBLEU_MODEL_NAME,
    SpmMissing,
    bleu_13a,
    chrf_pp,
    load_spm,
    resolve_spm,
    spbleu,
)
from harness.toolkit.data import DataMissing


def test_loader_fixture_layout_and_directions(tmp_path):
    flores.fixture(data_dir=tmp_path, n_dev=5, n_devtest=4)
    assert (tmp_path / "dev" / "eng_Latn.dev").read_text().count("\n") == 5
    rows = flores.load("devtest", "deu_Latn", tmp_path)
    assert len(rows) == 8
    assert [r["direction"] for r in rows] == ["en->xx", "xx->en"] * 4  # line by line: slices keep both
    assert {r["lang_pair"] for r in rows} == {"eng_Latn-deu_Latn", "deu_Latn-eng_Latn"}
    assert rows[0]["source"] == rows[1]["target"] and rows[0]["target"] == rows[1]["source"]
    assert rows[0]["id"] == "devtest-eng_Latn-deu_Latn-0" and len({r["id"] for r in rows}) == 8


def test_loader_errors(tmp_path):
    flores.fixture(data_dir=tmp_path, n_dev=3, n_devtest=3)
    with pytest.raises(DataMissing, match="xho_Latn.dev"):
        flores.load("dev", "xho_Latn", tmp_path)
    with pytest.raises(ValueError, match="lang_Script"):
        flores.load("dev", "german", tmp_path)
    with pytest.raises(ValueError, match="dev, devtest"):
        flores.load("test", "deu_Latn", tmp_path)
    (tmp_path / "dev" / "deu_Latn.dev").write_text("one line\n")
    with pytest.raises(ValueError, match="line-parallel"):
        flores.load("dev", "deu_Latn", tmp_path)
    with pytest.raises(DataMissing, match="flores200"):
        flores.load("dev", "deu_Latn", None)


@pytest.mark.shared_data
def test_loader_real_files(shared_data):
    root = shared_data / "flores200"
    rows = flores.load("dev", "deu_Latn", root)
    eng = (root / "dev" / "eng_Latn.dev").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 * 997 == 2 * len(eng)
    assert rows[0]["source"] == eng[0] and rows[1]["target"] == eng[0] and rows[-1]["target"] == eng[-1]
    assert len(flores.load("dev", "zho_Hans", root)) == 2 * 997
    with pytest.raises(ValueError, match="has 100 lines but eng_Latn.devtest has 1012"):  # the sample's cut file
        flores.load("devtest", "zho_Hans", root)


def test_bleu_and_chrf_by_hand():
    # one segment, hypothesis = reference minus its last word: all n-gram precisions are 1, BP = exp(1 - 5/4)
    assert bleu_13a(["a b c d"], ["a b c d e"]).value == pytest.approx(100 * math.exp(1 - 5 / 4))
    assert bleu_13a(["five words are here now"], ["five words are here now"]).value == pytest.approx(100)
    assert chrf_pp(["same words here"], ["same words here"]).value == pytest.approx(100)
    assert chrf_pp(["xyz"], ["abc"]).value == pytest.approx(0)
    sig = chrf_pp(["a"], ["a"]).signature
    assert "nw:2" in sig and "nc:6" in sig  # chrF++ = chrF with word bigrams
    with pytest.raises(ValueError, match="2 hypotheses for 1"):
        chrf_pp(["a", "b"], ["a"])


def test_spbleu_custom_model_is_labelled_and_equals_sacrebleu(test_spm, tmp_path, monkeypatch):
    hyps = ["the cat is red and the dog is big", "das Haus ist alt"]
    refs = ["the cat is red and the dog is not big", "das Haus ist nicht alt"]
    tok = load_spm(test_spm, name="test-unigram")
    name, value = spbleu(hyps, refs, tok)
    assert name == "spbleu_custom_spm" and value.variant == "custom-spm:test-unigram"
    assert f"tok:spm-custom[test-unigram]#sha256:{tok.sha256[:16]}" in value.signature
    assert "flores200" not in value.signature
    assert spbleu(refs, refs, tok)[1].value == pytest.approx(100)
    # sacrebleu's own tokenize="flores200" path, handed the same file as its cached model, gives the same BLEU
    import sacrebleu.tokenizers.tokenizer_spm as sb_spm
    from sacrebleu.metrics import BLEU

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / SACREBLEU_MODEL_NAME).write_bytes(test_spm.read_bytes())
    monkeypatch.setattr(sb_spm, "SACREBLEU_DIR", str(tmp_path))
    reference = BLEU(tokenize="flores200").corpus_score(hyps, [refs]).score
    assert value.value == pytest.approx(reference, abs=1e-9)


def test_spm_resolution_never_mislabels(test_spm, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_SPM, raising=False)
    monkeypatch.setenv("SACREBLEU", str(tmp_path / "empty"))
    with pytest.raises(SpmMissing, match="flores200sacrebleuspm"):
        resolve_spm(None)
    monkeypatch.setenv(ENV_SPM, str(test_spm))
    assert resolve_spm(None) == (test_spm, "env")
    # a small model claimed to be FLORES-200 is refused rather than reported as official spBLEU
    with pytest.raises(ValueError, match="not the FLORES-200"):
        load_spm(None)
    monkeypatch.delenv(ENV_SPM)
    (tmp_path / "empty" / "models").mkdir(parents=True)
    (tmp_path / "empty" / "models" / SACREBLEU_MODEL_NAME).write_bytes(test_spm.read_bytes())
    assert resolve_spm(None)[1] == "sacrebleu-cache"


def test_generation_scores_fixed_predictions_per_direction(test_spm, registry, tmp_path):
    flores.fixture(data_dir=tmp_path, n_dev=3, n_devtest=3)
    examples = flores.load("dev", "fra_Latn", tmp_path)
    ttype = registry.task_type("generation")
    preds = [e["target"] if e["direction"] == "en->xx" else "" for e in examples]  # perfect en->xx, empty xx->en
    scores = ttype.score(examples, preds, flores.SPEC, "fra_Latn",
                         {"spm_model": str(test_spm), "spm_name": "test-unigram"})
    assert set(scores) == {"spbleu_custom_spm", "chrf++"}
    by_dir = {v.direction: v for v in scores["chrf++"]}
    assert by_dir["en->xx"].value == pytest.approx(100) and by_dir["xx->en"].value == pytest.approx(0)
    assert by_dir["en->xx"].extra["lang_pair"] == "eng_Latn-fra_Latn" and by_dir["en->xx"].n == 3
    assert [v.value for v in scores["spbleu_custom_spm"]] == pytest.approx([100, 0])
    assert "task:flores@2|decode:beam4,lp1,max_new=min(512,2*src+16)|prompt:" in by_dir["en->xx"].signature
    assert by_dir["en->xx"].extra["sacrebleu"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:2")


@pytest.mark.slow
@pytest.mark.shared_data
def test_mt5_translates_real_flores_lines(shared_data, registry, test_spm):
    from harness.modeling.encoder import load_encoder

    examples = flores.load("dev", "deu_Latn", shared_data / "flores200")[:4]  # two sentences, both directions
    assert len(examples) == 4
    enc = load_encoder(registry.model("tiny-mt5"), seed=0)
    preds, scores = registry.task_type("generation").evaluate(
        enc, examples, flores.SPEC, "deu_Latn",
        params={"options": {"spm_model": str(test_spm), "spm_name": "test-unigram", "max_new_tokens": 6,
                            "num_beams": 1}})
    assert len(preds) == 4 and all(isinstance(p, str) for p in preds)
    assert [v.direction for v in scores["chrf++"]] == ["en->xx", "xx->en"]
    assert all(0 <= v.value <= 100 for vs in scores.values() for v in vs)


@pytest.mark.slow
def test_flores_matrix_rows_carry_pairs_and_signatures(test_spm, tmp_path):
    from harness.orchestration.scheduler import run_plan
    from harness.planning.config import parse_config
    from harness.planning.plan import build_plan
    from harness.run.context import Context

    cfg = parse_config({
        "name": "flores-tiny", "output_dir": str(tmp_path / "run"), "models": ["tiny-mt5"], "intermediate": ["none", "mnli"],
        "targets": [{"name": "flores", "languages": ["deu_Latn", "spa_Latn"], "eval_splits": ["devtest[0:8]"],
                     "options": {"spm_model": str(test_spm), "spm_name": "test-unigram", "max_new_tokens": 6,
                                 "num_beams": 1}}],
        "data": {"flores": "synthetic", "mnli": "synthetic"}, "intermediate_train": {"max_steps": 1, "max_length": 32},
        "target_train": {"max_steps": 1},
    })
    plan = build_plan(cfg)
    # one seq2seq target per intermediate setting (the MNLI-trained mT5 carries into it), trained on both languages
    assert [n.params["languages"] for n in plan.by_stage("target")] == [["deu_Latn", "spa_Latn"]] * 2
    outcome = run_plan(plan, Context(cache_dir=plan.cache_dir, device="cpu"))
    assert outcome.ok, outcome.failed
    rows = [json.loads(line) for line in plan.leaderboard.read_text().splitlines()]
    assert len(rows) == 2 * 2 * 2 * 2  # intermediate settings x languages x directions x metrics
    assert {r["intermediate"] for r in rows} == {"none", "mnli"}
    assert {(r["language"], r["direction"], r["lang_pair"]) for r in rows} == {
        ("deu_Latn", "en->xx", "eng_Latn-deu_Latn"), ("deu_Latn", "xx->en", "deu_Latn-eng_Latn"),
        ("spa_Latn", "en->xx", "eng_Latn-spa_Latn"), ("spa_Latn", "xx->en", "spa_Latn-eng_Latn")}
    assert {r["metric"] for r in rows} == {"spbleu_custom_spm", "chrf++"}
    assert all(r["n"] == 4 and "task:flores@2" in r["signature"] and "bitext" in r["exemptions"] for r in rows)
    preds = [json.loads(line) for line in (plan.cache_dir / "nodes" / rows[0]["node"] /
                                           "predictions-devtest_0-8.jsonl").read_text().splitlines()]
    assert len(preds) == 8 and all(set(p) == {"id", "prediction", "gold"} for p in preds)
