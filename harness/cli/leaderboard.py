"""``harness leaderboard``: show (and, from issue 8, aggregate, report, html, export) leaderboard JSONL."""

from __future__ import annotations

import click

LANGUAGES_HELP = ("only rows of these languages, comma-separated, in the task's codes or their ISO 639-3 / "
                  "FLORES-200 forms (ja, jpn, jpn_Jpan); English counts only when listed")


def _languages(text: str | None) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()] if text else []


@click.group()
def leaderboard() -> None:
    """Read, aggregate and report leaderboard JSONL files."""


@leaderboard.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="print the rows as JSON")
def show(files: tuple[str, ...], as_json: bool) -> None:
    """Print the main metric per model × intermediate × task, English apart from the cross-lingual mean."""
    from harness.cli.console import console, emit_json, fail
    from harness.results.leaderboard import load_rows, print_summary, without_source

    try:
        rows = load_rows(*files)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    if as_json:
        emit_json(without_source(rows))
        return
    for f in files:
        print_summary(console, f)


def _load(files: tuple[str, ...]) -> list[dict]:
    from harness.cli.console import fail
    from harness.results.leaderboard import load_rows

    try:
        return load_rows(*files)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    return []


def _json_rows(data):
    """Drop the loader's private keys before printing JSON."""
    from harness.results.leaderboard import SOURCE_KEY

    if isinstance(data, list):
        return [{k: v for k, v in r.items() if k != SOURCE_KEY} if isinstance(r, dict) else r for r in data]
    return data


@leaderboard.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--split", default="auto", show_default=True,
              help="split to score (test, dev …; auto: each task's own eval split, FLORES devtest; all: every split)")
@click.option("--view", type=click.Choice(["all", "xx"]), default="all", show_default=True,
              help="benchmark scores over all languages (official) or English excluded (xx)")
@click.option("--config", "config", default=None, help="only rows of this config (config_name)")
@click.option("--config-sha", "config_sha", default=None, help="only rows of this config hash (a prefix is enough)")
@click.option("--languages", default=None, help=LANGUAGES_HELP)
@click.option("--json", "as_json", is_flag=True, help="print task and benchmark scores as JSON")
def aggregate(files: tuple[str, ...], split: str, view: str, config: str | None, config_sha: str | None,
              languages: str | None, as_json: bool) -> None:
    """Task scores (en, xx = non-English mean, all) and the XTREME / XTREME-R scores, each labelled."""
    from rich.table import Table

    from harness.cli.console import console, emit_json, esc, fail
    from harness.results.aggregate import benchmark_scores, task_scores
    from harness.results.gains import fmt_params

    rows = _select(_load(files), config, config_sha, languages)
    chosen = None if split == "all" else split
    tasks, benches = task_scores(rows, split=chosen), benchmark_scores(rows, split=chosen, view=view)
    if as_json:
        emit_json({"split": split, "view": view, "tasks": tasks, "benchmarks": benches})
        return
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    table = Table("model", "params", "intermediate", "task", "metric", "en", "xx avg", "all avg", "langs",
                  title=esc(f"task scores ({split}): mean over seeds, then unweighted over languages")[0])
    for rec in tasks:
        for metric, m in rec["metrics"].items():
            table.add_row(*esc(rec["model"], fmt_params(rec["model_params"]), rec["intermediate"], rec["task"],
                               metric, fmt(m.get("en")), fmt(m.get("xx")), fmt(m.get("all")), len(m["languages"])))
    if not tasks:
        present = sorted({str(r.get("split")) for r in rows})
        fail(f"no rows at split {split!r}; the files hold split(s) {', '.join(present) or 'none'}: pass --split "
             f"{present[0] if present else 'test'} (or --split all)")
    console.print(table)
    table = Table("model", "intermediate", "score", "value", "coverage", "protocol", title="benchmark scores")
    for b in benches:
        for name, s in b["scores"].items():
            if s["value"] is not None:
                table.add_row(*esc(b["model"], b["intermediate"], name, fmt(s["value"]), s["status"], s["label"]))
    console.print(table)


