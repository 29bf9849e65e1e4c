"""The GPU figures ``benchmarks/gpu.sh`` prints (one GPU, under 8 minutes), each labelled with the device and the
rated bf16 dense peak it is compared with:

1. XLM-R large, bf16 autocast training through ``harness.training.loop.train``: tokens/s and MFU = 6·N·tokens/s
   ÷ rated peak (N: non-embedding parameters; the embedding lookup does no matmul), with the measured bf16 matmul
   peak beside it (its share of the rated peak, and the MFU against it);
2. XLM-R XL (3.5B) on one GPU with gradient checkpointing (FSDP over one GPU shards nothing): tokens/s, MFU,
   peak memory;
3. multilingual-e5-small encoding (``harness.search.embed.embed``): sentences/s; exact two-direction k=4 mining
   (``harness.search.knn.knn_both`` on the device, a plain torch matmul + top-k, and FAISS-GPU when it has
   GPUs) on N synthetic sentence embeddings (``benchmarks/retrieval.py``'s generator).

Models are the published architectures with random weights unless the hub answers (``--hub``; throughput does
not depend on the weights); the tokenizer is then the tiny byte-level one (ids in range, token counts as
measured). me5-small loads its real weights from ``~/.cache/xlt-harness/me5-small`` when built there.

    python benchmarks/gpu_bench.py                 # needs CUDA (gpu.sh checks first)
    python benchmarks/gpu_bench.py --dry-run-cpu   # the same code on CPU with tiny models, seconds
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmarks' pieces
from retrieval import synthetic_pair  # noqa: E402
from train_throughput import lengthen, matmul_peak  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# Rated dense bf16 tensor-core peaks (vendor data sheets, TFLOPS, no sparsity); first match on the device name.
RATED = (("H100 PCIe", "H100 PCIe", 756.0), ("H100 NVL", None, None), ("H100", "H100 SXM", 989.0),
         ("H200", "H200", 989.0), ("A100", "A100", 312.0), ("L40S", "L40S", 362.0),
         ("V100", "V100 (fp16 tensor; no bf16)", 125.0))


def rated_peak(device_name: str) -> tuple[str, float | None]:
    """(label, rated bf16 dense TFLOPS) for a ``torch.cuda.get_device_name`` string; (why, None) if unknown."""
    for key, label, tflops in RATED:
        if key.lower() in device_name.lower():
            if label is None:  # a variant with its own rating we do not list (H100 NVL): not H100 SXM's
                break
            return label, tflops
    return f"no rated peak known for {device_name!r}", None


def hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class Report:
    """Prints every figure with the device and the rated peak it is compared with."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.name = torch.cuda.get_device_name() if device.startswith("cuda") else f"cpu x{torch.get_num_threads()}"
        self.label, self.rated = rated_peak(self.name) if device.startswith("cuda") else ("dry run: CPU", None)
        self.rated_flops = self.rated * 1e12 if self.rated else None

    def line(self, text: str) -> None:
        peak = f"rated bf16 dense {self.rated:g} TFLOPS ({self.label})" if self.rated else self.label
        print(f"[{self.name} | {peak}] {text}", flush=True)

    def mfu(self, flops: float, measured: float) -> str:
        vs_rated = f"MFU {flops / self.rated_flops:.1%} of rated" if self.rated_flops else "MFU vs rated: n/a"
        ratio = f"{measured / self.rated_flops:.1%} of rated" if self.rated_flops else "no rated peak"
        return (f"{vs_rated}; measured bf16 matmul {measured / 1e12:.1f} TFLOPS ({ratio}), "
                f"MFU vs measured {flops / measured:.1%}")


def encoder(name: str, device: str, random_init: bool):
    """A registered model: its published architecture with random weights built on ``device``, or loaded."""
    from harness.core.registry import registry
    from harness.modeling.encoder import Encoder, load_encoder

    spec = registry().model(name)
    if not random_init:
        return load_encoder(spec, seed=0), "registered weights" if spec.name.startswith("tiny") else "hub weights"
    from transformers import AutoModel
    from xlt_harness_plugins.models.published import make_config
    from xlt_harness_plugins.models.tiny_xlmr import train_tokenizer

    config = make_config(spec.source)
    torch.manual_seed(0)
    with torch.device(device):
        module = AutoModel.from_config(config)
    return Encoder(module=module, tokenizer=train_tokenizer(600), hidden_size=int(config.hidden_size)), \
        "published config, random weights"


