"""scripts/bucc_sample.py: the real study's BUCC cut keeps every gold pair's sentences plus the first N lines a
side, in the official layout; a missing or malformed input file stops it with the path and the layout."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("bucc_sample", REPO / "scripts" / "bucc_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(folder: Path, gold: str = "zh-000005\ten-000007\nzh-000002\ten-000001\n") -> Path:
    folder.mkdir()
    (folder / "zh-en.dev.zh").write_text("".join(f"zh-{i:06d}\t句子{i}\n" for i in range(1, 9)), encoding="utf-8")
    (folder / "zh-en.dev.en").write_text("".join(f"en-{i:06d}\tsentence {i}\n" for i in range(1, 9)))
    (folder / "zh-en.dev.gold").write_text(gold)
    return folder


def test_cut_keeps_gold_sentences_and_the_first_lines(tmp_path):
    src = _write(tmp_path / "src")
    counts = _module().cut(src, tmp_path / "out", lines=3)
    # hand: zh keeps lines 1-3 plus gold source 5; en keeps 1-3 plus gold target 7 (en-1 is both)
    assert counts == {"zh": 4, "en": 4, "gold": 2}
    zh = (tmp_path / "out" / "zh-en.dev.zh").read_text(encoding="utf-8").split("\n")
    assert [x.split("\t")[0] for x in zh if x] == ["zh-000001", "zh-000002", "zh-000003", "zh-000005"]
    en = (tmp_path / "out" / "zh-en.dev.en").read_text().split("\n")
    assert [x.split("\t")[0] for x in en if x] == ["en-000001", "en-000002", "en-000003", "en-000007"]
    assert (tmp_path / "out" / "zh-en.dev.gold").read_text() == (src / "zh-en.dev.gold").read_text()
    assert "sha256" in (tmp_path / "out" / "SOURCE.md").read_text()


def test_missing_side_file_names_it(tmp_path):
    src = _write(tmp_path / "src")
    (src / "zh-en.dev.en").unlink()
    with pytest.raises(SystemExit, match=r"zh-en\.dev\.en not found: pass the folder"):
        _module().cut(src, tmp_path / "out", lines=3)
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_malformed_gold_line_names_file_and_line(tmp_path):
    src = _write(tmp_path / "src", gold="zh-000005\ten-000007\nzh-000002 en-000001\n")
    with pytest.raises(SystemExit, match=r"zh-en\.dev\.gold:2: .* is not 'SOURCE_ID<TAB>TARGET_ID'"):
        _module().cut(src, tmp_path / "out", lines=3)
