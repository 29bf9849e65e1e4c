"""``harness leaderboard push|pull`` against the loopback fake Hub (tests/hubfake): the real ``huggingface_hub``
client creates the dataset repo, preuploads and commits through the fake's write endpoints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("huggingface_hub", reason="push/pull need huggingface_hub")

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "leaderboards" / "real-offline.jsonl"  # 704 rows measured on real data
QUICK = ROOT / "leaderboards" / "quickstart.jsonl"  # 48 rows, all synthetic


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hubfake import FakeHub
    from huggingface_hub import constants

    fake = FakeHub().start()
    monkeypatch.setattr(constants, "ENDPOINT", fake.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", fake.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield fake
    fake.stop()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_push_then_pull_gives_byte_equal_rows_and_a_second_push_adds_nothing(hub, tmp_path):
    from harness.results.hubsync import pull, push

    first = push(REAL, "lab/xlt-results")
    assert (first.added, first.kept, first.path_in_repo) == (704, 0, "results/real-offline.jsonl")
    assert hub.commits_made == [("lab/xlt-results", first.commit)]
    again = push(REAL, "lab/xlt-results")
    assert (again.added, again.kept, again.commit) == (0, 704, first.commit)
    assert len(hub.commits_made) == 1  # no empty commit
    out = tmp_path / "real-offline.jsonl"
    got = pull(out, "lab/xlt-results")
    assert (got.added, got.kept, got.commit) == (704, 0, first.commit)
    assert out.read_bytes() == REAL.read_bytes()


def test_push_merges_by_row_identity_and_pull_adds_only_what_is_missing(hub, tmp_path):
    from harness.results.hubsync import pull, push

    lines = _lines(REAL)
    part = tmp_path / "part" / "real-offline.jsonl"
    part.parent.mkdir()
    part.write_text("\n".join(lines[:300]) + "\n", encoding="utf-8")
    assert push(part, "lab/r").added == 300
    assert push(REAL, "lab/r").added == 404  # the other rows; the 300 are not duplicated
    local = tmp_path / "local" / "real-offline.jsonl"
    local.parent.mkdir()
    local.write_text("\n".join(lines[500:]) + "\n", encoding="utf-8")
    res = pull(local, "lab/r")
    assert (res.added, res.kept) == (500, 204)
    assert sorted(_lines(local)) == sorted(lines)
    assert len(_lines(local)) == 704


def test_a_row_that_disagrees_with_the_repo_is_refused_naming_both_values(hub, tmp_path):
    from harness.results.hubsync import SyncRefused, push

    push(REAL, "lab/r")
    rows = [json.loads(line) for line in _lines(REAL)]
    rows[0]["value"] = 0.123
    changed = tmp_path / "real-offline.jsonl"
    changed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(SyncRefused, match=r"is .* there and 0\.123 here; two runs of one node disagree"):
        push(changed, "lab/r")
    assert len(hub.commits_made) == 1


def test_synthetic_rows_are_refused_unless_asked(hub):
    from harness.results.hubsync import SyncRefused, push

    with pytest.raises(SyncRefused, match="48 of 48 rows are synthetic smoke data.*--allow-synthetic"):
        push(QUICK, "lab/q")
    assert hub.commits_made == [] and ("dataset", "lab/q") not in hub.repos
    assert push(QUICK, "lab/q", allow_synthetic=True).added == 48


def test_the_cli_pushes_and_pulls_through_hf_endpoint(tmp_path):
    """The commands as a user runs them: a fresh process that knows the fake only through HF_ENDPOINT."""
    from hubfake import FakeHub

    fake = FakeHub().start()
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                                                                  "HF_HOME", "HF_HUB_CACHE")}
        env |= {"HF_ENDPOINT": fake.url, "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": "hf_fake_token",
                "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        harness = shutil.which("harness", path=str(Path(sys.executable).parent)) or "harness"
        run = lambda *a: subprocess.run([harness, "leaderboard", *a], env=env, capture_output=True,  # noqa: E731
                                        text=True, timeout=300)
        p = run("push", str(REAL), "--repo", "lab/xlt")
        assert p.returncode == 0, p.stderr
        assert "pushed 704 new row(s) to lab/xlt/results/real-offline.jsonl (0 already there)" in p.stdout
        p = run("push", str(REAL), "--repo", "lab/xlt")
        assert "nothing to push" in p.stdout, p.stdout + p.stderr
        out = tmp_path / "pulled.jsonl"
        p = run("pull", str(out), "--repo", "lab/xlt", "--path-in-repo", "results/real-offline.jsonl")
        assert p.returncode == 0, p.stderr
        assert out.read_bytes() == REAL.read_bytes()
        p = run("push", str(QUICK), "--repo", "lab/xlt")
        assert p.returncode == 2 and "synthetic smoke data" in p.stderr
        p = subprocess.run([harness, "leaderboard", "push", str(REAL), "--repo", "lab/xlt"], capture_output=True,
                           text=True, timeout=300, env=env | {"HF_HUB_OFFLINE": "1"})
        assert p.returncode == 2 and p.stderr.count("\n") <= 2, p.stderr  # one line, no traceback
        assert "offline" in p.stderr and "HF_HUB_OFFLINE" in p.stderr
    finally:
        fake.stop()


def test_the_predictions_pack_travels_with_its_rows_and_the_pulled_intervals_are_the_same(hub, tmp_path):
    """push FILE + FILE.pack.tar.xz, pull into another folder without any predictions file: the report's
    intervals there equal the ones computed from the files (the pack, not a seeds-only fallback)."""
    from fixtures_report import write_demo

    from harness.results.gains import gains
    from harness.results.hubsync import pull, push
    from harness.results.leaderboard import load_rows
    from harness.results.pack import pack_path, write_pack

    path = write_demo(tmp_path / "lab")
    before = gains(load_rows(path), n_boot=200, seed=0)["gains"]
    write_pack(path, load_rows(path))
    res = push(path, "lab/packs", allow_synthetic=True)
    assert res.pack == f"results/{path.name}.pack.tar.xz" and res.added == 48
    assert push(path, "lab/packs", allow_synthetic=True).commit == res.commit  # nothing new: no commit
    away = tmp_path / "elsewhere" / path.name
    got = pull(away, "lab/packs")
    assert got.pack == res.pack and pack_path(away).is_file()
    after = gains(load_rows(away), n_boot=200, seed=0)["gains"]
    assert all(g["predictions_missing"] == 0 for g in after)
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)


def test_a_damaged_remote_pack_is_refused_and_the_local_file_is_not_touched(hub, tmp_path):
    """A pack on the Hub whose entry does not hash to its name: pull refuses naming it and writes nothing."""
    import io
    import tarfile

    from fixtures_report import write_demo
    from huggingface_hub import HfApi

    from harness.results.hubsync import pull, push
    from harness.results.leaderboard import load_rows
    from harness.results.pack import PackError, write_pack

    path = write_demo(tmp_path / "lab")
    write_pack(path, load_rows(path))
    push(path, "lab/bad", allow_synthetic=True)
    with tarfile.open(f"{path}.pack.tar.xz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        for m, data in members:
            data = data if m.name == "manifest.json" else data[:-1] + b"X"  # every entry changed by one byte
            m.size = len(data)
            tar.addfile(m, io.BytesIO(data))
    HfApi().upload_file(path_or_fileobj=buf.getvalue(), path_in_repo=f"results/{path.name}.pack.tar.xz",
                        repo_id="lab/bad", repo_type="dataset")
    away = tmp_path / "elsewhere" / path.name
    with pytest.raises(PackError, match="does not match its sha256: damaged pack, refusing it"):
        pull(away, "lab/bad")
    assert not away.exists() and not Path(f"{away}.pack.tar.xz").exists()