def train_figure(report: Report, name: str, args: argparse.Namespace, batch: int, steps: int,
                 checkpointing: bool, measured: float) -> None:
    """Time ``steps`` bf16 optimiser steps of our loop on ``name``; print tokens/s, MFU (and peak memory)."""
    from xlt_harness_plugins.models.published import count_params

    from harness.core.registry import registry
    from harness.modeling.encoder import TaskModel
    from harness.planning.config import resolve_hp
    from harness.training.loop import TrainTask, train

    dev = args.device
    random_init = not (args.hub and hub_reachable()) and not args.dry_run_cpu
    enc, how = encoder(name, dev, random_init)
    reg = registry()
    task = reg.task("xnli")
    ttype = reg.task_type(task.spec.kind)
    data = Path(args.tmp) / "xnli"
    task.fixture(data_dir=data, n_train=max(256, batch * 4))
    examples = lengthen(task.load(split="train", language="en", data_dir=data), enc.tokenizer, args.length)
    feats = ttype.featurize(examples, enc.tokenizer, task.spec, args.length)
    model = TaskModel(enc.module, {"xnli": ttype.build_head(task.spec, enc.hidden_size)})
    hp = resolve_hp({"lr": 1e-5, "batch_size": batch, "max_steps": args.warmup + steps, "warmup_ratio": 0.0,
                     "precision": "bf16"})
    hp["gradient_checkpointing"] = checkpointing
    times: list[float] = []

    def progress(info: dict) -> None:
        _sync(dev)
        times.append(time.perf_counter())

    if dev.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    try:
        train(model, [TrainTask("xnli", ttype, feats, batch)], hp, torch.device(dev), seed=0, pad_id=enc.pad_id,
              progress=progress)
    except torch.cuda.OutOfMemoryError as err:
        report.line(f"{name} bf16 training, batch {batch}: out of memory ({str(err).splitlines()[0][:120]})")
        return
    seconds = times[-1] - times[args.warmup - 1]
    mean_len = sum(len(f["input_ids"]) for f in feats) / len(feats)
    tokens = steps * batch * mean_len / seconds
    _, nonembed = count_params(model)
    memory = f", peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if dev.startswith("cuda") else ""
    report.line(f"{name} ({how}, {nonembed / 1e6:.4g}M non-embedding parameters) bf16 training"
                f"{' + gradient checkpointing' if checkpointing else ''}, batch {batch} x {mean_len:.0f} tokens: "
                f"{tokens:,.0f} tokens/s; {report.mfu(6 * nonembed * tokens, measured)}{memory}")
    del model, enc
    if dev.startswith("cuda"):
        torch.cuda.empty_cache()


def sentences(n: int) -> tuple[list[str], str]:
    """``n`` sentences: Tatoeba deu/eng from ../shared/data when present (repeated), else synthetic ones."""
    folder = REPO.parent / "shared" / "data" / "tatoeba"
    lines: list[str] = []
    for suffix in ("deu", "eng"):
        path = folder / f"tatoeba.deu-eng.{suffix}"
        if path.exists():
            lines += path.read_text(encoding="utf-8").splitlines()
    source = "Tatoeba deu-eng"
    if not lines:
        import random

        rng = random.Random(0)
        words = "the a house river small green walks slowly under over bright city night music old new".split()
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 20))) for _ in range(2000)]
        source = "synthetic"
    return [lines[i % len(lines)] for i in range(n)], source


def me5(device: str, dry_run: bool):
    """multilingual-e5-small: the local build when present, else its architecture with random weights."""
    from transformers import BertConfig, BertModel
    from xlt_harness_plugins.models.tiny_xlmr import train_tokenizer

    from harness.core.registry import registry
    from harness.modeling.encoder import Encoder, load_encoder

    built = Path.home() / ".cache" / "xlt-harness" / "me5-small"
    if (built / "config.json").exists() and not dry_run:
        return load_encoder(registry().model("multilingual-e5-small"), seed=0), "real weights"
    size = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64} if dry_run \
        else {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536}
    torch.manual_seed(0)
    module = BertModel(BertConfig(vocab_size=250_037, max_position_embeddings=512, type_vocab_size=2, **size),
                       add_pooling_layer=False)
    return Encoder(module=module.to(device), tokenizer=train_tokenizer(600), hidden_size=size["hidden_size"]), \
        "architecture, random weights"


