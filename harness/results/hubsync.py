"""Leaderboard rows to and from a Hugging Face Hub dataset repository (``harness leaderboard push|pull``).

A results repository holds one JSONL file per leaderboard (``results/NAME.jsonl`` by default), in the rows'
own format, so MTEB-style aggregation and this harness read it alike. Both directions merge by row identity
(:func:`row_identity`: config hash, node key and what the row measures): a row already present is never
duplicated, and a row whose identity exists with a different value is a conflict, refused with both values named
(two runs of one node must not disagree silently). Push commits only when the merge adds rows; pull writes the
local file atomically. A predictions pack beside the file (``FILE.pack.tar.xz``, ``harness leaderboard pack``)
travels with its rows as ``results/FILE.pack.tar.xz``: push commits the union of the local and remote packs'
entries (content-addressed, so nothing is overwritten), pull merges the remote pack into the local one, so the
pulled rows' intervals can be recomputed. ``huggingface_hub`` is imported only here, inside the functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.rows import dumps_row, read_jsonl, write_jsonl_atomic
from harness.results.leaderboard import MEASUREMENT_KEYS
from harness.results.pack import SUFFIX, merged_pack_bytes, pack_path

IDENTITY_KEYS = ("config_hash", "node", *MEASUREMENT_KEYS, "task_version")


class SyncRefused(ValueError):
    """A push or pull that would publish smoke data or merge disagreeing rows; nothing was written."""


@dataclass
class SyncResult:
    added: int
    kept: int
    commit: str | None = None  # the Hub commit written (push) or read (pull)
    path_in_repo: str = ""
    pack: str | None = None  # the pack's path in the repo when one travelled
    skipped: list[str] = field(default_factory=list)


def row_identity(row: dict[str, Any]) -> str:
    """What makes a row unique across runs and machines (its value excluded)."""
    return json.dumps([row.get(k) for k in IDENTITY_KEYS], sort_keys=True, default=str)


def merge_rows(base: list[dict[str, Any]], new: list[dict[str, Any]], where: str) -> tuple[list[dict], int]:
    """``base`` then the rows of ``new`` it lacks (their order kept); a same-identity row with another value is
    refused. Returns the merged rows and how many were added."""
    seen = {row_identity(r): r for r in base}
    out, added = list(base), 0
    for r in new:
        key = row_identity(r)
        old = seen.get(key)
        if old is None:
            seen[key] = r
            out.append(r)
            added += 1
        elif old.get("value") != r.get("value"):
            raise SyncRefused(
                f"{where}: row {r.get('model')}/{r.get('task')}/{r.get('language')}/{r.get('metric')} (node "
                f"{r.get('node')}) is {old.get('value')!r} there and {r.get('value')!r} here; two runs of one node "
                "disagree: rerun it, or push to another --path-in-repo")
    return out, added


def _download(api, repo: str, path_in_repo: str, sha: str) -> Path | None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(repo, path_in_repo, repo_type="dataset", revision=sha, endpoint=api.endpoint))
    except EntryNotFoundError:
        return None


def _remote_rows(api, repo: str, path_in_repo: str, revision: str | None) -> tuple[list[dict], str | None]:
    """Rows of the remote file (empty when the repo or the file does not exist yet) and the commit read."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        info = api.dataset_info(repo, revision=revision)
    except (RepositoryNotFoundError, RevisionNotFoundError):
        return [], None
    local = _download(api, repo, path_in_repo, info.sha)
    return (read_jsonl(local, torn_tail=False) if local else []), info.sha


def _pack_in_repo(path_in_repo: str) -> str:
    return path_in_repo + SUFFIX  # FILE.jsonl.pack.tar.xz, as pack_path names it beside the file


def default_path_in_repo(file: Path) -> str:
    return f"results/{Path(file).name}"


