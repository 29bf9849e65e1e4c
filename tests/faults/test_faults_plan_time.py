"""Values accepted at plan time never fail only at run time. Old code: model options a family cannot build (a
hidden size not a multiple of the heads, a negative size), ``device: cuda`` on a torch without CUDA and more
processes than a micro-batch has examples were accepted by ``matrix plan`` and failed in every node; now they
are refused before anything runs, all problems in one report."""

from __future__ import annotations

import os

import pytest
import torch
import yaml
from click.testing import CliRunner

from harness.cli.main import main

TRAIN = {"max_steps": 2, "batch_size": 4, "max_length": 32}


def _write(tmp_path, **over):
    cfg = {"name": "p", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"], "device": "cpu",
           "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic"}, "train": TRAIN, **over}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _cli(*args):
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, " ".join(r.output.split())


def test_model_options_a_family_cannot_build_are_refused_at_plan_time_all_in_one_report(tmp_path):
    cfg = _write(tmp_path, models=[{"name": "neg", "family": "tiny-xlmr", "options": {"hidden": -3}},
                                   {"name": "odd", "family": "tiny-xlmr", "options": {"hidden": 30, "heads": 4}}])
    code, out = _cli("matrix", "plan", cfg)
    assert code != 0 and "validation found 2 problem(s); nothing was run" in out, out
    assert "model neg (family tiny-xlmr)" in out and "model odd (family tiny-xlmr)" in out
    assert "not a multiple of the number of attention heads" in out
    assert not (tmp_path / "out" / "cache" / "nodes").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_is_refused_before_any_node(tmp_path):
    code, out = _cli("matrix", "run", _write(tmp_path, device="cuda"))
    assert code != 0 and "sees no CUDA GPU" in out and "nothing was run" in out, out
    assert not (tmp_path / "out" / "cache" / "nodes").exists()


def test_more_processes_than_a_micro_batch_holds_are_refused_before_any_node(tmp_path):
    cores = len(os.sched_getaffinity(0))
    code, out = _cli("matrix", "run", _write(tmp_path, nproc=cores + 1, train={**TRAIN, "batch_size": 2}))
    assert code != 0 and f"nproc: {cores + 1} processes per training node on {cores} CPU core(s)" in out, out
    assert "batch_size / grad_accum = 2" in out
    assert not (tmp_path / "out" / "cache" / "nodes").exists()
