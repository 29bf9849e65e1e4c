"""The training loop, top to bottom: one or several tasks, AdamW, linear warm-up/decay, gradient accumulation,
autocast, periodic checkpoint selection on a dev set. Nothing hidden in callbacks.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from harness.modeling.encoder import TaskModel
from harness.training.checkpoint import Resume, resume_record
from harness.training.tracking import Meter


@dataclass
class TrainTask:
    """One task's training features and its task type (the head is ``model.heads[name]``)."""

    name: str
    task_type: Any
    features: list[dict]
    batch_size: int


class Batches:
    """Endless stream of feature batches, reshuffled every pass (lazily, when a pass starts, with the shared
    ``rng``); its position is plain JSON (:meth:`state`), so a resumed run draws the very same batches."""

    def __init__(self, features: list[dict], batch_size: int, rng: random.Random, shuffle: bool = True) -> None:
        self.features, self.batch_size, self.rng, self.shuffle = features, batch_size, rng, shuffle
        self.order = list(range(len(features)))
        self.pos = len(self.order)  # the first draw starts a pass
        self.epoch = -1

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> list[dict]:
        if self.pos >= len(self.order):
            if self.shuffle:
                self.rng.shuffle(self.order)
            self.pos, self.epoch = 0, self.epoch + 1
        idx = self.order[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return [self.features[j] for j in idx]

    def state(self) -> dict[str, Any]:
        return {"order": self.order, "pos": self.pos, "epoch": self.epoch}

    def load(self, state: dict[str, Any]) -> None:
        if sorted(state["order"]) != list(range(len(self.features))):
            raise ValueError("resume checkpoint: the saved data order does not match this node's training data")
        self.order, self.pos, self.epoch = list(state["order"]), int(state["pos"]), int(state["epoch"])


def batches(features: list[dict], batch_size: int, rng: random.Random, shuffle: bool = True) -> Batches:
    """Endless stream of feature batches; reshuffled every pass."""
    return Batches(features, batch_size, rng, shuffle)


def task_weights(sizes: list[int], sampling: str = "proportional", temperature: float = 1.0) -> list[float]:
    """Probability of drawing each task at a step: size-proportional, temperature-scaled or uniform.

    ``temperature`` draws task i with probability proportional to ``size_i ** (1 / T)`` (T=1 is proportional,
    large T tends to uniform), as in multilingual/multi-task samplers.
    """
    if any(s <= 0 for s in sizes):
        raise ValueError(f"every task needs training examples; sizes {sizes}")
    if sampling == "uniform":
        raw = [1.0] * len(sizes)
    elif sampling == "temperature":
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        raw = [s ** (1.0 / temperature) for s in sizes]
    elif sampling == "proportional":
        raw = [float(s) for s in sizes]
    else:
        raise ValueError(f"sampling {sampling!r} is not one of proportional, temperature, uniform")
    total = sum(raw)
    return [r / total for r in raw]


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return torch.autocast(device_type=device.type, enabled=False)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _enable_gradient_checkpointing(encoder) -> None:
    """Turn on activation (gradient) checkpointing; a model without support is an error, never a silent no-op."""
    enable = (getattr(encoder, "activation_checkpointing_enable", None)  # transformers 5's name
              or getattr(encoder, "gradient_checkpointing_enable", None))
    if enable is None or getattr(encoder, "supports_gradient_checkpointing", True) is False:
        raise ValueError(f"gradient_checkpointing: {type(encoder).__name__} does not support gradient checkpointing; "
                         "set train.gradient_checkpointing: false for this model")
    enable()


class Diverged(RuntimeError):
    """A non-finite loss or selection score: the node fails instead of reporting numbers from a broken model."""


def check_finite(what: str, value: float, step: int, task: str, hp: dict[str, Any]) -> float:
    """``value``; :class:`Diverged` naming the step, the value and the likely cause when it is NaN or ±inf."""
    if math.isfinite(value):
        return value
    if what.startswith("selection"):
        raise Diverged(f"the {what} is {value} at step {step} (task {task}): the main metric gave a non-finite value "
                       "on the selection split; check that metric (a plugin's scorer?) and the predictions it reads; "
                       "this node fails instead of keeping a checkpoint chosen by it")
    fp32 = "" if hp.get("precision") in (None, "fp32") else ", train precision fp32"
    raise Diverged(f"training diverged: the {what} is {value} at step {step} (task {task}, lr {hp.get('lr')}, "
                   f"precision {hp.get('precision')}); try a lower train.lr{fp32} or check the task's data (nothing "
                   "after a non-finite value means anything, so this node fails instead of being scored)")


# why: the training loop is one recipe (setup → resume → steps → periodic selection and checkpoints → restore best).
def train(
    model: TaskModel,
    tasks: list[TrainTask],
    hp: dict[str, Any],
    device: torch.device,
    seed: int,
    pad_id: int,
    select: Callable[[TaskModel], float] | None = None,
    on_best: Callable[[TaskModel, int, float], None] | None = None,
    sampling: str = "proportional",
    temperature: float = 1.0,
    progress: Callable[[dict[str, Any]], None] | None = None,
    resume: Resume | None = None,
    meter: Meter | None = None,
) -> dict[str, Any]:
    """Train ``model`` on ``tasks``; return a summary (steps, loss curve, best selection score and step).

    ``select(model)`` scores the current model on the selection set (higher is better); ``on_best`` is called
    with the model whenever that score improves (e.g. to save the checkpoint). Without ``select``, the final
    model is the result and ``on_best`` is called once at the end. With ``resume``, the loop continues from its
    newest checkpoint, writes one every ``checkpoint_every`` and logs each step (see :mod:`harness.training.checkpoint`).
    ``meter`` counts examples and tokens and sends curves to the node's loggers (:mod:`harness.training.tracking`).
    """
    # --- setup -----------------------------------------------------------------------------------------
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model.train()  # moved to the device by Parallel below (FSDP shards on the CPU first, then moves its shards)
    grad_accum = int(hp["grad_accum"])
    micro = {t.name: max(1, t.batch_size // grad_accum) for t in tasks}
    streams = {t.name: batches(t.features, micro[t.name], rng) for t in tasks}
    weights = task_weights([len(t.features) for t in tasks], sampling, temperature)
    steps_per_epoch = math.ceil(sum(len(t.features) / t.batch_size for t in tasks))
    total_steps = int(hp["max_steps"] or math.ceil(float(hp["epochs"]) * steps_per_epoch))
    warmup = int(hp["warmup_ratio"] * total_steps)
    eval_every = int(hp["eval_every"] or steps_per_epoch)
    if hp.get("gradient_checkpointing"):
        _enable_gradient_checkpointing(model.encoder)
    from harness.training.distributed import Parallel, current_strategy

    par = Parallel(model, current_strategy(), device, hp["precision"])  # one process: just model.to(device)

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": hp["weight_decay"]},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    # fused AdamW: one kernel over all tensors (about 10x faster than the per-tensor loop on CPU for XLM-R's 192M
    # embedding); FSDP's sharded DTensor parameters keep the default implementation
    fused = device.type in ("cpu", "cuda") and par.strategy != "fsdp"
    optimizer = torch.optim.AdamW(groups, lr=hp["lr"], fused=fused or None)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total_steps - s) / max(1, total_steps - warmup))
    )
    by_name = {t.name: t for t in tasks}
    scaler = torch.amp.GradScaler(device.type, enabled=hp["precision"] == "fp16")
    meter = meter if meter is not None else Meter()
    loop = Loop(par, optimizer, schedule, scaler, rng, streams, resume, meter)

    # --- resume ----------------------------------------------------------------------------------------
    first = loop.restore() + 1

    # --- train -----------------------------------------------------------------------------------------
    for step in range(first, total_steps + 1):
        name = rng.choices([t.name for t in tasks], weights=weights)[0] if len(tasks) > 1 else tasks[0].name
        task = by_name[name]
        loop.task_steps[name] = loop.task_steps.get(name, 0) + 1
        step_loss = 0.0
        meter.begin()
        for micro_step in range(grad_accum):
            part, share = par.shard(meter.batch(next(streams[name])))  # data parallel: this rank's slice, its loss weight
            batch = to_device(task.task_type.collate(part, pad_id), device)
            with par.sync(last=micro_step == grad_accum - 1):
                with autocast(device, hp["precision"]):
                    logits = par.forward(task.task_type, name, batch)
                    loss = task.task_type.loss(logits, batch) * share / grad_accum
                scaler.scale(loss).backward()
            step_loss += float(loss.detach())
        step_loss = par.mean(step_loss)
        check_finite("loss", step_loss, step, name, hp)
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), hp["max_grad_norm"])
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        meter.step(step, step_loss, optimizer.param_groups[0]["lr"])  # the rate this step used
        schedule.step()
        loop.losses.append(step_loss)
        loop.log({"step": step, "loss": step_loss, "task": name})
        if progress:
            progress({"step": step, "total": total_steps, "loss": step_loss, "task": name})

        # --- checkpoint selection on the (English) dev set ---------------------------------------------
        if select is not None and (step % eval_every == 0 or step == total_steps):
            target = par.full_model()  # the model itself; FSDP: a full copy gathered on rank 0 (collective)
            score = None
            if par.writes:
                target.eval()
                score = select(target)
                target.train()
            score = par.broadcast(score)  # every rank agrees on the best step
            check_finite("selection score", score, step, name, hp)
            meter.dev(step, score)
            if score > loop.best["score"]:
                loop.best = {"score": score, "step": step}
                if on_best and par.writes:
                    on_best(target, step, score)

        # --- resume checkpoint, graceful stop (all ranks agree on both) ------------------------------------
        loop.boundary(step, total_steps)

    losses, task_steps, best = loop.losses, loop.task_steps, loop.best
    if select is None and on_best:
        full = par.full_model()
        if par.writes:
            on_best(full, total_steps, math.nan)
        best = {"score": None, "step": total_steps}
    return {"steps": total_steps, "steps_per_epoch": steps_per_epoch, "losses": losses,
            "best_score": best["score"], "best_step": best["step"], "warmup_steps": warmup,
            "task_steps": {t.name: task_steps.get(t.name, 0) for t in tasks}, "task_weights": dict(zip(by_name, weights)),
            "resumed": resume_record(loop.resumed_from, device)}