def plain_topk_both(X: torch.Tensor, Y: torch.Tensor, k: int, block: int = 8192):
    """The baseline: blocked ``X @ Y.T`` with top-k per row (indices) and a running top-k per column."""
    rows = []
    col_val = torch.full((Y.shape[0], k), -float("inf"), device=X.device)
    col_idx = torch.full((Y.shape[0], k), -1, dtype=torch.long, device=X.device)
    for s in range(0, X.shape[0], block):
        sim = X[s:s + block] @ Y.T
        rows.append(sim.topk(k, dim=1).indices)
        v, i = sim.topk(min(k, sim.shape[0]), dim=0)
        v, i = torch.cat([col_val, v.T], dim=1), torch.cat([col_idx, i.T + s], dim=1)
        col_val, pick = v.topk(k, dim=1)
        col_idx = i.gather(1, pick)
    return torch.cat(rows), col_val, col_idx


def retrieval_figures(report: Report, args: argparse.Namespace) -> None:
    """me5-small sentences/s, then exact two-direction k=4 mining on the device."""
    from harness.search.embed import EmbedOptions, embed
    from harness.search.knn import knn_both

    dev = args.device
    enc, how = me5(dev, args.dry_run_cpu)
    texts, source = sentences(args.sentences)
    opts = EmbedOptions(max_length=128, query_prefix="query: ")
    embed(enc, texts[:256], opts, device=dev)  # warm-up
    _sync(dev)
    t = time.perf_counter()
    vectors = embed(enc, texts, opts, device=dev)
    _sync(dev)
    report.line(f"me5-small ({how}) encoding {len(texts):,} {source} sentences: "
                f"{len(texts) / (time.perf_counter() - t):,.0f} sentences/s (dim {vectors.shape[1]})")
    n, d = args.mine_n, 384
    x, y = synthetic_pair(n, d)
    knn_both(x[:1000], y[:1000], 4, device=dev)  # warm-up
    _sync(dev)
    t = time.perf_counter()
    fwd, bwd = knn_both(x, y, 4, device=dev)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    best_y, col_val, col_idx = plain_topk_both(torch.as_tensor(x, device=dev), torch.as_tensor(y, device=dev), 4)
    _sync(dev)
    plain = time.perf_counter() - t
    agree = float((best_y.cpu().numpy() == fwd.indices).all(axis=1).mean())
    line = (f"exact k=4 mining both directions, N={n:,} dim {d} fp32: knn_both {ours:.2f} s, plain torch matmul+topk "
            f"{plain:.2f} s (x->y lists agree {agree:.1%})")
    try:
        import faiss

        if faiss.get_num_gpus() > 0 and dev.startswith("cuda"):
            res = faiss.StandardGpuResources()
            t = time.perf_counter()
            for a, b in ((x, y), (y, x)):
                index = faiss.GpuIndexFlatIP(res, d)
                index.add(b)
                index.search(a, 4)
            line += f", FAISS-GPU {time.perf_counter() - t:.2f} s"
        else:
            line += ", FAISS-GPU: not available (faiss without GPUs)"
    except ImportError:
        line += ", FAISS: not installed"
    report.line(line + f"; GEMM floor {2 * n * n * d / 1e12:.2f} TFLOP")
    del bwd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run-cpu", action="store_true", help="tiny models on CPU: checks the code, not the GPU")
    ap.add_argument("--hub", action="store_true", help="load XLM-R weights from the hub when it answers")
    ap.add_argument("--length", type=int, default=128, help="tokens per training pair")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--only", default="large,xl,retrieval", help="comma list of figures: large, xl, retrieval")
    args = ap.parse_args(argv)
    if args.dry_run_cpu:
        args.device, args.sentences, args.mine_n, args.length = "cpu", 300, 3000, 32
        large, xl, steps = ("tiny-xlmr-large", 4), ("tiny-xlmr", 4), 3
    else:
        if not torch.cuda.is_available():
            print("gpu_bench: no CUDA device visible to torch (use --dry-run-cpu to check the code on CPU)",
                  file=sys.stderr)
            return 2
        args.device, args.sentences, args.mine_n = "cuda", 20_000, 200_000
        large, xl, steps = ("xlm-roberta-large", 32), ("xlm-roberta-xl", 8), 20
    import tempfile

    args.tmp = tempfile.mkdtemp(prefix="xlt-gpu-bench-")
    report = Report(args.device)
    measured = matmul_peak(args.device, "bf16", n=256 if args.dry_run_cpu else None)
    report.line(f"measured bf16 matmul peak {measured / 1e12:.2f} TFLOPS"
                + (f" = {measured / report.rated_flops:.1%} of rated" if report.rated_flops else ""))
    only = set(args.only.split(","))
    if "large" in only:
        train_figure(report, large[0], args, large[1], steps, checkpointing=False, measured=measured)
    if "xl" in only:
        train_figure(report, xl[0], args, xl[1], max(3, steps // 2), checkpointing=True, measured=measured)
    if "retrieval" in only:
        retrieval_figures(report, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
