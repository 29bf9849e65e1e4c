"""Data-parallel (DDP) and sharded (FSDP) training, launched by the harness itself.

``harness matrix run CONFIG --nproc N`` (or ``nproc: N`` in the config, with ``strategy: ddp | fsdp``) runs each
training node (intermediate, target) in N processes: :func:`launchable` wraps a stage function so that, when the
context asks for more than one process, it spawns N workers (``torch.multiprocessing``, one GPU each when CUDA is
there, else CPU with the gloo backend), each running the same stage with a process group initialised; only
(global) rank 0 writes the node's outputs. Evaluation nodes stay single-process. A training node can span several
machines, one launcher per machine, torchrun-style (``NNODES``/``NODE_RANK``/``MASTER_ADDR``/``MASTER_PORT`` or a
multi-node SLURM job): see :mod:`harness.training.distributed_launch` and :mod:`harness.training.distributed_env`.

Inside :func:`harness.training.loop.train`, a :class:`Parallel` object does the rest:

- every rank draws the **same** micro-batch from the same seeded stream and keeps its contiguous slice, so the
  data order and the effective batch (``batch_size`` = micro-batch x ``grad_accum``) are those of one process;
  each slice's mean loss is weighted by its share of the micro-batch, so the averaged gradient is the gradient of
  the whole micro-batch's mean loss: N processes follow the loss curve of one, up to float rounding;
- ``ddp``: ``DistributedDataParallel`` over a small module that runs encoder + head (gradients all-reduced in
  the backward of the last micro-step; ``no_sync`` before); ``fsdp``: ``fully_shard`` (FSDP2) on every
  transformer layer and on the root, weights/gradients/optimizer state sharded across ranks;
- checkpoint selection and saving run on rank 0 only, on the model itself (DDP: every rank holds a full replica)
  or, with FSDP, on a full CPU copy that the ranks gather into (rank 0 needs room for the model at inference), so
  the saved checkpoint is always the full, unsharded model and downstream nodes never see the difference.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from pathlib import Path
from typing import Any

# the launching side (re-exported: stages and the loop import it from here)
from harness.training.distributed_env import STRATEGIES, WORKER_ENV, Rendezvous, expand_nodelist, rendezvous
from harness.training.distributed_launch import PREEMPTED_KEY, current_strategy, follow, launch, launchable

__all__ = ["PREEMPTED_KEY", "STRATEGIES", "WORKER_ENV", "Parallel", "Rendezvous", "current_strategy",
           "expand_nodelist", "follow", "is_main", "launch", "launchable", "rendezvous", "shard_bounds", "world"]


def world() -> tuple[int, int]:
    """(rank, world size) of the initialised process group; (0, 1) without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    return world()[0] == 0


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """Contiguous slice [start, stop) of ``n`` items for ``rank`` of ``size`` (sizes differ by at most one)."""
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def _current_cuda() -> int:
    import torch

    return torch.cuda.current_device()


def _layer_lists(module) -> list:
    """The outermost ``nn.ModuleList`` s of transformer blocks inside a model (``encoder.layer``, mT5's
    ``encoder.block`` and ``decoder.block``, ``layers``...). Lists nested inside a block (a ``T5Block``'s
    ``layer`` list of attention and feed-forward sub-layers) belong to that block and are not returned."""
    from torch import nn

    def is_block_list(m) -> bool:
        return (isinstance(m, nn.ModuleList) and len(m) > 0
                and all(sum(p.numel() for p in c.parameters()) > 0 for c in m))

    lists: list = []

    def visit(m) -> None:
        for child in m.children():
            if is_block_list(child):
                lists.append(child)  # its blocks are units: do not descend into them
            else:
                visit(child)

    visit(module)
    return lists


def _blocks(module) -> list:
    """The transformer blocks to shard one by one, deepest first (``fully_shard`` goes child before parent)."""
    depth = {id(m): name.count(".") for name, m in module.named_modules()}
    blocks = [block for layers in _layer_lists(module) for block in layers]
    return sorted(blocks, key=lambda b: -depth.get(id(b), 0))


@functools.cache
def _step_class():
    from torch import nn

    class StepModule(nn.Module):
        """Runs one task's encoder + head: the module DDP/FSDP wrap (the task model itself has no forward)."""

        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, task_type, name: str, batch: dict):
            return task_type.forward(self.model.encoder, self.model.heads[name], batch)

    return StepModule