class Loop:
    """The training loop's resumable state (loss curve, per-task draws, best selection) and its checkpoints."""

    def __init__(self, par, optimizer, schedule, scaler, rng: random.Random, streams: dict[str, Batches],
                 resume: Resume | None, meter: Meter) -> None:
        self.par, self.optimizer, self.schedule, self.scaler, self.meter = par, optimizer, schedule, scaler, meter
        self.rng, self.streams, self.resume = rng, streams, resume
        self.losses: list[float] = []
        self.task_steps: dict[str, int] = {name: 0 for name in streams}
        self.best: dict[str, Any] = {"score": -math.inf, "step": 0}
        self.resumed = False
        self.resumed_from: list[int] = []  # every step this node resumed from, over all its restarts

    def log(self, record: dict[str, Any], fresh: bool = False) -> None:
        if self.resume is not None and self.par.writes:
            self.resume.log(record, fresh=fresh)

    def restore(self) -> int:
        """Load the newest complete checkpoint (if any); return the last step it covers (0: start fresh)."""
        ckpt, rejected = self.resume.latest_sound() if self.resume is not None else (None, [])
        if ckpt is None:
            self.log({"start": 0, **({"rejected_checkpoints": rejected} if rejected else {})}, fresh=True)
            return 0
        if rejected:
            self.log({"rejected_checkpoints": rejected})
        from harness.training.checkpoint import load_rng, set_random_state

        state = json.loads((ckpt / "state.json").read_text())
        if state["world_size"] != self.par.size:
            raise ValueError(f"{ckpt}: written by {state['world_size']} process(es); resume it with nproc "
                             f"{state['world_size']} or delete {ckpt.parent} to start over")
        self.par.load_state(self.optimizer, ckpt, state["weights"])
        self.schedule.load_state_dict(state["schedule"])
        self.scaler.load_state_dict(state["scaler"])
        set_random_state(self.rng, state["sampler_rng"])
        for name, s in state["streams"].items():
            self.streams[name].load(s)
        self.losses, self.task_steps, self.best = state["losses"], state["task_steps"], state["best"]
        self.meter.load(state.get("meter"))
        self.resumed_from = [*state.get("resumed_from", []), int(state["step"])]
        load_rng(ckpt, self.par.rank)
        if self.par.writes:
            self.resume.restore_outputs(ckpt)
        self.log({"resumed_from": state["step"]})
        self.resumed = True
        return int(state["step"])

    def save(self, step: int) -> None:
        """Write a checkpoint of everything the next step depends on (collective under DDP/FSDP)."""
        from harness.training.checkpoint import random_state, save_rng

        tmp = self.resume.begin(step, self.par.rank)
        self.par.barrier()
        weights = self.par.save_state(self.optimizer, tmp)
        save_rng(tmp, self.par.rank)
        self.par.barrier()
        if self.par.writes:
            self.resume.commit(tmp, {
                "step": step, "weights": weights, "schedule": self.schedule.state_dict(),
                "scaler": self.scaler.state_dict(), "sampler_rng": random_state(self.rng),
                "streams": {n: s.state() for n, s in self.streams.items()}, "losses": self.losses,
                "task_steps": self.task_steps, "best": self.best, "world_size": self.par.size,
                "resumed_from": self.resumed_from, "meter": self.meter.state()})
            self.log({"checkpoint": step})
        self.par.barrier()

    def boundary(self, step: int, total_steps: int) -> None:
        """After ``step``: checkpoint when due or when a stop was requested (then raise ``Preempted``)."""
        from harness.run.stop import Preempted, stop_requested

        if self.resume is None:
            return
        stop = self.par.agree(stop_requested()) if step < total_steps else False
        due = step < total_steps and self.par.agree(self.resume.due(step))
        if stop or due:
            self.save(step)
        if not self.resumed:  # the test hook kills a node once, never its resumed run
            _test_kill(step, self.par.writes)
        if stop:
            raise Preempted(step)