def _report(files, split, metric, n_boot, seed, level, family=(), config=None, config_sha=None, languages=None):
    from harness.cli.console import fail
    from harness.results.gains import gains
    from harness.results.multiplicity import parse_family

    metrics = {}
    for m in metric:
        if "=" not in m:
            fail(f"--metric {m!r}: expected TASK=METRIC, e.g. --metric xquad=exact_match")
        task, name = m.split("=", 1)
        metrics[task] = name
    if n_boot < 1:
        fail(f"--n-boot {n_boot}: must be at least 1")
    if not 0 < level < 1:
        fail(f"--level {level}: must be between 0 and 1, e.g. 0.95")
    try:
        fam = parse_family(family)
    except ValueError as err:
        fail(str(err))
    rows = _select(_load(files), config, config_sha, languages)
    from harness.results.pack import PackError

    try:
        return rows, gains(rows, split=None if split == "all" else split, metrics=metrics, n_boot=n_boot, seed=seed,
                           level=level, family=fam)
    except PackError as err:
        fail(str(err))


_report_options = [
    click.option("--metric", multiple=True, help="TASK=METRIC to report a task on another metric (repeatable)"),
    click.option("--n-boot", default=1000, show_default=True, help="bootstrap replicates"),
    click.option("--seed", default=0, show_default=True, help="bootstrap seed (same seed, same intervals)"),
    click.option("--level", default=0.95, show_default=True, help="confidence level of the intervals"),
    click.option("--family", multiple=True,
                 help="narrow the multiplicity family to a pre-registered set: KEY=VALUE[,VALUE] with KEY model, "
                      "task, metric, intermediate, group (en/xx), split or model_group (repeatable, all must hold)"),
    click.option("--config", "config", default=None,
                 help="only rows of this config (config_name): a file holding several configs' runs"),
    click.option("--config-sha", "config_sha", default=None, help="only rows of this config hash (a prefix is enough)"),
    click.option("--languages", default=None, help=LANGUAGES_HELP),
]


def _with_report_options(split: str = "auto"):
    """The report's options; ``split`` is the default of ``--split`` (the page shows every split by default)."""
    split_option = click.option(
        "--split", default=split, show_default=True,
        help="split whose gains and scores are reported (auto: each task's own eval split, FLORES devtest; 'all': "
             "every split, each in its own cell)")

    def wrap(fn):
        for opt in reversed([split_option, *_report_options]):
            fn = opt(fn)
        return fn
    return wrap


