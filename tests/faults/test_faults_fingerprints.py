"""Every reused result is really the same: local weights are fingerprinted by every byte, so weights that differ
only in their middle layers (same size, same first and last MiB, even the same mtime) re-run every node that read
them; the lock's hash is checked against the file."""

from __future__ import annotations

import os

import pytest
from safetensors.torch import load_file, save_file

from harness.core.rows import read_jsonl
from harness.orchestration.scheduler import run_plan
from harness.planning.config import parse_config
from harness.planning.plan import build_plan, local_model_fingerprint
from harness.run.context import Context


def _model_folder(folder):
    """A 4-layer, 256-wide XLM-R saved like a downloaded model: its weights file is over 8 MiB (the old code
    hashed such files by size and their first and last MiB only)."""
    from harness.core.registry import registry

    reg = registry()
    spec = reg.models["tiny-xlmr"].with_overrides(options={"hidden": 256, "layers": 4, "heads": 4, "intermediate": 512})
    enc = reg.family("tiny-xlmr").load(spec, seed=0)
    enc.module.save_pretrained(folder, safe_serialization=True)
    enc.tokenizer.save_pretrained(folder)
    assert (folder / "model.safetensors").stat().st_size > 8 << 20
    return folder


def _swap_middle_layers(path):
    """Swap layers 1 and 2 (same shapes: same size, same header) and put the old mtime back."""
    st = path.stat()
    before = path.read_bytes()
    tensors = load_file(str(path))
    for name in [k for k in tensors if ".layer.1." in k]:
        other = name.replace(".layer.1.", ".layer.2.")
        tensors[name], tensors[other] = tensors[other].clone(), tensors[name].clone()
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})
    after = path.read_bytes()
    mib = 1 << 20
    assert len(after) == len(before) and after[:mib] == before[:mib] and after[-mib:] == before[-mib:]
    assert after != before
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _cfg(tmp_path, model_dir):
    return parse_config({
        "name": "weights", "output_dir": str(tmp_path / "out"), "device": "cpu",
        "models": [{"name": "mine", "family": "hf-encoder", "source": str(model_dir)}],
        "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic"},
        "train": {"lr": 0.001, "batch_size": 4, "max_steps": 1, "max_length": 32}})


@pytest.mark.slow
def test_swapping_middle_layers_reruns_every_node_that_read_them(tmp_path):
    model_dir = _model_folder(tmp_path / "mine")
    first = local_model_fingerprint({"source": str(model_dir)})
    plan = build_plan(_cfg(tmp_path, model_dir))
    ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name=plan.config.name, config_hash=plan.config_hash)
    out = run_plan(plan, ctx)
    assert out.ok and out.done and not out.cached
    rows = read_jsonl(plan.leaderboard)

    _swap_middle_layers(model_dir / "model.safetensors")
    assert local_model_fingerprint({"source": str(model_dir)}) != first
    again = build_plan(_cfg(tmp_path, model_dir))
    assert not set(again.nodes) & set(plan.nodes)  # every node read the weights
    out = run_plan(again, ctx)
    assert out.ok and not out.cached and len(out.done) == len(again.nodes)
    new = [r for r in read_jsonl(again.leaderboard) if r not in rows]
    assert new and all(r["model_revision"] != rows[0]["model_revision"] for r in new)
