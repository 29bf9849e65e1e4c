"""Resumable training nodes (issue 14, part A): a node killed mid-way resumes from its newest checkpoint and ends
bit-identical (weights, loss curve) to an uninterrupted run on CPU.

The matrix tests run ``harness matrix run`` in subprocesses (one thread each, so float reductions are the same in
every run) and kill a training node with ``XLT_HARNESS_TEST_KILL_AT_STEP`` (SIGKILL at that step boundary, once per
node: its resumed run is not killed again). Checkpoints every 3 steps, kill at step 7: the rerun must log
``resumed_from: 6`` and redo only step 7 onwards.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.run.stop import Preempted, clear_stop, request_stop, stop_requested
from harness.toolkit.units import parse_every
from harness.training.checkpoint import KILL_ENV, TERM_ENV, Resume

KILL_AT, EVERY = 7, 3


# ---------------------------------------------------------------------------------------------- small pieces


def test_parse_every():
    assert parse_every("500 steps") == ("steps", 500)
    assert parse_every(250) == ("steps", 250)
    assert parse_every("30 min") == ("seconds", 1800.0)
    assert parse_every("2h") == ("seconds", 7200.0)
    assert parse_every(0) is None and parse_every("off") is None
    assert parse_every(None) == ("seconds", 1800.0)  # the default: nodes shorter than 30 minutes write none
    with pytest.raises(ValueError, match="checkpoint_every: '5 parsecs'"):
        parse_every("5 parsecs")


def test_config_field_is_validated_and_not_in_the_node_key():
    from harness.planning.config import ConfigError, config_hash, parse_config
    from harness.planning.plan import build_plan

    base = {"models": ["tiny-xlmr"], "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic"}}
    with pytest.raises(ConfigError, match=r"train\.checkpoint_every.*'every tuesday'"):
        parse_config({**base, "train": {"checkpoint_every": "every tuesday"}})
    a, b = parse_config(base), parse_config({**base, "train": {"checkpoint_every": "2 steps"}})
    assert config_hash(a) == config_hash(b)
    assert list(build_plan(a).nodes) == list(build_plan(b).nodes)
    target = build_plan(b).by_stage("target")[0]
    assert target.params["hp"]["checkpoint_every"] == "2 steps"
    # eval_precision: 'train' follows the target training's precision; recorded in the eval node (so in its key)
    c = parse_config({**base, "train": {"precision": "bf16", "eval_precision": "train"}})
    assert build_plan(c).by_stage("eval")[0].params["eval_precision"] == "bf16"
    assert "eval_precision" not in build_plan(a).by_stage("eval")[0].params


def test_batches_draw_what_the_old_generator_drew_and_resume_mid_pass():
    from harness.training.loop import Batches

    def old(features, size, rng):  # the generator the class replaced
        order = list(range(len(features)))
        while True:
            rng.shuffle(order)
            for i in range(0, len(order), size):
                yield [features[j] for j in order[i : i + size]]

    feats = list(range(10))
    a, b = old(feats, 4, random.Random(3)), Batches(feats, 4, random.Random(3))
    assert [next(a) for _ in range(7)] == [next(b) for _ in range(7)]
    rng = random.Random(3)
    c = Batches(feats, 4, rng)
    for _ in range(4):
        next(c)
    saved, rng_state = json.loads(json.dumps(c.state())), rng.getstate()
    rest = [next(c) for _ in range(5)]
    rng2 = random.Random(0)
    rng2.setstate(rng_state)
    d = Batches(feats, 4, rng2)
    d.load(saved)
    assert [next(d) for _ in range(5)] == rest


def test_gradient_checkpointing_without_support_is_an_error():
    from torch import nn

    from harness.training.loop import _enable_gradient_checkpointing

    with pytest.raises(ValueError, match="Linear does not support gradient checkpointing"):
        _enable_gradient_checkpointing(nn.Linear(2, 2))


def _tiny_setup(n_tasks: int = 1):
    """tiny-xlmr, one or two synthetic classification tasks (dropout on: the torch RNG matters)."""
    import torch
    from xlt_harness_plugins.tasks import mnli, xnli

    from harness.core.registry import registry
    from harness.modeling.encoder import TaskModel, load_encoder
    from harness.training.loop import TrainTask

    torch.set_num_threads(1)
    reg = registry()
    enc = load_encoder(reg.model("tiny-xlmr"), seed=0)
    ttype = reg.task_type("classification")
    tasks, heads = [], {}
    for mod, n in [(xnli, 40), (mnli, 24)][:n_tasks]:
        labels = mod.SPEC.labels
        examples = [{"id": str(i), "text_a": f"a b c {i}", "text_b": f"d {i % 3} e", "label": labels[i % len(labels)],
                     "language": "en"} for i in range(n)]
        heads[mod.SPEC.name] = ttype.build_head(mod.SPEC, enc.hidden_size)
        tasks.append(TrainTask(mod.SPEC.name, ttype, ttype.featurize(examples, enc.tokenizer, mod.SPEC, 16), 8))
    return TaskModel(enc.module, heads), tasks, enc.pad_id


HP = {"grad_accum": 2, "max_steps": 10, "epochs": 1, "warmup_ratio": 0.2, "weight_decay": 0.01,
      "lr": 2e-3, "max_grad_norm": 1.0, "precision": "fp32", "checkpoint_every": f"{EVERY} steps", "eval_every": 2}


def train_tiny(tmp_path: Path, root: Path, n_tasks: int = 1, stop_at: int | None = None):
    """Train :func:`_tiny_setup` with resume folder ``root``, requesting a stop at step ``stop_at``; returns the
    summary and a copy of the final weights."""
    import torch

    from harness.training.loop import train

    model, tasks, pad = _tiny_setup(n_tasks)

    def progress(info):
        if info["step"] == stop_at:
            request_stop("test")

    resume = Resume(root, HP["checkpoint_every"], outputs=tmp_path / f"work-{root.name}")
    summary = train(model, tasks, HP, torch.device("cpu"), 0, pad, progress=progress, resume=resume,
                    sampling="uniform", select=lambda m: -abs(float(next(m.heads.parameters()).detach().sum())))
    return summary, {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("n_tasks", [1, 2])
def test_graceful_stop_then_resume_is_bit_identical_in_process(tmp_path, n_tasks):
    """request_stop() at step 5 → checkpoint + Preempted; a fresh model resumes at 6 and ends bit-identical."""
    import torch


    def run(root, stop_at=None):
        return train_tiny(tmp_path, root, n_tasks, stop_at)

    clear_stop()
    reference, ref_weights = run(tmp_path / "ref")
    with pytest.raises(Preempted, match="stopped at step 5"):
        run(tmp_path / "cut", stop_at=5)
    assert stop_requested()
    clear_stop()
    assert [p.name for p in Resume(tmp_path / "cut").checkpoints()] == ["ckpt-000000003", "ckpt-000000005"]
    resumed, weights = run(tmp_path / "cut")
    assert resumed["losses"] == reference["losses"] and len(resumed["losses"]) == 10
    assert resumed["task_steps"] == reference["task_steps"]
    assert all(torch.equal(weights[k], ref_weights[k]) for k in ref_weights)
    log = [json.loads(x) for x in (tmp_path / "cut" / "train_log.jsonl").read_text().splitlines()]
    assert {"resumed_from": 5} in log
    assert [r["step"] for r in log if "step" in r] == list(range(1, 11))  # no step redone
    assert (resumed["best_step"], resumed["best_score"]) == (reference["best_step"], reference["best_score"])


# ---------------------------------------------------------------------------------------------- matrix runs


def _config(tmp_path: Path, name: str, nproc: int = 1, strategy: str = "ddp") -> Path:
    cfg = {
        "name": "resume", "output_dir": str(tmp_path / name), "models": ["tiny-xlmr"], "seeds": [1],
        "intermediate": [{"name": "mnli+hellaswag", "tasks": ["mnli", "hellaswag"], "sampling": "temperature",
                          "temperature": 2.0}],
        "targets": [{"name": "xnli", "languages": ["en", "de"], "eval_splits": ["test"]}],
        "data": {"mnli": "synthetic", "hellaswag": "synthetic", "xnli": "synthetic"},
        "train": {"lr": 0.001, "batch_size": 8, "max_length": 32, "checkpoint_every": f"{EVERY} steps"},
        "intermediate_train": {"max_steps": 10}, "target_train": {"max_steps": 10, "eval_every": 2},
        "device": "cpu", "nproc": nproc, **({"strategy": strategy} if nproc > 1 else {}),
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(config: Path, kill: bool, term: bool = False) -> tuple[int, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env.pop(KILL_ENV, None)
    env.pop(TERM_ENV, None)
    if kill:
        env[KILL_ENV] = str(KILL_AT)
    if term:
        env[TERM_ENV] = str(KILL_AT)
    code = "from harness.cli.main import main; main()"
    proc = subprocess.run([sys.executable, "-c", code, "matrix", "run", str(config)], env=env,
                          capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


def _nodes(out: Path) -> dict[str, Path]:
    nodes = {}
    for d in (out / "cache" / "nodes").iterdir():
        nodes[json.loads((d / "node.json").read_text())["stage"] + ":" + d.name] = d
    return nodes


def _check_resumed_and_identical(tmp_path: Path, nproc: int, strategy: str = "ddp") -> None:
    ref, cut = _config(tmp_path, "ref", nproc, strategy), _config(tmp_path, "cut", nproc, strategy)
    rc, out = _run(ref, kill=False)
    assert rc == 0, out
    # 1st run: the intermediate node dies at step 7; 2nd: it resumes, then the target node dies at step 7; 3rd: done
    for attempt in range(2):
        rc, out = _run(cut, kill=True)
        assert rc == -9 or rc == 137, f"attempt {attempt}: expected a SIGKILL, got {rc}\n{out}"
        (folder,) = (tmp_path / "cut" / "cache" / "resume").iterdir()  # the killed node's resume state survived
        assert sorted(p.name for p in folder.glob("ckpt-*")) == ["ckpt-000000003", "ckpt-000000006"]
    rc, out = _run(cut, kill=True)
    assert rc == 0, out
    a, b = _nodes(tmp_path / "ref"), _nodes(tmp_path / "cut")
    assert sorted(a) == sorted(b)  # same node keys
    assert not any((tmp_path / "cut" / "cache" / "resume").iterdir())  # resume folders removed when done
    for name, node in b.items():
        stage = name.split(":")[0]
        if stage == "eval":
            rows_a = [json.loads(x) for x in (a[name] / "rows.jsonl").read_text().splitlines()]
            rows_b = [json.loads(x) for x in (node / "rows.jsonl").read_text().splitlines()]
            assert [r["value"] for r in rows_a] == [r["value"] for r in rows_b]
            continue
        for f in sorted(p.name for p in a[name].glob("*.safetensors")):
            assert (node / f).read_bytes() == (a[name] / f).read_bytes(), f"{name}/{f} differs"
        sa = json.loads((a[name] / "train_summary.json").read_text())
        sb = json.loads((node / "train_summary.json").read_text())
        assert sb["losses"] == sa["losses"] and len(sb["losses"]) == 10
        assert (sb["best_step"], sb["task_steps"]) == (sa["best_step"], sa["task_steps"])
        log = [json.loads(x) for x in (node / "train_log.jsonl").read_text().splitlines()]
        cut_at = log.index({"resumed_from": 6})
        steps_before = [r["step"] for r in log[:cut_at] if "step" in r]
        steps_after = [r["step"] for r in log[cut_at:] if "step" in r]
        assert steps_before == list(range(1, KILL_AT + 1)) and steps_after == list(range(7, 11))
        assert [r["loss"] for r in log[cut_at:] if "step" in r] == sa["losses"][6:]


@pytest.mark.slow
def test_sigkilled_nodes_resume_bit_identical(tmp_path):
    """Multi-task intermediate mix and target training (with selection state), one process each."""
    _check_resumed_and_identical(tmp_path, nproc=1)


@pytest.mark.slow
def test_sigkilled_ddp_nodes_resume_bit_identical(tmp_path):
    """The same with 2-process gloo DDP: model and optimizer through torch.distributed.checkpoint."""
    _check_resumed_and_identical(tmp_path, nproc=2)


@pytest.mark.slow
def test_sigkilled_fsdp_nodes_resume_bit_identical(tmp_path):
    """The same with 2-process gloo FSDP: sharded model and optimizer state through torch.distributed.checkpoint."""
    _check_resumed_and_identical(tmp_path, nproc=2, strategy="fsdp")


@pytest.mark.slow
def test_sigterm_to_a_ddp_launcher_reaches_every_rank_and_the_rerun_resumes(tmp_path):
    """SIGTERM to the process that launched 2 DDP ranks (as SLURM or a cluster manager sends it): the launcher
    forwards it, every rank checkpoints at the same step boundary, the run exits 75 (requeue) and the rerun
    resumes from that checkpoint, ending bit-identical to an uninterrupted run; the rows say so."""
    ref, cut = _config(tmp_path, "ref", 2), _config(tmp_path, "cut", 2)
    rc, out = _run(ref, kill=False)
    assert rc == 0, out
    rc, out = _run(cut, kill=False, term=True)
    assert rc == 75, out  # EX_TEMPFAIL: interrupted, rerun to resume (not failed)
    (folder,) = (tmp_path / "cut" / "cache" / "resume").iterdir()
    stopped = max(int(p.name.split("-")[1]) for p in folder.glob("ckpt-*"))
    assert KILL_AT <= stopped < 10, f"the stop checkpoint should follow the signal at step {KILL_AT}: {stopped}"
    rc, out = _run(cut, kill=False)
    assert rc == 0, out
    a, b = _nodes(tmp_path / "ref"), _nodes(tmp_path / "cut")
    (inter,) = [n for n in b if n.startswith("intermediate:")]
    for f in sorted(p.name for p in a[inter].glob("*.safetensors")):
        assert (b[inter] / f).read_bytes() == (a[inter] / f).read_bytes(), f
    log = [json.loads(x) for x in (b[inter] / "train_log.jsonl").read_text().splitlines()]
    assert {"resumed_from": stopped} in log
    rows = [json.loads(x) for x in (tmp_path / "cut" / "leaderboard.jsonl").read_text().splitlines()]
    assert rows and all(r["budget"]["intermediate_resumed"] == {
        "from_steps": [stopped], "exact": True, "note": "CPU: bit-identical to an uninterrupted run"} for r in rows)
    ref_rows = [json.loads(x) for x in (tmp_path / "ref" / "leaderboard.jsonl").read_text().splitlines()]
    assert sorted((r["node"], r["value"]) for r in rows) == sorted((r["node"], r["value"]) for r in ref_rows)
    assert all("intermediate_resumed" not in r["budget"] for r in ref_rows)


def test_time_based_default_writes_nothing_for_a_short_node(tmp_path):
    resume = Resume(tmp_path / "r")
    assert resume.every == ("seconds", 1800.0) and not resume.due(1)
    assert math.isclose(parse_every("0.5 min")[1], 30.0)