def _test_kill(step: int, rank0: bool) -> None:
    """Test hook (``XLT_HARNESS_TEST_KILL_AT_STEP``): SIGKILL this process at that step boundary, after any
    checkpoint; rank 0 of a launched group first kills its launcher, as a preempted job loses every process."""
    import os
    import signal

    from harness.training.checkpoint import KILL_ENV, TERM_ENV
    from harness.training.distributed import WORKER_ENV

    if os.environ.get(TERM_ENV) == str(step) and rank0:  # as a cluster manager would: SIGTERM to the launcher
        os.kill(os.getppid() if os.environ.get(WORKER_ENV) else os.getpid(), signal.SIGTERM)
    if os.environ.get(KILL_ENV) != str(step):
        return
    if os.environ.get(WORKER_ENV) and rank0:
        os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


@torch.no_grad()
def predict(model: TaskModel, head: str, task_type: Any, features: list[dict], batch_size: int,
            device: torch.device, pad_id: int, precision: str = "fp32") -> list[Any]:
    """Per-feature outputs (CPU tensors) in feature order; batches are formed by length to avoid padding."""
    was_training = model.training
    model.to(device).eval()
    order = sorted(range(len(features)), key=lambda i: _length(features[i]))
    outputs: list[Any] = [None] * len(features)
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        batch = to_device(task_type.collate([features[j] for j in idx], pad_id), device)
        with autocast(device, precision):
            logits = task_type.forward(model.encoder, model.heads[head], batch)
        for j, out in zip(idx, _rows(logits)):
            outputs[j] = out
    model.train(was_training)
    return outputs


def _length(feature: dict) -> int:
    ids = feature.get("input_ids", [])
    return len(ids[0]) if ids and isinstance(ids[0], list) else len(ids)


def _rows(logits: Any) -> list[Any]:
    if isinstance(logits, (tuple, list)):
        return list(zip(*[_rows(x) for x in logits]))
    return list(logits.float().cpu())
