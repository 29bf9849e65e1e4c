"""Node keys, dependencies, labels and params of the shipped configs, pinned: planning may get faster, never
different (a changed key silently invalidates every cached node of every user)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from harness.planning.config import parse_config
from harness.planning.plan import build_plan

REPO = Path(__file__).resolve().parents[1]

# sha256 over every node in plan order: key, stage, label, deps, and params with the scratch folder replaced
PINNED = {
    "quickstart.yaml": ("a24a8a2995d274c45c51653d", "3a101c6b53a0f5d7522bd7ee"),
    "xtreme-tiny.yaml": ("9f2f37daf6382f0b0a7d1d64", "f4a517732956edcb05d28cc4"),
    "intermediate-tiny.yaml": ("51712f2d1bdc9e2bd1fc88c1", "89cd9990f8000dbd13363bc2"),
}


def _plan(name: str, tmp_path: Path):
    cfg = yaml.safe_load((REPO / "configs" / name).read_text())
    cfg.update(output_dir=str(tmp_path / "out"), leaderboard=str(tmp_path / "lb.jsonl"))
    cfg.pop("cache_dir", None)
    return build_plan(parse_config(cfg))


def _digests(plan, tmp_path: Path) -> tuple[str, str]:
    keys = hashlib.sha256()
    params = hashlib.sha256()
    for node in plan.nodes.values():
        keys.update(json.dumps([node.key, node.stage, node.label, node.deps]).encode())
        blob = json.dumps(node.params, sort_keys=True, default=str).replace(str(tmp_path), "TMP")
        params.update(blob.encode())
    return keys.hexdigest()[:24], params.hexdigest()[:24]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_node_keys_and_params_are_pinned(name, tmp_path):
    plan = _plan(name, tmp_path)
    assert _digests(plan, tmp_path) == PINNED[name], (name, len(plan.nodes))
