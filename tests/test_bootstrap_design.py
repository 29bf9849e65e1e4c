"""The bootstrap follows the design (issue 27): items jointly across parallel languages, seeds as their own level
with the small-sample correction, languages resampled apart; values checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from harness.results.bootstrap import Scored, item_key, languages_like_these, paired_replicates, seed_scale

N = 10


def _cell(right: list[int], lang: str) -> Scored:
    vec = np.array([100.0 if i in right else 0.0 for i in range(N)])
    return Scored(float(vec.mean()), ids=[f"test-{lang}-{i}" for i in range(N)], vector=vec)


def _systems(langs=("de", "sw")):
    # base gets nothing right; the other system gets items 0..4 right in every language: the same items gain
    base = {(1, lang): _cell([], lang) for lang in langs}
    other = {(1, lang): _cell(list(range(5)), lang) for lang in langs}
    return base, other


def _xx(reps, langs=("de", "sw")):
    return np.mean([reps[lang][1] - reps[lang][0] for lang in langs], axis=0)


def test_item_key_drops_the_language():
    assert item_key("test-de-3", {"de"}) == "test-3" == item_key("test-sw-3", {"sw"})
    assert item_key("56beb4343aeaaa14008c925b", {"de"}) == "56beb4343aeaaa14008c925b"  # XQuAD ids are shared


def test_joint_resampling_widens_the_interval_by_hand():
    """Per language the gain replicate is 100·X/10 with X ~ Binomial(10, 1/2): variance 100²·(1/4)/10 = 250.
    Jointly (the same draw in de and sw) the xx mean keeps variance 250; drawn per language it halves to 125."""
    base, other = _systems()
    B = 40_000
    joint, method = paired_replicates(base, other, ["de", "sw"], B, np.random.default_rng(0), parallel="items")
    indep, method_i = paired_replicates(base, other, ["de", "sw"], B, np.random.default_rng(0), parallel="")
    assert "items jointly across 2 languages" in method and "not parallel" in method_i
    assert np.var(_xx(joint)) == pytest.approx(250.0, rel=0.03)
    assert np.var(_xx(indep)) == pytest.approx(125.0, rel=0.03)
    # the joint replicates of de and sw are the same numbers (one draw); independent ones are not
    assert np.array_equal(joint["de"][1], joint["sw"][1]) and not np.array_equal(indep["de"][1], indep["sw"][1])
    lo_j, hi_j = np.percentile(_xx(joint), [2.5, 97.5])
    lo_i, hi_i = np.percentile(_xx(indep), [2.5, 97.5])
    assert (lo_j, hi_j) == (20.0, 80.0)     # quantiles of 10·Binomial(10, 1/2): 2 and 8 right
    assert hi_j - lo_j > hi_i - lo_i        # the old, independent interval is too narrow


def test_partly_shared_items_are_drawn_from_their_union():
    """MLQA's layout: a question keeps its id where it appears; de has items 0..9, ar only 0..4."""
    base = {(1, "de"): _cell([], "de"), (1, "ar"): Scored(0.0, ids=[f"q{i}" for i in range(5)], vector=np.zeros(5))}
    base[(1, "de")].ids = [f"q{i}" for i in range(N)]
    other = {(1, "de"): Scored(50.0, ids=[f"q{i}" for i in range(N)], vector=np.array([100.0] * 5 + [0.0] * 5)),
             (1, "ar"): Scored(100.0, ids=[f"q{i}" for i in range(5)], vector=np.full(5, 100.0))}
    reps, method = paired_replicates(base, other, ["ar", "de"], 200, np.random.default_rng(1), parallel="items")
    assert "10 items, not all in every language" in method
    assert np.all(reps["ar"][1] == 100.0)   # ar's items are all right whichever are drawn


def test_declared_parallel_without_shared_ids_says_so():
    base = {(1, "de"): Scored(0.0, ids=["a", "b"], vector=np.zeros(2)), (1, "sw"): Scored(0.0, ids=["c", "d"],
                                                                                          vector=np.zeros(2))}
    _, method = paired_replicates(base, dict(base), ["de", "sw"], 10, np.random.default_rng(0), parallel="items")
    assert "declared parallel, but no item id is shared" in method


def test_seed_level_small_sample_correction_by_hand():
    """Two seeds, values 0 and 10 (no items): resampled means 0, 5, 10 with probabilities ¼, ½, ¼, variance
    12.5 = (n−1)/n of the unbiased 25; scaled by √2 the replicates are 5 ∓ 5√2 and their variance is 25."""
    assert seed_scale(2) == pytest.approx(np.sqrt(2)) and seed_scale(1) == 1.0
    base = {(s, "de"): Scored(0.0) for s in (1, 2)}
    other = {(1, "de"): Scored(0.0), (2, "de"): Scored(10.0)}
    B = 40_000
    reps, method = paired_replicates(base, other, ["de"], B, np.random.default_rng(0))
    assert set(np.round(reps["de"][1], 9)) == {round(5 - 5 * np.sqrt(2), 9), 5.0, round(5 + 5 * np.sqrt(2), 9)}
    assert np.var(reps["de"][1]) == pytest.approx(25.0, rel=0.03)
    assert "seed component uncertain with < 3 seeds" in method and method.startswith("seeds only (2 seeds")
    old, _ = paired_replicates(base, other, ["de"], B, np.random.default_rng(0), seed_correction=False)
    assert np.var(old["de"][1]) == pytest.approx(12.5, rel=0.03)    # the old estimate: half the variance
    _, one = paired_replicates({(1, "de"): Scored(0.0)}, {(1, "de"): Scored(1.0)}, ["de"], 5,
                               np.random.default_rng(0))
    assert "training-seed variance not covered" in one


def test_languages_like_these_by_hand():
    # two languages whose gains are always 0 and 10: drawing languages gives 0, 5 or 10 (¼, ½, ¼)
    reps = languages_like_these([np.zeros(40_000), np.full(40_000, 10.0)], np.random.default_rng(0))
    assert set(reps) == {0.0, 5.0, 10.0} and reps.mean() == pytest.approx(5.0, abs=0.1)
    assert np.var(reps) == pytest.approx(12.5, rel=0.03)


def test_coverage_simulation_small_seeded():
    """The benchmark (benchmarks/coverage.py) in small: 60 studies; joint covers, independent under-covers."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "coverage.py"
    spec = importlib.util.spec_from_file_location("coverage_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.simulate(studies=60, n_boot=300, seed=7, rho=0.95, items=100)
    # seeded: recorded once (joint 59/60, independent 56/60); the joint interval is wider by the correlation
    assert (round(out["joint"] * 60), round(out["independent"] * 60)) == (59, 56)
    assert out["joint_width"] > 1.2 * out["independent_width"]
