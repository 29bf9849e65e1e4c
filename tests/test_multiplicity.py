"""Multiplicity control (issue 27): Holm and Benjamini–Hochberg equal statsmodels, the report states its family,
verdicts follow the adjusted result and the metric's direction, ``--family`` narrows the family."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_report import write_demo

from harness.results.gains import gains
from harness.results.leaderboard import load_rows
from harness.results.multiplicity import benjamini_hochberg, bootstrap_p, holm, parse_family, verdict

P = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.6, 0.001]


def test_holm_and_bh_equal_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    for p in (P, [0.5], [0.02, 0.02, 0.02], list(np.random.default_rng(0).uniform(0, 0.1, 30))):
        want_holm = multitest.multipletests(p, method="holm")[1]
        want_bh = multitest.multipletests(p, method="fdr_bh")[1]
        np.testing.assert_allclose(holm(p), want_holm, rtol=0, atol=1e-12)
        np.testing.assert_allclose(benjamini_hochberg(p), want_bh, rtol=0, atol=1e-12)


def test_holm_and_bh_by_hand():
    # Holm: sorted 0.01, 0.02, 0.03 × 3, 2, 1 = 0.03, 0.04, 0.03 -> running max 0.03, 0.04, 0.04
    assert holm([0.03, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    # BH: 0.03·3/3, 0.02·3/2, 0.01·3/1 = 0.03, 0.03, 0.03
    assert benjamini_hochberg([0.03, 0.01, 0.02]) == pytest.approx([0.03, 0.03, 0.03])


def test_bootstrap_p_by_hand():
    from statistics import NormalDist

    reps = np.array([-1.0, 1, 3, 5])   # mean 2; deviations -3, -1, 1, 3: variance 20/3 (ddof 1)
    se = np.sqrt(20 / 3)
    assert bootstrap_p(reps) == pytest.approx(2 * (1 - NormalDist().cdf(2 / se)))
    assert bootstrap_p(reps, estimate=-2.0) == bootstrap_p(reps)
    assert bootstrap_p(np.zeros(99)) == 1.0 and bootstrap_p(np.ones(99)) == 0.0
    # no floor at 2/(B+1): a clear gain survives Holm over a family of 54
    far = np.random.default_rng(0).normal(10.0, 1.0, 1000)
    assert bootstrap_p(far) * 54 < 1e-6


def test_verdict_follows_direction_and_adjustment():
    assert verdict(+3.0, 0.01, 0.05, True).startswith("helps")
    assert verdict(+3.0, 0.01, 0.05, False).startswith("hurts")      # an error rate that went up
    assert verdict(+3.0, 0.08, 0.05, True).startswith("no evidence")  # raw p may be < 0.05, adjusted is not


def test_report_states_family_and_adjusts(tmp_path):
    rows = load_rows(write_demo(tmp_path))
    rep = gains(rows, n_boot=400, seed=0)
    fam = rep["family"]
    members = [(g, grp) for g in rep["gains"] for grp in ("en", "xx") if g.get(grp)]
    assert fam["size"] == len(members) and fam["description"].startswith(f"{len(members)} comparisons")
    ps = [g[grp]["p"] for g, grp in members]
    assert [g[grp]["p_holm"] for g, grp in members] == pytest.approx(holm(ps))
    assert [g[grp]["p_bh"] for g, grp in members] == pytest.approx(benjamini_hochberg(ps))
    for g, grp in members:
        c = g[grp]
        assert c["p_holm"] >= c["p"] and c["verdict"].split(" ")[0] in ("helps", "hurts", "no")
        if c["p_holm"] >= 0.05:
            assert c["verdict"].startswith("no evidence")
    narrowed = gains(rows, n_boot=400, seed=0, family=parse_family(["task=xnli", "group=xx"]))
    nf = narrowed["family"]
    assert nf["size"] == 2 and "narrowed by --family group=xx task=xnli" in nf["description"]
    outside = [g for g in narrowed["gains"] if g["task"] != "xnli"]
    assert outside and all(g["en"]["verdict"] == "outside the family (not adjusted)" for g in outside)
    inside = [g["xx"] for g in narrowed["gains"] if g["task"] == "xnli"]
    assert [c["p_holm"] for c in inside] == pytest.approx(holm([c["p"] for c in inside]))


def test_family_spec_errors_name_the_keys():
    with pytest.raises(ValueError, match="expected KEY=VALUE.*model, task"):
        parse_family(["language=de"])
