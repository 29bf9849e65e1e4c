"""Language codes: each task language beside its ISO 639-3 + script (FLORES-200) code, and ``ja``, ``jpn`` and
``jpn_Jpan`` meaning the same language wherever a user names languages (config, --languages, --language)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from xlt_harness_plugins.tasks.flores import LANGUAGES as FLORES_LANGUAGES

from harness.cli.main import main
from harness.core.languages import (
    ISO_CODES,
    MACRO,
    AmbiguousLanguage,
    UnknownLanguage,
    iso_code,
    resolve_language,
    same_language,
)
from harness.core.registry import registry
from harness.planning.config import ConfigError, config_hash, parse_config
from harness.planning.plan import build_plan

REPO = Path(__file__).resolve().parents[1]
PAWSX = ("en", "de", "es", "fr", "ja", "ko", "zh")


def test_every_code_in_the_table_is_a_flores200_code():
    assert set(ISO_CODES.values()) <= set(FLORES_LANGUAGES)
    assert len(set(ISO_CODES.values())) == len(ISO_CODES)  # one FLORES-200 language per benchmark code
    assert ISO_CODES["ja"] == "jpn_Jpan" and ISO_CODES["zh"] == "zho_Hans" and ISO_CODES["sw"] == "swh_Latn"
    assert set(MACRO) <= set(ISO_CODES)


def test_every_two_letter_language_of_a_builtin_task_is_in_the_table():
    codes = {lang for t in registry().tasks.values() for lang in t.spec.languages if re.fullmatch(r"[a-z]{2}", lang)}
    assert sorted(codes - set(ISO_CODES)) == []
    assert iso_code("deu_Latn") == "deu_Latn" and iso_code("multi") is None


@pytest.mark.parametrize("given", ["ja", "jpn", "jpn_Jpan", "JPN", "jpn-jpan"])
def test_the_forms_of_one_language_resolve_to_the_tasks_code(given):
    assert resolve_language(given, PAWSX, "pawsx") == "ja"
    assert resolve_language(given, FLORES_LANGUAGES, "flores") == "jpn_Jpan"


def test_macrolanguages_scripts_and_ambiguity():
    assert resolve_language("ara", ("en", "ar"), "xnli") == "ar"  # the macrolanguage of arb_Arab
    assert resolve_language("arb_Arab", ("en", "ar"), "xnli") == "ar"
    assert resolve_language("swa", ("en", "sw"), "xnli") == "sw"
    assert resolve_language("zho", PAWSX, "pawsx") == "zh"
    with pytest.raises(UnknownLanguage, match=r"'zho_Hant' is not a language of 'pawsx'"):
        resolve_language("zho_Hant", PAWSX, "pawsx")  # the tasks' Chinese is simplified
    with pytest.raises(AmbiguousLanguage, match=r"'zho' names several languages of 'flores' \(zho_Hans, zho_Hant\)"):
        resolve_language("zho", FLORES_LANGUAGES, "flores")
    assert same_language("ja", "jpn_Jpan") and not same_language("zh", "zho_Hant")


def test_an_unknown_code_names_the_tasks_languages():
    with pytest.raises(UnknownLanguage) as err:
        resolve_language("xyz", PAWSX, "pawsx", "--languages")
    assert str(err.value) == ("--languages: 'xyz' is not a language of 'pawsx'. Allowed: en, de, es, fr, ja, ko, zh "
                              "(or their ISO 639-3 / FLORES-200 forms: ja = jpn = jpn_Jpan).")


BASE = {"name": "l", "models": ["tiny-xlmr"], "intermediate": ["none"], "seeds": [1],
        "data": {"pawsx": "synthetic"}}


def _plan(tmp_path, languages, **extra):
    return build_plan(parse_config({**BASE, "output_dir": str(tmp_path / "out"),
                                    "targets": [{"name": "pawsx", "languages": languages}], **extra}))


def test_config_languages_take_either_form_and_plan_the_same_nodes(tmp_path):
    own, iso = _plan(tmp_path, ["en", "ja"]), _plan(tmp_path, ["eng", "jpn_Jpan"])
    assert iso.config.targets[0].languages == ["en", "ja"]
    assert list(iso.nodes) == list(own.nodes) and iso.config_hash == own.config_hash
    assert config_hash(iso.config) == own.config_hash
    assert sorted(n.params["language"] for n in iso.by_stage("eval")) == ["en", "ja"]


def test_config_language_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"targets\[0\]\.languages: 'jpn_Hira' is not a language of 'pawsx'\. "
                                          r"Allowed: en, de, es, fr, ja, ko, zh"):
        _plan(tmp_path, ["jpn_Hira"])
    with pytest.raises(ConfigError, match=r"'ja' and 'jpn' \(targets\[0\]\.languages\[0\] and "
                                          r"targets\[0\]\.languages\[1\]\) are the same language 'ja' of 'pawsx'"):
        _plan(tmp_path, ["ja", "jpn"])
    cfg = {**BASE, "output_dir": str(tmp_path / "out"),
           "targets": [{"name": "pawsx", "languages": ["ja"]}, {"name": "pawsx", "languages": ["jpn"]}]}
    with pytest.raises(ConfigError, match=r"targets: 'pawsx' is listed twice"):
        build_plan(parse_config(cfg))


def test_tasks_json_gives_each_languages_code():
    res = CliRunner().invoke(main, ["tasks", "--json"])
    tasks = {t["name"]: t for t in json.loads(res.output)}
    assert tasks["pawsx"]["language_codes"] == {"en": "eng_Latn", "de": "deu_Latn", "es": "spa_Latn",
                                                "fr": "fra_Latn", "ja": "jpn_Jpan", "ko": "kor_Hang",
                                                "zh": "zho_Hans"}
    assert tasks["flores"]["language_codes"]["jpn_Jpan"] == "jpn_Jpan"


def test_reports_and_exports_take_either_form(tmp_path):
    board = str(REPO / "leaderboards" / "quickstart.jsonl")
    runner = CliRunner()
    own = runner.invoke(main, ["leaderboard", "aggregate", board, "--languages", "en,de", "--json"])
    iso = runner.invoke(main, ["leaderboard", "aggregate", board, "--languages", "eng,deu_Latn", "--json"])
    assert own.exit_code == 0 and own.output == iso.output
    langs = json.loads(iso.output)["tasks"][0]["metrics"]["accuracy"]["languages"]
    assert sorted(langs) == ["de", "en"]
    res = runner.invoke(main, ["leaderboard", "export", board, "--format", "parquet", "--out",
                               str(tmp_path / "de.parquet"), "--languages", "deu"])
    assert res.exit_code == 0 and "parquet: 12 rows" in res.output  # 2 models × 3 settings × 2 seeds
    res = runner.invoke(main, ["leaderboard", "report", board, "--languages", "jpn"])
    assert res.exit_code == 2
    assert "--languages: 'jpn' is not a language of these rows; they hold xnli: en, de, es, fr" in res.output


def test_score_takes_the_iso_form(tmp_path):
    gold = tmp_path / "test-de.tsv"
    gold.write_text("Angela\tB-PER\nMerkel\tI-PER\n", encoding="utf-8")
    pred = tmp_path / "p.txt"
    pred.write_text("B-PER\nI-PER\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["score", "panx", "--data", str(tmp_path), "--predictions", str(pred),
                                    "--language", "deu"])
    assert res.exit_code == 0, res.output
    assert "ner_seqeval_f1: 100.0000" in res.output
    res = CliRunner().invoke(main, ["score", "panx", "--data", str(tmp_path), "--predictions", str(pred),
                                    "--language", "deu_Cyrl"])
    assert res.exit_code == 2 and "--language: 'deu_Cyrl' is not a language of 'panx'" in res.output


def test_config_file_with_iso_codes_plans_from_the_cli(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, "output_dir": str(tmp_path / "out"),
                                    "targets": [{"name": "xnli", "languages": ["eng", "fra_Latn"]}],
                                    "data": {"xnli": "synthetic"}}))
    res = CliRunner().invoke(main, ["matrix", "plan", str(path), "--json", "--nodes"])
    assert res.exit_code == 0, res.output
    evals = [n for n in json.loads(res.output)["nodes"] if n["stage"] == "eval"]
    assert sorted(re.search(r"\[(\w+)\]", n["label"]).group(1) for n in evals) == ["en", "fr"]  # xnli [en]
