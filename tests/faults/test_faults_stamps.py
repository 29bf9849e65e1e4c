"""A ``-dirty`` stamp means the code changed. Old code: every row said ``…-dirty`` after the quickstart, because
the quickstart rewrites the tracked ``leaderboards/quickstart.jsonl`` (and the README's ``site/``, ``submission/``
land in the checkout)."""

from __future__ import annotations

import subprocess

from harness.core.rows import checkout_sha


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_dirty_means_code_changed_not_output(tmp_path):
    repo = tmp_path / "checkout"
    (repo / "harness" / "core").mkdir(parents=True)
    (repo / "leaderboards").mkdir()
    (repo / "harness" / "core" / "rows.py").write_text("x = 1\n")
    (repo / "leaderboards" / "quickstart.jsonl").write_text("{}\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    here = repo / "harness" / "core"
    assert not checkout_sha(here).endswith("-dirty")
    (repo / "leaderboards" / "quickstart.jsonl").write_text('{"rewritten": true}\n')  # what the quickstart does
    (repo / "site").mkdir()
    (repo / "site" / "index.html").write_text("<html>")
    assert not checkout_sha(here).endswith("-dirty")
    (repo / "harness" / "core" / "new_module.py").write_text("y = 2\n")  # new code: dirty
    assert checkout_sha(here).endswith("-dirty")
    (repo / "harness" / "core" / "new_module.py").unlink()
    (repo / "harness" / "core" / "rows.py").write_text("x = 2\n")  # changed code: dirty
    assert checkout_sha(here).endswith("-dirty")


def test_an_estimate_without_data_for_its_model_is_unknown_not_another_models_seconds():
    """Old code: a stage's mean over every model stood in for a model without timings (tiny-xlmr's seconds gave
    a real encoder's pending nodes an ETA of 7 s)."""
    from types import SimpleNamespace

    from harness.store.status import estimate_seconds, stage_seconds

    history = stage_seconds([{"event": "finish", "stage": "target", "label": "tiny-xlmr · none · xnli",
                              "seconds": 2.0}])
    tiny = SimpleNamespace(stage="target", params={"model": {"name": "tiny-xlmr"}})
    big = SimpleNamespace(stage="target", params={"model": {"name": "xlm-roberta-large"}})
    assert estimate_seconds(tiny, history) == 2.0
    assert estimate_seconds(big, history) is None
