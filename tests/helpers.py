"""Helpers shared by several test modules (imported as ``helpers``; pytest puts ``tests/`` on the path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml


def unit_vectors(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """``n`` random float32 rows of dimension ``d``, each of L2 norm 1."""
    a = rng.standard_normal((n, d)).astype(np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def brute_knn(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact top-``k`` inner products of each row of ``x`` against ``y`` (float64, stable ties)."""
    s = x.astype(np.float64) @ y.astype(np.float64).T
    idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, idx, 1), idx


def write_tiny_matrix(path: Path, name: str, output_dir: Path, task: str, languages: list[str], max_steps: int,
                      max_length: int) -> Path:
    """A one-target ``tiny-xlmr`` matrix on the task's synthetic data, written to ``path`` as YAML."""
    cfg = {
        "name": name, "output_dir": str(output_dir), "models": ["tiny-xlmr"], "device": "cpu",
        "targets": [{"name": task, "languages": languages}], "data": {task: "synthetic"},
        "train": {"lr": 0.001, "batch_size": 8, "max_steps": max_steps, "max_length": max_length},
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def act_when_started(events_path: Path, node_key: str, act, ready=None, timeout: float = 300.0):
    """A started daemon thread that polls the events log until ``node_key`` logged ``start`` (and ``ready(events)``
    holds, if given), waits 0.3 s so the node is mid-run, then calls ``act(events)`` once. Join it after the run."""
    import threading
    import time

    from harness.core.rows import read_jsonl

    def watch() -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            events = read_jsonl(events_path) if events_path.exists() else []
            if any(e["event"] == "start" and e.get("node") == node_key for e in events) and (
                    ready is None or ready(events)):
                time.sleep(0.3)  # mid-node
                act(events)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread
