"""The cost before running (harness.planning.cost): hand-computed FLOPs, seconds and disk on a small synthetic
plan, measured-vs-assumed labelling, calibration on finished nodes of the same device kind, the CLI's output, and
(slow) the CPU estimate against measured runs of the tiny configs."""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli.main import main
from harness.core import registry as plugins
from harness.core.hookspecs import hookimpl
from harness.core.specs import ModelFamily, ModelSpec, Task, TaskSpec
from harness.planning.config import parse_config
from harness.planning.cost import plan_cost
from harness.planning.cost_devices import CPU_MEASURED, kind_of
from harness.planning.plan import build_plan

REPO = Path(__file__).resolve().parents[1]
P, N = 100_000_000, 600_000  # the fake model: parameters, non-embedding parameters
META = {"params": P, "params_nonembed": N, "hidden": 64, "vocab": 100}


def _fixture(data_dir) -> None:
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    (Path(data_dir) / "SYNTHETIC.md").write_text("cost test task\n")


def _never(split, language, data_dir=None):
    raise AssertionError("the cost estimate never loads data")


def _plugin() -> types.SimpleNamespace:
    tasks = [
        Task(TaskSpec(name="cost-inter", kind="classification", roles=("intermediate",), languages=("en",),
                      metrics=("accuracy",), labels=("a", "b"), sizes={"train": 1000, "dev": 100}, mean_tokens=50),
             _never, fixture=_fixture),
        Task(TaskSpec(name="cost-target", kind="classification", roles=("target",), languages=("en", "de"),
                      metrics=("accuracy",), labels=("a", "b"), sizes={"train": 320, "dev": 64, "test": 5000},
                      mean_tokens=40), _never, fixture=_fixture),
        Task(TaskSpec(name="cost-unsized", kind="classification", roles=("target",), languages=("en",),
                      metrics=("accuracy",), labels=("a", "b")), _never, fixture=_fixture),
    ]
    return types.SimpleNamespace(
        register_models=hookimpl(lambda register: register(ModelSpec(name="cost-m", family="cost-noop",
                                                                     source="local:noop"))),
        register_model_families=hookimpl(lambda register: register(ModelFamily(name="cost-noop",
                                                                               load=lambda s, seed=0: None))),
        register_tasks=hookimpl(lambda register: [register(t) for t in tasks]),
    )


@pytest.fixture
def fake():
    plugins.register_module(_plugin(), name="cost-test")
    yield
    plugins.reset()


def _plan(tmp_path: Path, target: str = "cost-target", **train):
    return build_plan(parse_config({
        "name": "c", "output_dir": str(tmp_path / "out"), "models": ["cost-m"], "intermediate": ["none", "cost-inter"],
        "targets": [{"name": target, "languages": ["en", "de"] if target == "cost-target" else ["en"]}],
        "seeds": [1], "data": {"cost-inter": "synthetic", target: "synthetic"}, "device": "cpu",
        "train": {"batch_size": 32, "epochs": 2, "max_length": 64, "precision": "bf16", **train}}))


# by hand: intermediate 1000 examples / 32 = 31.25 -> 32 batches x 2 epochs = 64 steps of 32 x 50 tokens, then one
# dev pass (100 x 50); each target 320 / 32 = 10 steps per epoch x 2 = 20 steps of 32 x 40 tokens, a dev pass
# (64 x 40) per epoch (2); each evaluation 5000 x 40 tokens forward.
INTER_FLOPS = 6 * N * 64 * 32 * 50 + 2 * N * 100 * 50
TARGET_FLOPS = 6 * N * 20 * 32 * 40 + 2 * (2 * N * 64 * 40)
EVAL_FLOPS = 2 * N * 5000 * 40


def _h100(flops: float, steps: int, tflops: float = 989.0) -> float:
    start = 30 if steps else 5  # a training node's start-up, an evaluation node's (both assumed)
    return start + 4 * P / 2e9 + steps * 48 * P / 3350e9 + flops / (tflops * 1e12 * 0.30)


