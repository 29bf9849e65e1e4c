"""``harness score --benchmark xtreme|xtreme-r --predictions DIR --labels DIR``: print a submission's scores."""

from __future__ import annotations

from pathlib import Path

from harness.cli.console import console, emit_json, err_console, fail


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{lang} {v:.2f}" for lang, v in values.items())


def missing_summary(paths: list[str], predictions: Path, labels: Path, examples: int = 2) -> list[str]:
    """The missing files in a few lines: per task folder, how many predictions and label files, which languages
    and a few examples; then the total (``--json`` lists every file)."""
    groups: dict[str, dict[str, list[Path]]] = {}
    for raw in paths:
        p = Path(raw)
        under = [(len(root.parts), side) for side, root in (("predictions", predictions), ("labels", labels))
                 if p.is_relative_to(root)]
        side = max(under)[1] if under else "predictions"  # the deeper folder when one holds the other
        groups.setdefault(p.parent.name, {}).setdefault(side, []).append(p)
    lines = []
    for task, sides in groups.items():
        counts = ", ".join(f"{len(v)} {side}" for side, v in sorted(sides.items()))
        langs = sorted({p.stem.split("-", 1)[-1] for v in sides.values() for p in v})
        shown = sorted(str(p) for v in sides.values() for p in v)[:examples]
        more = len(langs) > 8
        lines.append(f"missing: {task}: {counts} files ({len(langs)} languages: {' '.join(langs[:8])}"
                     f"{' …' if more else ''}), e.g. {', '.join(shown)}")
    if paths:
        lines.append(f"missing: {len(paths)} files in all over {len(groups)} tasks (--json lists every one)")
    return lines


def score_benchmark(benchmark: str, predictions: Path, labels: Path, as_json: bool) -> None:
    """Score every task file of the folder like the official ``evaluate.py``; print or emit JSON."""
    from harness.results.submission import SubmissionError, score_submission

    try:
        result = score_submission(benchmark, predictions, labels)
    except SubmissionError as err:
        fail(str(err))
    if as_json:
        emit_json(result)
        return
    out = console.print
    for task, rec in result["tasks"].items():
        out(f"== {task} ({rec['category']})", highlight=False, markup=False)
        for metric, values in rec["languages"].items():
            out(f"  {metric}: {_fmt(values)}", highlight=False, markup=False)
        avgs = ", ".join(f"{k}={v:.4f}" for k, v in rec.items() if k.startswith("avg_"))
        out(f"  {avgs}", highlight=False, markup=False)
    for group, value in result["groups"].items():
        out(f"{group}: {value:.4f}", highlight=False, markup=False)
    if result["all_task"] is not None:
        out(f"{benchmark} all_task: {result['all_task']:.4f} (complete)", highlight=False, markup=False)
    else:
        partial = result["partial_score"]
        shown = f"{partial:.4f}" if partial is not None else "n/a"
        out(f"{benchmark} score: {shown} — {result['status']}; missing tasks: "
            f"{', '.join(result['missing_tasks']) or 'none'}", highlight=False, markup=False)
    for line in missing_summary(result["missing_files"], predictions, labels):
        err_console.print(line, highlight=False, markup=False, soft_wrap=True)
    for line in result["errors"]:
        err_console.print(f"error: {line}", highlight=False, markup=False)
