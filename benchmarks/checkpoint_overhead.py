"""Resume-checkpoint overhead: seconds per save and its share of training time, XLM-R base architecture on CPU.

Builds xlm-roberta-base from its published config with random weights (no download; see train_throughput.py),
trains with ``harness.training.loop.train`` and a resume folder that checkpoints every ``--every`` steps, and times every
save (model + AdamW state as safetensors, RNG/data-order/selection state as JSON, atomic rename, pruning to two)
and every training step without one. A checkpoint holds ~3x the weights (weights + two AdamW moments): ~3.3 GB
for XLM-R base in fp32.

    python benchmarks/checkpoint_overhead.py [--steps 6] [--every 2] [--batch 8] [--max-length 64]

The share printed is ``save seconds / (every x median step seconds)``: the fraction of training time the
checkpoints cost at that interval; at the default ``checkpoint_every: "30 min"`` it is save seconds / 1800.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from train_throughput import build

    from harness.planning.config import resolve_hp
    from harness.training.checkpoint import Resume
    from harness.training.loop import Loop, TrainTask, train

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="xlm-roberta-base")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--dir", default=None, help="where checkpoints are written (default: a temporary folder)")
    a = ap.parse_args()

    model, feats, ttype, pad_id = build(a.model, seed=0, max_length=a.max_length, random_init=True)
    saves: list[float] = []
    original = Loop.save

    def timed(self, step):
        t = time.perf_counter()
        original(self, step)
        saves.append(time.perf_counter() - t)

    Loop.save = timed
    stamps: list[float] = []
    hp = resolve_hp({"lr": 1e-4, "batch_size": a.batch, "max_steps": a.steps, "warmup_ratio": 0.0})
    with tempfile.TemporaryDirectory(dir=a.dir) as tmp:
        resume = Resume(Path(tmp) / "resume", f"{a.every} steps")
        stamps.append(time.perf_counter())
        train(model, [TrainTask("xnli", ttype, feats, a.batch)], hp, torch.device("cpu"), seed=0, pad_id=pad_id,
              resume=resume, progress=lambda info: stamps.append(time.perf_counter()))
        size = sum(f.stat().st_size for f in resume.latest().rglob("*") if f.is_file())
    # a step's interval ends at its progress call, before its checkpoint: subtract the saves that fell inside
    intervals = [b - a_ for a_, b in zip(stamps, stamps[1:])]
    saved_after = {s for s in range(1, a.steps) if s % a.every == 0}
    step_times = [dt for i, dt in enumerate(intervals, start=1) if i - 1 not in saved_after and i > 1]
    step = statistics.median(step_times)
    save = statistics.median(saves)
    print(f"model={a.model} (random init, published config) device=cpu threads={torch.get_num_threads()} "
          f"batch={a.batch} max_length={a.max_length} steps={a.steps} every={a.every}")
    print(f"checkpoint size {size / 1e9:.2f} GB; saves {', '.join(f'{s:.2f}' for s in saves)} s")
    print(f"median step {step:.2f} s; median save {save:.2f} s = {save / step:.2f} steps; share of training time "
          f"at every {a.every} steps {save / (save + a.every * step):.1%}, at 30 min {save / (save + 1800):.2%}")


if __name__ == "__main__":
    main()
