"""The tiny-model XTREME matrix (configs/xtreme-tiny.yaml) end to end on synthetic data: per-language rows for
every target, and ``harness score`` re-scoring a stored predictions file to the very same number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

EXPECTED = {  # task -> (languages, metrics, split, examples per language in the synthetic fixture)
    "xnli": (["en", "de"], ["accuracy"], "test", 60),
    "pawsx": (["en", "de"], ["accuracy"], "test", 60),
    "xcopa": (["en", "et", "zh"], ["accuracy"], "test", 40),
    "udpos": (["en", "de", "zh"], ["pos_seqeval_f1", "pos_accuracy"], "test", 40),
    "panx": (["en", "de"], ["ner_seqeval_f1"], "test", 40),
    "xquad": (["en", "de", "zh"], ["squad_v1_f1", "squad_v1_exact_match"], "test", 24),
    "mlqa": (["en", "de", "zh"], ["mlqa_f1", "mlqa_exact_match"], "test", 24),
    "tydiqa": (["en", "sw"], ["squad_v1_f1", "squad_v1_exact_match"], "dev", 24),
}


@pytest.mark.slow
def test_xtreme_tiny_matrix(tmp_path):
    from click.testing import CliRunner

    from harness.cli.main import main

    cfg = yaml.safe_load((REPO / "configs" / "xtreme-tiny.yaml").read_text())
    cfg["output_dir"] = str(tmp_path / "run")
    config = tmp_path / "xtreme-tiny.yaml"
    config.write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(main, ["matrix", "run", str(config)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "run" / "leaderboard.jsonl").read_text().splitlines()]
    assert len(rows) == len({(r["intermediate"], r["task"], r["language"], r["metric"]) for r in rows})
    assert {r["intermediate"] for r in rows} == {"none", "siqa"}  # XTREME-R's SIQA stage, labelled in every row
    got = {(r["task"], r["language"], r["metric"]): r for r in rows if r["intermediate"] == "none"}
    expected = {(t, lang, m) for t, (langs, metrics, _, _) in EXPECTED.items() for lang in langs for m in metrics}
    assert set(got) == expected
    assert {(r["task"], r["language"], r["metric"]) for r in rows if r["intermediate"] == "siqa"} == expected
    for (task, _lang, _metric), r in got.items():
        _langs, _metrics, split, n = EXPECTED[task]
        assert r["split"] == split and r["n"] == n and r["task_kind"] == {
            "xnli": "classification", "pawsx": "classification", "xcopa": "multiple_choice", "udpos": "tagging",
            "panx": "tagging", "xquad": "span_qa", "mlqa": "span_qa", "tydiqa": "span_qa"}[task]
        assert 0.0 <= r["value"] <= 100.0
        assert f"task:{task}@" in r["signature"] and r["predictions_sha256"]
    assert got[("udpos", "de", "pos_seqeval_f1")]["variant"] == "xtreme-seqeval-0.0.12-chunk-f1"
    assert got[("udpos", "de", "pos_accuracy")]["variant"] == "token-accuracy"

    # re-score stored predictions with `harness score`: the same number as the row
    for task, lang, metric, data in (
        ("mlqa", "zh", "mlqa_f1", "mlqa/MLQA_V1/test/test-context-zh-question-zh.json"),
        ("udpos", "de", "pos_seqeval_f1", "udpos/de_synthetic-ud-test.conllu"),
        ("xcopa", "et", "accuracy", "xcopa/test.et.jsonl"),
    ):
        row = got[(task, lang, metric)]
        preds = next(p for p in (tmp_path / "run" / row["predictions"], tmp_path / "run" / "cache" / row["predictions"],
                                 Path(row["predictions"])) if p.exists())
        out = CliRunner().invoke(main, ["score", task, "--data", str(tmp_path / "run" / "data" / data),
                                        "--predictions", str(preds), "--json"])
        assert out.exit_code == 0, out.output
        scored = json.loads(out.output[out.output.index("{"):])
        assert scored["scores"][metric]["value"] == pytest.approx(row["value"], abs=1e-9)
