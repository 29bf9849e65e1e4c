"""FLORES as a trained target (issue 15, part B): tiny mT5 fine-tuned on a learnable synthetic pair through
``harness matrix run``; ``harness score flores`` equal to sacrebleu on the same files; a tiny causal LM prompted
k-shot in a matrix; names for every FLORES-200 code; generation bookkeeping (truncation, scaled max_new_tokens)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from xlt_harness_plugins.tasks import flores
from xlt_harness_plugins.tasks.flores_languages import NAMES

from harness.cli.main import main
from harness.toolkit.synthetic import LEXICON


def write_pair(root: Path, n_dev: int, n_devtest: int, seed: int = 0) -> None:
    """SYNTHETIC FLORES-layout bitext with a deterministic word mapping: ``the {noun} is (not) {adj}`` in English
    and ``das {Nomen} ist (nicht) {adj}`` in German, the same draws on line i of both files."""
    rng = random.Random(seed)
    for split, n in (("dev", n_dev), ("devtest", n_devtest)):
        (root / split).mkdir(parents=True, exist_ok=True)
        draws = [(rng.randrange(8), rng.randrange(8), rng.randrange(2)) for _ in range(n)]
        for lang, code in (("en", "eng_Latn"), ("de", "deu_Latn")):
            lx = LEXICON[lang]
            lines = [lx["not" if neg else "is"].format(n=lx["nouns"][a], a=lx["adjs"][b]) for a, b, neg in draws]
            (root / split / f"{code}.{split}").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_flores_code_has_a_name_and_prompts_carry_names(tmp_path, registry):
    assert set(flores.LANGUAGES) <= set(NAMES) and len(NAMES) == 205
    assert NAMES["eng_Latn"] == "English" and NAMES["zho_Hant"] == "Chinese (Traditional)"
    assert NAMES["xho_Latn"] == "Xhosa" and NAMES["ace_Arab"] == "Acehnese (Arabic script)"
    flores.fixture(data_dir=tmp_path, n_dev=2, n_devtest=2)
    rows = flores.load("dev", "deu_Latn-fra_Latn", tmp_path)  # a non-English pair: both directions
    assert [r["direction"] for r in rows] == ["deu->fra", "fra->deu"] * 2
    assert rows[1]["lang_pair"] == "fra_Latn-deu_Latn" and rows[1]["line"] == 0
    prompts = registry.task_type("generation").prompts(rows[:2], {"prompt": None})
    assert prompts[0] == f"translate German to French: {rows[0]['source']}"
    assert not any(re.search(r"[a-z]{3}_[A-Z][a-z]{3}", p) for p in prompts)


def test_max_new_tokens_scale_and_selection_slice():
    from harness.tasktypes.generation import DEFAULT_OPTIONS, max_new_for
    from harness.tasktypes.seq2seq import hold_out

    assert max_new_for(10, DEFAULT_OPTIONS) == 2 * 10 + 16
    assert max_new_for(400, DEFAULT_OPTIONS) == 512  # capped by max_new_tokens
    rows = [{"line": i // 2, "id": i} for i in range(20)]  # 10 sentences, two directions each
    train, select = hold_out(rows, 0.2)
    assert [r["line"] for r in select] == [8, 8, 9, 9] and {r["line"] for r in train} == set(range(8))


def test_truncation_is_counted_not_silent(registry):
    from harness.modeling.encoder import load_encoder

    enc = load_encoder(registry.model("tiny-mt5"), seed=0)
    ex = [{"id": "a", "source": "the cat is red and the dog is big and the bird is old", "target": "x",
           "src_name": "English", "tgt_name": "German", "direction": "en->xx", "lang_pair": "eng_Latn-deu_Latn"}]
    ttype = registry.task_type("generation")
    opts = {**ttype_options(), "max_source_length": 8, "max_new_tokens": 3, "num_beams": 1}
    preds, counts = ttype.generate(enc, ex, opts)
    assert counts["truncated_sources"] == 1  # the prompt has more than 8 tokens: counted, not silently cut
    assert counts["truncated_outputs"] in (0, 1) and isinstance(preds[0], str)


def ttype_options():
    from harness.tasktypes.generation import DEFAULT_OPTIONS

    return dict(DEFAULT_OPTIONS)


@pytest.mark.slow
def test_tiny_mt5_learns_synthetic_pair_through_matrix_run(tmp_path, test_spm):
    from harness.metrics.mt import chrf_pp

    write_pair(tmp_path / "flores", n_dev=200, n_devtest=20)
    cfg = {
        "name": "flores-trained", "output_dir": str(tmp_path / "run"),
        "models": [{"name": "tiny-mt5", "options": {"d_model": 64, "d_ff": 128, "dropout": 0.0}}],
        "intermediate": ["none"],
        "targets": [{"name": "flores", "languages": ["deu_Latn"],
                     "options": {"num_beams": 2, "spm_model": str(test_spm), "spm_name": "test-unigram"}}],
        "data": {"flores": str(tmp_path / "flores")},
        "target_train": {"max_steps": 120, "lr": 3e-3, "batch_size": 16, "eval_every": 60},
    }
    import yaml

    (tmp_path / "m.yaml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(main, ["matrix", "run", str(tmp_path / "m.yaml"), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (tmp_path / "run" / "leaderboard.jsonl").read_text().splitlines()]
    chrf = {r["direction"]: r for r in rows if r["metric"] == "chrf++"}
    assert set(chrf) == {"en->xx", "xx->en"} and {r["metric"] for r in rows} == {"chrf++", "spbleu_custom_spm"}
    for row in rows:
        assert "bitext" in row["exemptions"] and row["generation"]["train_exemption"] == "bitext"
        assert row["generation"]["trained"] and row["generation"]["train_source"]["n_select"] == 40  # 10% of 200
        assert row["generation"]["truncated_sources"] == 0 and row["n"] == 20
    # Threshold: the untrained model and the copy-the-source baseline score far below. A system that gets the
    # frame right but every content word wrong ("das X ist Y" with wrong X, Y) scores about 40 chrF++; 60 needs
    # most nouns and adjectives mapped correctly. A probe of this set-up measured 88.8 on the held-out slice after
    # 150 steps and 49 with a d_model-32 model after 60 steps (not enough: hence d_model 64, 120 steps).
    refs = {d: [json.loads(line)["gold"] for line in (tmp_path / "run" / "cache" / "nodes" / chrf[d]["node"] /
                                                     "predictions-devtest.jsonl").read_text().splitlines()]
            for d in chrf}
    src = flores.load("devtest", "deu_Latn", tmp_path / "flores")
    copy = chrf_pp([e["source"] for e in src if e["direction"] == "en->xx"], refs["en->xx"][::2]).value
    assert copy < 40
    assert chrf["en->xx"]["value"] > 60 and chrf["xx->en"]["value"] > 60, {d: v["value"] for d, v in chrf.items()}


@pytest.mark.slow
def test_tiny_causal_lm_runs_flores_k_shot_in_a_matrix(tmp_path, test_spm):
    from harness.orchestration.scheduler import run_plan
    from harness.planning.config import parse_config
    from harness.planning.plan import build_plan
    from harness.run.context import Context

    cfg = parse_config({
        "name": "flores-kshot", "output_dir": str(tmp_path / "run"), "models": ["tiny-causal-lm"],
        "intermediate": ["none"],
        "targets": [{"name": "flores", "languages": ["deu_Latn"], "eval_splits": ["devtest[0:4]"],
                     "options": {"k_shot": 2, "num_beams": 1, "max_new_tokens": 8, "spm_model": str(test_spm),
                                 "spm_name": "test-unigram"}}],
        "data": {"flores": "synthetic"},
    })
    plan = build_plan(cfg)
    assert not plan.by_stage("target")  # a prompted family is never fine-tuned on FLORES
    outcome = run_plan(plan, Context(cache_dir=plan.cache_dir, device="cpu"))
    assert outcome.ok, outcome.failed
    rows = [json.loads(line) for line in plan.leaderboard.read_text().splitlines()]
    assert len(rows) == 2 * 2  # directions x metrics
    for row in rows:
        gen = row["generation"]
        assert gen["prompt"] == "{src}: {text}\n{tgt}:" and gen["k_shot"] == 2 and len(gen["shot_ids"]) == 4
        assert all(i.startswith("dev-") for i in gen["shot_ids"])  # demonstrations from the training split
        assert gen["trained"] is False and "bitext" not in row["exemptions"] and row["model_family"] == "tiny-causal-lm"
        assert "k:2" in row["signature"] and row["n"] == 2


def _flores_files(tmp_path: Path) -> tuple[Path, Path, list[str], list[str]]:
    refs = ["Das Haus ist alt.", "Die Katze ist rot und der Hund ist groß.", "Der Fluss ist leise."]
    hyps = ["Das Haus ist sehr alt.", "Die Katze ist rot und der Hund ist klein.", ""]
    ref, hyp = tmp_path / "deu_Latn.devtest", tmp_path / "hyp.txt"
    ref.write_text("\n".join(refs) + "\n", encoding="utf-8")
    hyp.write_text("\n".join(hyps) + "\n", encoding="utf-8")
    return ref, hyp, refs, hyps


def test_score_flores_prints_chrf_and_says_how_to_get_spm(tmp_path, monkeypatch):
    from sacrebleu.metrics import CHRF

    monkeypatch.delenv("XLT_FLORES200_SPM", raising=False)
    monkeypatch.setenv("SACREBLEU", str(tmp_path / "no-sacrebleu"))
    ref, hyp, refs, hyps = _flores_files(tmp_path)
    r = CliRunner().invoke(main, ["score", "flores", "--data", str(ref), "--predictions", str(hyp)])
    assert r.exit_code == 0, r.output
    chrf = CHRF(word_order=2)
    expected = chrf.corpus_score(hyps, [refs])
    line = next(x for x in r.output.splitlines() if " chrf++" in x)
    assert f"chrf++: {expected.score:.4f}" in line and line.endswith(chrf.get_signature().format())
    assert sum("spBLEU skipped" in x for x in r.output.splitlines()) == 1 and "--spm" in r.output
    r = CliRunner().invoke(main, ["score", "flores", "--data", str(ref), "--predictions", str(hyp), "--json"])
    out = json.loads(r.stdout)
    assert out["scores"]["chrf++"][0]["value"] == pytest.approx(expected.score, abs=1e-12)


def test_score_flores_spbleu_equals_sacrebleu_with_the_same_spm(tmp_path, monkeypatch, test_spm):
    import sacrebleu.tokenizers.tokenizer_spm as sb_spm
    from sacrebleu.metrics import BLEU

    ref, hyp, refs, hyps = _flores_files(tmp_path)
    r = CliRunner().invoke(main, ["score", "flores", "--data", str(ref), "--predictions", str(hyp), "--spm",
                                  str(test_spm), "--spm-name", "test-unigram", "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)["scores"]["spbleu_custom_spm"][0]
    # sacrebleu's own flores200 path handed the same (custom, trained-now) model file as its cached model
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "flores200sacrebleuspm").write_bytes(test_spm.read_bytes())
    monkeypatch.setattr(sb_spm, "SACREBLEU_DIR", str(tmp_path))
    bleu = BLEU(tokenize="flores200")
    assert got["value"] == pytest.approx(bleu.corpus_score(hyps, [refs]).score, abs=1e-9)
    assert got["variant"] == "custom-spm:test-unigram"  # labelled: this is not the FLORES-200 model
    want = bleu.get_signature().format().replace("tok:flores200", "tok:spm-custom[test-unigram]")
    assert re.sub(r"#sha256:[0-9a-f]+", "", got["sacrebleu_signature"]) == want


@pytest.mark.slow
def test_a_seq2seq_target_under_nproc_2_trains_once_and_says_so(tmp_path, test_spm):
    """The seq2seq loop has no data-parallel path: with nproc 2 the FLORES training runs in one process (never
    two ranks each training a copy into the same folder), its values equal nproc 1's and its rows say why."""
    from harness.orchestration.scheduler import run_plan
    from harness.planning.config import parse_config
    from harness.planning.plan import build_plan
    from harness.run.context import Context

    def run(folder, nproc):
        plan = build_plan(parse_config({
            "name": "flores-nproc", "output_dir": str(tmp_path / folder),
            "models": [{"name": "tiny-mt5", "options": {"d_model": 32, "d_ff": 64, "dropout": 0.0}}],
            "intermediate": ["none"],
            "targets": [{"name": "flores", "languages": ["deu_Latn"], "eval_splits": ["devtest[0:4]"],
                         "options": {"num_beams": 1, "max_new_tokens": 8, "spm_model": str(test_spm),
                                     "spm_name": "test-unigram"}}],
            "data": {"flores": "synthetic"}, "target_train": {"max_steps": 3, "batch_size": 8, "eval_every": 3},
        }))
        outcome = run_plan(plan, Context(cache_dir=plan.cache_dir, device="cpu", nproc=nproc))
        assert outcome.ok, outcome.failed
        return [json.loads(line) for line in plan.leaderboard.read_text().splitlines()]

    one, two = run("one", 1), run("two", 2)
    note = "nproc 2 not applied: the seq2seq (generation) loop runs in one process"
    assert {r["budget"].get("target_nproc_note") for r in two} == {note}
    assert all("target_nproc_note" not in r["budget"] for r in one)
    key = ("direction", "metric", "value", "n")
    assert sorted(tuple(r[k] for k in key) for r in one) == sorted(tuple(r[k] for k in key) for r in two)
