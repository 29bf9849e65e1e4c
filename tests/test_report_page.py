"""The study page's faults of issue 27, each on hand-built rows: splits, caveats, sizes, fitted lines, transfer
ratios, heat-map scale, lower-is-better gains, the missing-files summary of ``score --benchmark``."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_report import _row, write_demo

from harness.cli.main import main
from harness.results import figures
from harness.results.caveats import caveats
from harness.results.gains import fmt_ratio, gains
from harness.results.html import build
from harness.results.html_parts import size_cells
from harness.results.leaderboard import load_rows


def table(page: Path, table_id: str) -> list[dict[str, str]]:
    """The rows of one table of the page, as {header: cell text}."""
    text = page.read_text(encoding="utf-8")
    body = re.search(rf'<table class="sortable" id="{table_id}">(.*?)</table>', text, re.S).group(1)
    rows = [[html.unescape(re.sub("<[^>]+>", "", c)) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def seeds_rows(values: dict[tuple[str, str, int, str], float], *, task: str = "xnli", metric: str = "accuracy",
               params: dict[str, int] | None = None, **extra) -> list[dict]:
    """Rows without predictions (seeds-only intervals): ``(model, intermediate, seed, language) -> value``."""
    params = params or {}
    return [_row(model=m, intermediate=i, seed=s, language=lang, task=task, metric=metric, value=v,
                 model_params=params.get(m), **extra) for (m, i, s, lang), v in values.items()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = write_demo(tmp_path_factory.mktemp("demo"))
    rows = load_rows(path)
    for r in rows:  # PAN-X on another split: a page of the test split alone would drop it
        if r["task"] == "panx":
            r["split"] = "dev[0:3]"
    return path, rows


def test_page_scores_every_split_each_labelled(demo, tmp_path):
    path, rows = demo
    page = build(rows, gains(rows, split=None, n_boot=50), tmp_path / "all", sources=[str(path)])
    tasks = table(page, "tasks")
    assert {(t["task"], t["split"]) for t in tasks} == {("xnli", "test"), ("xquad", "test"), ("panx", "dev[0:3]")}
    (small,) = [t for t in tasks if t["model"] == "demo-small" and t["intermediate"] == "none" and t["task"] == "xnli"]
    assert (small["en"], small["xx"], small["all"]) == ("60.00", "35.00", "43.33")  # (60 + 40+20 + 40+40) / 6
    partial = table(page, "benchmarks-partial")  # one line per system and split kind, a column per benchmark
    (dev,) = [b for b in partial if b["model"] == "demo-small" and b["intermediate"] == "none" and b["split"] == "dev"]
    assert dev["tasks (split)"] == "panx (dev[0:3])"
    (test,) = [b for b in partial if b["model"] == "demo-small" and b["intermediate"] == "none"
               and b["split"] == "test"]
    assert test["tasks (split)"] == "xnli (test), xquad (test)"
    assert {t["task"] for t in table(page, "gains")} == {"xnli", "xquad", "panx"}
    # --split test: the test split only, everywhere
    page = build(rows, gains(rows, split="test", n_boot=50), tmp_path / "test")
    assert {t["task"] for t in table(page, "tasks")} == {"xnli", "xquad"}
    assert {t["split"] for t in table(page, "gains")} == {"test"}


def test_html_command_shows_every_split_by_default(demo, tmp_path):
    import json

    path, rows = demo
    board = path.parent / "two-splits.jsonl"  # beside the demo: the predictions paths stay valid
    board.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "_file"}) + "\n" for r in rows))
    res = CliRunner().invoke(main, ["leaderboard", "html", str(board), "--out", str(tmp_path / "site"),
                                    "--n-boot", "20"])
    assert res.exit_code == 0, res.output
    assert {(t["task"], t["split"]) for t in table(tmp_path / "site" / "index.html", "tasks")} == {
        ("xnli", "test"), ("xquad", "test"), ("panx", "dev[0:3]")}


def test_caveats_from_config_notes_and_rows(tmp_path):
    depth = {"layers": 4, "of": "me5", "of_layers": 12, "axis": "depth (layers of me5)"}
    rows = [_row(model="me5@L4", intermediate=i, task=t, metric=m, language="en", value=1.0, seed=s, depth=depth,
                 config_hash="0123456789abcdef", budget={"target_steps": 50, "best_step": best})
            for i, best in (("none", 50), ("sst2", 40)) for s in (1, 2)
            for t, m in (("xnli", "accuracy"), ("bucc2018", "bucc_f1_margin_oracle"))]
    cfg = tmp_path / "study.yaml"
    cfg.write_text("name: study\nmodels: [{name: me5, depth: 4, train: {lr: 2.0e-4}}]\ntargets: [xnli]\n"
                   "notes: [\"BUCC is a cut of the sample.\"]\n", encoding="utf-8")
    got = caveats(rows, cfg)
    assert got[0] == "Note from study.yaml: BUCC is a cut of the sample."
    assert got[1].startswith("The config file study.yaml has hash ") and "0123456789abcdef" in got[1]
    assert got[2].startswith("Depth ablation, not model size: me5 cut to its first 4 of 12 layers (axis: depth "
                             "(layers of me5))") and "model size" not in got[2].split(".", 1)[1].replace(
                                 "says nothing about model size", "")
    assert got[3].startswith("Oracle threshold: bucc2018 bucc_f1_margin_oracle: the decision threshold is tuned")
    assert got[4] == "Data: no row is computed on synthetic data (8 rows say synthetic: false or unset)."
    # 4 trainings (none/sst2 × 2 seeds of xnli and bucc: one per model, intermediate, task, seed), 2 per task:
    # none stopped at its last step (50 of 50), sst2 at 40
    assert got[5].startswith("Checkpoint selection: 4 of 8 target trainings selected their last step")
    assert got[6] == "Learning rate per model: me5@L4 2e-4 (from the config file)."
    rows[0]["budget"]["target_lr"] = 3e-5  # recorded in the rows: wins over the config
    assert caveats(rows)[-1] == "Learning rate per model: me5@L4 3e-5."
    page = build(rows, gains(rows, n_boot=20), tmp_path / "site", config_file=cfg)
    assert "<h2>Caveats</h2>" in page.read_text() and "BUCC is a cut of the sample." in page.read_text()


def test_size_columns_give_embedding_and_non_embedding_parameters(tmp_path):
    # multilingual-e5-small at depth 4 and 12: the totals differ by 14M, the non-embedding parts 3×
    assert size_cells(103_458_048, 7_246_464) == ['<td class="num" data-sort="96211584">96.2M</td>',
                                                  '<td class="num" data-sort="7246464">7.25M</td>']
    assert size_cells(117_653_760, None) == ["<td>n/a</td>", "<td>n/a</td>"]  # an old row: no count recorded
    rows = seeds_rows({("m", i, s, lang): 50.0 + (i == "x") for i in ("none", "x") for s in (1, 2)
                       for lang in ("en", "de")}, params={"m": 117_653_760})
    for r in rows:
        r["model_params_nonembed"] = 21_442_176  # the real study's rows of multilingual-e5-small@L12
    page = build(rows, gains(rows, n_boot=20), tmp_path / "site")
    for name in ("gains", "tasks"):
        first = table(page, name)[0]
        assert (first["embedding params"], first["non-embedding params"]) == ("96.2M", "21.4M")


def _capture(monkeypatch) -> list:
    figs = []
    monkeypatch.setattr(figures, "_save", lambda fig, out_dir, stem: figs.append((stem, fig)) or [])
    monkeypatch.setattr(figures._mpl(), "close", lambda fig: None)
    return figs


def _ladder(models: dict[str, int]) -> dict:
    gain = {m: k + 1.0 for k, m in enumerate(models)}
    rows = seeds_rows({(m, i, s, lang): 50.0 + (gain[m] if i == "x" else 0.0) + s
                       for m in models for i in ("none", "x") for s in (1, 2) for lang in ("en", "de")},
                      params=models, model_group="ladder")
    return gains(rows, n_boot=50)


@pytest.mark.parametrize(("sizes", "lines"), [(2, 0), (3, 2)])
def test_no_fitted_line_or_band_through_fewer_than_three_sizes(monkeypatch, sizes, lines):
    rep = _ladder(dict(list({"s": 10**6, "m": 10**7, "l": 10**8}.items())[:sizes]))
    figs = _capture(monkeypatch)
    figures.gain_vs_params(rep, Path("unused"))
    ((stem, fig),) = figs
    dashed = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    bands = [c for ax in fig.axes for c in ax.collections if type(c).__name__ in ("PolyCollection", "FillBetweenPolyCollection")]
    assert (len(dashed), len(bands)) == (lines, lines)  # en and xx panels: one line and band each, or none


def test_heatmaps_share_one_colour_scale(monkeypatch):
    rep = _ladder({"s": 10**6, "l": 10**8})  # gains +1 (s) and +2 (l)
    figs = _capture(monkeypatch)
    figures.heatmaps(rep, Path("unused"))
    clims = [fig.axes[0].images[0].get_clim() for _, fig in figs]
    assert clims == [(-2.0, 2.0), (-2.0, 2.0)]


def test_transfer_ratio_undefined_when_the_english_interval_includes_zero():
    # English: +4 in seed 1, -3 in seed 2 (mean +0.5, interval over seeds includes 0); German +5 in both
    values = {("m", "none", s, lang): 50.0 for s in (1, 2) for lang in ("en", "de")}
    values.update({("m", "x", 1, "en"): 54.0, ("m", "x", 2, "en"): 47.0, ("m", "x", 1, "de"): 55.0,
                   ("m", "x", 2, "de"): 55.0})
    (rec,) = gains(seeds_rows(values), n_boot=200)["gains"]
    assert rec["en"]["gain"] == pytest.approx(0.5) and rec["en"]["lo"] < 0 < rec["en"]["hi"]
    ratio = rec["transfer_ratio"]
    assert ratio["value"] is None and ratio["point"] == pytest.approx(10.0)
    assert fmt_ratio(ratio) == "undefined"
    assert ratio["note"].startswith("undefined: the English gain's 95% interval [")


def test_gain_of_a_lower_is_better_metric_is_an_improvement(tmp_path):
    # an error rate: 30 -> 20 in English and 40 -> 25 in German is an improvement of +10 and +15
    values = {("m", "none", s, "en"): 30.0 for s in (1, 2)} | {("m", "none", s, "de"): 40.0 for s in (1, 2)}
    values |= {("m", "x", s, "en"): 20.0 for s in (1, 2)} | {("m", "x", s, "de"): 25.0 for s in (1, 2)}
    rows = seeds_rows(values, task="flores", metric="flores_xsim_error_cosine_src2tgt")
    (rec,) = gains(rows, n_boot=50)["gains"]
    assert (rec["en"]["gain"], rec["xx"]["gain"]) == (10.0, 15.0)
    assert rec["en"]["per_seed"] == {"1": 10.0, "2": 10.0} and rec["per_language"] == {"de": 15.0, "en": 10.0}
    assert (rec["en"]["lo"], rec["en"]["hi"]) == (10.0, 10.0) and rec["higher_is_better"] is False
    assert rec["en"]["verdict"].startswith("helps") and rec["xx"]["verdict"].startswith("helps")
    page = build(rows, gains(rows, n_boot=50), tmp_path / "site")
    (line,) = table(page, "gains")
    assert line["metric"] == "flores_xsim_error_cosine_src2tgt (lower is better; gain = none − it)"
    # rows without predictions: seeds only, and the cell says so
    assert line["en gain [CI]"] == "+10.00 [+10.00, +10.00] (predictions missing: 8/8 evaluations seeds only)"


def test_score_benchmark_summarises_missing_files(tmp_path):
    import xtreme_submission_fixture as fixture

    fixture.write(tmp_path, "xtreme")
    gone = sorted((tmp_path / "predictions" / "xnli").glob("*.tsv")) + sorted(
        (tmp_path / "labels" / "panx").glob("*"))[:3]
    for p in gone:
        p.unlink()
    result = CliRunner().invoke(main, ["score", "--benchmark", "xtreme", "--predictions", str(tmp_path / "predictions"),
                                       "--labels", str(tmp_path / "labels")])
    missing = [line for line in result.stderr.splitlines() if line.startswith("missing:")]
    assert len(gone) == 18 and len(missing) == 3, result.stderr
    assert missing[0].startswith("missing: xnli: 15 predictions files (15 languages: ar bg de el en es fr hi …), "
                                 f"e.g. {tmp_path / 'predictions' / 'xnli' / 'test-ar.tsv'}")
    assert missing[1].startswith("missing: panx: 3 labels files (3 languages: ")
    assert missing[2] == "missing: 18 files in all over 2 tasks (--json lists every one)"
