"""Experiment trackers (issue 28): the ``register_loggers`` hook, what the training loop sends a logger (per-step
loss, learning rate, throughput; dev points; one close), the examples and tokens it counts, the measured budget
in rows, and that choosing loggers changes no number, node key or config hash."""

from __future__ import annotations

import importlib.util
import json
import types
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.loggers import STEP_SCALARS, Logger, NodeLog
from harness.core.rows import read_jsonl, upgrade_row, without_timings


class Recorder(NodeLog):
    """A logger that keeps every call (class-level, so a test reads what every node sent)."""

    opened: list = []

    def __init__(self, node) -> None:
        self.node, self.steps, self.devs, self.closed = node, [], [], 0
        Recorder.opened.append(self)

    def step(self, step, scalars):
        self.steps.append((step, dict(scalars)))

    def dev(self, step, metric, value):
        self.devs.append((step, metric, value))

    def close(self):
        self.closed += 1


def recorder_plugin(requires: tuple[str, ...] = ()) -> types.SimpleNamespace:
    def register_loggers(register):
        register(Logger(name="recorder", open=Recorder, requires=requires, install="pip install xlt-recorder"))

    return types.SimpleNamespace(register_loggers=hookimpl(register_loggers))


@pytest.fixture
def recorder():
    plugins.reset()
    Recorder.opened = []
    plugins.register_module(recorder_plugin(), name="recorder-plugin")
    yield Recorder
    plugins.reset()


# ------------------------------------------------------------------------------------------- the loop, by hand

def _hand_setup():
    """tiny-xlmr with one classification head and 12 hand-made features: even ones 3 tokens, odd ones 5 (48)."""
    import torch
    from xlt_harness_plugins.tasks import xnli

    from harness.core.registry import registry
    from harness.modeling.encoder import TaskModel, load_encoder
    from harness.training.loop import TrainTask

    torch.set_num_threads(1)
    enc = load_encoder(registry().model("tiny-xlmr"), seed=0)
    ttype = registry().task_type("classification")
    feats = []
    for i in range(12):
        ids = [0, 5 + i % 7, 2] if i % 2 == 0 else [0, 5 + i % 7, 6, 7, 2]
        feats.append({"example_index": i, "input_ids": ids, "attention_mask": [1] * len(ids), "labels": i % 3})
    model = TaskModel(enc.module, {"xnli": ttype.build_head(xnli.SPEC, enc.hidden_size)})
    return model, [TrainTask("xnli", ttype, feats, 4)], enc.pad_id


HP = {"grad_accum": 1, "max_steps": 3, "epochs": 1, "warmup_ratio": 0.0, "weight_decay": 0.01, "lr": 3e-3,
      "max_grad_norm": 1.0, "precision": "fp32", "eval_every": 2}


def _train(meter=None):
    import torch

    from harness.training.loop import train

    model, tasks, pad = _hand_setup()
    scores = iter([50.0, 75.0])
    summary = train(model, tasks, HP, torch.device("cpu"), 0, pad, select=lambda m: next(scores), meter=meter)
    return summary, {k: v.clone() for k, v in model.state_dict().items()}


def test_feature_tokens_counts_unpadded_ids_and_every_choice():
    from harness.training.tracking import Meter, feature_tokens

    assert feature_tokens({"input_ids": [0, 7, 2]}) == 3
    assert feature_tokens({"input_ids": [[0, 1], [0, 1, 2, 3]]}) == 6  # multiple choice: both choices
    assert feature_tokens({"labels": [1]}) == 0
    meter = Meter()
    batch = [{"input_ids": [0, 7, 2]}, {"input_ids": [[0, 1], [0, 1, 2, 3]]}]
    assert meter.batch(batch) is batch
    assert (meter.examples, meter.tokens) == (2, 9)


