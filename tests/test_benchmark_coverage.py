"""Benchmark scores from an actual matrix run: every XTREME-R target (tiny-xlmr, SYNTHETIC data, one seed, two
languages at most) lands in the XTREME-R score, retrieval included, because the task plugins declare their
benchmark membership and metric names (``TaskSpec.benchmarks``); the export writes every task's folder."""

from __future__ import annotations

import json
from statistics import mean

import pytest

TARGETS = {  # XTREME-R's ten tasks -> languages run here
    "xnli": ["en", "de"], "xcopa": ["en", "et"], "udpos": ["en", "de"], "panx": ["en", "de"],
    "xquad": ["en", "de"], "mlqa": ["en", "de"], "tydiqa": ["en", "sw"],
    "tatoeba": ["de"], "mewslix": ["de", "en"], "lareqa": ["de", "en"],
}
# the metric each task contributes to XTREME-R, as the plugins' rows name it (QA: (F1 + EM) / 2)
MAIN = {"xnli": "accuracy", "xcopa": "accuracy", "udpos": "pos_accuracy", "panx": "ner_seqeval_f1",
        "tatoeba": "tatoeba_accuracy_xx2en", "mewslix": "mewslix_map_at_20", "lareqa": "lareqa_map_at_20",
        "xquad": ("squad_v1_f1", "squad_v1_exact_match"), "mlqa": ("mlqa_f1", "mlqa_exact_match"),
        "tydiqa": ("squad_v1_f1", "squad_v1_exact_match")}


@pytest.fixture(scope="module")
def xtreme_r_run(tmp_path_factory):
    from click.testing import CliRunner

    from harness.cli import main

    tmp = tmp_path_factory.mktemp("xtreme-r")
    targets = "\n".join(f"  - {{name: {t}, languages: [{', '.join(langs)}]}}" for t, langs in TARGETS.items())
    config = tmp / "xtreme-r.yaml"
    config.write_text(f"""name: xtreme-r-all
output_dir: {tmp / 'run'}
models: [tiny-xlmr]
intermediate: [none]
targets:
{targets}
seeds: [1]
data: {{{', '.join(f'{t}: synthetic' for t in TARGETS)}}}
train: {{lr: 0.001, batch_size: 8, max_steps: 2, max_length: 32, eval_batch_size: 64}}
""")
    result = CliRunner().invoke(main, ["matrix", "run", str(config)])
    assert result.exit_code == 0, result.output
    return tmp / "run" / "leaderboard.jsonl"


def _by_hand(rows: list[dict], task: str) -> float:
    """Per language the row value, then the unweighted mean over languages (one seed)."""
    def lang_mean(metric: str) -> float:
        values = {r["language"]: r["value"] for r in rows if r["task"] == task and r["metric"] == metric}
        assert sorted(values) == sorted(TARGETS[task]), (task, metric, values)
        return mean(values.values())
    main = MAIN[task]
    return (lang_mean(main[0]) + lang_mean(main[1])) / 2 if isinstance(main, tuple) else lang_mean(main)


@pytest.mark.slow
def test_xtreme_r_score_complete_from_a_matrix_run(xtreme_r_run):
    from harness.leaderboard import load_rows
    from harness.report.aggregate import benchmark_scores

    rows = load_rows(xtreme_r_run)
    assert {r["task"] for r in rows} == set(TARGETS)
    (entry,) = benchmark_scores(rows)
    score = entry["scores"]["xtreme_r"]
    assert score["status"] == "complete" and score["missing"] == []
    assert list(score["tasks"]) == ["xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "tatoeba",
                                    "mewslix", "lareqa"]
    for task, value in score["tasks"].items():
        assert value == pytest.approx(_by_hand(rows, task), abs=1e-9), task
    assert score["value"] == pytest.approx(mean(_by_hand(rows, t) for t in TARGETS), abs=1e-9)
    # XTREME shares seven of these tasks (POS as seqeval F1 there) and lacks PAWS-X and BUCC here
    assert entry["scores"]["xtreme"]["missing"] == ["pawsx", "bucc2018"]


@pytest.mark.slow
def test_xtreme_r_export_has_every_task(xtreme_r_run, tmp_path):
    from harness.leaderboard import load_rows
    from harness.report.export import export

    result = export(load_rows(xtreme_r_run), tmp_path / "sub", fmt="xtreme-r")
    assert result["missing"] == {} and result["skipped"] == []
    written = sorted(p.relative_to(tmp_path / "sub").as_posix() for p in (tmp_path / "sub").rglob("test-*"))
    assert written == sorted(f"{t}/test-{lang}.{'json' if t in ('xquad', 'mlqa', 'tydiqa', 'mewslix', 'lareqa') else 'tsv'}"
                             for t, langs in TARGETS.items() for lang in langs)
    tatoeba = (tmp_path / "sub" / "tatoeba" / "test-de.tsv").read_text().split()
    assert all(line.isdigit() for line in tatoeba)  # one retrieved line index per query
    manifest = json.loads((tmp_path / "sub" / "manifest.json").read_text())
    assert len(manifest["files"]) == len(written)
