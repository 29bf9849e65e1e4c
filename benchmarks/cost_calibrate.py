"""Measure the CPU rates of the cost estimate (``harness.planning.cost_devices.CPU_MEASURED``) without running a
matrix, so that checking the estimate against the tiny configs' runs (tests/test_cost.py) is not circular for them:

- ``flops_per_s``: the achieved training rate, ``6·N·T`` per second, of a randomly initialised encoder of
  multilingual-e5-small's shape (12 layers, hidden 384, FFN 1536; N = 21.3M non-embedding parameters; a small
  vocabulary) at batch 16 x 128 tokens with AdamW; the raw fp32 1024³ matmul rate is printed beside it
  (``matmul_flops_per_s``): layer norms, softmax and GELU make the achieved rate several times lower;
- ``step_s``: one tiny-xlmr optimiser step at batch 16 x 64 tokens (``harness.training.loop.train``, the
  loop the stages run), minus its FLOPs at ``flops_per_s``: the per-step overhead (Python, autograd, AdamW);
- ``process_start_s``: a fresh interpreter importing the stage modules and building tiny-xlmr (the first node of
  a process pays it).

Not measured here (the estimate's fitted part): a node's own start-up (``train_node_s``, ``eval_node_s``).

    .venv/bin/python benchmarks/cost_calibrate.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

START = ("import time; t = time.perf_counter(); import harness.stages, harness.orchestration.execute; "
         "from harness.core.registry import registry; from harness.modeling.encoder import load_encoder; "
         "load_encoder(registry().model('tiny-xlmr'), seed=0); print(time.perf_counter() - t)")


def matmul_rate(n: int = 1024, repeats: int = 5) -> float:
    """FLOP/s of the best of ``repeats`` fp32 n³ matmuls."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def train_rate(steps: int = 6, batch: int = 16, length: int = 128) -> float:
    """Achieved 6·N·T FLOP/s of an me5-small-shaped encoder (random weights) training with AdamW."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=1000, hidden_size=384, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=1536, max_position_embeddings=514)
    model = XLMRobertaModel(cfg)
    n = sum(p.numel() for name, p in model.named_parameters() if "embeddings" not in name)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(5, 1000, (batch, length))
    times = []
    for _ in range(steps + 1):
        t = time.perf_counter()
        model(input_ids=ids).last_hidden_state.float().pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t)
    return 6 * n * batch * length / min(times[1:])


def step_seconds(steps: int = 40, batch: int = 16, length: int = 64) -> tuple[float, int]:
    """(seconds per optimiser step, mean tokens per example) of tiny-xlmr in the harness's own loop."""
    from train_throughput import bench_ours, build

    model, feats, ttype, pad_id = build("tiny-xlmr", 0, length, length=length)
    seconds = bench_ours(model, feats, ttype, pad_id, steps=steps, batch=batch, warmup=5)
    mean = sum(len(f["input_ids"]) for f in feats) / len(feats)
    return seconds / steps, int(mean)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from harness.cli.plan_view import _meta_of

    peak, rate = matmul_rate(), train_rate()
    step, mean = step_seconds()
    n = _meta_of({"name": "tiny-xlmr", "family": "tiny-xlmr"}).get("params_nonembed") or 0
    overhead = step - 6 * n * 16 * mean / rate
    starts = [float(subprocess.run([sys.executable, "-c", START], capture_output=True, text=True,
                                   check=True).stdout.strip().splitlines()[-1]) for _ in range(2)]
    out = {"flops_per_s": round(rate, -8), "matmul_flops_per_s": round(peak, -8), "step_s": round(overhead, 4), "process_start_s": round(min(starts), 2),
           "tiny_xlmr_step_s": round(step, 4), "tiny_xlmr_mean_tokens": mean, "threads": torch.get_num_threads()}
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
