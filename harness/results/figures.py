"""Figures of the scale report (matplotlib, each saved as PNG and SVG).

- ``gain_vs_params-TASK``: gain over ``none`` against parameter count (log axis), English and cross-lingual
  panels; the raw per-seed gains as dots, the per-size mean with its bootstrap interval, and one fitted trend line
  per model group (a family's ladder; a marker per group), never one line across families. A line and its band
  are drawn through :data:`MIN_FIT_POINTS` sizes or more only: through two points any line fits exactly.
- ``heatmap-MODEL``: cross-lingual gain of every intermediate × target task for one model size; every model's map
  shares one colour scale (the largest gain in any of them), so equal colours are equal gains.
- ``languages-TASK-METRIC-INTERMEDIATE``: per-language gains (a bar per model size) grouped by language family.

Files are deterministic for a given input (no timestamps, fixed SVG ids).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.results.axis import axis_of
from harness.toolkit.units import fmt_params

# Language family of the XTREME / XTREME-R / XNLI languages (ISO 639-1, or 639-3 when there is no 1 code).
LANGUAGE_FAMILY: dict[str, str] = {
    **dict.fromkeys("af bg bn de el en es fa fr hi it mr nl pt ru ur lt pl ro uk mk sr hr cs sk sl da sv no is "
                    "ga cy gd lv pa gu ne si ps ku hy sq be ca gl lb".split(), "Indo-European"),
    **dict.fromkeys("ar he am ti mt ha so".split(), "Afro-Asiatic"),
    **dict.fromkeys("id jv ms tl mg ceb su".split(), "Austronesian"),
    **dict.fromkeys("vi km".split(), "Austro-Asiatic"),
    **dict.fromkeys("ml ta te kn".split(), "Dravidian"),
    **dict.fromkeys("et fi hu".split(), "Uralic"),
    **dict.fromkeys("kk tr az uz ky tk tt ug".split(), "Turkic"),
    **dict.fromkeys("zh my bo".split(), "Sino-Tibetan"),
    **dict.fromkeys("sw yo wo ig zu xh sn lg rw qu".split(), "Niger-Congo"),
    "ja": "Japonic", "ko": "Koreanic", "ka": "Kartvelian", "th": "Kra-Dai", "lo": "Kra-Dai", "eu": "Basque (isolate)",
    "ht": "Creole", "qu": "Quechuan", "et_": "Uralic",
}
FAMILY_ORDER = ["Indo-European", "Afro-Asiatic", "Austronesian", "Austro-Asiatic", "Dravidian", "Uralic", "Turkic",
                "Sino-Tibetan", "Niger-Congo", "Japonic", "Koreanic", "Kartvelian", "Kra-Dai", "Basque (isolate)",
                "Creole", "Quechuan", "other"]


def family(language: str) -> str:
    """The family of a language code (``de``, ``deu_Latn``, ``de-DE`` …); ``other`` when unknown."""
    code = re.split(r"[-_]", language.lower())[0]
    iso3 = {"deu": "de", "fra": "fr", "spa": "es", "rus": "ru", "hin": "hi", "urd": "ur", "zho": "zh", "cmn": "zh",
            "arb": "ar", "ara": "ar", "swh": "sw", "swa": "sw", "vie": "vi", "eng": "en", "jpn": "ja", "kor": "ko"}
    return LANGUAGE_FAMILY.get(iso3.get(code, code), "other")


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "xlt-harness"
    return plt


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        p = out_dir / f"{stem}.{ext}"
        fig.savefig(p, dpi=110 if ext == "png" else None, bbox_inches="tight", metadata=meta)
        paths.append(p)
    return paths


MIN_FIT_POINTS = 3  # fewer sizes: the trend's slope is in the table, no line or band on the figure


def draws_fit(trend: dict[str, Any] | None) -> bool:
    """Whether a trend's fitted line and band are drawn: a slope, through at least :data:`MIN_FIT_POINTS` sizes."""
    return bool(trend and trend.get("slope") is not None and trend.get("n_sizes", 0) >= MIN_FIT_POINTS)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", str(text)).strip("_") or "x"


