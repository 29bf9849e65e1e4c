"""A static leaderboard page: sortable tables, the figures, and the provenance of every row.

One ``index.html`` (inline CSS and JavaScript, no external requests) plus ``figures/*.png|svg`` beside it,
linked relatively, so the folder opens from the file system (``file://``) with no server. Clicking a column
header sorts the table by it (numbers numerically, again to reverse).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from harness.results.caveats import caveats
from harness.results.figures import all_figures, read_figure_manifest
from harness.results.gains import fmt_gain, fmt_ratio, metric_label
from harness.results.html_parts import SIZE_HEAD, benchmark_section, size_cells, splits_of, task_section
from harness.results.html_parts import cell as _cell
from harness.results.html_parts import table as _table
from harness.results.leaderboard import SOURCE_KEY, SYNTHETIC_TITLE

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem;color:#222;max-width:min(100rem,100%)}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.wide{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;font-size:.82rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:.85rem}.synthetic{background:#fff3cd;border:1px solid #e0c36c;padding:.5rem .8rem}
.figures{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:.5rem;max-width:100%}
figure img{max-width:min(46rem,100%);height:auto;border:1px solid #eee}
code{font-size:.78rem}details summary{cursor:pointer;margin:.5rem 0}
.caveats{background:#f4f6fb;border:1px solid #c9d3e6;padding:.2rem .9rem;font-size:.88rem}
"""

_JS = """
function cellValue(td){const v=td.getAttribute('data-sort');const t=v!==null?v:td.textContent.trim();
  const n=parseFloat(t);return (t!==''&&!isNaN(n)&&/^[-+]?[0-9.]/.test(t))?n:t.toLowerCase();}
function sortTable(th){const table=th.closest('table');const idx=Array.from(th.parentNode.children).indexOf(th);
  const asc=th.getAttribute('aria-sort')!=='ascending';
  table.querySelectorAll('th').forEach(h=>h.removeAttribute('aria-sort'));
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  const body=table.tBodies[0];const rows=Array.from(body.rows);
  rows.sort((a,b)=>{const x=cellValue(a.cells[idx]),y=cellValue(b.cells[idx]);
    if(typeof x===typeof y){return (x<y?-1:x>y?1:0)*(asc?1:-1);} return (typeof x==='number'?-1:1)*(asc?1:-1);});
  rows.forEach(r=>body.appendChild(r));}
document.addEventListener('DOMContentLoaded',()=>{document.querySelectorAll('table.sortable th').forEach(
  th=>th.addEventListener('click',()=>sortTable(th)));});
"""


def _gain_cells(g: dict | None, rec: dict) -> list[str]:
    return [_cell(fmt_gain(g, rec), g["gain"] if g else None)]


def _caveats(items: list[str]) -> str:
    if not items:
        return ""
    lis = "".join(f"<li>{html.escape(c)}</li>" for c in items)
    return f'<div class="caveats"><h2>Caveats</h2><ul>{lis}</ul></div>'


