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

    from harness.cli.main import main

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
    from harness.results.aggregate import benchmark_scores
    from harness.results.leaderboard import load_rows

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


# submission metric (harness score --benchmark, as evaluate.py names it) -> the row metric it must equal
ROUND_TRIP = {"xnli": {"accuracy": "accuracy"}, "xcopa": {"accuracy": "accuracy"},
              "udpos": {"f1": "pos_seqeval_f1"}, "panx": {"f1": "ner_seqeval_f1"},
              "xquad": {"f1": "squad_v1_f1", "exact_match": "squad_v1_exact_match"},
              "mlqa": {"f1": "mlqa_f1", "exact_match": "mlqa_exact_match"},
              "tydiqa": {"f1": "squad_v1_f1", "exact_match": "squad_v1_exact_match"},
              "tatoeba": {"accuracy": "tatoeba_accuracy_xx2en"}, "mewslix": {"map@20": "mewslix_map_at_20"}}
JSON_TASKS = ("xquad", "mlqa", "tydiqa", "mewslix", "lareqa")


@pytest.mark.slow
def test_xtreme_r_export_round_trip(xtreme_r_run, tmp_path):
    """matrix rows -> ``leaderboard export`` -> ``harness score --benchmark xtreme-r``: the rows' values again."""
    from click.testing import CliRunner

    from harness.cli.main import main
    from harness.results.leaderboard import load_rows

    rows = load_rows(xtreme_r_run)
    sub = tmp_path / "sub"
    args = ["leaderboard", "export", str(xtreme_r_run), "--format", "xtreme-r", "--out", str(sub), "--labels"]
    run = CliRunner().invoke(main, args)
    assert run.exit_code != 0 and "--allow-synthetic" in run.output  # synthetic rows need the flag
    run = CliRunner().invoke(main, [*args, "--allow-synthetic"])
    assert run.exit_code == 0, run.output
    (system,) = json.loads((sub / "manifest.json").read_text())["systems"]
    assert system["folder"] == "tiny-xlmr/none/seed-1" and system["missing"] == {}
    folder = sub / system["folder"]
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("test-*"))
    suffix = {**{t: "json" for t in JSON_TASKS}, "xcopa": "jsonl"}
    assert written == sorted(f"{t}/test-{lang}.{suffix.get(t, 'tsv')}" for t, langs in TARGETS.items()
                             for lang in langs)
    assert sorted(p.relative_to(sub / "labels").as_posix() for p in (sub / "labels").rglob("test-*")) == written
    assert all(line.isdigit() for line in (folder / "tatoeba" / "test-de.tsv").read_text().split())
    files = json.loads((folder / "manifest.json").read_text())["files"]
    assert len(files) == len(written)
    assert all((folder / f["predictions"]).is_file() for f in files)  # paths relative to the submission folder

    run = CliRunner().invoke(main, ["score", "--benchmark", "xtreme-r", "--predictions", str(folder),
                                    "--labels", str(sub / "labels"), "--json"])
    assert run.exit_code == 0, run.output
    got = json.loads(run.output)
    assert got["errors"] == [] and got["status"].startswith("partial")  # 1-2 of each task's languages ran
    value = {(r["task"], r["language"], r["metric"]): r["value"] for r in rows if r["split"] == "test"}
    n = 0
    for task, metrics in ROUND_TRIP.items():
        for metric, row_metric in metrics.items():
            scored = got["tasks"][task]["languages"][metric]
            assert sorted(scored) == sorted(set(TARGETS[task]) - ({"en"} if task == "xcopa" else set())), task
            for lang, v in scored.items():
                assert v == pytest.approx(value[(task, lang, row_metric)], abs=1e-6), (task, lang, metric)
                n += 1
    assert n == 22