@leaderboard.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@_with_report_options()
@click.option("--figures", "figures_dir", default=None, type=click.Path(), help="also write the figures here")
@click.option("--json", "as_json", is_flag=True, help="print gains and trends as JSON")
def report(files: tuple[str, ...], split: str, metric: tuple[str, ...], n_boot: int, seed: int, level: float,
           family: tuple[str, ...], config: str | None, config_sha: str | None, languages: str | None,
           figures_dir: str | None, as_json: bool) -> None:
    """The scale table: gain of each intermediate over none per model size, English vs cross-lingual."""
    from rich.table import Table

    from harness.cli.console import console, emit_json, esc
    from harness.results.gains import fmt_gain, fmt_params, fmt_ratio, metric_label, missing_marker
    from harness.results.leaderboard import SYNTHETIC_TITLE

    mark = lambda g: " †" if g.get("predictions_missing") else ""  # noqa: E731

    _, rep = _report(files, split, metric, n_boot, seed, level, family, config, config_sha, languages)
    written = []
    if figures_dir:
        from harness.results.figures import all_figures

        written = [str(p) for p in all_figures(rep, figures_dir)]
    if as_json:
        emit_json({**rep, "figures": written})
        return
    pct = f"{100 * level:g}%"
    methods = sorted({g["method"] for g in rep["gains"]})
    one_method = len(methods) == 1
    any_synthetic = any(g.get("synthetic") for g in rep["gains"])
    columns = ["model group", "model", "params", "task", "metric", "intermediate", "seeds", "en gain [CI]",
               "xx gain [CI]", "transfer ratio"] + (["data"] if any_synthetic else []) + ([] if one_method
                                                                                        else ["interval"])
    from harness.results.axis import axis_title

    table = Table(*esc(*columns), title=esc(f"gain over none by {axis_title(rep['gains'])} ({split}; {pct} bootstrap CI, "
                                            f"{n_boot} replicates, seed {seed}; xx = mean over non-English "
                                            "languages)")[0])
    for g in rep["gains"]:
        size = fmt_params(g["model_params"]) + (f" ({fmt_params(g['model_params_nonembed'])} non-emb.)"
                                                if g.get("model_params_nonembed") else "")
        table.add_row(*esc(g.get("model_group") or "-", g["model"], size, g["task"], metric_label(g),
                           g["intermediate"], len(g["seeds"]), fmt_gain(g["en"]) + mark(g), fmt_gain(g["xx"]) + mark(g),
                           fmt_ratio(g["transfer_ratio"]),
                           *(["synthetic" if g.get("synthetic") else ""] if any_synthetic else []),
                           *([] if one_method else [g["method"]])))
    if rep["gains"]:
        console.print(table)
        if any_synthetic:
            console.print(f"{SYNTHETIC_TITLE} (rows marked 'synthetic')", highlight=False, markup=False)
    else:
        console.print("no gains: the rows hold no intermediate setting beside a 'none' baseline", markup=False)
    if one_method:
        console.print(f"intervals: {methods[0]}", highlight=False, markup=False)
    lacking = [g for g in rep["gains"] if g.get("predictions_missing")]
    if lacking:
        console.print(f"† {len(lacking)} of {len(rep['gains'])} cells lack predictions for some evaluations (not on "
                      "disk, not in the pack): those vary by seeds only, so the interval is too narrow; e.g. "
                      f"{lacking[0]['model']} {lacking[0]['task']} {lacking[0]['intermediate']}:"
                      f"{missing_marker(lacking[0])}", highlight=False, markup=False)
    from harness.cli.report_print import print_multiplicity, print_notes

    print_multiplicity(rep, pct)
    print_notes(rep)
    if written:
        console.print(f"figures: {len(written)} files in {figures_dir}", highlight=False, markup=False)


def _select(rows: list[dict], config: str | None, config_sha: str | None, languages: str | None = None) -> list[dict]:
    """Rows of one config (and languages) when asked; else refuse a file whose configs measured the same thing
    twice."""
    from harness.cli.console import fail
    from harness.results.leaderboard import ConfigMix, check_configs_apart, select_config, select_languages

    try:
        rows = select_languages(select_config(rows, config, config_sha), _languages(languages))
        check_configs_apart(rows)
    except (ConfigMix, ValueError) as err:
        fail(str(err))
    return rows


@leaderboard.command("html")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(), help="folder for index.html and figures/")
@_with_report_options(split="all")
@click.option("--title", default="xlt-harness leaderboard", show_default=True)
@click.option("--config-file", "config_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="the study's config (YAML): its notes: (and learning rates rows lack) go into the caveats")
def html_cmd(files: tuple[str, ...], out_dir: str, split: str, metric: tuple[str, ...], n_boot: int, seed: int,
             level: float, family: tuple[str, ...], config: str | None, config_sha: str | None,
             languages: str | None, title: str, config_file: str | None) -> None:
    """A static page (sortable tables, figures, provenance of every row) that opens from the file system."""
    from harness.cli.console import console, fail
    from harness.planning.config import ConfigError
    from harness.results.html import build

    rows, rep = _report(files, split, metric, n_boot, seed, level, family, config, config_sha, languages)
    try:
        page = build(rows, rep, out_dir, title=title, sources=list(files), config_file=config_file)
    except ConfigError as err:
        fail(str(err))
    console.print(f"wrote {page} (open it as file://{page.resolve()})", highlight=False, markup=False)


@leaderboard.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["xtreme-r", "xtreme", "parquet"]), default="xtreme-r",
              show_default=True, help="a benchmark's submission folders, or every row as one typed Parquet file")
@click.option("--out", "out_dir", required=True, type=click.Path(),
              help="submission folder to write (parquet: the .parquet file)")