# why: the page is written top to bottom in reading order (sections, tables, figures); splitting it would scatter
# one document's layout over helpers.
def build(rows: list[dict[str, Any]], report: dict[str, Any], out_dir: str | Path, *,
          title: str = "xlt-harness leaderboard", sources: list[str] | None = None,
          config_file: str | Path | None = None) -> Path:
    """Write ``out_dir/index.html`` and ``out_dir/figures/``; returns the page's path. Task and benchmark scores
    follow the report's split (``report["split"]``; None: every split, each on its own); ``config_file``: the
    study's config, whose ``notes:`` (and learning rates, where rows lack them) the caveats show."""
    out = Path(out_dir)
    figdir = out / "figures"
    if figdir.exists():  # only the figures an earlier page wrote (figures.MANIFEST lists them), never a user's file
        for name in read_figure_manifest(figdir):
            (figdir / name).unlink(missing_ok=True)
    figures = [p for p in all_figures(report, figdir) if p.suffix == ".png"]
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style><script>{_JS}</script></head><body>", f"<h1>{html.escape(title)}</h1>"]
    if sources:
        parts.append('<p class="note">from ' + ", ".join(f"<code>{html.escape(s)}</code>" for s in sources)
                     + f"; splits: {html.escape(', '.join(splits_of(rows)) or '-')}"
                     + f" (shown: {html.escape(report.get('split') or 'every split, each on its own')})</p>")
    synthetic = {(r["model"], r.get("intermediate") or "none", r["task"]) for r in rows if r.get("synthetic")}
    if synthetic:
        parts.append(f'<p class="synthetic"><strong>{html.escape(SYNTHETIC_TITLE)}.</strong> Rows, gains and scores '
                     "computed from synthetic data say <em>synthetic</em> in their <em>data</em> column.</p>")

    parts.append(_caveats(caveats(rows, config_file)))

    def data_cell(flag: bool) -> list[str]:
        return [_cell("synthetic" if flag else "")] if synthetic else []

    def flagged(rec: dict[str, Any]) -> bool:  # a task record, or a system's (any of its tasks)
        return any(k[0] == rec["model"] and k[1] == (rec.get("intermediate") or "none")
                   and ("task" not in rec or k[2] == rec["task"]) for k in synthetic)

    data_head = ["data"] if synthetic else []

    # scale table
    level = f"{100 * report['level']:g}%"
    from harness.results.axis import axis_title

    parts.append(f"<h2>Gain of intermediate training over none, by {html.escape(axis_title(report['gains']))}</h2>"
                 "<p class=note>Gains in metric "
                 f"points, {level} paired bootstrap intervals ({report['n_boot']} replicates, seed "
                 f"{report['seed']}); en = English, xx = unweighted mean of the other languages; transfer ratio = "
                 "xx gain / en gain (undefined when the English gain's interval includes 0). A gain is an "
                 "improvement: for a lower-is-better metric it is the baseline minus the score.</p>")
    body = []
    for g in report["gains"]:
        ratio = g["transfer_ratio"]
        body.append([_cell(g["model"]), *size_cells(g["model_params"], g.get("model_params_nonembed")),
                     _cell(g.get("model_group")), _cell(g["task"]), _cell(g.get("split")), _cell(metric_label(g)),
                     _cell(g["intermediate"]), _cell(len(g["seeds"]), len(g["seeds"])), *_gain_cells(g["en"], g),
                     *_gain_cells(g["xx"], g),
                     _cell(fmt_ratio(ratio), ratio["value"] if ratio and ratio["value"] is not None else None),
                     *data_cell(bool(g.get("synthetic"))), _cell(g["method"])])
    parts.append(_table("gains", ["model", *SIZE_HEAD, "model group", "task", "split", "metric", "intermediate",
                                  "seeds", "en gain [CI]", "xx gain [CI]", "transfer ratio [CI]", *data_head,
                                  "interval method"], body))
    if report["trends"]:
        parts.append(f"<h2>Trend of the gain along {html.escape(axis_title(report['trends']))}</h2><p class=note>"
                     "One line per model group (a family's ladder of sizes, or one model's depth ablation); never "
                     "fitted across groups. The slope is per 10× parameters on the size axis, per layer on a depth "
                     "axis.</p>")
        body = [[_cell(t["task"]), _cell(t["metric"]), _cell(t["intermediate"]), _cell(t.get("model_group")),
                 _cell(t["group"]), _cell(t.get("axis")), _cell(t["n_sizes"], t["n_sizes"]), _cell(t["slope"]),
                 *data_cell(bool(t.get("synthetic"))), _cell(t["verdict"])] for t in report["trends"]]
        parts.append(_table("trends", ["task", "metric", "intermediate", "model group", "en/xx", "axis", "points",
                                       "slope", *data_head, "verdict"], body))
    for note in report["notes"]:
        parts.append(f"<p class=note>{html.escape(note)}</p>")
    if report.get("published"):
        parts.append("<h2>Published gains over none</h2><p class=note>Point estimates from leaderboards/reference"
                     ".jsonl (mean over all languages, English included); no interval without predictions.</p>")
        body = [[_cell(g["model"]), _cell(g["task"]), _cell(g["metric"]), _cell(g["intermediate"]),
                 _cell(float(g["score"])), _cell(float(g["baseline"])), _cell(float(g["gain"])),
                 _cell(g["baseline_source"])] for g in report["published"]]
        parts.append(_table("published", ["model", "task", "metric", "intermediate", "score", "baseline", "gain",
                                          "baseline from"], body))

    # scores: the report's split, or every split present (each on its own)
    split = report.get("split", "test")
    parts.append(task_section(rows, split, flagged, data_cell, data_head))
    parts.append(benchmark_section(rows, split, flagged, data_cell, data_head))

    # figures
    parts.append('<h2>Figures</h2><div class="figures">')
    for p in figures:
        rel = f"figures/{p.name}"
        parts.append(f'<figure><a href="figures/{p.stem}.svg"><img src="{rel}" alt="{html.escape(p.stem)}"></a>'
                     f"<figcaption>{html.escape(p.stem)} (<a href=\"figures/{p.stem}.svg\">SVG</a>)</figcaption>"
                     "</figure>")
    parts.append("</div>")

    # provenance
    parts.append("<h2>Provenance of every row</h2>")
    body = []
    for i, r in enumerate(rows):
        budget = json.dumps(r.get("budget"), sort_keys=True) if r.get("budget") else None
        body.append([_cell(i, i), _cell(r["model"]), _cell(r.get("model_revision")), _cell(r.get("intermediate")),
                     *data_cell(bool(r.get("synthetic"))),
                     _cell(r["task"]), _cell(r.get("task_version")), _cell(r["language"]), _cell(r.get("split")),
                     _cell(r["metric"]), _cell(float(r["value"])), _cell(r.get("seed")), _cell(r.get("direction")),
                     _cell(r.get("variant")), _cell(r.get("n")), _cell(r.get("signature")),
                     _cell(r.get("config_name")), _cell(r.get("config_hash")), _cell(r.get("node")),
                     _cell(r.get("git_sha")), _cell(r.get("harness_version")), _cell(r.get("predictions")),
                     _cell((r.get("predictions_sha256") or "")[:16] or None), _cell(budget),
                     _cell(json.dumps(r.get("source"), sort_keys=True) if r.get("source") else None),
                     _cell(Path(r[SOURCE_KEY]).name if r.get(SOURCE_KEY) else None)])
    parts.append(_table("provenance", ["#", "model", "revision", "intermediate", *data_head, "task", "task v", "language",
                                       "split", "metric", "value", "seed", "direction", "variant", "n", "signature",
                                       "config", "config hash", "node", "git sha", "harness", "predictions",
                                       "predictions sha256", "budget", "source", "file"], body))
    parts.append("</body></html>")
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page
