"""A corrupt resume checkpoint is never trusted. Old code: flipped bytes in a checkpoint's weights were loaded
as they were (100.00 became 28.33) while the row claimed an exact, bit-identical resume. Now each checkpoint
carries a manifest of sha256s; a damaged one is set aside (named in the step log), the next older one is used
(or a fresh start), and the result equals the uninterrupted run's."""

from __future__ import annotations

import json

import pytest
from test_resume import train_tiny

from harness.run.stop import Preempted, clear_stop
from harness.training.checkpoint import MANIFEST, Resume, verify_checkpoint


def _run(tmp_path, root, stop_at=None):
    return train_tiny(tmp_path, root, 1, stop_at)


def _flip(path, at=None):
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if at is None else at
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _log(root):
    return [json.loads(x) for x in (root / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("damaged", [["ckpt-000000005"], ["ckpt-000000003", "ckpt-000000005"]])
def test_a_damaged_checkpoint_is_set_aside_and_the_result_equals_an_uninterrupted_run(tmp_path, damaged):
    import torch

    clear_stop()
    reference, ref_weights = _run(tmp_path, tmp_path / "ref")
    cut = tmp_path / "cut"
    with pytest.raises(Preempted):
        _run(tmp_path, cut, stop_at=5)
    clear_stop()
    for name in damaged:
        _flip(cut / name / "model.safetensors")
        assert "content differs" in verify_checkpoint(cut / name)
    resumed, weights = _run(tmp_path, cut)
    assert resumed["losses"] == reference["losses"]
    assert all(torch.equal(weights[k], ref_weights[k]) for k in ref_weights)
    rejected = [r for r in _log(cut) if "rejected_checkpoints" in r]
    assert [c["checkpoint"] for c in rejected[-1]["rejected_checkpoints"]] == sorted(damaged, reverse=True)
    if len(damaged) == 1:  # the older, sound checkpoint is used: the claim of an exact resume is still true
        assert {"resumed_from": 3} in _log(cut) and resumed["resumed"]["from_steps"] == [3]
    else:  # nothing sound: a fresh start, and the row claims no resume
        assert resumed.get("resumed") is None


def test_a_checkpoint_without_its_manifest_or_with_a_missing_file_is_not_sound(tmp_path):
    clear_stop()
    cut = tmp_path / "cut"
    with pytest.raises(Preempted):
        _run(tmp_path, cut, stop_at=5)
    clear_stop()
    (cut / "ckpt-000000005" / "optimizer.safetensors").unlink()
    assert verify_checkpoint(cut / "ckpt-000000005") == "optimizer.safetensors is missing"
    (cut / "ckpt-000000003" / MANIFEST).unlink()
    assert MANIFEST in verify_checkpoint(cut / "ckpt-000000003")
    assert Resume(cut).latest_sound()[0] is None
