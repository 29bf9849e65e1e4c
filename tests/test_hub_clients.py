"""The real clients, in fresh processes, pointed at the loopback fake Hub only through ``HF_ENDPOINT``.

``tests/test_hub_fake.py`` patches ``huggingface_hub``'s constants in-process; a user sets ``HF_ENDPOINT`` (or
nothing) and runs ``harness``. Here each check is a subprocess whose environment names the fake's address, a
fresh ``HF_HOME`` and no offline switch, so ``transformers.from_pretrained``, ``datasets`` and ``huggingface_hub``
resolve, list and download exactly as they would from huggingface.co — against the recorded layouts
(tests/hubfake/layouts.py, docs/hub-sources.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from hubfake import recorded_hub

    fake = recorded_hub(tmp_path_factory.mktemp("hub-layouts"))
    yield fake
    fake.stop()


def _env(hub, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE",
                        "HF_DATASETS_CACHE", "HF_HOME")}
    return env | {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf-home"), "SACREBLEU": str(tmp_path / "sb"),
                  "HF_HUB_DISABLE_TELEMETRY": "1", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}


LOAD_EVERY_MT5 = r"""
import dataclasses, json, sys
import torch
from harness.core.registry import registry
from harness.api import WeightsRefused
out = {}
reg = registry()
for name in ("mt5-small", "mt5-base", "mt5-large", "mt5-xl", "mt5-xxl"):
    spec = reg.models[name]
    family = reg.family(spec.family)
    try:
        enc = family.load(spec, seed=0)
    except WeightsRefused as err:
        out[name] = "refused: " + str(err).splitlines()[0]
        spec = dataclasses.replace(spec, options={**spec.options, "allow_pickle_weights": True})
        enc = family.load(spec, seed=0)
        name += " (allow_pickle_weights)"
    ids = enc.tokenizer("der Hund", return_tensors="pt")
    with torch.no_grad():
        states = enc.module(**ids).last_hidden_state
    out[name] = [enc.weights_format, list(states.shape)]
print(json.dumps(out))
"""


def test_every_mt5_size_loads_through_transformers_from_the_recorded_layouts(hub, tmp_path):
    from hubfake.layouts import MT5_BASE_PR5

    hub.requests.clear()
    proc = subprocess.run([sys.executable, "-c", LOAD_EVERY_MT5], env=_env(hub, tmp_path), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {k: v for k, v in got.items() if not k.startswith("mt5-xxl")} == {
        name: ["safetensors", [1, 8, 16]] for name in ("mt5-small", "mt5-base", "mt5-large", "mt5-xl")}
    assert got["mt5-xxl"].startswith("refused: model 'mt5-xxl': google/mt5-xxl@d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b "
                                     "holds only pickle weights")
    assert got["mt5-xxl (allow_pickle_weights)"] == ["pickle", [1, 8, 16]]
    weights = sorted({path for method, path in hub.requests if method == "GET" and path.endswith(
        ("model.safetensors", "pytorch_model.bin"))})
    assert weights == [  # each size read at its pinned commit; no pickle read except the opted-in xxl
        f"/google/mt5-base/resolve/{MT5_BASE_PR5}/model.safetensors",  # refs/pr/5, resolved to its commit
        "/google/mt5-large/resolve/839af365b2edcc42e5872afa8c03418b76e96583/model.safetensors",
        "/google/mt5-small/resolve/6f9238ffa7de159b1245f899909bac7f40de53ae/model.safetensors",
        "/google/mt5-xl/resolve/2568b91ebe41c97510f5633ddb3f3bc5ae2f78c5/model.safetensors",
        "/google/mt5-xxl/resolve/d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b/pytorch_model.bin"]


def test_a_matrix_slice_runs_through_the_real_clients_with_every_read_locked(hub, tmp_path):
    """``harness matrix run`` (preflight online, then training and evaluation) on mt5-small × MLQA de: the
    recorded repo serves a 2-layer stand-in under the real id, MLQA comes from google/xtreme's Parquet files and
    SQuAD (the English training set) from its locked helper."""
    from hubfake.layouts import MT5_SMALL, SQUAD, XTREME

    config = tmp_path / "slice.yaml"
    config.write_text(yaml.safe_dump({
        "name": "slice", "output_dir": str(tmp_path / "out"), "seeds": [1], "intermediate": ["none"],
        "models": [{"name": "mt5-small"}], "targets": [{"name": "mlqa", "languages": ["de"]}],
        "train": {"max_steps": 2, "batch_size": 2}}))
    hub.requests.clear()
    harness = Path(sys.executable).with_name("harness")
    proc = subprocess.run([str(harness), "matrix", "run", str(config)], env=_env(hub, tmp_path),
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "preflight: 4 hub read(s) checked, no problem" in proc.stdout + proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "out" / "leaderboard.jsonl").read_text().splitlines()]
    assert sorted(r["metric"] for r in rows) == ["mlqa_exact_match", "mlqa_f1"]
    assert [(r["model_revision"], r["model_weights_format"], r["data_location"], r["data_revision"],
             r["data_helpers"]) for r in rows] == [
        (MT5_SMALL, "safetensors", "google/xtreme", XTREME, [{"id": "rajpurkar/squad", "revision": SQUAD}])] * 2
    lock = json.loads((tmp_path / "slice.lock.json").read_text())
    assert sorted(e["sha"] for e in lock["hub"].values()) == sorted([XTREME, SQUAD, MT5_SMALL])
    reads = {path for method, path in hub.requests if method == "GET" and "/resolve/" in path}
    assert f"/datasets/google/xtreme/resolve/{XTREME}/MLQA.de.de/test-00000-of-00001.parquet" in reads
    assert not any("/resolve/main/" in p for p in reads), sorted(reads)  # nothing read at an unlocked main
