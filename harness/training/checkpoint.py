"""Resume state of a training node: saved every ``checkpoint_every`` steps or minutes, restored bit-identically.

A training node keeps its resume state in ``cache_dir/resume/KEY/`` (stable across kills, unlike the node's
temporary work folder), removed when the node finishes. Each checkpoint is a folder ``ckpt-STEP`` written as
``ckpt-STEP.tmp`` and renamed when complete; the newest two are kept. One checkpoint holds:

- ``model.safetensors``: every parameter and buffer of the task model (encoder + heads);
- ``optimizer.safetensors`` + the optimizer's param groups in ``state.json`` (AdamW moments and step counts);
- ``rng.safetensors``: torch CPU and CUDA generator states; ``state.json``: everything else as JSON, exactly
  (Python floats round-trip through ``repr``): the step, the loss curve, the LR scheduler and grad scaler
  state, Python ``random`` and numpy states, the training loop's own sampler RNG, each task's batch stream
  (shuffled order, position, epoch) and the checkpoint-selection state (best score and step);
- ``best/``: hard links to the stage's best-so-far output files (the selected weights), so a resumed run ends
  with the same selected model as an uninterrupted one;
- ``MANIFEST.json`` (written last): the size and sha256 of every other file. A checkpoint is resumed from only
  when every file matches it; a damaged one (flipped bytes, a truncated shard, a file gone) is set aside, named in
  the step log, and the next older checkpoint (or a fresh start) is used instead, never a wrong state.

Under DDP/FSDP the model and optimizer go through ``torch.distributed.checkpoint`` (each rank writes its shards
into ``dcp/``) and every rank writes its own RNG state (``rng-rankR.*``). Nothing is read with pickle-based
``torch.load``; DCP's own metadata file is the one exception (written and read by ``torch.distributed.checkpoint``).

``checkpoint_every`` (``train:`` field): ``"500 steps"``, ``"30 min"``, an integer (steps) or ``0``/``"off"``.
Default ``"30 min"``: a node that ends within half an hour (every tiny or smoke node) never writes one, an
hours-long XL node loses at most half an hour to a preemption.

Graceful stop (:mod:`harness.run.stop`): a stop request makes the training loop write a checkpoint at the next
step boundary and raise :class:`~harness.run.stop.Preempted`.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

from harness.toolkit.filehash import stream_sha256
from harness.toolkit.units import parse_every

MANIFEST = "MANIFEST.json"

LOG = "train_log.jsonl"
KILL_ENV = "XLT_HARNESS_TEST_KILL_AT_STEP"  # tests: SIGKILL this process at that step boundary (after any save)
TERM_ENV = "XLT_HARNESS_TEST_TERM_AT_STEP"  # tests: SIGTERM the node's launcher (or itself) at that step boundary


def resume_record(resumed_from: list[int], device: Any) -> dict[str, Any] | None:
    """What a row says about a training node that resumed (None: it never did): the steps it resumed from and
    whether the result is bit-identical to an uninterrupted run. On CPU it is (tested); GPU kernels (cuBLAS
    split-K, atomics in scatter and attention backward) are not bit-deterministic, so a resumed GPU run matches
    an uninterrupted one only statistically, and the row says so."""
    if not resumed_from:
        return None
    kind = getattr(device, "type", str(device))
    if kind == "cpu":
        return {"from_steps": list(resumed_from), "exact": True, "note": "CPU: bit-identical to an uninterrupted run"}
    return {"from_steps": list(resumed_from), "exact": False,
            "note": f"{kind}: RNG, data order and optimizer state restored exactly, but {kind} kernels are not "
                    "bit-deterministic, so the result equals an uninterrupted run's only statistically"}


def resume_dir(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "resume" / key


# ------------------------------------------------------------------------------------------------ RNG states


def rng_state() -> tuple[dict[str, Any], dict[str, Any]]:
    """(JSON part, tensor part) of every global RNG: Python ``random``, numpy, torch CPU and CUDA."""
    import numpy as np
    import torch

    py = random.getstate()
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i}"] = s
    return ({"python": [py[0], list(py[1]), py[2]],
             "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)]}, tensors)


def set_rng_state(data: dict[str, Any], tensors: dict[str, Any]) -> None:
    import numpy as np
    import torch

    v, keys, gauss = data["python"]
    random.setstate((v, tuple(keys), gauss))
    kind, keys, pos, has_gauss, cached = data["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = sorted((k for k in tensors if k.startswith("torch_cuda_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])


def save_model_state(model, optimizer, folder: Path) -> dict[str, Any]:
    """One process: the model (``model.safetensors``, shared tensors handled) and the optimizer; returns the
    JSON part for ``state.json`` (see :func:`load_model_state`)."""
    from safetensors.torch import save_model

    save_model(model, str(Path(folder) / "model.safetensors"))
    data, tensors = optimizer_state(optimizer)
    save_tensors(tensors, Path(folder) / "optimizer.safetensors")
    return {"format": "safetensors", "optimizer": data}


def load_model_state(model, optimizer, folder: Path, data: dict[str, Any]) -> None:
    """Restore what :func:`save_model_state` wrote, onto the model's current device (every key must match)."""
    from safetensors.torch import load_model

    device = next(model.parameters()).device
    load_model(model, str(Path(folder) / "model.safetensors"), strict=True, device=str(device))
    load_optimizer_state(optimizer, data["optimizer"], load_tensors(Path(folder) / "optimizer.safetensors"))