def test_hand_computed_gpu_cost_and_disk(fake, tmp_path):
    cost = plan_cost(_plan(tmp_path), lambda m: META, device="h100-sxm")
    s = cost["stages"]
    assert {k: v["nodes"] for k, v in s.items()} == {"intermediate": 1, "target": 2, "eval": 4}
    assert s["intermediate"]["device_hours"] == round(_h100(INTER_FLOPS, 64) / 3600, 6)
    assert s["target"]["device_hours"] == round(2 * _h100(TARGET_FLOPS, 20) / 3600, 6)
    # evaluation runs in fp32 by default: the TF32 rate, assumed half the bf16 peak (494.5 TFLOPS)
    assert s["eval"]["device_hours"] == round(4 * _h100(EVAL_FLOPS, 0, 494.5) / 3600, 6)
    total = _h100(INTER_FLOPS, 64) + 2 * _h100(TARGET_FLOPS, 20) + 4 * _h100(EVAL_FLOPS, 0, 494.5)
    assert math.isclose(cost["device_hours"], total / 3600, abs_tol=3e-6)
    assert {v["throughput"] for v in s.values()} == {"assumed"} and cost["throughput"] == "assumed"
    assert {v["sizes"] for v in s.values()} == {"declared"}
    assert cost["device"] == "h100-sxm" and "rated" in cost["device_source"]
    # disk: 3 trainings keep 4 bytes per parameter (1.2 GB), 4 evaluations x 5000 predictions x 200 bytes (0.004 GB)
    assert cost["disk_gb_no_prune"] == 1.204
    assert cost["disk_gb_prune_final"] == 0.004
    # --prune peak: the intermediate checkpoint and its one target reader (0.8 GB), predictions, one resume
    # checkpoint (16 bytes per parameter: 1.6 GB)
    assert cost["disk_gb_prune_peak"] == 2.404
    assert cost["resume_checkpoint_gb_peak"] == 1.6


def test_cpu_cost_is_labelled_measured(fake, tmp_path):
    m = CPU_MEASURED
    cost = plan_cost(_plan(tmp_path), lambda _: META, device="cpu")

    def cpu(fixed: float, flops: float, steps: int) -> float:
        return fixed + steps * m["step_s"] + steps * 48 * P / (m["bandwidth_gbs"] * 1e9) + flops / m["flops_per_s"]

    assert cost["stages"]["target"]["device_hours"] == round(2 * cpu(m["train_node_s"], TARGET_FLOPS, 20) / 3600, 6)
    total = (cpu(m["train_node_s"], INTER_FLOPS, 64) + 2 * cpu(m["train_node_s"], TARGET_FLOPS, 20)
             + 4 * cpu(m["eval_node_s"], EVAL_FLOPS, 0) + m["process_start_s"])
    assert math.isclose(cost["device_hours"], total / 3600, abs_tol=3e-6)
    assert {v["throughput"] for v in cost["stages"].values()} == {"measured"} and not cost["gpu"]


def test_gradient_checkpointing_counts_8NT(fake, tmp_path):
    cost = plan_cost(_plan(tmp_path, gradient_checkpointing=True), lambda _: META, device="h100-sxm")
    flops = 8 * N * 64 * 32 * 50 + 2 * N * 100 * 50
    assert cost["stages"]["intermediate"]["device_hours"] == round(_h100(flops, 64) / 3600, 6)


def test_unknown_size_is_unknown_not_guessed(fake, tmp_path):
    cost = plan_cost(_plan(tmp_path, target="cost-unsized"), lambda _: META, device="h100-sxm")
    assert cost["stages"]["target"]["device_hours"] is None
    assert cost["stages"]["target"]["why_unknown"] == ["unknown cost-unsized train size"]
    assert cost["device_hours"] is None
    assert cost["stages"]["intermediate"]["device_hours"] == round(_h100(INTER_FLOPS, 64) / 3600, 6)


