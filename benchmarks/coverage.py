"""Coverage of the report's 95 % intervals on simulated studies with a known gain (issue 27).

Each simulated study compares a setting with its baseline on ``L`` parallel test sets of ``n`` items (the same
items in every language), ``S`` training seeds per system. Per item ``i`` and language ``l`` (latent scale):

- difficulty ``d_il`` and the setting's item gain ``g_il`` are correlated across languages: each is
  ``√ρ · (item part) + √(1−ρ) · (language part)``, standard normal times ``sd_difficulty`` / ``sd_item_gain``;
- each training run (system, seed) shifts every item by a seed offset ``N(0, sd_seed²)``;
- language ``l`` has a fixed offset ``c_l``; the setting adds the planted effect ``delta``;
- an item is right with probability ``Φ(c_l + d_il [+ delta + g_il] + seed offset)``.

The true gain is the population value (items and seeds drawn anew), exactly
``Φ((c_l + δ)/√(1 + sd_d² + sd_g² + sd_s²)) − Φ(c_l/√(1 + sd_d² + sd_s²))`` per language (×100), averaged over
languages: what the study's cross-language mean estimates. For every study the report's bootstrap
(:func:`harness.results.bootstrap.paired_replicates`) gives the interval twice: the joint method (seeds, then
items drawn once for all languages, seed level corrected) and the old one (items drawn per language, no seed
correction). Coverage = how often the interval holds the true gain.

Run: ``python benchmarks/coverage.py [--studies 1000] [--n-boot 1000] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import math
import time
from statistics import NormalDist

import numpy as np

from harness.results.bootstrap import Scored, interval, paired_replicates

PHI = NormalDist().cdf
DEFAULTS = {"languages": 5, "items": 200, "seeds": 5, "rho": 0.6, "delta": 0.3, "sd_difficulty": 1.0,
            "sd_item_gain": 0.8, "sd_seed": 0.1}


def true_gain(p: dict) -> float:
    """The population xx gain (points) of the design ``p``."""
    offsets = np.linspace(-0.5, 0.5, p["languages"])
    v0 = 1 + p["sd_difficulty"] ** 2 + p["sd_seed"] ** 2
    v1 = v0 + p["sd_item_gain"] ** 2
    return 100 * float(np.mean([PHI((c + p["delta"]) / math.sqrt(v1)) - PHI(c / math.sqrt(v0)) for c in offsets]))


def _correlated(rng: np.random.Generator, n: int, langs: int, rho: float, sd: float) -> np.ndarray:
    return sd * (math.sqrt(rho) * rng.standard_normal((n, 1)) + math.sqrt(1 - rho) * rng.standard_normal((n, langs)))


def study(p: dict, rng: np.random.Generator) -> tuple[dict, dict, list[str]]:
    """One simulated study: ``(base, other, languages)`` in the form ``paired_replicates`` takes."""
    n, langs = p["items"], [f"l{k}" for k in range(p["languages"])]
    offsets = np.linspace(-0.5, 0.5, len(langs))[None, :]
    d = _correlated(rng, n, len(langs), p["rho"], p["sd_difficulty"])
    g = _correlated(rng, n, len(langs), p["rho"], p["sd_item_gain"])
    systems: list[dict] = [{}, {}]
    for which, latent in enumerate((offsets + d, offsets + d + p["delta"] + g)):
        for s in range(p["seeds"]):
            shifted = latent + p["sd_seed"] * rng.standard_normal()
            right = 100.0 * (shifted + rng.standard_normal(shifted.shape) > 0)   # P(right) = Φ(shifted)
            for k, lang in enumerate(langs):
                vec = right[:, k]
                systems[which][(s, lang)] = Scored(float(vec.mean()), ids=[f"test-{lang}-{i}" for i in range(n)],
                                                   vector=vec)
    return systems[0], systems[1], langs


def simulate(studies: int = 1000, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
             **design: float) -> dict:
    """Coverage of the joint and the old independent method over ``studies`` simulated studies."""
    p = {**DEFAULTS, **design}
    truth = true_gain(p)
    rng = np.random.default_rng(seed)
    hits = {"joint": 0, "independent": 0}
    widths: dict[str, list[float]] = {"joint": [], "independent": []}
    for _ in range(studies):
        base, other, langs = study(p, rng)
        for name, kw in (("joint", {"parallel": "items"}), ("independent", {"parallel": "", "seed_correction": False})):
            reps, _ = paired_replicates(base, other, langs, n_boot, np.random.default_rng(rng.integers(2**63)), **kw)
            xx = np.mean([reps[lang][1] - reps[lang][0] for lang in langs], axis=0)
            lo, hi = interval(xx, level)
            hits[name] += lo <= truth <= hi
            widths[name].append(hi - lo)
    return {"studies": studies, "true_gain": truth, "design": p,
            **{k: v / studies for k, v in hits.items()},
            **{f"{k}_width": float(np.mean(v)) for k, v in widths.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=1000)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    for k, v in DEFAULTS.items():
        ap.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v)
    args = ap.parse_args()
    design = {k: getattr(args, k) for k in DEFAULTS}
    t0 = time.perf_counter()
    out = simulate(args.studies, args.n_boot, args.seed, **design)
    se = math.sqrt(0.95 * 0.05 / args.studies)
    print(f"design: {design}; true xx gain {out['true_gain']:.3f} points")
    print(f"joint method (seeds, then items across languages, seed spread corrected): coverage "
          f"{100 * out['joint']:.1f}% (mean width {out['joint_width']:.2f})")
    print(f"old independent method (items per language, no seed correction): coverage "
          f"{100 * out['independent']:.1f}% (mean width {out['independent_width']:.2f})")
    print(f"{args.studies} studies × {args.n_boot} replicates in {time.perf_counter() - t0:.0f} s; a coverage "
          f"estimate's standard error at 95% is {100 * se:.1f} points")


if __name__ == "__main__":
    main()
