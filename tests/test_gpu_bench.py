"""``benchmarks/gpu.sh``: it stops at once without a GPU, every figure names the rated peak it is compared with,
and its Python parts run end to end on CPU with tiny models (``--dry-run-cpu``; no GPU here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import gpu_bench  # noqa: E402


def test_rated_peaks_by_device_name():
    assert gpu_bench.rated_peak("NVIDIA H100 80GB HBM3") == ("H100 SXM", 989.0)
    assert gpu_bench.rated_peak("NVIDIA H100 PCIe") == ("H100 PCIe", 756.0)
    assert gpu_bench.rated_peak("NVIDIA H200") == ("H200", 989.0)
    assert gpu_bench.rated_peak("NVIDIA A100-SXM4-80GB") == ("A100", 312.0)
    assert gpu_bench.rated_peak("NVIDIA L40S") == ("L40S", 362.0)
    assert gpu_bench.rated_peak("Tesla V100-SXM2-32GB") == ("V100 (fp16 tensor; no bf16)", 125.0)
    assert gpu_bench.rated_peak("NVIDIA H100 NVL") == ("no rated peak known for 'NVIDIA H100 NVL'", None)
    assert gpu_bench.rated_peak("NVIDIA GeForce RTX 4090")[1] is None


def test_plain_topk_baseline_finds_both_directions():
    import torch

    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    y = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    rows, col_val, col_idx = gpu_bench.plain_topk_both(x, y, 1, block=2)  # two blocks: the running column top-k
    assert rows.flatten().tolist() == [1, 0, 0]
    assert col_idx.flatten().tolist() == [1, 0] and col_val.flatten().tolist() == [1.0, 1.0]


def test_gpu_sh_fails_fast_without_a_gpu(tmp_path):
    env = {k: v for k, v in os.environ.items()}
    env["PATH"] = "/usr/bin:/bin"  # no nvidia-smi
    if Path("/dev/nvidia0").exists():
        pytest.skip("this machine has an NVIDIA device")
    out = subprocess.run(["bash", "benchmarks/gpu.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "no NVIDIA GPU here" in out.stderr and out.stdout == ""
    fake = tmp_path / "nvidia-smi"  # a driver tool but a torch without CUDA: caught by the second check
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    env["PATH"] = f"{tmp_path}:/usr/bin:/bin"
    out = subprocess.run(["bash", "benchmarks/gpu.sh"], cwd=REPO, env={**env, "PYTHON": sys.executable},
                         capture_output=True, text=True, timeout=120)
    import torch

    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU")
    assert out.returncode == 2 and "torch sees no CUDA GPU" in out.stderr and "False" in out.stderr


@pytest.mark.slow
def test_dry_run_cpu_prints_every_figure(tmp_path):
    out = subprocess.run(["bash", "benchmarks/gpu.sh", "--dry-run-cpu"], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHON": sys.executable}, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("[cpu x")]
    assert len(lines) == 5 and all("| dry run: CPU]" in line for line in lines), out.stdout
    assert "measured bf16 matmul peak" in lines[0]
    assert "tiny-xlmr-large (registered weights" in lines[1] and "tokens/s" in lines[1]
    assert "gradient checkpointing" in lines[2] and "tiny-xlmr (" in lines[2]
    assert "sentences/s" in lines[3] and "me5-small" in lines[3]
    assert "N=3,000 dim 384" in lines[4] and "x->y lists agree 100.0%" in lines[4]