@click.option("--split", default=None, help="split to export (default: test; parquet: every split)")
@click.option("--model", default=None, help="export only this model (default: every model)")
@click.option("--intermediate", default=None, help="export only this intermediate setting (default: all)")
@click.option("--seed", default=None, help="export only this seed (default: all)")
@click.option("--languages", default=None, help=LANGUAGES_HELP)
@click.option("--allow-synthetic", is_flag=True, help="export rows computed on synthetic smoke data too")
@click.option("--labels", "with_labels", is_flag=True,
              help="also write OUT/labels, the gold label folder of the exported split (evaluate.py's --label_folder)")
@click.option("--json", "as_json", is_flag=True, help="print what was written as JSON")
def export(files: tuple[str, ...], fmt: str, out_dir: str, split: str, model: str | None,
           intermediate: str | None, seed: str | None, languages: str | None, allow_synthetic: bool, with_labels: bool,
           as_json: bool) -> None:
    """Submission folders in the XTREME-R (or XTREME) layout, one per (model, intermediate, seed); or, with
    ``--format parquet``, the rows (those --split/--model/--intermediate/--seed select) as one Parquet file."""
    from harness.cli.console import console, emit_json, fail
    from harness.core.languages import UnknownLanguage
    from harness.results.export import ExportError, export_parquet, select_systems
    from harness.results.export import export as run_export
    from harness.results.leaderboard import select_languages
    from harness.results.pack import PackError

    try:
        rows = select_languages(_load(files), _languages(languages))
        if fmt == "parquet":
            if with_labels:
                raise ExportError("--labels: gold label folders belong to submissions (--format xtreme-r or "
                                  "xtreme), not to a Parquet file of rows")
            if split is not None:
                present = sorted({str(r.get("split")) for r in rows})
                rows = [r for r in rows if r.get("split") == split]
                if not rows:
                    raise ExportError(f"--split {split}: no rows of that split; the files hold {', '.join(present)}")
            keep = {id(r) for group in select_systems(rows, model, intermediate, seed).values() for r in group}
            result = export_parquet([r for r in rows if id(r) in keep], out_dir)  # in the files' row order
        else:
            result = run_export(rows, out_dir, fmt=fmt, split=split or "test", model=model,
                                intermediate=intermediate, seed=seed, allow_synthetic=allow_synthetic,
                                labels=with_labels)
    except (ExportError, UnknownLanguage, PackError) as err:
        fail(str(err))
    if as_json:
        emit_json(result)
        return
    if fmt == "parquet":
        console.print(f"parquet: {result['rows']} rows in {result['out']}", highlight=False, markup=False)
        return
    for s in result["systems"]:
        missing = f"; tasks without predictions: {', '.join(s['missing'])}" if s["missing"] else ""
        console.print(f"{fmt}: {s['model']} / {s['intermediate']} / seed {s['seed']}: {s['files']} files in "
                      f"{result['out']}/{s['folder']}{missing}", highlight=False, markup=False)
    if with_labels:
        console.print(f"gold labels: {result['out']}/labels", highlight=False, markup=False)


@leaderboard.command()
@click.argument("file", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="print what was packed as JSON")
def pack(file: str, as_json: bool) -> None:
    """Pack the per-example predictions the intervals need into FILE.pack.tar.xz (entries named by sha256)."""
    from harness.cli.console import console, emit_json, fail
    from harness.results.pack import PackError, write_pack

    try:
        result = write_pack(file, _load((file,)))
    except PackError as err:
        fail(str(err))
    if as_json:
        emit_json(result)
        return
    mib = lambda n: f"{n / 2**20:.2f} MiB"  # noqa: E731
    console.print(f"packed {result['entries']} predictions files ({result['rows']} rows, {mib(result['raw_bytes'])}) "
                  f"into {result['pack']}: {mib(result['bytes'])}", highlight=False, markup=False)
    if result["missing"]:
        console.print(f"{len(result['missing'])} rows' predictions are not on this machine and not packed "
                      f"(their intervals will say so), e.g. {result['missing'][0]}", highlight=False, markup=False)


from harness.cli.leaderboard_hub import pull_cmd, push_cmd  # noqa: E402 - rows to and from a Hub dataset repo

leaderboard.add_command(push_cmd)
leaderboard.add_command(pull_cmd)
