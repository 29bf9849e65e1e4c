"""The predictions pack: every per-example predictions file a leaderboard's intervals need, in one archive.

``harness leaderboard pack FILE`` writes ``FILE.pack.tar.xz`` beside the leaderboard: one xz-compressed tar
(one solid stream, so files that share ids and gold compress together) whose entries are named by the sha256 of
their bytes, the ``predictions_sha256`` each row records (rows with the same file share one entry), plus
``manifest.json`` (which rows each entry serves). The archive is deterministic: entries sorted, mtime 0, no
owner, so the same predictions give the same bytes.

Reading (:func:`pack_entry`, used by :func:`harness.results.bootstrap.load_predictions` when a row's own file is
missing or changed): the entry named by the row's sha256 is hashed again; bytes that do not hash to their name are
refused with :class:`PackError` naming the row (a damaged or edited pack is never used). The pack is read once
per process and kept in memory (it is the size of the predictions, compressed).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from harness.results.leaderboard import SOURCE_KEY

SUFFIX = ".pack.tar.xz"
MANIFEST = "manifest.json"
FORMAT = "xlt-harness predictions pack 1"
_CACHE: dict[str, tuple[tuple[int, int], dict[str, bytes]]] = {}


class PackError(ValueError):
    """A pack that cannot be written or trusted (an entry whose bytes do not match its sha256)."""


def pack_path(leaderboard: str | Path) -> Path:
    """Where the pack of a leaderboard file lives: ``FILE.pack.tar.xz`` beside it."""
    return Path(f"{leaderboard}{SUFFIX}")


def describe_row(row: dict[str, Any]) -> str:
    """One row in words, for messages: ``model / intermediate / task / language / split / seed``."""
    return " / ".join(str(row.get(k) or ("none" if k == "intermediate" else "-"))
                      for k in ("model", "intermediate", "task", "language", "split")) + f" / seed {row.get('seed')}"


def predictions_path(row: dict[str, Any]) -> Path | None:
    """The row's predictions file: its ``predictions``, relative to the leaderboard file it was loaded from."""
    rel = row.get("predictions")
    if not rel:
        return None
    p = Path(rel)
    if not p.is_absolute() and row.get(SOURCE_KEY):
        p = Path(row[SOURCE_KEY]).parent / p
    return p


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_pack(path: str | Path) -> dict[str, bytes]:
    """Every entry of a pack by name (the manifest included), cached per file (size and mtime)."""
    path = Path(path)
    st = path.stat()
    key = str(path.resolve())
    stamp = (st.st_size, st.st_mtime_ns)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    entries: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:xz") as tar:
            for member in tar:
                if not member.isfile() or "/" in member.name:
                    raise PackError(f"{path}: entry {member.name!r} is not a plain file of the pack")
                handle = tar.extractfile(member)
                entries[member.name] = handle.read() if handle is not None else b""
    except (tarfile.TarError, OSError, EOFError) as err:
        raise PackError(f"{path}: not a readable predictions pack ({err})") from None
    _CACHE[key] = (stamp, entries)
    return entries


def pack_entry(row: dict[str, Any]) -> tuple[bytes | None, str | None]:
    """The row's predictions bytes from the pack beside its leaderboard, or None with the reason; raises
    :class:`PackError` naming the row when the entry's bytes do not hash to the row's sha256."""
    want = row.get("predictions_sha256")
    if not row.get(SOURCE_KEY):
        return None, "no predictions pack (the row was not loaded from a leaderboard file)"
    path = pack_path(row[SOURCE_KEY])
    if not path.is_file():
        return None, f"no predictions pack {path.name} beside the leaderboard"
    if not want:
        return None, f"the row records no predictions_sha256 to find in {path.name}"
    data = read_pack(path).get(want)
    if data is None:
        return None, f"{path.name} has no entry {want[:16]}…"
    if _sha(data) != want:
        raise PackError(f"{path}: entry {want[:16]}… of row {describe_row(row)} does not match its sha256 "
                        f"(got {_sha(data)[:16]}…): the pack was changed or damaged; refusing it")
    return data, None


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = size, 0, 0o644, 0, 0, "", ""
    return info


