"""The quickstart is a test of the measurement: its synthetic data plant an effect the report must recover.

The synthetic XNLI label follows language-specific templates (English training learns the English negation) and
a cue symbol shared by every language; the synthetic MNLI teaches the cues (planted), the synthetic SST-2 nothing
XNLI needs (control). From the report's JSON: the planted gain's interval lies above zero for at least one model
size, in English and cross-lingually; the control's intervals include 0 for every size, in English and
cross-lingually; the `none` baseline learns part of the task (above the majority class in English).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from harness.cli.main import main
from harness.core.rows import read_jsonl
from harness.toolkit.synthetic import CUES, planted_nli_rows

CUE_OF = {c: label for label, cues in CUES.items() for c in cues}


def test_planted_rows_carry_the_label_in_shared_cues_only():
    rows = planted_nli_rows(30, seed=5)
    for lang, lang_rows in rows.items():
        for premise, _hypothesis, label in lang_rows:
            assert CUE_OF[premise.split()[0]] == label, (lang, premise)
    # parallel: the same cue (and so the same label) in every language, row by row, always the first word
    assert len({tuple(p.split()[0] for p, _, _ in r) for r in rows.values()}) == 1
    noisy = planted_nli_rows(300, seed=5, languages=("en",), noise=0.25)["en"]
    wrong = sum(CUE_OF[p.split()[0]] != y for p, _, y in noisy)
    assert 50 <= wrong <= 100  # about a quarter of the labels are flipped (75 expected)


def test_surface_rows_follow_the_language_templates_and_noisy_cues_keep_the_labels():
    rows = planted_nli_rows(60, seed=3, surface=True)
    negation = {"en": " not ", "de": " nicht ", "es": " no ", "fr": " pas "}
    for lang, lang_rows in rows.items():
        for premise, hypothesis, label in lang_rows:
            assert CUE_OF[premise.split()[0]] == label
            assert (negation[lang] in f" {hypothesis} ") == (label == "contradiction"), (lang, hypothesis)
            if label == "entailment":  # repeats a conjunct of the premise
                assert hypothesis in premise, (lang, premise, hypothesis)
    en = planted_nli_rows(400, seed=3, languages=("en",), surface=True, cue_noise=0.5)["en"]
    assert all((" not " in f" {h} ") == (y == "contradiction") for _, h, y in en)  # labels stay clean
    wrong_cue = sum(CUE_OF[p.split()[0]] != y for p, _, y in en)
    assert 160 <= wrong_cue <= 240  # about half of the cues name another label (200 expected)


@pytest.mark.slow
def test_quickstart_recovers_the_planted_gain_and_not_the_control(quickstart_board):
    rows = read_jsonl(quickstart_board)
    assert rows and all(r["synthetic"] is True for r in rows)
    assert len({round(r["value"], 6) for r in rows}) >= 5  # accuracies differ across cells
    for model in {r["model"] for r in rows}:  # ... and the `none` baseline differs across languages at every size
        base = {r["language"]: r["value"] for r in rows if r["model"] == model and r["intermediate"] == "none"
                and r["seed"] == 1 and r["metric"] == "accuracy"}
        assert len(set(base.values())) > 1, (model, base)
    res = CliRunner().invoke(main, ["leaderboard", "report", str(quickstart_board), "--json"])
    assert res.exit_code == 0, res.output
    gains = json.loads(res.output)["gains"]
    planted = [g for g in gains if g["intermediate"] == "mnli"]
    control = [g for g in gains if g["intermediate"] == "sst2"]
    assert len(planted) == 2 and len(control) == 2  # two sizes each
    assert all(g["synthetic"] for g in gains)
    recovered = [g["model"] for g in planted if g["en"]["lo"] > 0 and g["xx"]["lo"] > 0]
    assert recovered, [(g["model"], g["en"], g["xx"]) for g in planted]
    for g in control:  # the control finds no effect: every interval includes 0, at every size, en and xx
        for group in ("en", "xx"):
            assert g[group]["lo"] <= 0 <= g[group]["hi"], (g["model"], group, g[group])
    for g in planted:  # the baseline learns part of the task: above the majority class (41.67) in English
        assert g["en"]["baseline"] > 45, (g["model"], g["en"])