def push(file: Path, repo: str, path_in_repo: str | None = None, revision: str | None = None,
         allow_synthetic: bool = False, private: bool | None = None, token: str | None = None) -> SyncResult:
    """Merge the rows of ``file`` into ``repo``'s ``path_in_repo`` and commit when that adds a row."""
    from huggingface_hub import CommitOperationAdd, HfApi

    file = Path(file)
    if not file.exists():
        raise FileNotFoundError(f"leaderboard file {file} not found; `harness matrix run CONFIG` writes one")
    rows = read_jsonl(file, torn_tail=False)
    synthetic = [r for r in rows if r.get("synthetic")]
    if synthetic and not allow_synthetic:
        raise SyncRefused(f"{file}: {len(synthetic)} of {len(rows)} rows are synthetic smoke data (row field "
                          "`synthetic: true`); results repositories are read as measurements. Pass "
                          "--allow-synthetic to push them anyway")
    path_in_repo = path_in_repo or default_path_in_repo(file)
    api = HfApi(token=token)
    api.create_repo(repo, repo_type="dataset", exist_ok=True, private=private)
    remote, sha = _remote_rows(api, repo, path_in_repo, revision)
    merged, added = merge_rows(remote, rows, f"{repo}/{path_in_repo}")
    ops = []
    if added:
        body = "".join(dumps_row(r) + "\n" for r in merged).encode("utf-8")
        ops.append(CommitOperationAdd(path_in_repo=path_in_repo, path_or_fileobj=body))
    pack_repo = _pack_in_repo(path_in_repo)
    if pack_path(file).is_file():
        remote_pack = _download(api, repo, pack_repo, sha) if sha else None
        pack = merged_pack_bytes(pack_path(file), *([remote_pack] if remote_pack else []),
                                 leaderboard=Path(path_in_repo).name)
        if remote_pack is None or pack != remote_pack.read_bytes():
            ops.append(CommitOperationAdd(path_in_repo=pack_repo, path_or_fileobj=pack))
    if not ops:
        return SyncResult(added=0, kept=len(remote), commit=sha, path_in_repo=path_in_repo)
    info = api.create_commit(repo, ops, repo_type="dataset", revision=revision, parent_commit=sha,
                             commit_message=f"xlt-harness: {added} row(s) from {file.name}"
                             + (" and its predictions pack" if len(ops) > added else ""))
    return SyncResult(added=added, kept=len(remote), commit=info.oid, path_in_repo=path_in_repo,
                      pack=pack_repo if any(o.path_in_repo == pack_repo for o in ops) else None)


def pull(file: Path, repo: str, path_in_repo: str | None = None, revision: str | None = None,
         token: str | None = None) -> SyncResult:
    """Merge ``repo``'s rows into the local ``file`` (created when absent); the local rows come first."""
    from huggingface_hub import HfApi

    file = Path(file)
    path_in_repo = path_in_repo or default_path_in_repo(file)
    api = HfApi(token=token)
    remote, sha = _remote_rows(api, repo, path_in_repo, revision)
    if sha is None:
        raise FileNotFoundError(f"dataset repository {repo} (revision {revision or 'main'}) not found on the Hub")
    if not remote:
        raise FileNotFoundError(f"{repo}@{sha} has no {path_in_repo}; pass --path-in-repo (push writes "
                                f"{default_path_in_repo(file)})")
    local = read_jsonl(file, torn_tail=False) if file.exists() else []
    merged, added = merge_rows(local, remote, str(file))
    remote_pack = _download(api, repo, _pack_in_repo(path_in_repo), sha)
    pack = None
    if remote_pack is not None:  # validated entry by entry before anything is written
        pack = merged_pack_bytes(pack_path(file), remote_pack, leaderboard=file.name)
    if added or not file.exists():
        write_jsonl_atomic(file, merged)
    if pack is not None:
        tmp = pack_path(file).with_name(f".{pack_path(file).name}.tmp")
        tmp.write_bytes(pack)
        tmp.replace(pack_path(file))
    return SyncResult(added=added, kept=len(local), commit=sha, path_in_repo=path_in_repo,
                      pack=_pack_in_repo(path_in_repo) if pack is not None else None)
