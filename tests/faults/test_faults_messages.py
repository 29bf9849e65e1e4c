"""One line where one line was promised, and advice that works. Old code: a config that is not UTF-8, a folder
given as the config, or an output_dir that cannot be created gave raw tracebacks; an unreadable lock file said
"rerun with --update-lock", which failed the same way."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from harness.cli.main import main


def _cli(*args):
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


def _config(tmp_path, **over):
    cfg = {"name": "m", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"],
           "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic"}, **over}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_unreadable_configs_are_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder must go")
    cases = {bad: "latin1.yaml:1: not UTF-8 (byte 0xe9)", folder: "is a folder",
             _config(tmp_path, output_dir=str(blocked / "out")): "check the paths in"}
    for path, want in cases.items():
        code, out = _cli("matrix", "plan", str(path))
        assert code == 2 and want in out and "Traceback" not in out, out
        assert len(out.strip().splitlines()) == 1, out


def test_the_advice_for_a_damaged_lock_file_works_and_keeps_the_old_file(tmp_path):
    cfg = _config(tmp_path)
    lock = tmp_path / "c.lock.json"
    lock.write_text("garbage")
    code, out = _cli("matrix", "plan", str(cfg))
    assert code == 2 and "rerun with --update-lock" in out, out
    code, out = _cli("matrix", "plan", str(cfg), "--update-lock")  # the advice, followed
    assert code == 0, out
    assert (tmp_path / "c.lock.json.bad").read_text() == "garbage"  # the user's file is kept
    code, out = _cli("matrix", "plan", str(cfg))
    assert code == 0, out
