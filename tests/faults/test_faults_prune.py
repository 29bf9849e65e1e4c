"""A prune killed between its record and its deletions leaves nothing on disk for good. Old code: the files
listed in ``PRUNED`` but still present were skipped by every later prune, so their weights stayed forever."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_prune import _config, _rows, _weights

from harness.cli.main import main
from harness.store import prune as prune_mod


def _cli(*args):
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


@pytest.mark.slow
def test_a_killed_prune_is_finished_by_the_next_one(tmp_path, monkeypatch):
    cfg = _config(tmp_path, ["en"])
    assert _cli("matrix", "run", str(cfg))[0] == 0
    rows, weights = _rows(tmp_path), _weights(tmp_path)
    assert weights

    def killed(self, missing_ok=False):  # the process dies after writing the record, before any deletion
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(prune_mod.Path, "unlink", killed)
        with pytest.raises(KeyboardInterrupt):
            prune_mod.prune(*_plan_and_ctx(cfg))
    assert _weights(tmp_path) == weights  # record written, files still there
    assert any((p.parent / "PRUNED").exists() for p in (tmp_path / "out" / "cache" / "nodes").glob("*/DONE"))
    code, out = _cli("matrix", "prune", str(cfg), "--json")
    assert code == 0, out
    assert _weights(tmp_path) == {}
    assert sum(n["bytes"] for n in json.loads(out)["nodes"]) == sum(weights.values())
    assert _cli("matrix", "run", str(cfg))[0] == 0 and _rows(tmp_path) == rows  # still reported, not retrained


def _plan_and_ctx(cfg):
    from harness.planning.config import load_config
    from harness.planning.plan import build_plan
    from harness.run.context import Context

    conf, _ = load_config(cfg)
    plan = build_plan(conf)
    return plan, Context(cache_dir=plan.cache_dir, device="cpu", config_name=plan.config.name,
                         config_hash=plan.config_hash)
