"""A reduced examples/real-offline.yaml through ``harness matrix run`` on the real samples and the real me5-small.

Same shape as the study (a depth ablation of multilingual-e5-small, ``none`` + one English intermediate task with its
own dev score, XNLI on the leak-free row split, Tatoeba and BUCC evaluated with the intermediate checkpoint), cut to
one depth (2 layers), one seed, a few steps, two languages and small row slices. BUCC is cut by the study's own
scripts/bucc_sample.py to its 257 gold pairs' sentences plus the first 300 lines of each side, written into the test's
temporary folder (the shared files are never copied into the repository). Skips when ../shared/data or me5-small is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPTH = {"layers": 2, "of": "multilingual-e5-small", "of_layers": 12,
         "axis": "depth (layers of multilingual-e5-small)"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _small_bucc(shared: Path, out: Path) -> Path:
    """The study's own BUCC cut (scripts/bucc_sample.py): all 257 gold pairs' sentences + the first 300 lines."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bucc_sample", REPO / "scripts" / "bucc_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counts = module.cut(shared / "bucc2018", out, lines=300)
    assert counts["gold"] == 257 and counts["zh"] < 600 and counts["en"] < 600, counts
    return out


def _reduced_config(tmp_path: Path, shared: Path) -> Path:
    """examples/real-offline.yaml with its budgets and slices cut down (every other field as the study has it)."""
    cfg = yaml.safe_load((REPO / "examples" / "real-offline.yaml").read_text(encoding="utf-8"))
    cfg.update(
        output_dir=str(tmp_path / "run"), leaderboard=str(tmp_path / "run" / "leaderboard.jsonl"), seeds=[1],
        models=[{"name": "multilingual-e5-small", "depth": 2}],
        intermediate=["none", {"name": "sst2", "dev_split": "dev[0:32]"}],
        targets=[
            {"name": "xnli", "languages": ["en", "de"], "train_split": "dev[0:16]", "select_split": "dev[300:316]",
             "eval_splits": ["dev[400:432]"], "options": {"pooling": "mean"}, "train": {"epochs": 1}},
            {"name": "tatoeba", "languages": ["de", "sw"], "eval_splits": ["test[0:100]"]},
            {"name": "bucc2018", "languages": ["zh"], "eval_splits": ["dev"]},
        ],
        train={"batch_size": 8, "max_length": 48, "eval_batch_size": 32},
        intermediate_train={"lr": 5.0e-5, "max_steps": 3},
        target_train={"lr": 5.0e-5},
    )
    data = {t: str((REPO / p).resolve()) for t, p in cfg["data"].items() if t in ("sst2", "xnli", "tatoeba")}
    data["bucc2018"] = str(_small_bucc(shared, tmp_path / "bucc2018"))
    cfg["data"] = data
    path = tmp_path / "real-offline-small.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_reduced_real_study_rows_carry_provenance_and_depth(tmp_path, shared_data, me5_dir, monkeypatch):
    from click.testing import CliRunner

    from harness.cli.main import main
    from harness.core.rows import read_jsonl

    monkeypatch.setenv("XLT_ME5_DIR", str(me5_dir))
    cfg = _reduced_config(tmp_path, shared_data)
    result = CliRunner().invoke(main, ["matrix", "run", str(cfg)])
    assert result.exit_code == 0, result.output
    rows = read_jsonl(tmp_path / "run" / "leaderboard.jsonl")

    assert {r["model"] for r in rows} == {"multilingual-e5-small@L2"}
    for r in rows:  # real-data provenance and the depth ablation in every row
        assert r["data_source"] == "local" and not r["synthetic"], r
        assert r["data_fingerprint"].startswith("sha256:"), r["data_fingerprint"]
        assert HEX64.match(r["model_weights_sha256"]["model.safetensors"]), r["model_weights_sha256"]
        assert r["depth"] == DEPTH
        # 10 of 12 BERT layers dropped, 1,774,464 parameters each (4·(384²+384) + 2·384·1536 + 1536 + 384 + 4·384)
        assert r["model_params"] == 117_653_760 - 10 * 1_774_464
        if r["intermediate"] == "sst2":
            assert [d["source"] for d in r["intermediate_data"]] == ["local"]
            assert r["budget"]["intermediate_steps"] == 3
            dev = r["budget"]["intermediate_dev"]["sst2"]
            assert (dev["split"], dev["metric"], dev["n"]) == ("dev[0:32]", "accuracy", 32)
            assert dev["value"] * 32 == pytest.approx(round(dev["value"] * 32))  # a count of 32 dev sentences

    # retrieval rows evaluated with the intermediate-trained checkpoint (no target training in between)
    cells = {(r["task"], r["intermediate"], r["language"]) for r in rows}
    for inter in ("none", "sst2"):
        assert {("tatoeba", inter, "de"), ("tatoeba", inter, "sw"), ("bucc2018", inter, "zh"),
                ("xnli", inter, "en"), ("xnli", inter, "de")} <= cells
    for r in rows:
        if r["task"] in ("tatoeba", "bucc2018"):
            assert "layer:2" in r["signature"], r["signature"]  # the last of the 2 kept layers
            if r["task"] == "tatoeba":
                assert r["n"] == 100
    xnli = [r for r in rows if r["task"] == "xnli"]
    assert {r["n"] for r in xnli} == {32}
    assert all(r["budget"]["target_steps"] == 2 for r in xnli)  # 16 rows, batch 8, one epoch
