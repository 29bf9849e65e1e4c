"""The text parts of ``harness leaderboard report`` after its gain table: multiplicity, trends, notes."""

from __future__ import annotations


def print_notes(rep: dict) -> None:
    """Trends, transfer-ratio notes, report notes, adaptive-seed decisions and published gains, in that order."""
    from rich.table import Table

    from harness.cli.console import console, esc

    for t in rep["trends"]:
        mark = " (synthetic)" if t.get("synthetic") else ""
        points = "depths" if str(t.get("axis", "")).startswith("depth") else "sizes"
        console.print(f"trend {t['task']} {t['metric']} {t['intermediate']} [{t['group']}] within "
                      f"{t.get('model_group') or '-'}, {t['n_sizes']} {points}{mark}: {t['verdict']}",
                      highlight=False, markup=False)
    for g in rep["gains"]:
        r = g["transfer_ratio"]
        if r and r.get("note"):
            console.print(f"transfer ratio {g['model']} {g['task']} {g['intermediate']}: {r['note']}",
                          highlight=False, markup=False)
    for note in rep["notes"]:
        console.print(f"note: {note}", highlight=False, markup=False)
    for g in rep["gains"]:  # matrix run --until-resolved: how many seeds each cell got and why it stopped
        if g.get("seeds_plan"):
            console.print(f"seeds {g['model']} {g['task']} {g['intermediate']}: {g['seeds_plan']['seeds']} seeds, "
                          f"stopped: {g['seeds_plan']['stopped']}", highlight=False, markup=False)
    if rep["published"]:
        table = Table("model", "task", "metric", "intermediate", "published", "baseline", "gain", "baseline from",
                      title="published gains over none (point estimates; mean over all languages incl. English)")
        for g in rep["published"]:
            table.add_row(*esc(g["model"], g["task"], g["metric"], g["intermediate"], f"{g['score']:.1f}",
                               f"{g['baseline']:.1f}", f"{g['gain']:+.1f}", g["baseline_source"]))
        console.print(table)


def print_multiplicity(rep: dict, pct: str) -> None:
    """The family, and raw / Holm / BH p-values with the verdict (which follows Holm) per comparison."""
    from rich.table import Table

    from harness.cli.console import console, esc
    from harness.results.gains import fmt_gain, metric_label

    fam = rep.get("family") or {}
    if not fam.get("size"):
        return
    table = Table(*esc("model", "task", "metric", "intermediate", "group", f"gain [{pct} CI]", "p raw", "p Holm",
                       "p BH", "verdict (Holm)"),
                  title=esc(f"multiplicity: family of {fam['description']}; alpha {fam['alpha']:.3g}")[0])
    fmt = lambda v: "-" if v is None else f"{v:.3g}"  # noqa: E731
    for g in rep["gains"]:
        for group in ("en", "xx"):
            c = g.get(group)
            if c is None or c.get("p") is None:
                continue
            metric = metric_label(g)
            table.add_row(*esc(g["model"], g["task"], metric, g["intermediate"], group, fmt_gain(c), fmt(c["p"]),
                               fmt(c.get("p_holm")), fmt(c.get("p_bh")), c.get("verdict", "-")))
    console.print(table)

