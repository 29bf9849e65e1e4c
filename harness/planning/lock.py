"""The lock file: what a config's hub ids and local files resolved to, like a package lock.

``CONFIG.yaml`` gets ``CONFIG.lock.json`` beside it. The first plan or run that meets a hub dataset or model asks the
hub once (:func:`resolve_revision`, the only network call, faked in tests) for the commit sha of the requested
revision (``main`` when none is pinned) and records it; later runs use exactly that sha and say so. Moving a locked
revision takes ``--update-lock``. A full 40-hex revision pinned by a spec or config is used as is (no network).
Local data folders and local model weights are recorded with their fingerprints (weights: sha256 per file, cached
by size and mtime so a big file is hashed once). Nothing here imports torch or datasets.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.toolkit.filehash import file_sha256

LOCK_VERSION = 1
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")


class LockError(RuntimeError):
    """A hub revision could not be resolved (offline without a lock entry, unknown id, …); one line."""


def lock_path(config: str | Path) -> Path:
    """``configs/quickstart.yaml`` → ``configs/quickstart.lock.json``."""
    config = Path(config)
    return config.with_name(config.stem + ".lock.json")


def hub_offline() -> bool:
    """Whether the user switched the hub off (``HF_HUB_OFFLINE``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def resolve_revision(kind: str, repo_id: str, revision: str | None) -> str:
    """The commit sha of hub ``kind`` (``dataset`` | ``model``) ``repo_id`` at ``revision`` (None: the default
    branch). The one function that talks to the hub; tests replace it."""
    from huggingface_hub import HfApi

    api = HfApi()
    info = (api.dataset_info if kind == "dataset" else api.model_info)(repo_id, revision=revision)
    return str(info.sha)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def weight_files(folder: Path) -> list[Path]:
    """A model folder's weight files: its safetensors files, else any other weights format it holds."""
    files = sorted(p for p in folder.rglob("*.safetensors") if p.is_file())
    return files or sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def weights_revision(hashes: dict[str, str]) -> str | None:
    """One identity for a folder's weights: the file's sha256 when there is one file, else a sha256 over the
    sorted ``name sha`` lines."""
    if not hashes:
        return None
    if len(hashes) == 1:
        return "sha256:" + next(iter(hashes.values()))
    lines = "".join(f"{name} {digest}\n" for name, digest in sorted(hashes.items()))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


@dataclass
class Lock:
    """The resolved revisions of one config (``path`` None: kept in memory only, e.g. a plan built in Python)."""

    path: Path | None = None
    update: bool = False
    hub: dict[str, dict[str, Any]] = field(default_factory=dict)
    local: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the ``--set`` overrides of the last plan or run and the config hash they gave (None: no overrides)
    overrides: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # what was locked, reused or moved (shown to the user)
    changed: bool = False
    # `matrix plan --before-download`: offline, a revision not locked yet is "unlocked" (node keys provisional)
    # instead of an error, and nothing is saved; `matrix run` never plans this way.
    provisional: bool = False

    @classmethod
    def for_config(cls, config: str | Path, update: bool = False) -> Lock:
        """The lock beside ``config`` (empty if there is none yet)."""
        path = lock_path(config)
        lock = cls(path=path, update=update)
        if path.exists():
            problem = None
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                problem, data = f"not a readable lock file ({err})", None
            if problem is None and (not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION):
                problem = (f"lock_version {data.get('lock_version') if isinstance(data, dict) else None!r} is not "
                           f"{LOCK_VERSION}")
            if problem is not None:
                if not update:
                    raise LockError(f"{path}: {problem}; rerun with --update-lock (it keeps this file as "
                                    f"{path.name}.bad and resolves every revision again)")
                os.replace(path, path.with_name(path.name + ".bad"))  # kept for the user, never deleted
                lock.notes.append(f"{path.name}: {problem}; kept as {path.name}.bad, every revision resolved again")
                lock.changed = True
                return lock
            lock.hub = dict(data.get("hub") or {})
            lock.local = dict(data.get("local") or {})
            lock.overrides = data.get("overrides") or None
        return lock

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "the lock"

    def hub_revision(self, kind: str, repo_id: str, requested: str | None, fix: str) -> str:
        """The commit sha to use for hub ``kind`` ``repo_id`` at ``requested``: the locked one unless updating.

        ``fix`` completes the one-line error when the hub cannot be asked (e.g. "point data.xnli at a folder")."""
        want = requested or "main"
        key = f"{kind}:{repo_id}@{want}"
        entry = self.hub.get(key)
        if requested and SHA_RE.match(requested):  # pinned by a full sha: nothing to resolve
            if entry is None:
                self._set_hub(key, kind, repo_id, want, requested)
            return requested
        if entry is not None and not self.update:
            self.notes.append(f"{kind} {repo_id}@{want}: using locked revision {entry['sha']} ({self.name})")
            return str(entry["sha"])
        where = f"{kind} {repo_id}@{want}"
        if hub_offline() and self.provisional:
            self.notes.append(f"{where}: not locked yet (offline): planned as 'unlocked', node keys provisional")
            return "unlocked"
        if hub_offline():
            raise LockError(f"{where}: no locked revision in {self.name} and the hub is offline (HF_HUB_OFFLINE=1); "
                            f"run `harness matrix plan CONFIG` once online to lock it, or {fix}")
        try:
            sha = resolve_revision(kind, repo_id, requested)
        except LockError:
            raise
        except Exception as err:  # network, unknown id, gated repo: one line, not a traceback
            reason = (str(err).strip().splitlines() or [""])[0]
            raise LockError(f"{where}: cannot resolve its revision on the hub ({type(err).__name__}: {reason}); "
                            f"check the id and network, or {fix}") from None
        if entry is not None and entry["sha"] != sha:
            self.notes.append(f"{where}: lock moved {entry['sha']} → {sha} (--update-lock)")
        elif entry is None:
            self.notes.append(f"{where}: locked at {sha} ({self.name})")
        self._set_hub(key, kind, repo_id, want, sha)
        return sha

    def _set_hub(self, key: str, kind: str, repo_id: str, want: str, sha: str) -> None:
        self.hub[key] = {"kind": kind, "id": repo_id, "requested": want, "sha": sha, "resolved_at": _now()}
        self.changed = True

    def record_data(self, task: str, path: str, fingerprint: str) -> None:
        """Record a local data folder's fingerprint (a changed folder is noted; node keys follow the data)."""
        key = f"data:{task}"
        old = self.local.get(key)
        if old is not None and old.get("path") == path and old.get("fingerprint") == fingerprint:
            return
        if old is not None and old.get("fingerprint") != fingerprint:
            self.notes.append(f"data.{task}: {path} changed since it was locked ({old.get('fingerprint')} → "
                              f"{fingerprint})")
        self.local[key] = {"path": path, "fingerprint": fingerprint, "recorded_at": _now()}
        self.changed = True

    def model_weights(self, name: str, folder: Path) -> dict[str, str]:
        """sha256 of each weights file of a local model folder, from the file's own bytes (remembered per file
        version by :func:`~harness.toolkit.filehash.file_sha256`, never taken from the lock: a hand-edited lock
        hash is a note, and rows record the hash the weights have)."""
        key = f"model:{name}"
        old = (self.local.get(key) or {}).get("files") or {}
        files, hashes = {}, {}
        for f in weight_files(folder):
            rel = str(f.relative_to(folder))
            st = f.stat()
            digest = file_sha256(f)
            prev = old.get(rel)
            if prev and prev.get("sha256") != digest:
                same = prev.get("size") == st.st_size and prev.get("mtime_ns") == st.st_mtime_ns
                self.notes.append(f"model {name}: {folder / rel} has sha256 {digest}, the lock says {prev.get('sha256')}"
                                  + (" (size and mtime unchanged: the lock was edited or the file rewritten in place)"
                                     if same else " (the weights changed since they were locked)"))
            files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
            hashes[rel] = digest
        entry = {"path": str(folder), "files": files}
        if {k: v for k, v in (self.local.get(key) or {}).items() if k != "recorded_at"} != entry:
            self.local[key] = {**entry, "recorded_at": _now()}
            self.changed = True
        return hashes

    def record_overrides(self, overrides: list[str], config_hash: str) -> None:
        """Record the ``--set`` overrides this plan was built with and the config hash they gave; a plan without
        overrides removes the record."""
        entry = {"set": list(overrides), "config_hash": config_hash} if overrides else None
        if entry != self.overrides:
            self.overrides = entry
            self.changed = True

    def save(self) -> bool:
        """Write the lock (atomically) if anything was added or moved; True if written."""
        if self.path is None or not self.changed or self.provisional:
            return False
        data = {"lock_version": LOCK_VERSION,
                "note": "written by xlt-harness: the hub revisions and local files this config resolved to; "
                        "runs use them until `harness matrix run --update-lock`",
                "hub": dict(sorted(self.hub.items())), "local": dict(sorted(self.local.items())),
                **({"overrides": self.overrides} if self.overrides else {})}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
        self.changed = False
        return True
