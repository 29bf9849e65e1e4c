"""A loopback fake of the part of the Hugging Face Hub HTTP API that ``huggingface_hub`` 2.x, ``datasets`` 5.x and
``transformers`` 5.x use (a test tool, never installed with the package).

It serves *recorded* repositories (:mod:`tests.hubfake.layouts`): for each repo the refs it has (``main``,
``refs/pr/N``, ``refs/convert/parquet``) and, per commit sha, the file list as the Hub's tree page showed it; file
bodies are tiny stand-ins in the real schema, built by the layout. Endpoints (read from the installed
``huggingface_hub`` sources: ``hf_api.py`` ``model_info``/``dataset_info``/``list_repo_tree``/``get_paths_info``,
``file_download.py`` ``get_hf_file_metadata``/``http_get``):

- ``GET /api/{models|datasets}/{repo}[/revision/{rev}]`` → ``{id, sha, siblings, ...}``
- ``GET /api/{models|datasets}/{repo}/tree/{rev}[/{path}]`` (``recursive``) → ``[{type, path, size, oid}]``
- ``POST /api/{models|datasets}/{repo}/paths-info/{rev}`` (form ``paths``) → the same records
- ``POST /api/repos/create`` (json ``{name, organization, type}``) → ``{url}``; 409 ``{error, url}`` when it
  exists (``hf_api.py`` ``create_repo`` reads ``url`` from the 409 body under ``exist_ok``)
- ``POST /api/{models|datasets}/{repo}/preupload/{rev}`` → every file ``regular`` (no LFS/Xet), with its oid
- ``POST /api/{models|datasets}/{repo}/commit/{rev}`` (ndjson: a ``header`` line, then ``file`` lines with base64
  ``content``, or ``deletedFile``) → ``{commitUrl, commitOid}``: a new commit on that branch (read from
  ``_commit_api.py`` ``_fetch_upload_modes``, ``_prepare_commit_payload``, ``_send_commit``)
- ``HEAD|GET /{repo}/resolve/{rev}/{path}`` and ``/datasets/{repo}/resolve/{rev}/{path}`` with ``X-Repo-Commit``,
  ``ETag`` and ``Content-Length`` (no ``X-Xet-*`` headers: the clients fall back to a plain HTTP download)

Revisions in URLs are percent-encoded (``refs%2Fpr%2F5``). Unknown repo → 404 with ``X-Error-Code:
RepoNotFound``; unknown revision → 404 ``RevisionNotFound``; missing file → 404 ``EntryNotFound`` (the codes the
clients map to their exception classes). Every request is logged in :attr:`FakeHub.requests`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Repo:
    """One recorded repository: ``refs`` name → sha, ``commits`` sha → {path: bytes}; ``source`` says where the
    layout was read (a Hub tree/commit page URL)."""

    repo_type: str  # "model" | "dataset"
    repo_id: str
    refs: dict[str, str]
    commits: dict[str, dict[str, bytes]]
    source: str = ""
    gated: bool = False

    def resolve(self, rev: str | None) -> str | None:
        rev = rev or "main"
        if rev in self.commits:
            return rev
        return self.refs.get(rev)


@dataclass
class FakeHub:
    repos: dict[tuple[str, str], Repo] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    commits_made: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def add(self, repo: Repo) -> None:
        self.repos[(repo.repo_type, repo.repo_id)] = repo

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, "HEAD")

            def do_GET(self) -> None:
                hub._handle(self, "GET")

            def do_POST(self) -> None:
                hub._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- request handling -----------------------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, method: str, status: int, body: bytes = b"",
              headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(body)

    def _error(self, h, method: str, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self._send(h, method, 404 if code != "GatedRepo" else 401, body,
                   {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"})

    def _json(self, h, method: str, data) -> None:
        self._send(h, method, 200, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _repo(self, kind: str, parts: list[str]) -> tuple[Repo | None, list[str]]:
        """The repo named by the first two path parts (``org/name``; one part for a legacy id)."""
        for n in (2, 1):
            key = (kind, "/".join(parts[:n]))
            if key in self.repos:
                return self.repos[key], parts[n:]
        return None, parts

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(h.path)
        self.requests.append((method, unquote(split.path)))
        raw = split.path.strip("/").split("/")
        query = parse_qs(split.query)
        form: dict[str, list[str]] = {}
        body = b""
        if method == "POST":
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length)
            if "json" not in (h.headers.get("Content-Type") or ""):
                form = parse_qs(body.decode())
        if raw[:3] == ["api", "repos", "create"]:
            return self._create(h, method, json.loads(body or b"{}"))
        if raw[0] == "api" and len(raw) > 3 and raw[1] in ("models", "datasets") and (
                "preupload" in raw or "commit" in raw) and method == "POST":
            return self._write(h, method, raw[1][:-1], raw[2:], body)
        if raw[0] == "api" and len(raw) > 2 and raw[1] in ("models", "datasets"):
            return self._api(h, method, raw[1][:-1], raw[2:], query, form)
        kind = "model"
        if raw[0] == "datasets":
            kind, raw = "dataset", raw[1:]
        repo, rest = self._repo(kind, raw)
        if repo is None or len(rest) < 3 or rest[0] != "resolve":
            return self._error(h, method, "RepoNotFound", f"repository {'/'.join(raw[:2])} not found")
        rev, path = unquote(rest[1]), unquote("/".join(rest[2:]))
        sha = repo.resolve(rev)
        if sha is None:
            return self._error(h, method, "RevisionNotFound", f"revision {rev} not found")
        files = repo.commits[sha]
        if path not in files:
            return self._send(h, method, 404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha,
                                                   "X-Error-Message": f"{path} does not exist at {sha}"})
        body = files[path]
        etag = '"' + hashlib.sha256(body).hexdigest() + '"'
        self._send(h, method, 200, body, {"X-Repo-Commit": sha, "ETag": etag,
                                          "Content-Type": "application/octet-stream"})

    def _entries(self, files: dict[str, bytes], prefix: str, recursive: bool) -> list[dict]:
        out, dirs = [], set()
        pre = prefix.strip("/") + "/" if prefix.strip("/") else ""
        for path in sorted(files):
            if not path.startswith(pre):
                continue
            rest = path[len(pre):]
            if "/" in rest and not recursive:
                dirs.add(pre + rest.split("/")[0])
                continue
            if recursive:
                parts = rest.split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    dirs.add(pre + "/".join(parts[:i]))
            body = files[path]
            out.append({"type": "file", "path": path, "size": len(body),
                        "oid": hashlib.sha1(body).hexdigest()})
        out += [{"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest()} for d in sorted(dirs)]
        return out

    def _api(self, h, method: str, kind: str, parts: list[str], query, form) -> None:
        repo, rest = self._repo(kind, parts)
        if repo is None:
            return self._error(h, method, "RepoNotFound", f"{kind} repository {'/'.join(parts[:2])} not found")
        if repo.gated:
            return self._error(h, method, "GatedRepo", f"{repo.repo_id} is gated")
        op = rest[0] if rest else "revision"
        rev = unquote(rest[1]) if len(rest) > 1 else "main"
        sha = repo.resolve(rev)
        if sha is None:
            return self._error(h, method, "RevisionNotFound", f"revision {rev} of {repo.repo_id} not found")
        files = repo.commits[sha]
        if op == "revision":
            return self._json(h, method, {
                "id": repo.repo_id, "_id": repo.repo_id, "sha": sha, "private": False, "disabled": False,
                "gated": False, "downloads": 0, "likes": 0, "tags": [], "lastModified": "2024-02-22T00:00:00.000Z",
                "siblings": [{"rfilename": p} for p in sorted(files)]})
        if op == "tree":
            path = unquote("/".join(rest[2:]))
            recursive = (query.get("recursive") or ["false"])[0].lower() == "true"
            entries = self._entries(files, path, recursive)
            if path and not entries and path not in files:
                return self._error(h, method, "EntryNotFound", f"{path} does not exist at {sha}")
            return self._json(h, method, entries)
        if op == "paths-info":
            want = form.get("paths", [])
            out = []
            for p in want:
                if p in files:
                    out.append({"type": "file", "path": p, "size": len(files[p]),
                                "oid": hashlib.sha1(files[p]).hexdigest()})
                elif any(f.startswith(p.rstrip("/") + "/") for f in files):
                    out.append({"type": "directory", "path": p, "oid": hashlib.sha1(p.encode()).hexdigest()})
            return self._json(h, method, out)
        return self._error(h, method, "RepoNotFound", f"unknown endpoint {op}")

    # --- writes: create a repo, preupload, commit ---------------------------------------------------------------
    def _create(self, h, method: str, payload: dict) -> None:
        kind = payload.get("type") or "model"
        repo_id = "/".join(p for p in (payload.get("organization"), payload["name"]) if p)
        prefix = "" if kind == "model" else f"/{kind}s"
        if (kind, repo_id) in self.repos:  # the 409 body carries the url too: create_repo(exist_ok=True) reads it
            body = json.dumps({"error": f"You already created this {kind} repo",
                               "url": f"{self.url}{prefix}/{repo_id}"}).encode()
            return self._send(h, method, 409, body, {"Content-Type": "application/json"})
        empty = hashlib.sha1(f"{kind}/{repo_id}".encode()).hexdigest()
        self.add(Repo(kind, repo_id, {"main": empty}, {empty: {}}, source="created through the fake's API"))
        return self._json(h, method, {"url": f"{self.url}{prefix}/{repo_id}"})

    def _write(self, h, method: str, kind: str, parts: list[str], body: bytes) -> None:
        import base64

        repo, rest = self._repo(kind, parts)
        if repo is None:
            return self._error(h, method, "RepoNotFound", f"{kind} repository {'/'.join(parts[:2])} not found")
        op, branch = rest[0], unquote("/".join(rest[1:]))
        sha = repo.resolve(branch)
        if sha is None:
            return self._error(h, method, "RevisionNotFound", f"revision {branch} of {repo.repo_id} not found")
        files = repo.commits[sha]
        if op == "preupload":
            wanted = json.loads(body)["files"]
            return self._json(h, method, {"files": [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                 "oid": _git_oid(files[f["path"]]) if f["path"] in files else None} for f in wanted]})
        new = dict(files)
        for line in body.decode().splitlines():
            item = json.loads(line)
            if item["key"] == "file":
                new[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] == "deletedFile":
                new.pop(item["value"]["path"], None)
        commit = hashlib.sha1(sha.encode() + json.dumps(sorted((p, hashlib.sha256(b).hexdigest())
                                                              for p, b in new.items())).encode()).hexdigest()
        repo.commits[commit] = new
        if branch in repo.commits:  # the Hub commits onto branches only
            return self._error(h, method, "RevisionNotFound", f"{branch} is a commit, not a branch")
        repo.refs[branch] = commit
        self.commits_made.append((repo.repo_id, commit))
        prefix = "" if kind == "model" else f"/{kind}s"
        return self._json(h, method, {"commitUrl": f"{self.url}{prefix}/{repo.repo_id}/commit/{commit}",
                                      "commitOid": commit, "pullRequestUrl": None})


def _git_oid(body: bytes) -> str:
    """The git blob sha1 the Hub reports as a regular file's oid (what the client compares to skip a no-op)."""
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


def recorded_hub(tmp: Path) -> FakeHub:
    """A started fake serving every recorded layout (tests.hubfake.layouts; tiny weights built into ``tmp``)."""
    from hubfake.layouts import repos

    fake = FakeHub()
    for repo in repos(tmp):
        fake.add(repo)
    return fake.start()
