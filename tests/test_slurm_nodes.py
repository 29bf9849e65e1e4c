"""The ``slurm`` executor's multi-node jobs without a SLURM cluster: the sbatch parameters training jobs get
(``nodes``, one task per node, GPUs per node), how levels split into arrays by machine count, and what a job does
on its first node (runs the matrix node, then writes the done file) and on the others (follows the launch)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

pytest.importorskip("submitit")
from xlt_harness_plugins.executors import slurm_executor  # noqa: E402
from xlt_harness_plugins.executors.slurm_executor import SlurmExecutor  # noqa: E402

from harness.planning.plan import Node  # noqa: E402
from harness.run.context import Context  # noqa: E402


@pytest.fixture(autouse=True)
def no_srun_needed(monkeypatch):
    """submitit refuses to build an executor where ``srun`` is not on PATH; nothing here submits a job."""
    import submitit.slurm.slurm as submitit_slurm

    monkeypatch.setattr(submitit_slurm.SlurmExecutor, "affinity", classmethod(lambda cls: 2))


def _sbatch(ex) -> list[str]:
    return [line for line in ex._make_submission_file_text("CMD", "uid").splitlines() if line.startswith("#SBATCH")]


def test_training_jobs_ask_for_nodes_with_one_task_and_the_gpus_of_each(tmp_path, monkeypatch):
    monkeypatch.setattr(slurm_executor, "partition_has_gpus", lambda partition: pytest.fail("not asked"))
    ex, gpus = SlurmExecutor(nodes=2, gpus_per_node=8, partition="gpu")._executor(tmp_path, Context(
        cache_dir=tmp_path, device="auto", nproc=8, strategy="fsdp"))
    ex.update_parameters(nodes=2)  # what _submit sets for a training job
    lines = _sbatch(ex)
    assert gpus and {"#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1", "#SBATCH --gpus-per-node=8",
                     "#SBATCH --partition=gpu", "#SBATCH --requeue"} <= set(lines), lines
    assert not [line for line in lines if "gpus-per-task" in line]
    assert ex._num_tasks() == 2  # submitit runs the function once per node
    # the default stays one node with one GPU per process, as before
    monkeypatch.setattr(slurm_executor, "partition_has_gpus", lambda partition: True)
    ex, _ = SlurmExecutor()._executor(tmp_path, Context(cache_dir=tmp_path, device="auto", nproc=4))
    lines = _sbatch(ex)
    assert {"#SBATCH --gpus-per-task=4", "#SBATCH --nodes=1"} <= set(lines), lines


@pytest.mark.parametrize("options, message", [
    ({"nodes": 0}, "executor_options.nodes: 0 is not a whole number"),
    ({"nodes": "2"}, "executor_options.nodes: '2' is not a whole number"),
    ({"nodes": True}, "executor_options.nodes: True is not a whole number"),
    ({"gpus_per_node": 8, "gpus_per_task": 8}, "give gpus_per_node or gpus_per_task, not both"),
    ({"nodez": 2}, "unknown slurm option"),
])
def test_bad_node_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        SlurmExecutor(**options)


class _Job:
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id


class _FakeExecutor:
    """Records the parameters each submission was made under."""

    def __init__(self) -> None:
        self.params: dict = {}
        self.submissions: list[tuple[str, dict]] = []
        self.arrays = 0
        self._in_batch: list | None = None

    def update_parameters(self, **kw) -> None:
        self.params.update(kw)

    @contextlib.contextmanager
    def batch(self):
        self.arrays += 1
        self._in_batch = []
        yield
        self._in_batch = None

    def submit(self, fn, node_json, ctx_json) -> _Job:
        array = 100 + self.arrays if self._in_batch is not None else 500 + len(self.submissions)
        index = len(self._in_batch) if self._in_batch is not None else 0
        if self._in_batch is not None:
            self._in_batch.append(node_json["key"])
        self.submissions.append((node_json["key"], dict(self.params)))
        return _Job(f"{array}_{index}" if self._in_batch is not None else str(array))


def _nodes() -> list[Node]:
    return [Node("t1", "target", "t1", {}), Node("e0", "eval", "e0", {}),
            Node("t2", "target", "t2", {}), Node("e1", "eval", "e1", {}, ["t1"]), Node("e2", "eval", "e2", {}, ["t2"])]


def test_array_levels_split_training_over_nodes_from_the_rest():
    ex = _FakeExecutor()
    jobs = SlurmExecutor(nodes=3)._submit(ex, _nodes(), {}, {})
    got = {key: (params["nodes"], params["dependency"]) for key, params in ex.submissions}
    # level 0: a 3-node array for the training nodes and a 1-node array for e0; level 1 waits for both
    assert got == {"t1": (3, None), "t2": (3, None), "e0": (1, None),
                   "e1": (1, "afterany:101:102"), "e2": (1, "afterany:101:102")}
    assert ex.arrays == 3 and jobs["t2"].job_id == "101_1" and jobs["e0"].job_id == "102_0"


def test_one_node_levels_submit_as_before():
    ex = _FakeExecutor()
    SlurmExecutor()._submit(ex, _nodes(), {}, {})
    assert ex.arrays == 2 and all("nodes" not in params for _, params in ex.submissions)
    assert [params["dependency"] for _, params in ex.submissions] == [None, None, None] + ["afterany:101"] * 2


def test_node_mode_gives_each_job_its_machine_count():
    ex = _FakeExecutor()
    SlurmExecutor(nodes=2, mode="node")._submit(ex, _nodes(), {}, {})
    assert [(key, params["nodes"]) for key, params in ex.submissions] == [
        ("t1", 2), ("e0", 1), ("t2", 2), ("e1", 1), ("e2", 1)]
    assert ex.submissions[3][1]["dependency"] == "afterany:500"


@pytest.fixture
def job_env(monkeypatch, tmp_path):
    """A job of 2 nodes (id 42, restarted once); signal handlers left alone."""
    monkeypatch.setattr(slurm_executor, "install_stop_handlers", lambda signals: None)
    for name, value in {"SLURM_JOB_ID": "42", "SLURM_NNODES": "2", "SLURM_RESTART_COUNT": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID", raising=False)
    return {"cache_dir": str(tmp_path / "cache"), "nproc": 8, "strategy": "fsdp"}


def test_a_job_on_a_later_node_follows_the_first_nodes_launch(job_env, monkeypatch):
    calls = []
    monkeypatch.setenv("SLURM_NODEID", "1")
    monkeypatch.setattr(slurm_executor, "follow_launch", lambda *a: calls.append(a) or 1)
    monkeypatch.setattr(slurm_executor, "execute", lambda *a: pytest.fail("a follower runs no node"))
    out = slurm_executor.run_job({"key": "k1", "stage": "target", "label": "t", "params": {}}, job_env)
    assert out == {"key": "k1", "status": "follower", "node": 1, "starts": 1}
    assert calls == [(8, "fsdp", Path(job_env["cache_dir"]) / "tmp" / "dist-42-1.done")]


@pytest.mark.parametrize("fails", [False, True])
def test_the_first_node_writes_the_done_file_after_its_node(job_env, monkeypatch, fails):
    monkeypatch.setenv("SLURM_NODEID", "0")
    done = Path(job_env["cache_dir"]) / "tmp" / "dist-42-1.done"

    def execute(node_json, ctx_json):
        assert not done.exists()  # the followers are still there while the node runs
        if fails:
            raise RuntimeError("boom")
        return {"key": node_json["key"], "status": "done"}

    monkeypatch.setattr(slurm_executor, "execute", execute)
    monkeypatch.setattr(slurm_executor, "follow_launch", lambda *a: pytest.fail("node 0 leads"))
    node = {"key": "k1", "stage": "target", "label": "t", "params": {}}
    if fails:
        with pytest.raises(RuntimeError, match="boom"):
            slurm_executor.run_job(node, job_env)
    else:
        assert slurm_executor.run_job(node, job_env) == {"key": "k1", "status": "done"}
    assert done.read_text() == "42"