def test_the_loop_sends_each_step_and_dev_point_and_counts_tokens_without_changing_numbers():
    import torch

    from harness.training.tracking import Meter

    Recorder.opened = []
    log = Recorder(None)
    meter = Meter([log], dev_metric="accuracy")
    summary, weights = _train(meter)
    # 3 steps of 4 examples: one pass over the 12 features, 6 × 3 + 6 × 5 = 48 tokens
    assert (meter.examples, meter.tokens) == (12, 48)
    assert [s for s, _ in log.steps] == [1, 2, 3]
    assert all(set(scalars) == set(STEP_SCALARS) for _, scalars in log.steps)
    assert [sc["train/loss"] for _, sc in log.steps] == summary["losses"]
    # no warm-up, linear decay over 3 steps: each step's own rate 3e-3, 2e-3, 1e-3
    assert [sc["train/lr"] for _, sc in log.steps] == pytest.approx([3e-3, 2e-3, 1e-3], rel=1e-12)
    assert all(sc["train/examples_per_s"] > 0 and sc["train/tokens_per_s"] > sc["train/examples_per_s"]
               for _, sc in log.steps)
    assert log.devs == [(2, "dev/accuracy", 50.0), (3, "dev/accuracy", 75.0)]  # eval_every 2, and the last step
    meter.close()
    meter.close()
    assert log.closed == 1
    plain, plain_weights = _train()  # no logger: the very same training
    assert plain["losses"] == summary["losses"] and plain["best_step"] == summary["best_step"] == 3
    assert all(torch.equal(weights[k], plain_weights[k]) for k in weights)


def test_resumed_training_keeps_its_token_count(tmp_path):
    import torch

    from harness.run.stop import Preempted, clear_stop, request_stop
    from harness.training.checkpoint import Resume
    from harness.training.loop import train
    from harness.training.tracking import Meter

    def run(stop_at=None):
        model, tasks, pad = _hand_setup()
        meter = Meter()

        def progress(info):
            if info["step"] == stop_at:
                request_stop("test")

        resume = Resume(tmp_path / "resume", "1 steps", outputs=tmp_path / "work")
        train(model, tasks, HP, torch.device("cpu"), 0, pad, progress=progress, resume=resume, meter=meter)
        return meter

    clear_stop()
    with pytest.raises(Preempted):
        run(stop_at=1)
    clear_stop()
    meter = run()
    assert (meter.examples, meter.tokens) == (12, 48)  # 4 before the stop, 8 after: the whole pass
    meter.load(None)  # a checkpoint written before counts existed: unknown, not a partial count
    assert (meter.examples, meter.tokens) == (None, None)


# --------------------------------------------------------------------------------------------- energy, versions

def test_energy_is_null_without_a_gpu_and_reads_nvml_counters(monkeypatch):
    from harness.run import hardware

    assert hardware.Energy([]).joules() is None
    assert hardware.gpu_indices("cpu") == [] and hardware.gpu_indices("cuda:2", 2) == [2, 3]
    assert hardware.device_info("cpu", 2) == {"kind": "cpu", "count": 2}
    counters = {3: iter([1000, 3500]), 1: iter([200, 700])}  # millijoules, per physical GPU
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None, nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetHandleByUUID=lambda u: {"GPU-abc": 1}[u],
        nvmlDeviceGetTotalEnergyConsumption=lambda h: next(counters[h]))
    monkeypatch.setitem(__import__("sys").modules, "pynvml", fake)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,GPU-abc")
    energy = hardware.Energy([0, 1])  # logical 0, 1 → physical 3 and the GPU of that UUID
    assert energy.handles == [3, 1]
    assert energy.joules() == 3.0  # (3500 - 1000 + 700 - 200) mJ
    monkeypatch.setitem(__import__("sys").modules, "pynvml", None)  # not installed: null, no error
    assert hardware.Energy([0]).joules() is None


def test_old_budgets_load_with_the_measured_keys_null():
    old = {"schema_version": 2, "model": "m", "budget": {"target_steps": 6, "best_step": 6}}
    budget = upgrade_row(old)["budget"]
    assert budget["target_steps"] == 6 and budget["target_seconds"] is None and budget["target_tokens"] is None
    assert budget["eval_seconds"] is None and budget["torch_version"] is None
    assert "intermediate_seconds" not in budget  # no intermediate stage fed this row
    assert upgrade_row({"model": "m"})["budget"]["eval_device"] is None  # a retrieval row had no budget at all
    assert without_timings({"budget": {"target_seconds": 1.5, "target_tokens": 9}}) == {"budget": {"target_tokens": 9}}