def test_calibration_uses_only_nodes_of_the_same_device_kind(fake, tmp_path):
    plan = _plan(tmp_path)
    inter = plan.by_stage("intermediate")[0].key
    est = _h100(INTER_FLOPS, 64)
    history = [{"event": "finish", "node": inter, "seconds": 2 * est, "device_kind": "h100-sxm"},
               {"event": "finish", "node": plan.by_stage("target")[0].key, "seconds": 1.0, "device_kind": "cpu"}]
    cost = plan_cost(plan, lambda _: META, device="h100-sxm", history=history)
    s = cost["stages"]
    assert s["intermediate"]["device_hours"] == round(2 * est / 3600, 6)
    assert s["intermediate"]["throughput"] == "calibrated" and "2.00" in s["intermediate"]["basis"]
    assert s["target"]["throughput"] == "assumed"  # the cpu timing does not calibrate an H100 estimate
    done = plan_cost(plan, lambda _: META, device="h100-sxm", done=lambda k: k == inter)
    assert "intermediate" not in done["stages"]  # cached nodes cost nothing more


def test_kind_of_device_names():
    assert [kind_of(n) for n in ("cpu", "NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA H200",
                                 "NVIDIA A100-SXM4-80GB", "Tesla V100-SXM2-32GB", "NVIDIA L40S", "AMD MI300X")] == [
        "cpu", "h100-sxm", "h100-pcie", "h200", "a100", "v100", "l40s", None]


def test_matrix_plan_prints_cost_with_its_basis(tmp_path):
    cfg = yaml.safe_load((REPO / "configs" / "quickstart.yaml").read_text())
    cfg["output_dir"] = str(tmp_path / "out")
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(main, ["matrix", "plan", str(path), "--device-kind", "a100"])
    assert r.exit_code == 0, r.output
    assert "cost on NVIDIA A100 SXM4 (a100)" in r.output and "assumed MFU 30% of the rated a100 peak" in r.output
    assert "disk:" in r.output and "with --prune" in r.output
    r = CliRunner().invoke(main, ["matrix", "plan", str(path), "--json", "--device-kind", "cpu"])
    cost = json.loads(r.output)["cost"]
    assert cost["device"] == "cpu" and {v["throughput"] for v in cost["stages"].values()} == {"measured"}
    assert cost["device_hours"] > 0 and cost["memory"]["stages"]["target"] > 0
    r = CliRunner().invoke(main, ["matrix", "plan", str(path), "--device-kind", "tpu"])
    assert r.exit_code != 0 and "--device-kind 'tpu' is not one of cpu, a100" in r.output


@pytest.mark.slow
@pytest.mark.parametrize("name", ["quickstart", "intermediate-tiny", "xtreme-tiny"])
def test_cpu_estimate_within_2x_of_a_measured_run(tmp_path, name):
    """Estimate, then run the config and time it. flops_per_s, step_s and process_start_s come from
    benchmarks/cost_calibrate.py (no matrix run); a node's start-up constants were fitted to these configs."""
    cfg = yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text())
    # the leaderboard too: quickstart.yaml names the committed leaderboards/quickstart.jsonl (relative to the cwd)
    cfg.update(output_dir=str(tmp_path / "out"), device="cpu", leaderboard=str(tmp_path / "board.jsonl"))
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(main, ["matrix", "plan", str(path), "--json", "--device-kind", "cpu"])
    estimate = json.loads(r.output)["cost"]["device_hours"] * 3600
    # A fresh process, as the estimate assumes (imports, first model and tokenizer). Measured as the child's CPU
    # time (user + sys): on this shared 2-core machine the wall clock of the same run varies 1-3x with the other
    # users' load, its CPU time much less; the tiny models run one thread, so unloaded CPU time ~ wall time.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", "from harness.cli.main import main; main()", "matrix", "run",
                        str(path), "--offline"], capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    measured = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert r.returncode == 0, r.stdout + r.stderr
    assert measured / 2 <= estimate <= measured * 2, (estimate, measured, wall)
