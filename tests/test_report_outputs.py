"""Figures, the static HTML page, the XTREME-R export and the ``harness leaderboard`` subcommands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_report import write_demo

from harness.cli.main import main
from harness.results.export import ExportError, export
from harness.results.figures import all_figures, family
from harness.results.gains import gains
from harness.results.html import build
from harness.results.leaderboard import load_rows

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = write_demo(tmp_path_factory.mktemp("demo"))
    rows = load_rows(path)
    return path, rows, gains(rows, n_boot=200)


@pytest.mark.slow
def test_figures_png_svg_and_deterministic(demo, tmp_path):
    _, _, rep = demo
    first = all_figures(rep, tmp_path / "a")
    small = {**rep, "gains": [g for g in rep["gains"] if g["task"] == "xnli"],
             "trends": [t for t in rep["trends"] if t["task"] == "xnli"]}
    second = all_figures(small, tmp_path / "b")  # the xnli figures again: byte-identical SVG
    names = sorted(p.name for p in first)
    assert len(names) == 2 * 8 and names[:2] == ["gain_vs_params-panx-ner_seqeval_f1.png",
                                                 "gain_vs_params-panx-ner_seqeval_f1.svg"]
    stems = {p.stem for p in first}
    assert {"gain_vs_params-xnli-accuracy", "heatmap-demo-small", "heatmap-demo-large",
            "languages-xnli-accuracy-mnli"} <= stems
    assert all((tmp_path / "a" / f"{s}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for s in stems)
    for p in second:
        if p.suffix == ".svg" and not p.name.startswith("heatmap"):
            assert p.read_bytes() == (tmp_path / "a" / p.name).read_bytes(), f"{p.name} is not deterministic"


def test_language_family():
    assert family("de") == family("deu_Latn") == family("hi") == "Indo-European"
    assert family("sw") == "Niger-Congo" and family("zho_Hans") == "Sino-Tibetan" and family("xx") == "other"


def test_html_page(demo, tmp_path):
    path, rows, rep = demo
    rows = [r for r in rows if r["task"] == "xnli"]
    rep = {**rep, "gains": [g for g in rep["gains"] if g["task"] == "xnli"],
           "trends": [t for t in rep["trends"] if t["task"] == "xnli"]}
    page = build(rows, rep, tmp_path / "site", sources=[str(path)])
    text = page.read_text()
    assert text.count('<table class="sortable"') == 5
    assert "http://" not in text and "https://" not in text  # nothing fetched from a network
    # every row's provenance is on the page
    assert text.count("<tr>") >= len(rows) + len(rep["gains"])
    for r in rows[:5]:
        assert r["predictions_sha256"][:16] in text
    imgs = [line for line in text.splitlines() if "<img " in line]
    assert imgs and all('src="figures/' in i for i in imgs)
    for i in imgs:
        src = i.split('src="', 1)[1].split('"', 1)[0]
        assert (page.parent / src).exists()


def test_export_xtreme_r_layout(demo, tmp_path):
    _, rows, _ = demo
    out = tmp_path / "sub"
    res = export(rows, tmp_path / "export", model="demo-large", intermediate="mnli", seed=1)
    out = tmp_path / "export" / "demo-large" / "mnli" / "seed-1"
    assert [s["folder"] for s in res["systems"]] == ["demo-large/mnli/seed-1"]
    files = sorted(str(Path(p).relative_to(out)) for p in res["written"])
    assert files == ["panx/test-de.tsv", "panx/test-en.tsv", "xnli/test-de.tsv", "xnli/test-en.tsv",
                     "xnli/test-sw.tsv", "xquad/test-de.json", "xquad/test-en.json"]
    assert (out / "xnli" / "test-en.tsv").read_text().splitlines()[:3] == ["entailment", "neutral", "contradiction"]
    assert len((out / "xnli" / "test-en.tsv").read_text().splitlines()) == 10
    # tagging: one tag per line, a blank line between sentences
    assert (out / "panx" / "test-en.tsv").read_text() == "B-PER\nI-PER\nO\n\nO\nB-LOC\n\nB-ORG\nO\nO\n"
    assert json.loads((out / "xquad" / "test-en.json").read_text()) == {
        "xquad-en-0": "Paris", "xquad-en-1": "1999", "xquad-en-2": "the red house"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "xtreme-r" and "mewslix" in manifest["missing_tasks"]
    assert {f["examples"] for f in manifest["files"]} == {10, 3}
    # prediction paths are relative to the submission folder
    assert all((out / f["predictions"]).is_file() for f in manifest["files"])


def test_export_writes_one_folder_per_system(demo, tmp_path):
    _, rows, _ = demo
    res = export(rows, tmp_path)
    systems = {(s["model"], s["intermediate"], s["seed"]) for s in res["systems"]}
    assert systems == {(str(r["model"]), str(r.get("intermediate") or "none"), str(r["seed"])) for r in rows
                       if r.get("split") == "test" and r.get("predictions")}
    assert json.loads((tmp_path / "manifest.json").read_text())["systems"] == res["systems"]
    synthetic = [dict(r, synthetic=True) for r in rows]
    with pytest.raises(ExportError, match="synthetic data .*--allow-synthetic"):
        export(synthetic, tmp_path / "s")
    assert export(synthetic, tmp_path / "s", allow_synthetic=True)["synthetic"] is True
    with pytest.raises(ExportError, match="no rows with model='nope'; available: demo-large, demo-small"):
        export(rows, tmp_path, model="nope")
    with pytest.raises(ExportError, match="unknown format 'glue'; allowed: xtreme, xtreme-r"):
        export(rows, tmp_path, fmt="glue")


def test_cli_subcommands(demo, tmp_path):
    path, _, _ = demo
    runner = CliRunner()
    res = runner.invoke(main, ["leaderboard", "aggregate", str(path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert {b["model"] for b in data["benchmarks"]} == {"demo-small", "demo-large"}
    res = runner.invoke(main, ["leaderboard", "report", str(path), "--json", "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)["gains"]) == 6
    res = runner.invoke(main, ["leaderboard", "report", str(path), "--n-boot", "50"], terminal_width=250)
    assert res.exit_code == 0 and "+15.00" in res.output, res.output
    # demo-small's English interval [0, 50] reaches 0: its ratio (0.75 as a point) is printed as undefined
    assert "0.75" not in res.output and "undefined: the English gain's 95% interval [+0.00, +50.00]" in res.output
    res = runner.invoke(main, ["leaderboard", "report", str(path), "--metric", "xquad"])
    assert res.exit_code == 2 and "expected TASK=METRIC" in res.output
    res = runner.invoke(main, ["leaderboard", "export", str(path), "--out", str(tmp_path / "x"), "--model",
                               "demo-small", "--intermediate", "none", "--seed", "2", "--json"])
    assert res.exit_code == 0, res.output
    assert [Path(p).name for p in json.loads(res.output)["written"]] == ["test-de.tsv", "test-en.tsv",
                                                                          "test-sw.tsv"]
    res = runner.invoke(main, ["leaderboard", "aggregate", str(tmp_path / "missing.jsonl")])
    assert res.exit_code == 2 and "not found" in res.output


@pytest.mark.slow
def test_quickstart_then_report_prints_the_scale_table(quickstart_board):
    """The documented path: run the quickstart matrix (a copy writing under tmp), then report on it."""
    runner = CliRunner()
    res = runner.invoke(main, ["leaderboard", "report", str(quickstart_board), "--n-boot", "200"], terminal_width=250)
    assert res.exit_code == 0, res.output
    assert "gain over none by model size" in res.output
    assert "tiny-xlmr " in res.output and "tiny-xlmr-large" in res.output
    assert "trend xnli accuracy mnli [xx] within tiny-xlmr, 2 sizes" in res.output
    assert "SYNTHETIC" in res.output and "synthetic" in res.output
    rep = json.loads(runner.invoke(main, ["leaderboard", "report", str(quickstart_board), "--json", "--n-boot",
                                          "50"]).output)
    assert all(g["method"].startswith("paired: seeds") for g in rep["gains"])  # predictions files were found


def test_export_retrieval_layouts(tmp_path):
    """Tatoeba: line index of the xx→en neighbour; BUCC: pairs above the dev threshold; LAReQA: ranked ids."""
    import hashlib

    from harness.core.rows import ROW_KEYS

    def row(task, lang, preds, **kw):
        rel = f"p/{task}-{lang}.jsonl"
        data = "".join(json.dumps(p) + "\n" for p in preds).encode()
        (tmp_path / "p").mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(data)
        r = {k: None for k in ROW_KEYS}
        r.update(model="m", intermediate="none", seed=1, split="test", task=task, language=lang, metric="x",
                 value=0.0, predictions=rel, predictions_sha256=hashlib.sha256(data).hexdigest(), **kw)
        return r

    rows = [
        row("tatoeba", "de", [{"id": "t0", "prediction": {"fwd": "t1", "bwd": "t0"}},
                              {"id": "t1", "prediction": {"fwd": "t1", "bwd": "t1"}},
                              {"id": "t2", "prediction": {"fwd": "t0", "bwd": "t2"}}], direction="xx->en"),
        row("bucc2018", "de", [{"id": "de-1", "prediction": {"target": "en-7", "score": 1.3, "dev_threshold": 1.1}},
                               {"id": "de-2", "prediction": {"target": "en-8", "score": 1.0, "dev_threshold": 1.1}},
                               {"id": "de-3", "prediction": {"target": None, "score": None}},
                               {"id": "en-7", "prediction": None}]),
        row("lareqa", "de", [{"id": "q1", "prediction": ["c3", "c1"]}, {"id": "c1", "prediction": None}]),
    ]
    lb = tmp_path / "lb.jsonl"
    lb.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = load_rows(lb)
    res = export(loaded, tmp_path / "r", fmt="xtreme-r")
    assert sorted(Path(p).name for p in res["written"]) == ["test-de.json", "test-de.tsv"]
    sub = tmp_path / "r" / "m" / "none" / "seed-1"
    assert (sub / "tatoeba" / "test-de.tsv").read_text() == "1\n1\n0\n"
    assert json.loads((sub / "lareqa" / "test-de.json").read_text()) == {"q1": ["c3", "c1"]}
    assert res["skipped"] == ["bucc2018"]  # not an XTREME-R task
    export(loaded, tmp_path / "x", fmt="xtreme")
    assert (tmp_path / "x" / "m" / "none" / "seed-1" / "bucc2018" / "test-de.tsv").read_text() == "de-1\ten-7\n"


def test_export_reads_node_json_for_rows_written_before_the_synthetic_field(tmp_path):
    """A schema-1 row has no ``synthetic`` key; the loader fills it with null, which must not read as "real"."""
    import json

    from harness.results.export import is_synthetic
    from harness.results.leaderboard import load_rows

    node = tmp_path / "cache" / "nodes" / "k"
    node.mkdir(parents=True)
    (node / "predictions-test.jsonl").write_text("")
    old = {"schema_version": 1, "model": "m", "task": "xnli", "metric": "accuracy", "value": 50.0,
           "language": "de", "predictions": "cache/nodes/k/predictions-test.jsonl"}
    board = tmp_path / "lb.jsonl"
    board.write_text(json.dumps(old) + "\n")
    (node / "node.json").write_text(json.dumps({"params": {"task": {"data": {"kind": "synthetic"}}}}))
    assert is_synthetic(load_rows(board)[0])
    (node / "node.json").write_text(json.dumps({"params": {"task": {"data": {"kind": "local"}}}}))
    assert not is_synthetic(load_rows(board)[0])
    board.write_text(json.dumps({**old, "synthetic": False}) + "\n")  # the field, when present, decides
    (node / "node.json").write_text(json.dumps({"params": {"task": {"data": {"kind": "synthetic"}}}}))
    assert not is_synthetic(load_rows(board)[0])