# ------------------------------------------------------------------------------------------------ matrix level

def _cfg(tmp_path: Path, **over) -> Path:
    cfg = {"name": "trackers", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"],
           "intermediate": ["none", "mnli"], "targets": [{"name": "xnli", "languages": ["en", "de"],
                                                          "train_split": "train[0:8]"}],
           "seeds": [1], "data": {"xnli": "synthetic", "mnli": "synthetic"}, "device": "cpu",
           "train": {"lr": 0.001, "batch_size": 8, "max_steps": 2, "max_length": 32, "eval_batch_size": 64},
           **over}
    path = tmp_path / "trackers.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_loggers_change_neither_the_config_hash_nor_any_node_key(tmp_path):
    from harness.planning.config import config_hash, load_config
    from harness.planning.plan import build_plan

    plain, _ = load_config(_cfg(tmp_path))
    logged, _ = load_config(_cfg(tmp_path, loggers=["tensorboard", "wandb"]))
    assert logged.loggers == ["tensorboard", "wandb"]
    assert config_hash(plain) == config_hash(logged)
    assert list(build_plan(plain).nodes) == list(build_plan(logged).nodes)


def test_a_missing_extra_fails_the_plan_in_one_line_naming_the_install(tmp_path):
    plugins.reset()
    plugins.register_module(recorder_plugin(requires=("xlt_no_such_module_17",)), name="recorder-plugin")
    try:
        res = CliRunner().invoke(main, ["matrix", "plan", str(_cfg(tmp_path, loggers=["recorder"]))])
        assert res.exit_code == 2
        assert res.output.strip() == ("error: logger 'recorder' needs the 'xlt_no_such_module_17' package, which is "
                                      "not installed: pip install xlt-recorder")
        res = CliRunner().invoke(main, ["matrix", "run", str(_cfg(tmp_path)), "--logger", "recorder"])
        assert res.exit_code == 2 and "pip install xlt-recorder" in res.output and len(res.output.splitlines()) == 1
        res = CliRunner().invoke(main, ["matrix", "run", str(_cfg(tmp_path)), "--logger", "tensorbord"])
        assert res.exit_code == 2 and "unknown logger 'tensorbord'. Did you mean 'tensorboard'?" in res.output
    finally:
        plugins.reset()
    assert not (tmp_path / "out" / "cache" / "nodes").exists()  # nothing ran


@pytest.mark.parametrize("name", ["wandb", "mlflow"])
def test_builtin_trackers_without_their_package_name_their_extra(tmp_path, name):
    if importlib.util.find_spec(name) is not None:
        pytest.skip(f"{name} is installed: its missing-extra message cannot show here")
    res = CliRunner().invoke(main, ["matrix", "plan", str(_cfg(tmp_path, loggers=[name]))])
    assert res.exit_code == 2
    assert res.output.strip() == (f"error: logger '{name}' needs the '{name}' package, which is not installed: "
                                  f"pip install 'xlt-harness[{name}]'")


