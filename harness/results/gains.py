"""The scale report: gain of each intermediate setting over ``none``, per model size and target task.

For every (model, target task, split, metric, direction, variant) cell and every intermediate setting that has a
``none`` baseline in the same cell:

- ``en`` gain: English score(intermediate) − score(none); ``xx`` gain: the same on the unweighted mean over the
  non-English languages (zero-shot transfer). Scores are means over seeds; point estimates use the row values.
  A gain is an improvement: for a lower-is-better metric (``Metric.higher_is_better`` false, an error rate) it is
  score(none) − score(intermediate), so a positive gain always means the intermediate task helped;
- a paired bootstrap interval for each gain (over seeds and examples; :mod:`harness.results.bootstrap`);
- the transfer ratio ``xx gain / en gain`` with its bootstrap interval (undefined when the English gain's interval
  includes 0: a ratio over a gain that may be 0 has no meaning);
- per-language gains and per-seed gains (the raw points the figures draw).

Then, per (task, metric, intermediate, en|xx) and model group (``model_group``: one ladder of one model family,
such as the XLM-R sizes, the mT5 sizes or the layer truncations of one encoder; never a line across families),
the trend of the gain against parameter count: an ordinary
least-squares line of gain on log10(parameters) through the per-size gains, its slope's bootstrap interval
(each replicate refits the line on that replicate's gains) and a plain verdict: with one size there is no trend
to fit; when the slope's interval includes 0 there is no evidence of a trend.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from statistics import mean
from typing import Any

import numpy as np

from harness.results.aggregate import canonical_task, in_split, task_table
from harness.results.axis import axis_of, position
from harness.results.bootstrap import Scored, interval, languages_like_these, paired_replicates, scored
from harness.results.languages import is_english
from harness.results.multiplicity import apply_family, bootstrap_p, higher_is_better
from harness.toolkit.units import fmt_params  # noqa: F401  (re-exported: figures, html and the CLI import it here)

CELL_KEYS = ("model", "task", "split", "metric", "direction", "variant", "lang_pair")
_SIZE = re.compile(r"[-_](tiny|mini|small|base|medium|large|xl|xxl|\d+(\.\d+)?[kmb]?|\d+l(ayers?)?)$", re.I)


def model_group(row: dict[str, Any]) -> str:
    """The ladder a row's model belongs to (trends are fitted within one): the row's ``model_group`` when set,
    else its ``model_family`` plus the model id's base name without its size suffix (``google/mt5-small`` →
    ``mt5``), so a generic loader family (any hub encoder) does not merge different pretrained models."""
    if row.get("model_group"):
        return str(row["model_group"])
    stem = str(row.get("model_id") or row.get("model") or "").rstrip("/").split("/")[-1].split(":")[-1]
    while _SIZE.search(stem):
        stem = _SIZE.sub("", stem)
    family = row.get("model_family")
    if not family or family == stem:
        return stem or str(family or "-")
    a, b = (re.sub(r"[-_]", "", x.lower()) for x in (stem, family))
    return family if a.startswith(b) or b.startswith(a) else f"{family}/{stem}"


def report_metric(task: str, metrics: list[str]) -> str:
    """The metric a task's gains are reported on: the first benchmark metric its plugin declares that is present
    (QA → F1), else the first metric the file has for the task."""
    table = task_table()
    spec = table.get(canonical_task(task, table) or "")
    if spec is not None:
        for m in spec.metrics:
            if m in metrics:
                return m
    return metrics[0]


def task_parallel(task: str) -> str:
    """The task's ``parallel`` declaration (``TaskSpec.parallel``) from the installed plugins; ``""`` when the
    task is not installed (its items are then resampled per language)."""
    from harness.core.registry import registry

    tasks = registry().tasks
    norm = lambda x: x.lower().replace("-", "").replace("_", "")  # noqa: E731
    for t in tasks.values():
        if norm(task) in {norm(t.spec.name), *(norm(a) for a in t.spec.aliases)}:
            return t.spec.parallel
    return ""


def _rng(seed: int, key: tuple) -> np.random.Generator:
    digest = hashlib.sha256(repr(key).encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def _group_mean(values: dict[str, float], langs: list[str]) -> float | None:
    return mean(values[lang] for lang in langs) if langs else None


# why: one recipe read top to bottom (pair cells, resample, record, fit trends); its steps share the paired
# bootstrap state, and splitting them would only pass that state between helpers.
def gains(rows: list[dict[str, Any]], *, split: str | None = "test", metrics: dict[str, str] | None = None,
          n_boot: int = 1000, seed: int = 0, level: float = 0.95, baseline: str = "none",
          family: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """Gain records (see module docstring) and trends for every cell with a baseline; plus notes on skips.

    When the baseline has seeds an intermediate setting lacks (``--until-resolved`` gave them to another
    setting), that setting is compared on its own seeds only, paired.
    Every gain carries its bootstrap p-value and the Holm / Benjamini–Hochberg adjusted ones over the report's
    family (:mod:`harness.results.multiplicity`; ``family`` narrows it); ``verdict`` follows the Holm result."""
    notes: list[str] = []
    by_task_metrics: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["metric"] not in by_task_metrics[r["task"]]:
            by_task_metrics[r["task"]].append(r["metric"])
    chosen_metric = {t: (metrics or {}).get(t) or report_metric(t, ms) for t, ms in by_task_metrics.items()}

    cells: dict[tuple, dict[str, dict[tuple, dict]]] = defaultdict(lambda: defaultdict(dict))
    params: dict[str, int | None] = {}
    nonembed: dict[str, int | None] = {}
    groups: dict[str, str] = {}
    synthetic: dict[tuple, bool] = defaultdict(bool)
    for r in rows:
        if split is not None and (r.get("split") is None or not in_split(r, split)):
            continue
        if r["metric"] != chosen_metric[r["task"]] or r.get("language") == "avg":
            continue
        key = tuple(r.get(k) for k in CELL_KEYS)
        cells[key][r.get("intermediate") or "none"][(r.get("seed"), r["language"])] = r
        if r.get("model_params"):
            params[r["model"]] = r["model_params"]
        if r.get("model_params_nonembed"):
            nonembed[r["model"]] = r["model_params_nonembed"]
        groups.setdefault(r["model"], model_group(r))
        synthetic[(key, r.get("intermediate") or "none")] |= bool(r.get("synthetic"))

    records: list[dict[str, Any]] = []
    replicates: dict[int, dict[str, np.ndarray]] = {}
    for key, systems in sorted(cells.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        cell = dict(zip(CELL_KEYS, key))
        if baseline not in systems:
            notes.append(f"{cell['model']} / {cell['task']} ({cell['metric']}): no '{baseline}' rows, no gains")
            continue
        base_rows = systems[baseline]
        for inter, inter_rows in sorted(systems.items()):
            if inter == baseline:
                continue
            langs = sorted({lang for _, lang in base_rows} & {lang for _, lang in inter_rows})
            # keep only (seed, language) pairs complete for every seed of each system
            seeds_b = sorted({s for s, _ in base_rows}, key=str)
            seeds_o = sorted({s for s, _ in inter_rows}, key=str)
            if set(seeds_o) < set(seeds_b):  # the baseline has more seeds (adaptive seeds): pair on these
                seeds_b = seeds_o
            langs = [lang for lang in langs if all((s, lang) in base_rows for s in seeds_b)
                     and all((s, lang) in inter_rows for s in seeds_o)]
            if not langs:
                notes.append(f"{cell['model']} / {cell['task']} / {inter}: no language shared with '{baseline}'")
                continue
            en = [lang for lang in langs if is_english(lang)]
            xx = [lang for lang in langs if not is_english(lang)]
            sb: dict[tuple, Scored] = {(s, lang): scored(base_rows[(s, lang)]) for s in seeds_b for lang in langs}
            so: dict[tuple, Scored] = {(s, lang): scored(inter_rows[(s, lang)]) for s in seeds_o for lang in langs}
            per_lang_b = {lang: mean(sb[(s, lang)].value for s in seeds_b) for lang in langs}
            per_lang_o = {lang: mean(so[(s, lang)].value for s in seeds_o) for lang in langs}
            parallel = task_parallel(cell["task"])
            reps, method = paired_replicates(sb, so, langs, n_boot, _rng(seed, (*key, inter)), parallel=parallel)
            sign = 1.0 if higher_is_better(cell["metric"]) else -1.0  # gains are improvements (see module doc)
            rec: dict[str, Any] = {**cell, "model_params": params.get(cell["model"]),
                                   "model_params_nonembed": nonembed.get(cell["model"]),
                                   "higher_is_better": sign > 0, "gain_is_improvement": True,
                                   "predictions_missing": sum(c.missing for c in [*sb.values(), *so.values()]),
                                   "evaluations": len(sb) + len(so),
                                   "model_group": groups.get(cell["model"]), "intermediate": inter,
                                   "axis": axis_of(next(iter(base_rows.values()))),
                                   "synthetic": synthetic[(key, inter)] or synthetic[(key, baseline)],
                                   "parallel": parallel, "baseline": baseline, "seeds": seeds_o, "baseline_seeds": seeds_b,
                                   "languages": langs, "method": method, "n_boot": n_boot, "level": level,
                                   "bootstrap_seed": seed, "seeds_plan": next(
                                       (r["seeds_plan"] for r in inter_rows.values() if r.get("seeds_plan")), None)}
            group_reps: dict[str, np.ndarray] = {}
            for group, gl in (("en", en), ("xx", xx)):
                if not gl:
                    rec[group] = None
                    continue
                base_v, inter_v = _group_mean(per_lang_b, gl), _group_mean(per_lang_o, gl)
                diffs = [sign * (reps[lang][1] - reps[lang][0]) for lang in gl]
                g_reps = np.mean(diffs, axis=0)
                group_reps[group] = g_reps
                lo, hi = interval(g_reps, level)
                common = [s for s in seeds_b if s in seeds_o]
                gain = sign * (inter_v - base_v)
                rec[group] = {"baseline": base_v, "score": inter_v, "gain": gain, "lo": lo, "hi": hi,
                              "se": float(np.std(g_reps, ddof=1)) if n_boot > 1 else None,
                              "p": bootstrap_p(g_reps, gain),
                              "per_seed": {str(s): sign * mean(so[(s, lang)].value - sb[(s, lang)].value
                                                               for lang in gl) for s in common}}
                if group == "xx" and len(gl) >= 2:
                    pop = languages_like_these(diffs, _rng(seed, (*key, inter, "languages")))
                    plo, phi = interval(pop, level)
                    rec[group]["languages_like_these"] = {
                        "lo": plo, "hi": phi, "method": f"{method}; then the {len(gl)} languages drawn with "
                        "replacement: an interval for languages like these, not these languages"}
            rec["transfer_ratio"] = _ratio(rec, group_reps, level)
            rec["per_language"] = {lang: sign * (per_lang_o[lang] - per_lang_b[lang]) for lang in langs}
            skipped = sorted({c.note for c in [*sb.values(), *so.values()] if c.note})
            rec["bootstrap_notes"] = skipped
            replicates[len(records)] = group_reps
            records.append(rec)
    order = sorted(range(len(records)), key=lambda i: (
        str(records[i]["task"]), str(records[i]["metric"]), str(records[i]["model_group"]),
        records[i]["model_params"] or 0, records[i]["model"], records[i]["intermediate"]))
    records, replicates = [records[i] for i in order], {k: replicates[i] for k, i in enumerate(order)}
    fam = apply_family(records, level, family)
    return {"gains": records, "family": fam, "trends": trends(records, replicates, level), "notes": notes,
            "published": published_gains(rows, baseline),
            "metrics": chosen_metric, "split": split, "n_boot": n_boot, "seed": seed, "level": level}


def published_gains(rows: list[dict[str, Any]], baseline: str = "none") -> list[dict[str, Any]]:
    """Gains between published numbers (rows with a ``source``, language ``avg``): each intermediate row against
    every ``none`` row of the same model, task and metric, one record per baseline source. Point estimates only:
    published averages come without per-example predictions, so there is no interval."""
    pub = [r for r in rows if r.get("source") and r.get("language") == "avg" and r.get("variant") is None]
    out = []
    for r in pub:
        if (r.get("intermediate") or "none") == baseline:
            continue
        for b in pub:
            if ((b.get("intermediate") or "none") == baseline and b["model"] == r["model"] and b["task"] == r["task"]
                    and b["metric"] == r["metric"]):
                out.append({"model": r["model"], "model_params": r.get("model_params"), "task": r["task"],
                            "metric": r["metric"], "intermediate": r["intermediate"], "score": r["value"],
                            "baseline": b["value"], "gain": r["value"] - b["value"],
                            "source": r.get("config_name"), "baseline_source": b.get("config_name"),
                            "view": "published average over all languages (English included)"})
    return sorted(out, key=lambda g: (g["task"], g["metric"], g["model"], str(g["baseline_source"])))


def _ratio(rec: dict[str, Any], reps: dict[str, np.ndarray], level: float) -> dict[str, Any] | None:
    if rec.get("en") is None or rec.get("xx") is None:
        return None
    en, xx = rec["en"]["gain"], rec["xx"]["gain"]
    if en == 0:
        return {"value": None, "lo": None, "hi": None, "note": "undefined: the English gain is 0"}
    lo_en, hi_en = rec["en"]["lo"], rec["en"]["hi"]
    if lo_en <= 0 <= hi_en:  # the denominator may be 0: no ratio, whatever its point estimate
        return {"value": None, "lo": None, "hi": None, "point": xx / en,  # point: for the record, never shown
                "note": f"undefined: the English gain's {100 * level:g}% interval [{lo_en:+.2f}, {hi_en:+.2f}] "
                        "includes 0"}
    r = reps["en"]
    ok = r != 0
    ratios = reps["xx"][ok] / r[ok]
    lo, hi = interval(ratios, level) if ratios.size else (None, None)
    return {"value": xx / en, "lo": lo, "hi": hi, "point": xx / en, "note": None}


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    xm = x.mean()
    slope = float(((x - xm) * (y - y.mean())).sum() / ((x - xm) ** 2).sum())
    return slope, float(y.mean() - slope * xm)


def trends(records: list[dict[str, Any]], replicates: dict[int, dict[str, np.ndarray]],
           level: float = 0.95) -> list[dict[str, Any]]:
    """Per (task, metric, direction, variant, intermediate, model group, axis family, en|xx): the fit of the gain
    on the family's axis (log10 parameters, or layers of a depth ablation) and its verdict. Model groups
    (``model_group``) never share a line: a family's ladder is one trend."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, rec in enumerate(records):
        axis = rec.get("axis") or axis_of(rec)
        groups[(rec["task"], rec["split"], rec["metric"], rec["direction"], rec["variant"], rec["lang_pair"],
                rec["intermediate"], rec.get("model_group"), axis["family"])].append(i)
    out = []
    for (task, split, metric, direction, variant, lang_pair, inter, mgroup, fam), idxs in sorted(
            groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        axis = records[idxs[0]].get("axis") or axis_of(records[idxs[0]])
        for group in ("en", "xx"):
            pts = [((records[i].get("axis") or axis)["x"], records[i]["model"], records[i][group]["gain"],
                    replicates[i][group], records[i]["model_params"])
                   for i in idxs if records[i].get(group) is not None and group in replicates[i]]
            without = [records[i]["model"] for i in idxs if records[i].get(group) and not records[i]["model_params"]]
            pts = [p for p in pts if p[0]]
            if not pts:
                continue
            pts.sort(key=lambda p: p[0])
            sizes = sorted({p[0] for p in pts})
            entry: dict[str, Any] = {
                "task": task, "split": split, "metric": metric, "direction": direction, "variant": variant,
                "lang_pair": lang_pair, "intermediate": inter, "model_group": mgroup, "group": group,
                "n_sizes": len(sizes), "synthetic": any(records[i].get("synthetic") for i in idxs),
                "family": fam, "axis": axis["label"],
                "points": [{"model": m, "params": n, "x": x, "gain": g} for x, m, g, _, n in pts], "slope": None,
                "intercept": None, "lo": None, "hi": None, "band": None,
                "fit": (f"gain = intercept + slope · {'log10(parameters)' if axis['log'] else axis['label']}, OLS "
                        "over the per-size gains"),
                "models_without_params": without,
            }
            what = "model size" if axis["log"] else "depth"
            if len(sizes) < 2:
                entry["verdict"] = f"no trend: only one {what} ({pts[0][1]}), nothing to fit"
                out.append(entry)
                continue
            x = np.array([position({**axis, "x": p[0]}) for p in pts], dtype=np.float64)
            y = np.array([p[2] for p in pts])
            slope, intercept = _ols(x, y)
            reps = np.stack([p[3] for p in pts], axis=0)  # (points, B)
            xm = x.mean()
            slopes = ((x - xm)[:, None] * (reps - reps.mean(axis=0))).sum(axis=0) / ((x - xm) ** 2).sum()
            lo, hi = interval(slopes, level)
            intercepts = reps.mean(axis=0) - slopes * xm
            grid = np.linspace(x.min(), x.max(), 25)
            lines = intercepts[:, None] + slopes[:, None] * grid[None, :]       # (B, grid)
            q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
            band_lo, band_hi = np.percentile(lines, q, axis=0)
            entry["band"] = {"x": (10 ** grid if axis["log"] else grid).tolist(), "lo": band_lo.tolist(),
                             "hi": band_hi.tolist(),
                             "what": f"pointwise {100 * level:g}% bootstrap band of the fitted line"}
            entry.update(slope=slope, intercept=intercept, lo=lo, hi=hi,
                         slope_replicates_sd=float(np.std(slopes, ddof=1)) if slopes.size > 1 else None)
            pct = f"{100 * level:g}%"
            if lo == hi == 0 and slope == 0:
                verdict = f"no trend: the gain is the same at every {what} (every bootstrap replicate agrees)"
            elif lo <= 0 <= hi:
                verdict = (f"no trend: the slope {slope:+.2f} per {axis['unit']} has a {pct} interval "
                           f"[{lo:+.2f}, {hi:+.2f}] that includes 0")
            else:
                way = "grows" if slope > 0 else "shrinks"
                verdict = (f"the gain {way} with {'scale' if axis['log'] else 'depth'}: {slope:+.2f} per "
                           f"{axis['unit']}, {pct} interval "
                           f"[{lo:+.2f}, {hi:+.2f}]")
            if len(sizes) == 2:
                verdict += f" (two {'sizes' if axis['log'] else 'depths'} only: the line passes through both points)"
            if max(len(records[i]["seeds"]) for i in idxs) < 2:
                verdict += (f"; one seed per {what}: the interval covers example sampling, not training-seed "
                            "variance")
            entry["verdict"] = verdict
            out.append(entry)
    return out


def fmt_gain(g: dict[str, Any] | None, rec: dict[str, Any] | None = None) -> str:
    """``+1.50 [-0.20, +3.10]``; with the gain record ``rec``, marked when some of its predictions are missing."""
    if g is None:
        return "-"
    text = f"{g['gain']:+.2f} [{g['lo']:+.2f}, {g['hi']:+.2f}]"
    return text + missing_marker(rec) if rec else text


def missing_marker(rec: dict[str, Any]) -> str:
    """`` (predictions missing: k/n evaluations seeds only)`` for a gain whose interval lacks some predictions."""
    k = rec.get("predictions_missing") or 0
    return f" (predictions missing: {k}/{rec.get('evaluations')} evaluations seeds only)" if k else ""


def metric_label(rec: dict[str, Any]) -> str:
    """The metric's name, with ``(lower is better; gain = none − it)`` for a lower-is-better metric."""
    if rec.get("higher_is_better", True):
        return str(rec["metric"])
    return f"{rec['metric']} (lower is better; gain = {rec.get('baseline', 'none')} − it)"


def fmt_ratio(r: dict[str, Any] | None) -> str:
    if r is None:
        return "-"
    if r["value"] is None:
        return "undefined"
    s = f"{r['value']:.2f}"
    if r["lo"] is not None and math.isfinite(r["lo"]) and math.isfinite(r["hi"]):
        s += f" [{r['lo']:.2f}, {r['hi']:.2f}]"
    return s + (" *" if r.get("note") else "")