class Parallel:
    """How the training loop runs its forward pass, shards batches and syncs gradients (one process: no-op)."""

    def __init__(self, model, strategy: str = "ddp", device=None, precision: str = "fp32") -> None:
        self.model = model
        self.rank, self.size = world()
        self.strategy = strategy if self.size > 1 else "single"
        self._wrapped = None
        self._full_copy = None
        if self.strategy != "fsdp" and device is not None:
            model.to(device)
        if self.strategy == "single":
            return
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
        step = _step_class()(model)
        if strategy == "ddp":
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [device.index if device.index is not None else _current_cuda()] if device is not None and \
                device.type == "cuda" else None
            # parameters a step may leave unused: the other tasks' heads, a seq2seq model's decoder
            unused = len(model.heads) > 1 or hasattr(model.encoder, "generate")
            self._wrapped = DDP(step, device_ids=ids, find_unused_parameters=unused)
        else:
            from torch.distributed.fsdp import fully_shard

            if precision == "fp16":
                raise ValueError("strategy fsdp runs with precision bf16 or fp32 (fp16 needs a sharded grad scaler)")
            if self.rank == 0:  # a CPU replica that receives the gathered weights for selection and checkpoints
                self._full_copy = copy.deepcopy(model).cpu()
            for block in _blocks(model):
                fully_shard(block)
            self._wrapped = fully_shard(step)
            if device is not None:
                model.to(device)  # moves this rank's shards only

    @property
    def active(self) -> bool:
        return self.strategy != "single"

    def shard(self, features: list) -> tuple[list, float]:
        """This rank's slice of a micro-batch and the weight of its mean loss (share x world size)."""
        if not self.active:
            return features, 1.0
        if len(features) < self.size:
            raise ValueError(f"a micro-batch of {len(features)} examples cannot be split over {self.size} processes; "
                             "raise batch_size or lower grad_accum")
        start, stop = shard_bounds(len(features), self.rank, self.size)
        return features[start:stop], (stop - start) * self.size / len(features)

    def forward(self, task_type, name: str, batch: dict):
        if not self.active:
            return task_type.forward(self.model.encoder, self.model.heads[name], batch)
        return self._wrapped(task_type, name, batch)

    def sync(self, last: bool):
        """Context for one micro-step: DDP skips the gradient all-reduce until the last one."""
        if self.strategy == "ddp" and not last:
            return self._wrapped.no_sync()
        return contextlib.nullcontext()

    def mean(self, value: float) -> float:
        """The mean of a float over ranks (the logged loss)."""
        if not self.active:
            return value
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64)
        if dist.get_backend() == "nccl":
            t = t.cuda()
        dist.all_reduce(t)
        return float(t.item()) / self.size

    def broadcast(self, value: Any) -> Any:
        """Rank 0's value on every rank (the selection score, so all ranks agree on the best step)."""
        if not self.active:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    @property
    def writes(self) -> bool:
        return self.rank == 0

    def full_model(self):
        """The full model for saving (FSDP: gathered on every rank, returned on rank 0; else the model)."""
        if self.strategy != "fsdp":
            return self.model
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        state = get_model_state_dict(self.model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        if self.rank != 0:
            return None
        self._full_copy.cpu().load_state_dict(state)
        return self._full_copy

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def save_state(self, optimizer, folder: Path) -> dict[str, Any]:
        """Write model + optimizer state into ``folder``; return the JSON part (one process: safetensors files;
        DDP/FSDP: ``torch.distributed.checkpoint`` shards in ``folder/dcp``, every rank writing its part)."""
        from harness.training.checkpoint import save_model_state

        folder = Path(folder)
        if self.active:
            import torch.distributed.checkpoint as dcp
            from torch.distributed.checkpoint.state_dict import get_state_dict

            model_sd, optim_sd = get_state_dict(self.model, optimizer)
            dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(folder / "dcp"))
            return {"format": "dcp"}
        return save_model_state(self.model, optimizer, folder)

    def load_state(self, optimizer, folder: Path, data: dict[str, Any]) -> None:
        """Restore what :meth:`save_state` wrote (same strategy and world size)."""
        from harness.training.checkpoint import load_model_state

        folder = Path(folder)
        if data["format"] == "dcp":
            if not self.active:
                raise ValueError(f"{folder}: a multi-process (DCP) checkpoint; resume it with the same nproc")
            import torch.distributed.checkpoint as dcp
            from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

            model_sd, optim_sd = get_state_dict(self.model, optimizer)
            state = {"model": model_sd, "optim": optim_sd}
            dcp.load(state, checkpoint_id=str(folder / "dcp"))
            set_state_dict(self.model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
            return
        if self.active:
            raise ValueError(f"{folder}: a one-process checkpoint; resume it with nproc 1")
        load_model_state(self.model, optimizer, folder, data)

    def agree(self, flag: bool) -> bool:
        """True on every rank when it is true on any (all ranks checkpoint and stop at the same step)."""
        if not self.active:
            return flag
        import torch
        import torch.distributed as dist

        t = torch.tensor([1 if flag else 0], dtype=torch.int64)
        if dist.get_backend() == "nccl":
            t = t.cuda()
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())