def test_a_run_sends_every_training_node_to_its_loggers_and_rows_carry_the_measured_budget(tmp_path, recorder):
    import torch

    res = CliRunner().invoke(main, ["matrix", "run", str(_cfg(tmp_path)), "--logger", "recorder"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    nodes = {p.name: json.loads((p / "node.json").read_text()) for p in (out / "cache" / "nodes").iterdir()}
    trained = {k: n for k, n in nodes.items() if n["stage"] in ("intermediate", "target")}
    assert len(trained) == 3  # mnli; xnli after none and after mnli
    logs = {log.node.key: log for log in recorder.opened}
    assert set(logs) == set(trained)
    for key, log in logs.items():
        assert log.node.label == trained[key]["label"] and log.node.stage == trained[key]["stage"]
        assert log.node.dir == out / "logs" / "recorder" and log.node.config_name == "trackers"
        assert [s for s, _ in log.steps] == [1, 2] and log.closed == 1
        if log.node.stage == "target":  # selection at the last step (eval_every: one epoch = 1 step of 8)
            assert [(s, m) for s, m, _ in log.devs] == [(1, "dev/accuracy"), (2, "dev/accuracy")]
        else:  # the intermediate head's own dev score, once, at the last step
            assert [(s, m) for s, m, _ in log.devs] == [(2, "dev/mnli/accuracy")]
    rows = read_jsonl(out / "leaderboard.jsonl")
    assert len(rows) == 4
    for row in rows:
        b = row["budget"]
        target = logs[b["target_node"]]  # rows link back to what the logger saw
        assert target.node.stage == "target" and b["target_steps"] == 2
        assert b["target_examples"] == 16  # 2 steps of the 8-example slice
        summary = json.loads((out / "cache" / "nodes" / b["target_node"] / "summary.json").read_text())
        assert b["target_seconds"] == summary["seconds"] and b["target_seconds"] > 0
        assert isinstance(b["target_tokens"], int) and b["target_tokens"] > 16
        assert b["target_device"] == b["eval_device"] == {"kind": "cpu", "count": 1}
        assert b["target_energy_j"] is None and b["eval_energy_j"] is None  # CPU: not reported
        assert isinstance(b["eval_seconds"], float) and isinstance(b["eval_tokens"], int) and b["eval_tokens"] > 0
        assert (b["torch_version"], b["cuda_version"]) == (torch.__version__, torch.version.cuda)
        if row["intermediate"] == "mnli":
            assert logs[b["intermediate_node"]].node.stage == "intermediate"
            assert b["intermediate_examples"] == 16 and b["intermediate_tokens"] > 16
        else:
            assert "intermediate_node" not in b
    # the same slice twice over, whatever came before it: every target training counted the same tokens
    assert len({r["budget"]["target_tokens"] for r in rows}) == 1
    # each language's rows count that language's test split
    by_lang = {r["language"]: r["budget"]["eval_tokens"] for r in rows if r["intermediate"] == "none"}
    assert set(by_lang) == {"en", "de"}


def _trained_nodes(out: Path) -> dict[str, dict]:
    nodes = {p.name: json.loads((p / "node.json").read_text()) for p in (out / "cache" / "nodes").iterdir()}
    return {k: n for k, n in nodes.items() if n["stage"] in ("intermediate", "target")}


@pytest.mark.slow
def test_mlflow_logs_each_training_node_to_a_local_file_store(tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="mlflow is not installed (pip install 'xlt-harness[mlflow]')")
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_ALLOW_FILE_STORE"):  # unset here, and as before after the test
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    from mlflow.tracking import MlflowClient

    res = CliRunner().invoke(main, ["matrix", "run", str(_cfg(tmp_path)), "--logger", "mlflow"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    trained = _trained_nodes(out)
    client = MlflowClient(tracking_uri=(out / "logs" / "mlflow").as_uri())
    experiment = client.get_experiment_by_name("trackers")
    runs = client.search_runs([experiment.experiment_id])
    assert {r.data.tags["xlt.node"] for r in runs} == set(trained)
    for r in runs:
        node = trained[r.data.tags["xlt.node"]]
        assert r.info.run_name == node["label"] and r.info.status == "FINISHED"
        assert [m.step for m in client.get_metric_history(r.info.run_id, "train/loss")] == [1, 2]
        assert r.data.params["max_steps"] == "2"


@pytest.mark.slow
def test_wandb_logs_offline_unless_told_otherwise(tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="wandb is not installed (pip install 'xlt-harness[wandb]')")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):  # nothing written outside the test
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("WANDB_SILENT", "true")
    res = CliRunner().invoke(main, ["matrix", "run", str(_cfg(tmp_path)), "--logger", "wandb"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    runs = sorted((out / "logs" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == len(_trained_nodes(out)) == 3  # one offline run per training node, none online
    assert all(list(r.glob("*.wandb")) for r in runs)