def save_rng(folder: Path, rank: int = 0) -> None:
    """Write every global RNG's state of this process into ``folder`` (``rng-rankR.json`` + ``.safetensors``)."""
    data, tensors = rng_state()
    (Path(folder) / f"rng-rank{rank}.json").write_text(json.dumps(data))
    save_tensors(tensors, Path(folder) / f"rng-rank{rank}.safetensors")


def load_rng(folder: Path, rank: int = 0) -> None:
    """Restore what :func:`save_rng` wrote for ``rank``."""
    set_rng_state(json.loads((Path(folder) / f"rng-rank{rank}.json").read_text()),
                  load_tensors(Path(folder) / f"rng-rank{rank}.safetensors"))


def random_state(rng: random.Random) -> list:
    s = rng.getstate()
    return [s[0], list(s[1]), s[2]]


def set_random_state(rng: random.Random, state: list) -> None:
    rng.setstate((state[0], tuple(state[1]), state[2]))


# ------------------------------------------------------------------------------------------------ optimizer


def optimizer_state(optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """(JSON part, tensor part) of an optimizer's ``state_dict`` (tensors keyed ``PARAM.NAME``)."""
    import torch

    sd = optimizer.state_dict()
    tensors, plain = {}, {}
    for idx, entry in sd["state"].items():
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{idx}.{name}"] = value.detach().contiguous().cpu()
            else:
                plain.setdefault(str(idx), {})[name] = value
    return {"param_groups": sd["param_groups"], "plain": plain}, tensors


def load_optimizer_state(optimizer, data: dict[str, Any], tensors: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for idx, entry in data["plain"].items():
        state.setdefault(int(idx), {}).update(entry)
    groups = [{**g, **({"betas": tuple(g["betas"])} if "betas" in g else {})} for g in data["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


# ------------------------------------------------------------------------------------------------ the folder


class Resume:
    """The resume folder of one training node: checkpoints, the step log, the best-so-far output files.

    ``outputs`` is the stage's work folder and ``carry`` the names of its best-so-far files there (saved with
    each checkpoint, put back on resume). Only rank 0 writes the log and renames checkpoints.
    """

    def __init__(self, root: Path, every: Any = None, outputs: Path | None = None, carry: tuple[str, ...] = ()) -> None:
        self.root = Path(root)
        self.every = parse_every(every)
        self.outputs = Path(outputs) if outputs is not None else None
        self.carry = tuple(carry)
        self.last_save = time.monotonic()

    # --- the log ----------------------------------------------------------------------------------------
    def log(self, record: dict[str, Any], fresh: bool = False) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOG, "w" if fresh else "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def due(self, step: int) -> bool:
        """Whether a checkpoint is due after ``step`` (steps: every n; time: n seconds since the last save)."""
        if self.every is None:
            return False
        unit, n = self.every
        if unit == "steps":
            return step % int(n) == 0
        return time.monotonic() - self.last_save >= n

    # --- checkpoints ------------------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        """Complete checkpoints, oldest first (a ``.tmp`` folder is a save that a kill interrupted)."""
        if not self.root.is_dir():
            return []
        found = [p for p in self.root.iterdir() if re.fullmatch(r"ckpt-\d+", p.name) and (p / "state.json").exists()]
        return sorted(found, key=lambda p: int(p.name.split("-")[1]))

    def latest(self) -> Path | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def latest_sound(self) -> tuple[Path | None, list[dict[str, Any]]]:
        """The newest checkpoint whose files all match its manifest, and what was set aside on the way (each
        ``{"checkpoint", "problem"}``): a damaged checkpoint is never resumed from."""
        rejected = []
        for ckpt in reversed(self.checkpoints()):
            problem = verify_checkpoint(ckpt)
            if problem is None:
                return ckpt, rejected
            rejected.append({"checkpoint": ckpt.name, "problem": problem})
        return None, rejected

    def begin(self, step: int, rank: int = 0) -> Path:
        """The temporary folder a checkpoint of ``step`` is written into (rank 0 creates it, empty)."""
        tmp = self.root / f"ckpt-{step:09d}.tmp"
        if rank == 0:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        return tmp

    def commit(self, tmp: Path, state: dict[str, Any]) -> Path:
        """Write ``state.json`` and the best files, rename into place, keep the newest two (rank 0)."""
        if self.outputs is not None and self.carry:
            (tmp / "best").mkdir(exist_ok=True)
            for name in self.carry:
                if (self.outputs / name).exists():
                    _link(self.outputs / name, tmp / "best" / name)
        with open(tmp / "state.json", "w", encoding="utf-8") as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(checkpoint_manifest(tmp), fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        final = tmp.with_name(tmp.name[: -len(".tmp")])
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
        for old in self.checkpoints()[:-2]:
            shutil.rmtree(old, ignore_errors=True)
        self.last_save = time.monotonic()
        return final

    def restore_outputs(self, ckpt: Path) -> None:
        """Put the checkpoint's best-so-far files back into the (new) work folder."""
        if self.outputs is None or not (ckpt / "best").is_dir():
            return
        self.outputs.mkdir(parents=True, exist_ok=True)
        for f in (ckpt / "best").iterdir():
            _link(f, self.outputs / f.name)

    def finish(self) -> None:
        """The node is done: move the step log into the work folder, drop the resume folder."""
        if self.outputs is not None and (self.root / LOG).exists():
            shutil.copyfile(self.root / LOG, self.outputs / LOG)
        shutil.rmtree(self.root, ignore_errors=True)


def checkpoint_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file of a checkpoint folder but the manifest itself, by relative name."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            out[str(p.relative_to(folder))] = {"size": p.stat().st_size, "sha256": stream_sha256(p)}
    return out


def verify_checkpoint(folder: Path) -> str | None:
    """None when every file of the checkpoint matches its manifest, else what is wrong (one line)."""
    try:
        want = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no {MANIFEST} (written by an older version, or the save was cut short)"
    except (OSError, ValueError) as err:
        return f"{MANIFEST} unreadable ({err})"
    have = checkpoint_manifest(folder)
    for name in sorted(set(want) | set(have)):
        if name not in have:
            return f"{name} is missing"
        if name not in want:
            return f"{name} is not in the manifest"
        if have[name] != want[name]:
            what = "size" if have[name]["size"] != want[name]["size"] else "content"
            return f"{name}: {what} differs from its sha256 in {MANIFEST}"
    return None


def _link(src: Path, dst: Path) -> None:
    """Hard link (a new file replaces, never rewrites, a saved one), copy across file systems."""
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def save_tensors(tensors: dict[str, Any], path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))


def load_tensors(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(path), device="cpu")
