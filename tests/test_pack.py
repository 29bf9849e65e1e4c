"""``harness leaderboard pack``: the predictions the intervals need, in one content-addressed archive beside the
leaderboard; report, page and export read it once the original files are gone."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile

import pytest
from click.testing import CliRunner
from fixtures_report import write_demo

from harness.cli.main import main
from harness.results.export import export
from harness.results.gains import gains
from harness.results.html import build
from harness.results.leaderboard import load_rows
from harness.results.pack import MANIFEST, PackError, pack_path, write_pack


def _report(path):
    return gains(load_rows(path), n_boot=200, seed=0)["gains"]


def test_pack_replaces_the_deleted_prediction_files(tmp_path):
    path = write_demo(tmp_path)
    before = _report(path)
    assert all(g["predictions_missing"] == 0 for g in before)
    result = CliRunner().invoke(main, ["leaderboard", "pack", str(path), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    # content-addressed: an XNLI file depends only on k (8 distinct values in XNLI_CORRECT), a PAN-X file on the
    # intermediate (2), an XQuAD file on the intermediate and the language (4): 14 entries serve all 48 rows
    assert (got["entries"], got["rows"], got["missing"]) == (14, 48, [])
    packed = pack_path(path)
    assert got["bytes"] == packed.stat().st_size and got["pack"] == str(packed)
    first = packed.read_bytes()
    shutil.rmtree(tmp_path / "predictions")
    after = _report(path)
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)  # same intervals, same methods
    with tarfile.open(packed) as tar:
        names = tar.getnames()
    assert names[0] == MANIFEST and names[1:] == sorted({r["predictions_sha256"] for r in load_rows(path)})
    # packing again from the pack alone gives the same bytes (deterministic, content-addressed)
    write_pack(path, load_rows(path))
    assert packed.read_bytes() == first
    # the page and the export read the pack too
    rows = load_rows(path)
    page = build(rows, gains(rows, n_boot=50), tmp_path / "site")
    assert "predictions missing" not in page.read_text()
    res = export(rows, tmp_path / "sub", model="demo-large", intermediate="mnli", seed=1)
    assert (tmp_path / "sub" / "demo-large" / "mnli" / "seed-1" / "xnli" / "test-de.tsv").read_text().split() == [
        "entailment", "neutral", "contradiction", "entailment", "neutral", "contradiction", "entailment",
        "neutral", "entailment", "neutral"]  # k = 8: examples 0-7 right, 8 and 9 the next label (gold con, ent)
    assert len(res["written"]) == 7  # XNLI en, de, sw; PAN-X and XQuAD en, de


def test_a_row_missing_from_the_pack_is_marked(tmp_path):
    path = write_demo(tmp_path, qa_and_ner=False)
    rows = load_rows(path)
    lost = next(r for r in rows if r["model"] == "demo-small" and r["intermediate"] == "mnli" and r["language"] == "de"
                and r["seed"] == 2)
    (tmp_path / lost["predictions"]).unlink()
    got = write_pack(path, rows)
    # 8 distinct XNLI files (one per k); k = 7 is only demo-small / mnli / seed 2 / de, now deleted
    assert got["entries"] == 7 and got["missing"] == [
        f"demo-small / mnli / xnli / de / test / seed 2: {tmp_path / lost['predictions']}"]
    shutil.rmtree(tmp_path / "predictions")
    rows = load_rows(path)
    rep = gains(rows, n_boot=50)
    small, large = (next(g for g in rep["gains"] if g["model"] == m) for m in ("demo-small", "demo-large"))
    assert small["predictions_missing"] == 1 and large["predictions_missing"] == 0
    assert small["method"].endswith("; PREDICTIONS MISSING for 1/12 evaluations (not on disk, not in the pack): those "
                                    "vary by seeds only, the interval is too narrow")
    assert "MISSING" not in large["method"]
    text = build(rows, rep, tmp_path / "site").read_text()
    assert text.count("(predictions missing: 1/12 evaluations seeds only)") == 2  # the en and the xx cell


def test_a_tampered_entry_is_refused_naming_the_row(tmp_path):
    path = write_demo(tmp_path, qa_and_ner=False)
    write_pack(path, load_rows(path))
    shutil.rmtree(tmp_path / "predictions")
    row = next(r for r in load_rows(path) if r["model"] == "demo-large" and r["intermediate"] == "none"
               and r["language"] == "sw" and r["seed"] == 1)
    packed = pack_path(path)
    with tarfile.open(packed) as tar:
        entries = {m.name: tar.extractfile(m).read() for m in tar}
    entries[row["predictions_sha256"]] = entries[row["predictions_sha256"]].replace(b'"neutral"', b'"entailment"', 1)
    with tarfile.open(packed, "w:xz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(PackError, match="row demo-large / none / xnli / sw / test / seed 1 does not match its sha256"):
        gains(load_rows(path), n_boot=20)
    result = CliRunner().invoke(main, ["leaderboard", "report", str(path)])
    assert result.exit_code == 2 and "demo-large / none / xnli / sw / test / seed 1" in result.stderr
    assert hashlib.sha256(entries[row["predictions_sha256"]]).hexdigest() != row["predictions_sha256"]


def test_pack_without_any_prediction_file_says_so(tmp_path):
    path = write_demo(tmp_path, qa_and_ner=False)
    shutil.rmtree(tmp_path / "predictions")
    result = CliRunner().invoke(main, ["leaderboard", "pack", str(path)])
    assert result.exit_code == 2 and "none of the 24 rows' predictions files is on this machine" in result.stderr
    assert not pack_path(path).exists()
