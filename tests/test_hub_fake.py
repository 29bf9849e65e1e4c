"""The real ``huggingface_hub`` client against a loopback fake of the Hub serving recorded layouts (tests/hubfake).

One test per failure class the audit found (docs/hub-sources.md), each planted as the old code had it and shown
failing, then passing after the fix; and ``harness matrix check`` reporting every break of a config in one run.
The fake listens on 127.0.0.1 only and is stopped by its fixture; HF_HUB_OFFLINE (set for the whole suite) is
lifted only for these tests' own calls.
"""

from __future__ import annotations

import pytest
import yaml

from harness.planning.config import parse_config
from harness.planning.lock import Lock
from harness.planning.plan import build_plan


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from hubfake import recorded_hub

    fake = recorded_hub(tmp_path_factory.mktemp("hub-layouts"))
    yield fake
    fake.stop()


@pytest.fixture
def online(hub, monkeypatch, tmp_path):
    """Point the real clients at the fake (endpoint and cache) with the suite's offline switch lifted."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SACREBLEU", str(tmp_path / "sacrebleu"))
    return hub


def _plan(tmp_path, models, targets, data=None):
    cfg = parse_config({"name": "hub", "output_dir": str(tmp_path / "out"), "models": models,
                        "intermediate": ["none"], "targets": targets, "seeds": [1], "data": data or {}})
    return build_plan(cfg, lock=Lock(path=tmp_path / "hub.lock.json"))


# --- failure class: weights only as pytorch_model.bin at main, safetensors only on a converter branch -------------

def test_mt5_main_has_only_pickle_weights_and_the_pinned_branch_has_safetensors(online):
    from huggingface_hub import HfApi

    from harness.core.specs import ModelSpec
    from harness.toolkit.weights import WeightsRefused, choose_weights

    api = HfApi()
    main = [s.rfilename for s in api.model_info("google/mt5-base").siblings]
    old = ModelSpec("mt5-base", "mt5", "google/mt5-base", revision=api.model_info("google/mt5-base").sha)
    with pytest.raises(WeightsRefused, match="holds only pickle weights .pytorch_model.bin.*allow_pickle_weights"):
        choose_weights(old, main)  # the old pin (main) cannot be read as safetensors: the old code's OSError
    pr = api.model_info("google/mt5-base", revision="refs/pr/5")
    assert pr.sha.startswith("78f6d82")
    assert choose_weights(old, [s.rfilename for s in pr.siblings]) == ("safetensors", {"use_safetensors": True})


def test_mt5_plugin_pins_every_size_at_a_revision_with_loadable_weights(registry):
    pins = {name: (m.revision, m.options.get("expect_commit")) for name, m in registry.models.items()
            if m.family == "mt5"}
    assert pins == {"mt5-small": ("6f9238ffa7de159b1245f899909bac7f40de53ae", None),
                    "mt5-base": ("refs/pr/5", "78f6d82"),
                    "mt5-large": ("839af365b2edcc42e5872afa8c03418b76e96583", None),
                    "mt5-xl": ("2568b91ebe41c97510f5633ddb3f3bc5ae2f78c5", None),
                    "mt5-xxl": ("d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b", None)}
    assert not any(registry.models[n].options.get("allow_pickle_weights") for n in pins)  # the user opts in


def test_pickle_weights_need_the_config_opt_in_and_go_through_weights_only(online, tmp_path):
    from harness.planning.preflight import check_plan

    models = [{"name": "mt5-xxl"}]
    plan = _plan(tmp_path, models, [{"name": "xnli", "languages": ["de"]}], data={"xnli": "synthetic"})
    report = check_plan(plan, fetch_spm=False)
    assert [p.what for p in report.problems] == [
        "google/mt5-xxl@d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b holds only pickle weights (pytorch_model.bin), no "
        "model.safetensors"]
    assert "allow_pickle_weights: true" in report.problems[0].fix
    plan = _plan(tmp_path, [{"name": "mt5-xxl", "allow_pickle_weights": True}], [{"name": "xnli", "languages": ["de"]}],
                 data={"xnli": "synthetic"})
    report = check_plan(plan, fetch_spm=False)
    assert report.ok and report.checked == [
        "model mt5-xxl (google/mt5-xxl@d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b): pickle weights at "
        "d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b"]


# --- failure class: a script-only dataset repo (datasets >= 4 refuses the script) -------------------------------

def test_a_script_only_dataset_is_reported_and_mlqa_reads_the_converted_parquet(online, tmp_path):
    from hubfake.layouts import MLQA_SCRIPT
    from huggingface_hub import HfApi

    from harness.planning.preflight import Report, _check_dataset, check_plan

    old = Report()  # the old mlqa spec: facebook/mlqa, config mlqa.de.de, read through load_dataset
    _check_dataset(HfApi(), ("facebook/mlqa", "mlqa.de.de", "test", MLQA_SCRIPT, None), ["mlqa"], {}, old)
    assert [p.what for p in old.problems] == [
        f"holds a loading script (mlqa.py) at {MLQA_SCRIPT}, which datasets >= 4 refuses"]
    plan = _plan(tmp_path, [{"name": "tiny-mt5"}], [{"name": "mlqa", "languages": ["de"]}])
    report = check_plan(plan, fetch_spm=False)
    assert report.ok, report.lines()
    assert "dataset google/xtreme@68bd9e06bf4bbe671073c975ccd61d754e1bd3d6 (MLQA.de.de) for mlqa: " \
           "MLQA.de.de/test-*.parquet" in report.checked
    assert any(c.startswith("dataset rajpurkar/squad@7b6d24c") for c in report.checked)  # the helper, locked


# --- failure class: a helper dataset read at an unlocked main --------------------------------------------------

def test_a_helper_dataset_is_locked_and_an_unlocked_hub_read_is_refused(online, tmp_path):
    from harness.toolkit.data import DataMissing, load_hf, pinned_revision

    plan = _plan(tmp_path, [{"name": "tiny-mt5"}], [{"name": "xquad", "languages": ["de"]}])
    data = next(n for n in plan.nodes.values() if n.stage == "target").params["task"]["data"]
    assert data["helpers"] == {"rajpurkar/squad": "7b6d24c440a36b6815f21b70d25016731768db1f"}
    with pinned_revision("google/xquad", "f" * 40), pytest.raises(DataMissing, match=(
            "hub dataset rajpurkar/squad is read by the task's loader but not locked by the plan .it would be read "
            "at main.; declare it in the task's hf_helpers")):
        load_hf("rajpurkar/squad", None, "train")  # what the old xquad loader did inside a run


# --- failure class: a config that exists for only some of a task's languages -----------------------------------

def test_a_language_the_hub_copy_lacks_is_reported_before_training(online, tmp_path):
    from harness.planning.preflight import check_plan

    plan = _plan(tmp_path, [{"name": "tiny-mt5"}], [{"name": "panx", "languages": ["pl"]}],
                 data={})
    report = check_plan(plan, fetch_spm=False)
    assert any("panx: the hub copy google/xtreme has no PAN-X.pl config" in p.what for p in report.problems)


# --- the auxiliary file a metric fetches lazily: the FLORES-200 SPM ---------------------------------------------

def test_a_flores_matrix_without_its_spm_fails_the_preflight_offline(tmp_path, monkeypatch):
    from harness.planning.preflight import check_plan

    monkeypatch.setenv("SACREBLEU", str(tmp_path / "sacrebleu"))
    monkeypatch.delenv("XLT_FLORES200_SPM", raising=False)
    plan = _plan(tmp_path, [{"name": "tiny-mt5"}], [{"name": "flores", "languages": ["deu_Latn"]}],
                 data={"flores": "synthetic"})
    report = check_plan(plan, offline=True)
    assert [p.where for p in report.problems] == ["FLORES-200 SentencePiece model (spBLEU of flores)"]
    assert "cannot be fetched offline" in report.problems[0].what


# --- the one report: every break of a config at once -------------------------------------------------------------

def test_matrix_check_reports_every_break_in_one_run(online, tmp_path):
    from click.testing import CliRunner

    from harness.cli.main import main as cli

    config = tmp_path / "hub.yaml"
    config.write_text(yaml.safe_dump({
        "name": "hub", "output_dir": str(tmp_path / "out"), "seeds": [1], "intermediate": ["none"],
        "models": [{"name": "mt5-xxl"}, {"name": "old-mt5", "family": "mt5", "source": "google/mt5-base"}],
        "targets": [{"name": "mlqa", "languages": ["de"]}, {"name": "panx", "languages": ["pl"]}]}))
    result = CliRunner().invoke(cli, ["matrix", "check", str(config)])
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("problem:")]
    assert len(problems) == 3, result.output  # mlqa (Parquet files at the pinned sha) and the helper pass
    assert any("model mt5-xxl" in p and "pickle" in p for p in problems)
    assert any("model old-mt5 (google/mt5-base@2eb15465c5dd7f72a8f7984306ad05ebc3dd1e1f)" in p for p in problems)
    assert any("PAN-X.pl" in p for p in problems)
    assert "preflight: 3 problem(s); nothing was run" in result.output


def test_a_plugin_model_cannot_turn_on_remote_code_or_pickle(tmp_path):
    from harness.core.registry import Registry
    from harness.core.specs import ModelSpec, SpecError

    def hook(spec):
        def register_models(register):
            register(spec)
        return type("Impl", (), {"function": staticmethod(register_models), "argnames": ("register",),
                                 "hookwrapper": False, "wrapper": False})

    for spec, what in ((ModelSpec("sneaky", "hf-encoder", "org/model", trust_remote_code=True), "trust_remote_code"),
                       (ModelSpec("sneaky", "hf-encoder", "org/model", options={"allow_pickle_weights": True}),
                        "allow_pickle_weights"),
                       (ModelSpec("sneaky", "hf-encoder", "org/model", options={"use_safetensors": False}),
                        "allow_pickle_weights")):
        with pytest.raises(SpecError, match=f"model 'sneaky' turns on {what}: only the user opts in, per model"):
            Registry._contributions("sneaky-plugin", [("register_models", hook(spec))])
    ok = Registry._contributions("fine", [("register_models", hook(ModelSpec("fine", "hf-encoder", "org/m")))])
    assert [k for _, k, _ in ok] == ["fine"]
