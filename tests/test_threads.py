"""Per-node thread budget (issue 17): workers × threads ≤ usable cores, cgroup quota and affinity respected, tiny
models single-threaded, the ``threads`` knob overrides."""

from __future__ import annotations

import os

import pytest

from harness.run import threads as th


def _cgroup(tmp_path, v2: str | None = None, v1: tuple[int, int] | None = None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    if v2 is not None:
        (tmp_path / "cpu.max").write_text(v2 + "\n")
    if v1 is not None:
        (tmp_path / "cpu").mkdir()
        (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(f"{v1[0]}\n")
        (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(f"{v1[1]}\n")
    return tmp_path


def test_cgroup_quota_v2_v1_and_unlimited(tmp_path):
    assert th.cgroup_cpu_limit(_cgroup(tmp_path / "a", v2="150000 100000")) == 1.5
    assert th.cgroup_cpu_limit(_cgroup(tmp_path / "b", v2="max 100000")) is None
    assert th.cgroup_cpu_limit(_cgroup(tmp_path / "c", v1=(300000, 100000))) == 3.0
    assert th.cgroup_cpu_limit(_cgroup(tmp_path / "d", v1=(-1, 100000))) is None
    assert th.cgroup_cpu_limit(tmp_path / "missing") is None


def test_available_cores_is_min_of_affinity_and_quota():
    assert th.available_cores(set(range(8)), None, read_system=False) == 8
    assert th.available_cores(set(range(8)), 2.5, read_system=False) == 2  # quota rounds down
    assert th.available_cores({3}, 4.0, read_system=False) == 1  # pinned to one core
    assert th.available_cores(set(range(4)), 0.5, read_system=False) == 1  # never below 1
    assert th.available_cores() >= 1


def test_thread_budget_arithmetic():
    assert th.thread_budget(1, cores=8) == 8
    assert th.thread_budget(3, cores=8) == 2  # 3 workers × 2 threads = 6 ≤ 8
    assert th.thread_budget(16, cores=8) == 1
    assert th.thread_budget(1, model_params=th.TINY_PARAMS - 1, cores=8) == 1  # tiny model: one thread
    assert th.thread_budget(1, model_params=86_000_000, cores=8) == 8
    assert th.thread_budget(4, model_params=10, override=3, cores=8) == 3  # the knob wins over every rule
    with pytest.raises(ValueError, match="threads must be >= 1"):
        th.thread_budget(1, override=0)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        th.thread_budget(0, cores=8)


def test_node_threads_reads_executor_environment(monkeypatch):
    monkeypatch.setattr(th, "available_cores", lambda *a, **k: 6)
    monkeypatch.setattr(th, "_INHERITED_OMP", None)
    monkeypatch.setenv(th.WORKERS_ENV, "2")
    monkeypatch.delenv(th.THREADS_ENV, raising=False)
    assert th.node_threads(50_000_000, apply=False) == 3
    assert th.node_threads(1_000, apply=False) == 1
    monkeypatch.setenv(th.THREADS_ENV, "5")
    assert th.node_threads(1_000, apply=False) == 5
    assert th.node_threads(1_000, override=2, apply=False) == 2
    monkeypatch.delenv(th.THREADS_ENV)
    monkeypatch.setattr(th, "_INHERITED_OMP", "2")  # OMP_NUM_THREADS=2 at start (an executor's share): a cap
    assert th.node_threads(50_000_000, apply=False) == 2
    monkeypatch.setenv(th.WORKERS_ENV, "1")
    assert th.node_threads(50_000_000, apply=False) == 2


def test_apply_threads_sets_torch_and_child_environment(monkeypatch):
    import torch

    before = torch.get_num_threads()
    for var in th.THREAD_ENV:
        monkeypatch.setenv(var, os.environ.get(var, ""))  # restored after the test
    try:
        assert th.apply_threads(1) == 1
        assert torch.get_num_threads() == 1
        assert all(os.environ[v] == "1" for v in th.THREAD_ENV)
    finally:
        torch.set_num_threads(before)


def test_threads_knob_is_validated_and_left_out_of_the_config_hash():
    from harness.planning.config import ConfigError, config_hash, parse_config

    base = {"models": ["tiny-xlmr"], "targets": ["xnli"]}
    assert parse_config({**base, "threads": 2}).threads == 2
    assert config_hash(parse_config({**base, "threads": 2})) == config_hash(parse_config(base))
    with pytest.raises(ConfigError, match="threads"):
        parse_config({**base, "threads": 0})