def _write_tar(fh, manifest: bytes, entries: dict[str, bytes], preset: int) -> None:
    """The deterministic archive: the manifest first, then the entries sorted by name (mtime 0, no owner)."""
    with tarfile.open(fileobj=fh, mode="w:xz", preset=preset, format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_tarinfo(MANIFEST, len(manifest)), io.BytesIO(manifest))
        for name, data in sorted(entries.items()):
            tar.addfile(_tarinfo(name, len(data)), io.BytesIO(data))


# why: one recipe (collect each row's bytes from its file or the old pack, then write one deterministic archive);
# splitting it would pass the entry table and the missing list between helpers.
def write_pack(leaderboard: str | Path, rows: list[dict[str, Any]], preset: int = 6) -> dict[str, Any]:
    """Pack the predictions of ``rows`` (from their ``predictions`` files, or from the existing pack for files no
    longer on disk) into ``pack_path(leaderboard)``; returns sizes, entry counts and the rows left out."""
    out = pack_path(leaderboard)
    old: dict[str, bytes] = read_pack(out) if out.is_file() else {}
    entries: dict[str, bytes] = {}
    serves: dict[str, list[str]] = {}
    missing: list[str] = []
    for row in rows:
        want, path = row.get("predictions_sha256"), predictions_path(row)
        if not want or path is None:
            continue  # a published row: no predictions to pack
        data = entries.get(want)
        if data is None and path.is_file():
            data = path.read_bytes()
            if _sha(data) != want:
                raise PackError(f"{path}: does not match the sha256 of row {describe_row(row)} (changed since the "
                                "run); a pack holds only the predictions the rows were computed from")
        if data is None and want in old:
            data = old[want] if _sha(old[want]) == want else None
        if data is None:
            missing.append(f"{describe_row(row)}: {path}")
            continue
        entries[want] = data
        serves.setdefault(want, []).append(describe_row(row))
    if not entries:
        raise PackError(f"no predictions to pack: none of the {len(rows)} rows' predictions files is on this machine "
                        f"(first: {missing[0] if missing else 'rows have no predictions'})")
    manifest = json.dumps({"format": FORMAT, "leaderboard": Path(leaderboard).name,
                           "entries": {k: {"bytes": len(v), "rows": serves[k]} for k, v in sorted(entries.items())},
                           "missing": missing}, indent=1, sort_keys=True).encode("utf-8")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        _write_tar(fh, manifest, entries, preset)
    os.replace(tmp, out)
    return {"pack": str(out), "bytes": out.stat().st_size, "raw_bytes": sum(map(len, entries.values())),
            "entries": len(entries), "rows": sum(map(len, serves.values())), "missing": missing}


def merged_pack_bytes(*packs: str | Path, leaderboard: str = "", preset: int = 6) -> bytes | None:
    """One deterministic pack holding every entry of ``packs`` (a missing path is skipped; None when none
    exists). Each entry is re-hashed: bytes that do not match their name are refused naming the pack."""
    entries: dict[str, bytes] = {}
    serves: dict[str, set[str]] = {}
    found = False
    for path in packs:
        if not Path(path).is_file():
            continue
        found = True
        got = read_pack(path)
        rows = json.loads(got.get(MANIFEST, b"{}") or b"{}").get("entries", {})
        for name, data in got.items():
            if name == MANIFEST:
                continue
            if _sha(data) != name:
                raise PackError(f"{path}: entry {name[:16]}… does not match its sha256: damaged pack, refusing it")
            entries[name] = data
            serves.setdefault(name, set()).update(rows.get(name, {}).get("rows", []))
    if not found:
        return None
    manifest = json.dumps({"format": FORMAT, "leaderboard": leaderboard,
                           "entries": {k: {"bytes": len(v), "rows": sorted(serves[k])} for k, v in sorted(entries.items())},
                           "missing": []}, indent=1, sort_keys=True).encode("utf-8")
    buf = io.BytesIO()
    _write_tar(buf, manifest, entries, preset)
    return buf.getvalue()