def gain_vs_params(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """One figure per target task (and metric): gain vs parameters, raw seed points, interval bars, trend line."""
    import numpy as np

    plt = _mpl()
    by_task: dict[tuple, list[dict]] = defaultdict(list)
    for rec in report["gains"]:  # one figure per axis family too: a depth ablation is never on a size axis
        rec = {**rec, "axis": rec.get("axis") or axis_of(rec)}
        by_task[(rec["task"], rec["metric"], rec["direction"], rec["variant"], rec["lang_pair"],
                 rec["axis"]["family"])].append(rec)
    trend_of = {(t["task"], t["metric"], t["direction"], t["variant"], t["lang_pair"], t["intermediate"],
                 t.get("model_group"), t.get("family", "parameters"), t["group"]): t for t in report["trends"]}
    written = []
    for key, recs in sorted(by_task.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        recs = [{**r, "model_params": r["axis"]["x"]} for r in recs if r["axis"]["x"]]  # x on the family's axis
        if not recs:
            continue
        axis = recs[0]["axis"]
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        inters = sorted({r["intermediate"] for r in recs})
        mgroups = sorted({str(r.get("model_group")) for r in recs})
        colors = {i: plt.cm.tab10(k % 10) for k, i in enumerate(inters)}
        markers = {g: "osD^v<>P*X"[k % 10] for k, g in enumerate(mgroups)}
        for ax, group, title in ((axes[0], "en", "English (in-language)"), (axes[1], "xx", "cross-lingual (mean)")):
            for k, inter in enumerate(inters):
                jitter = 1.0 + 0.03 * (k - (len(inters) - 1) / 2)
                for mgroup in mgroups:  # one ladder per model group: points and trend never cross families
                    pts = [r for r in recs if r["intermediate"] == inter and r.get(group)
                           and str(r.get("model_group")) == mgroup]
                    if not pts:
                        continue
                    label = inter if len(mgroups) == 1 else f"{inter} · {mgroup}"
                    for r in pts:
                        seeds = list(r[group]["per_seed"].values())
                        ax.scatter([r["model_params"] * jitter] * len(seeds), seeds, s=14, alpha=0.45,
                                   color=colors[inter], marker=markers[mgroup], linewidths=0)
                    xs = np.array([r["model_params"] * jitter for r in pts], dtype=float)
                    ys = np.array([r[group]["gain"] for r in pts])
                    err = np.array([[r[group]["gain"] - r[group]["lo"] for r in pts],
                                    [r[group]["hi"] - r[group]["gain"] for r in pts]])
                    t = trend_of.get((*key[:5], inter, pts[0].get("model_group"), key[5], group))
                    if t and not draws_fit(t) and t.get("n_sizes", 0) > 1:
                        label += f" ({t['n_sizes']} {'sizes' if axis['log'] else 'depths'}: no line)"
                    ax.errorbar(xs, ys, yerr=err, fmt=markers[mgroup], color=colors[inter], capsize=3, label=label)
                    if not draws_fit(t):
                        continue
                    lo_x, hi_x = min(p["x"] for p in t["points"]), max(p["x"] for p in t["points"])
                    gx = np.geomspace(lo_x, hi_x, 50) if axis["log"] else np.linspace(lo_x, hi_x, 50)
                    ax.plot(gx, t["intercept"] + t["slope"] * (np.log10(gx) if axis["log"] else gx), "--",
                            color=colors[inter], lw=1,
                            label=f"{label} fit: {t['slope']:+.2f}/{'10×' if axis['log'] else 'layer'} "
                                  f"[{t['lo']:+.2f}, {t['hi']:+.2f}]")
                    if t.get("band"):
                        ax.fill_between(t["band"]["x"], t["band"]["lo"], t["band"]["hi"], color=colors[inter],
                                        alpha=0.12, linewidth=0)
            ax.axhline(0, color="grey", lw=0.8)
            if axis["log"]:
                ax.set_xscale("log")
            ax.set_xlabel(axis["label"])
            ax.set_title(title)
            if ax.get_legend_handles_labels()[0]:  # an empty panel (no English rows): no legend
                ax.legend(fontsize=7, loc="best")
        axes[0].set_ylabel(f"gain over none ({key[1]}, points)")
        level = f"{100 * report.get('level', 0.95):g}%"
        synthetic = " · SYNTHETIC data" if any(r.get("synthetic") for r in recs) else ""
        what = "model size" if axis["log"] else axis["label"]
        fig.suptitle(f"{key[0]}: gain of intermediate training vs {what}, one line per model family with "
                     f"{MIN_FIT_POINTS}+ {'sizes' if axis['log'] else 'depths'} "
                     f"(dots: seeds; bars: {level} bootstrap){synthetic}", fontsize=10)
        stem = "gain_vs_params" if axis["log"] else "gain_vs_depth"
        written += _save(fig, out_dir, f"{stem}-{_slug(key[0])}-{_slug(key[1])}")
        plt.close(fig)
    return written


def heatmaps(report: dict[str, Any], out_dir: Path, group: str = "xx") -> list[Path]:
    """One heat map per model size: intermediate (rows) × target task (columns), cell = gain."""
    import numpy as np

    plt = _mpl()
    by_model: dict[str, list[dict]] = defaultdict(list)
    for rec in report["gains"]:
        if rec.get(group):
            by_model[rec["model"]].append(rec)
    cells = [r[group]["gain"] for recs in by_model.values() for r in recs]
    lim = max((abs(v) for v in cells if v == v), default=0.0) or 1.0  # one scale for every model's map
    written = []
    for model, recs in sorted(by_model.items(), key=lambda kv: (kv[1][0].get("model_params") or 0, kv[0])):
        inters = sorted({r["intermediate"] for r in recs})
        targets = sorted({f"{r['task']}·{r['metric']}" for r in recs})
        grid = np.full((len(inters), len(targets)), np.nan)
        for r in recs:
            grid[inters.index(r["intermediate"]), targets.index(f"{r['task']}·{r['metric']}")] = r[group]["gain"]
        fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(targets), 1.2 + 0.6 * len(inters)))
        im = ax.imshow(grid, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_xticks(range(len(targets)), targets, rotation=30, ha="right")
        ax.set_yticks(range(len(inters)), inters)
        for i in range(len(inters)):
            for j in range(len(targets)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:+.1f}", ha="center", va="center", fontsize=8)
        fig.colorbar(im, ax=ax, label="gain over none")
        params = fmt_params(recs[0].get("model_params"))
        ax.set_title(f"{model} ({params}): {'cross-lingual' if group == 'xx' else 'English'} gain")
        written += _save(fig, out_dir, f"heatmap-{_slug(model)}")
        plt.close(fig)
    return written


def language_families(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """One figure per target task and intermediate: per-language gains (one bar per model size), languages
    grouped and labelled by family."""
    import numpy as np

    plt = _mpl()
    by_task: dict[tuple, list[dict]] = defaultdict(list)
    for rec in report["gains"]:
        by_task[(rec["task"], rec["metric"], rec["intermediate"])].append(rec)
    written = []
    for (task, metric, inter), recs in sorted(by_task.items()):
        langs = sorted({lang for r in recs for lang in r["per_language"]},
                       key=lambda lang: (FAMILY_ORDER.index(family(lang)) if family(lang) in FAMILY_ORDER else 99,
                                         lang))
        recs = sorted(recs, key=lambda r: (r.get("model_params") or 0, r["model"], str(r["direction"])))
        series = [(f"{r['model']} ({fmt_params(r.get('model_params'))})"
                   + (f" {r['direction']}" if r.get("direction") else ""), r["per_language"]) for r in recs]
        width = 0.8 / max(1, len(series))
        fig, ax = plt.subplots(figsize=(min(24.0, max(6.0, 0.45 * len(langs) + 2)), 4))
        x = np.arange(len(langs))
        for k, (label, per_lang) in enumerate(series):
            ax.bar(x + (k - (len(series) - 1) / 2) * width, [per_lang.get(lang, np.nan) for lang in langs], width,
                   label=label)
        ax.set_xticks(x, [f"{lang}\n{family(lang)[:10]}" for lang in langs], fontsize=7)
        prev = None
        for i, lang in enumerate(langs):  # separators between families
            if prev is not None and family(lang) != prev:
                ax.axvline(i - 0.5, color="grey", lw=0.6, ls=":")
            prev = family(lang)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylabel(f"gain over none ({metric})")
        ax.set_title(f"{task}: per-language gain of {inter} over none, by language family")
        ax.legend(fontsize=7)
        written += _save(fig, out_dir, f"languages-{_slug(task)}-{_slug(metric)}-{_slug(inter)}")
        plt.close(fig)
    return written


MANIFEST = ".figures.json"  # the names of the files the last call of all_figures wrote into a folder


def read_figure_manifest(out_dir: str | Path) -> list[str]:
    """Names of the figures an earlier :func:`all_figures` wrote into ``out_dir`` (the only files it replaces)."""
    import json

    try:
        names = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str) and "/" not in n and n != MANIFEST] if isinstance(names, list) else []


def all_figures(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Every figure of the report, PNG and SVG, into ``out_dir`` (their names recorded in :data:`MANIFEST`)."""
    import json

    out = Path(out_dir)
    made = gain_vs_params(report, out) + heatmaps(report, out) + language_families(report, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).write_text(json.dumps(sorted(p.name for p in made)), encoding="utf-8")
    return made
