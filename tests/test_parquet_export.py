"""``harness leaderboard export --format parquet``: typed columns, nested values exact, and every reader of
leaderboard files reads the Parquet file as it reads the JSONL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from harness.cli.main import main
from harness.core.rowfiles import read_rows
from harness.core.rows import ROW_KEYS, DamagedFile, read_jsonl, upgrade_row
from harness.core.rows_parquet import read_parquet, write_parquet
from harness.results.leaderboard import SOURCE_KEY, load_rows

REPO = Path(__file__).resolve().parents[1]
BOARDS = ("real-offline.jsonl", "quickstart.jsonl")


def _export(tmp_path: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["leaderboard", "export", *args], terminal_width=200)


@pytest.mark.parametrize("board", BOARDS)
def test_parquet_export_reads_back_as_the_jsonl_rows(tmp_path, board):
    src = REPO / "leaderboards" / board
    out = REPO / "leaderboards" / f".test-{os.getpid()}-{board}.parquet"  # beside the JSONL: same predictions paths
    try:
        res = _export(tmp_path, str(src), "--format", "parquet", "--out", str(out))
        assert res.exit_code == 0, res.output
        raw = read_jsonl(src)
        assert f"parquet: {len(raw)} rows in {out}" in res.output
        back = read_rows(out)
        assert len(back) == len(raw)
        for got, want in zip(back, raw):  # field by field, in the file's order
            want = upgrade_row(want)
            assert set(got) == set(want)
            for key in want:
                assert got[key] == want[key], (key, got[key], want[key])
                assert type(got[key]) is type(want[key]), key  # 41.0 stays a float, 1 an int, a dict a dict
    finally:
        out.unlink(missing_ok=True)


def test_columns_carry_the_row_schema_types(tmp_path):
    out = tmp_path / "q.parquet"
    assert _export(tmp_path, str(REPO / "leaderboards" / "quickstart.jsonl"), "--format", "parquet",
                   "--out", str(out)).exit_code == 0
    schema = pq.read_schema(out)
    assert schema.names[:len(ROW_KEYS)] == list(ROW_KEYS)
    assert schema.field("value").type == pa.float64()
    assert schema.field("seed").type == pa.int64()
    assert schema.field("model_params").type == pa.int64()
    assert schema.field("synthetic").type == pa.bool_()
    assert schema.field("intermediate_tasks").type == pa.list_(pa.string())
    assert schema.field("signature").type == pa.string()
    assert schema.field("budget").metadata == {b"xlt_harness.type": b"json"}
    table = pq.read_table(out)
    assert table.column("seed").to_pylist()[:2] == [1, 1]
    assert table.column("intermediate_tasks").to_pylist()[:1] == [[]]


def test_handmade_rows_with_nulls_nested_and_extra_keys_round_trip(tmp_path):
    rows = [
        {**{k: None for k in ROW_KEYS}, "model": "m", "task": "xnli", "value": 50.5, "seed": 3, "synthetic": True,
         "budget": {"target_steps": 7, "target_resumed": {"from_step": 2, "exact": True}, "note": None},
         "libraries": {"torch": None}, "intermediate_data": [{"task": "mnli", "kind": "hub", "rev": [1, "a"]}],
         "intermediate_tasks": ["mnli", "anli"], "depth": {"layers": 4}, "generation": None},
        {**{k: None for k in ROW_KEYS}, "model": "m", "task": "xnli", "value": 7, "seed": None, "budget": {},
         "intermediate_tasks": [], "source": {"paper": "x"}},
    ]
    path = tmp_path / "h.parquet"
    write_parquet(path, rows)
    back = read_parquet(path)
    assert back == rows  # absent `depth`/`source` stay absent; `generation: null` stays a null value
    assert "depth" not in back[1] and "generation" in back[0] and back[0]["generation"] is None
    assert back[1]["value"] == 7.0 and isinstance(back[1]["value"], float)  # an integral value in the float column


def test_a_column_that_does_not_fit_its_type_is_kept_exactly_as_json(tmp_path):
    rows = [{**{k: None for k in ROW_KEYS}, "model": "m", "task": "t", "value": 1.0, "seed": "s1"},
            {**{k: None for k in ROW_KEYS}, "model": "m", "task": "t", "value": 2.0, "seed": 2}]
    write_parquet(tmp_path / "x.parquet", rows)
    assert pq.read_schema(tmp_path / "x.parquet").field("seed").metadata == {b"xlt_harness.type": b"json"}
    assert [r["seed"] for r in read_parquet(tmp_path / "x.parquet")] == ["s1", 2]


def test_reports_read_parquet_as_they_read_jsonl(tmp_path):
    src = REPO / "leaderboards" / "quickstart.jsonl"
    out = tmp_path / "sub" / "q.parquet"  # another folder: predictions paths are rewritten relative to it
    assert _export(tmp_path, str(src), "--format", "parquet", "--out", str(out)).exit_code == 0
    jsonl_rows, parquet_rows = load_rows(src), load_rows(out)
    for a, b in zip(jsonl_rows, parquet_rows):
        assert (out.parent / b["predictions"]).resolve() == (src.parent / a["predictions"]).resolve()
        assert {k: v for k, v in a.items() if k not in ("predictions", SOURCE_KEY)} == \
            {k: v for k, v in b.items() if k not in ("predictions", SOURCE_KEY)}
    runner = CliRunner()
    for cmd in (["show", "--json"], ["aggregate", "--json"]):
        want = runner.invoke(main, ["leaderboard", *cmd, str(src)])
        got = runner.invoke(main, ["leaderboard", *cmd, str(out)])
        assert got.exit_code == 0, got.output
        strip = lambda data: [{k: v for k, v in r.items() if k != "predictions"} for r in data] \
            if isinstance(data, list) else data  # noqa: E731
        assert strip(json.loads(got.output)) == strip(json.loads(want.output))


def test_parquet_export_filters_and_refuses_what_does_not_apply(tmp_path):
    src = str(REPO / "leaderboards" / "quickstart.jsonl")
    out = tmp_path / "one.parquet"
    res = _export(tmp_path, src, "--format", "parquet", "--out", str(out), "--model", "tiny-xlmr", "--seed", "1")
    assert res.exit_code == 0, res.output
    assert {(r["model"], r["seed"]) for r in read_rows(out)} == {("tiny-xlmr", 1)}
    assert len(read_rows(out)) == 12  # 3 intermediate settings × 4 languages
    res = _export(tmp_path, src, "--format", "parquet", "--out", str(tmp_path / "x.pq"))
    assert res.exit_code == 2 and "a Parquet export is one file whose name ends in .parquet" in res.output
    res = _export(tmp_path, src, "--format", "parquet", "--out", str(out), "--labels")
    assert res.exit_code == 2 and "--labels: gold label folders belong to submissions" in res.output
    res = _export(tmp_path, src, "--format", "parquet", "--out", str(out), "--split", "dev")
    assert res.exit_code == 2 and "--split dev: no rows of that split; the files hold test" in res.output


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet\n")
    with pytest.raises(DamagedFile, match=r"bad\.parquet: not a readable Parquet file"):
        read_rows(bad)
    res = CliRunner().invoke(main, ["leaderboard", "show", str(bad)])
    assert res.exit_code == 2 and "not a readable Parquet file" in res.output
